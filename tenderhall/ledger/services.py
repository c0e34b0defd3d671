"""Writes to the transparency log. Other apps call :func:`ledger_append` inside their own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from tenderhall.core.hashing import canonical_json
from tenderhall.ledger.models import Leaf, LogHead


def _event(
    *,
    event_type: str,
    subjects: Mapping[str, str],
    hashes: Mapping[str, str],
    actor: str | None,
    at: datetime,
    data: Mapping[str, object] | None,
) -> dict[str, object]:
    if event_type.count(":") != 2:
        msg = f"ledger event type {event_type!r} must read app:subject:action"
        raise ValueError(msg)
    event: dict[str, object] = {
        "type": event_type,
        "at": at.isoformat(timespec="microseconds"),
        "subjects": dict(subjects),
        "hashes": dict(hashes),
    }
    if actor is not None:
        event["actor"] = actor
    if data:
        event["data"] = dict(data)
    return event


def record_key(subjects: Mapping[str, str]) -> str:
    """How a record finds its leaves: the first subject, as ``kind:id``."""
    kind, ident = next(iter(subjects.items()))
    return f"{kind}:{ident}"


def ledger_append(
    *,
    event_type: str,
    subjects: Mapping[str, str],
    hashes: Mapping[str, str],
    actor: str | None,
    at: datetime,
    data: Mapping[str, object] | None = None,
) -> Leaf:
    """Append one event as a leaf, in the caller's transaction (it must be in one)."""
    if not transaction.get_connection().in_atomic_block:
        msg = "ledger_append must run inside the transaction of the change it records"
        raise RuntimeError(msg)
    if not subjects:
        msg = "a ledger event names at least one subject"
        raise ValueError(msg)
    payload = canonical_json(
        _event(event_type=event_type, subjects=subjects, hashes=hashes, actor=actor, at=at, data=data)
    )
    LogHead.objects.get_or_create(id=1)
    head = LogHead.objects.select_for_update().get(id=1)
    leaf = Leaf.objects.create(
        index=head.size,
        event_type=event_type,
        data=payload,
        record_key=record_key(subjects),
        appended_at=at,
    )
    head.size += 1
    head.save(update_fields=["size"])
    return leaf
