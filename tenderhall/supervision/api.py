"""The audit trail over the API, for operators and regulators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Schema

from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core.errors import InvalidInput
from tenderhall.supervision.selectors import AuditFilter, access_audit_entries

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str | None
    remote_addr: str | None
    channel: str
    action: str
    subject_type: str
    subject_id: str
    changes: dict[str, Any]


class AuditPageOut(Schema):
    entries: list[AuditEntryOut]
    next_before_id: int | None  # pass as before_id for the next (older) page


def _refuse_moments_beyond_utc(**moments: datetime | None) -> None:
    """The query compares in UTC: 0001-01-01T00:00 east of Greenwich (or 9999-12-31 west of it) is a date
    the schema accepts but no moment UTC holds."""
    problems: dict[str, str] = {}
    for name, moment in moments.items():
        try:
            if moment is not None:
                moment.astimezone(UTC)  # a naive one is taken in the server's zone, as the query takes it
        except (OverflowError, ValueError):  # naive ones fail with ValueError ("year 0 is out of range")
            problems[name] = gettext("Give a moment between 0001-01-02 and 9999-12-30.")
    if problems:
        raise InvalidInput(next(iter(problems.values())), details={"fields": problems})


@router.get(
    "/entries", response=AuditPageOut, operation_id="audit_entry_list", auth=authenticated(Scope.AUDIT_READ)
)
def audit_entry_list(
    request: HttpRequest,
    actor: str = "",
    action: str = "",
    subject_type: str = "",
    subject_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> AuditPageOut:
    """Who did what, when and from where; filter by actor, action prefix, subject, period [since, until)."""
    _refuse_moments_beyond_utc(since=since, until=until)
    filters = AuditFilter(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        since=since,
        until=until,
        before_id=before_id,
    )
    entries = list(access_audit_entries(viewer=request_user(request), filters=filters, limit=limit))
    return AuditPageOut(
        entries=[
            AuditEntryOut(
                id=e.pk,
                at=e.at,
                actor=e.actor.username if e.actor else None,
                remote_addr=e.remote_addr,
                channel=e.channel,
                action=e.action,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                changes=e.changes,
            )
            for e in entries
        ],
        next_before_id=entries[-1].pk if len(entries) == max(1, min(limit, 200)) else None,
    )
