"""How `ledger verify` recomputes the registry's leaves from the live rows."""

from __future__ import annotations

from typing import Any

from tenderhall.ledger.sources import register_leaf_source
from tenderhall.registry.models import EntityVersion, MarketEntity

COMPARED_FIELDS = ("kind", "name", "identifier", "org_code", "region_code", "legal_representative", "status")


def entity_approved(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """The approved version's snapshot must still hash as recorded; while it is the entity's latest version,
    the live entity row must still read as that snapshot."""
    from tenderhall.registry.services import snapshot_hash

    entity_id = event["subjects"]["entity"]
    version_number = event.get("data", {}).get("version")
    version = EntityVersion.objects.filter(entity_id=entity_id, version=version_number).first()
    if version is None:
        return [f"entity {entity_id} has no version {version_number} any more"]
    problems: list[str] = []
    entity = MarketEntity.objects.filter(pk=entity_id).first()
    if entity is not None and entity.version == version.version:
        problems.extend(
            f"entity {entity_id} field {field} reads {getattr(entity, field)!r}, approved as "
            f"{version.snapshot.get(field)!r}"
            for field in COMPARED_FIELDS
            if getattr(entity, field) != version.snapshot.get(field)
        )
    if problems:
        return problems
    return {
        **event,
        "hashes": {"snapshot": snapshot_hash(version.snapshot)},
        "data": {
            "identifier": version.snapshot.get("identifier"),
            "name": version.snapshot.get("name"),
            "version": version.version,
        },
    }


def register() -> None:
    register_leaf_source("registry:entity:approved", entity_approved)
