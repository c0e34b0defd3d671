"""The audit trail: every write records who, when, from which address and what changed.

Services call :func:`audit_record` inside the same transaction as the change, so a rolled-back change leaves
no audit entry and a committed one always has one. The address and channel come from the request context
that the middleware (or the CLI) sets; the actor is passed explicitly by the service.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

from tenderhall.core.models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class AuditContext:
    remote_addr: str | None
    channel: str  # web, api, cli, system


_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context",
    default=AuditContext(remote_addr=None, channel="system"),  # noqa: B039  # a frozen dataclass is immutable
)

MASK = "***"


def masked(number: str) -> str:
    """An identity number as pages and answers show it: the first three and last two characters."""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


@contextmanager
def audit_context(*, remote_addr: str | None, channel: str) -> Iterator[None]:
    token = _context.set(AuditContext(remote_addr=remote_addr, channel=channel))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> AuditContext:
    return _context.get()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], *, masked: frozenset[str] = frozenset()
) -> dict[str, list[Any]]:
    """Field-by-field changes as ``{field: [old, new]}``; personal identifiers are masked."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = [MASK, MASK] if key in masked else [_plain(old), _plain(new)]
    return changes


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    at: datetime,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    _require_transaction("audit_record")
    entry = AuditRecord(actor, action, subject_type, subject_id, at, changes).entry(current_context())
    entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class AuditRecord:
    """One entry of ``audit_record_batch``, with the context of the request that made the change (the batch
    may be written by another request's thread)."""

    actor: AbstractBaseUser | AnonymousUser | None
    action: str
    subject_type: str
    subject_id: str | int
    at: datetime
    changes: Mapping[str, Any] | None = None
    context: AuditContext | None = None  # None: the current one

    def entry(self, context: AuditContext) -> AuditEntry:
        context = self.context or context
        user = self.actor if self.actor is not None and self.actor.is_authenticated else None
        return AuditEntry(
            at=self.at,
            actor_id=user.pk if user is not None else None,
            actor_label=str(user) if user is not None else "",
            remote_addr=context.remote_addr,
            channel=context.channel,
            action=self.action,
            subject_type=self.subject_type,
            subject_id=str(self.subject_id),
            changes=_plain(dict(self.changes or {})),
        )


def audit_record_batch(records: Iterable[AuditRecord]) -> list[AuditEntry]:
    """``audit_record`` for many changes of one transaction, in one insert."""
    _require_transaction("audit_record_batch")
    context = current_context()
    return AuditEntry.objects.bulk_create([record.entry(context) for record in records])


def _require_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        msg = f"{name} must run inside the transaction of the change it records"
        raise RuntimeError(msg)
