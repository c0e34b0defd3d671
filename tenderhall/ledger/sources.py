"""Leaf sources: how `ledger verify` recomputes each leaf from the live database rows and stored files.

An app registers one function per event type it appends, usually in its ``AppConfig.ready()``::

    from tenderhall.ledger.sources import register_leaf_source

    def entity_approved(event: dict[str, Any]) -> dict[str, Any] | list[str]:
        entity = MarketEntity.objects.filter(pk=event["subjects"]["entity"]).first()
        if entity is None:
            return [f"entity {event['subjects']['entity']} no longer exists"]
        return ledger_event(event_type=event["type"], subjects=..., hashes=..., actor=..., at=...)

    register_leaf_source("registry:entity:approved", entity_approved)

The function receives the event stored in the leaf and returns either the event as it would be built
now from the live rows and files (the verifier compares it field by field with the stored one), or a
list of mismatch messages (empty when all is well).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.files.storage import Storage, default_storage

LeafSource = Callable[[dict[str, Any]], "dict[str, Any] | list[str]"]

_SOURCES: dict[str, LeafSource] = {}


def register_leaf_source(event_type: str, source: LeafSource) -> None:
    """Register how to recompute leaves of ``event_type`` (``app:subject:action``); the last one wins."""
    if event_type.count(":") != 2:
        msg = f"ledger event type {event_type!r} must read app:subject:action"
        raise ValueError(msg)
    _SOURCES[event_type] = source


def unregister_leaf_source(event_type: str) -> None:
    _SOURCES.pop(event_type, None)


def leaf_source(event_type: str) -> LeafSource | None:
    return _SOURCES.get(event_type)


def registered_event_types() -> list[str]:
    return sorted(_SOURCES)


def stored_file_sha256(name: str, storage: Storage | None = None) -> str | None:
    """The SHA-256 (hex) of a stored file, streamed; None when the file is missing."""
    storage = storage or default_storage
    if not storage.exists(name):
        return None
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
