"""How `ledger verify` recomputes the procedures' leaves from the live rows and stored files."""

from __future__ import annotations

from typing import Any

from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.ledger.sources import register_leaf_source
from tenderhall.procedures import workflow
from tenderhall.procedures.models import Notice, Tender
from tenderhall.procedures.notices import notice_content_hash


def tender_published(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """The record published then must still hash as logged, and its lots and documents must still be the
    live ones (they cannot change after publication; the timeline may, by amendment)."""
    from tenderhall.procedures.services import tender_record

    tender = Tender.objects.filter(pk=event["subjects"]["tender"]).first()
    if tender is None or tender.published_record is None:
        return [f"tender {event['subjects']['tender']} or its published record no longer exists"]
    live = tender_record(tender)
    problems = [
        f"tender {tender.pk}: its {part} read differently now than when it was published"
        for part in ("code", "lots")
        if live[part] != tender.published_record.get(part)
    ]
    published_documents = {(d["sha256"], d["sm3"]) for d in tender.published_record.get("documents", [])}
    live_documents = {(d.sha256, d.sm3) for d in tender.documents.all()}
    if not published_documents <= live_documents:
        problems.append(f"tender {tender.pk}: a document published with it is missing or was changed")
    if problems:
        return problems
    return {**event, "hashes": {"tender": "sha256:" + sha256_hex(canonical_json(tender.published_record))}}


def tender_step(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """A workflow step or a termination: the tender must still exist under the code logged."""
    tender = Tender.objects.filter(pk=event["subjects"]["tender"]).first()
    if tender is None:
        return [f"tender {event['subjects']['tender']} no longer exists"]
    return {**event, "data": {**event.get("data", {}), "code": tender.code}}


def notice_published(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """A published notice never changes: its title, text and data must hash as logged."""
    notice = Notice.objects.select_related("tender").filter(pk=event["subjects"]["notice"]).first()
    if notice is None:
        return [f"notice {event['subjects']['notice']} no longer exists"]
    return {**event, "hashes": {**event["hashes"], "notice": notice_content_hash(notice)}}


def register() -> None:
    register_leaf_source("procedures:tender:published", tender_published)
    register_leaf_source("procedures:tender:cancelled", tender_step)
    for event in workflow.TenderEvent:
        name = workflow.action_name(event)
        if name not in ("procedures:tender:published", "procedures:tender:cancelled"):
            register_leaf_source(name, tender_step)
    register_leaf_source("procedures:notice:published", notice_published)
    from tenderhall.procedures import clarifications, documents, objections

    for module in (documents, clarifications, objections):
        for event_type, source in module.leaf_sources().items():
            register_leaf_source(event_type, source)
