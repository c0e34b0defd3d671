"""Reading the audit trail: operators and regulators only, filtered, newest first, cursor-paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_supervises
from tenderhall.core.errors import NotFound
from tenderhall.core.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # cursor: entries older than this id


def access_audit_entries(
    *, viewer: User | None, filters: AuditFilter, limit: int = 50
) -> QuerySet[AuditEntry]:
    if viewer is None or not user_supervises(viewer):
        raise NotFound(gettext("No such resource."))
    entries = AuditEntry.objects.select_related("actor").order_by("-id")
    if filters.actor:
        entries = entries.filter(actor__username=filters.actor)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.subject_type:
        entries = entries.filter(subject_type=filters.subject_type)
    if filters.subject_id:
        entries = entries.filter(subject_id=filters.subject_id)
    if filters.since is not None:
        entries = entries.filter(at__gte=filters.since)
    if filters.until is not None:
        entries = entries.filter(at__lt=filters.until)
    if filters.before_id is not None:
        entries = entries.filter(id__lt=filters.before_id)
    return entries[: max(1, min(limit, 200))]
