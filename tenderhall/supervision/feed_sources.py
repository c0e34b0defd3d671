"""The feed's entity types that supervision knows today, each a few lines: what the public sees of an
entity, and what the supervisors see besides. Apps above the procedures (opening, evaluation) register
theirs from their own ``ready()`` through ``tenderhall.core.hooks.register_feed_source``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count

from tenderhall.bids.choices import BidStatus
from tenderhall.bids.models import Bid
from tenderhall.core.hooks import FeedSource, register_feed_source
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Clarification, Complaint, Notice, Objection, Tender, TenderDocument
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.models import MarketEntity

State = dict[str, dict[str, Any]]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _pks(ids: list[str]) -> list[int]:
    return [int(i) for i in ids if i.isdigit()]


def notice_state(ids: list[str], private: bool, now: datetime) -> State:
    """Published notices; supervisors also see one still waiting for its time."""
    notices = Notice.objects.filter(pk__in=_pks(ids)).defer("body", "search_text")
    if not private:
        notices = notices.filter(published_at__isnull=False)
    return {
        str(n.pk): {
            "tender_id": n.tender_id,
            "kind": n.kind,
            "title": n.title,
            "region_code": n.region_code,
            "sector": n.sector,
            "procedure_type": n.procedure_type,
            "publish_at": _iso(n.publish_at),
            "published_at": _iso(n.published_at),
            "content_hash": n.content_hash,
            "corrects_id": n.corrects_id,
        }
        for n in notices
    }


def tender_state(ids: list[str], private: bool, now: datetime) -> State:
    """Tenders once published. Supervisors also see the notices still scheduled and, from the bid deadline
    on, how many bids each lot holds (before it, nobody may know)."""
    tenders = list(Tender.objects.filter(pk__in=_pks(ids)).exclude(status=TenderStatus.DRAFT))
    states: State = {
        str(t.pk): {
            "code": t.code,
            "name": t.name,
            "procedure_type": t.procedure_type,
            "status": t.status,
            "published_at": _iso(t.published_at),
            "documents_from": _iso(t.documents_from),
            "documents_until": _iso(t.documents_until),
            "bid_deadline": _iso(t.bid_deadline),
        }
        for t in tenders
    }
    if not private:
        return states
    closed = [t.pk for t in tenders if t.bid_deadline is not None and t.bid_deadline <= now]
    counts: dict[int, dict[str, int]] = {pk: {} for pk in closed}
    for row in (
        Bid.objects.filter(lot__tender_id__in=closed, status=BidStatus.SUBMITTED)
        .values("lot__tender_id", "lot__code")
        .annotate(n=Count("id"))
    ):
        counts[row["lot__tender_id"]][row["lot__code"]] = row["n"]
    scheduled: dict[int, list[dict[str, Any]]] = {t.pk: [] for t in tenders}
    for notice in Notice.objects.filter(tender_id__in=scheduled, published_at__isnull=True).order_by(
        "publish_at", "pk"
    ):
        scheduled[notice.tender_id].append(
            {"id": notice.pk, "kind": notice.kind, "publish_at": _iso(notice.publish_at)}
        )
    for tender in tenders:
        states[str(tender.pk)]["scheduled_notices"] = scheduled[tender.pk]
        states[str(tender.pk)]["bids_per_lot"] = counts.get(tender.pk)  # None until the deadline
    return states


def entity_state(ids: list[str], private: bool, now: datetime) -> State:
    """Approved market entities; a natural person's identity number is masked for everyone."""
    entities = MarketEntity.objects.filter(pk__in=_pks(ids))
    if not private:
        entities = entities.filter(status=EntityStatus.APPROVED)
    return {
        str(e.pk): {
            "kind": e.kind,
            "name": e.name,
            "identifier": e.public_identifier,
            "region_code": e.region_code,
            "tags": list(e.tags),
            "status": e.status,
            "version": e.version,
        }
        for e in entities
    }


def document_state(ids: list[str], private: bool, now: datetime) -> State:
    """Tender documents as the public lists them: name, size and hashes (the file needs a login); a draft
    tender's documents for supervisors only."""
    documents = TenderDocument.objects.filter(pk__in=_pks(ids))
    if not private:
        documents = documents.exclude(tender__status=TenderStatus.DRAFT)
    return {
        str(d.pk): {
            "tender_id": d.tender_id,
            "name": d.name,
            "size": d.size,
            "sha256": d.sha256,
            "sm3": d.sm3,
            "uploaded_at": _iso(d.uploaded_at),
            "superseded_at": _iso(d.superseded_at),
        }
        for d in documents
    }


def clarification_state(ids: list[str], private: bool, now: datetime) -> State:
    return {
        str(c.pk): {
            "tender_id": c.tender_id,
            "text": c.text,
            "affects_bids": c.affects_bids,
            "published_at": _iso(c.published_at),
            "deadline_before": _iso(c.deadline_before),
            "deadline_after": _iso(c.deadline_after),
        }
        for c in Clarification.objects.filter(pk__in=_pks(ids))
    }


def objection_state(ids: list[str], private: bool, now: datetime) -> State:
    """Objections: for supervisors only (the public learns of them through the tender's suspension)."""
    if not private:
        return {}
    return {
        str(o.pk): {
            "tender_id": o.tender_id,
            "subject": o.subject,
            "status": o.status,
            "raised_at": _iso(o.raised_at),
            "answer_due_at": _iso(o.answer_due_at),
            "answered_at": _iso(o.answered_at),
        }
        for o in Objection.objects.filter(pk__in=_pks(ids))
    }


def complaint_state(ids: list[str], private: bool, now: datetime) -> State:
    if not private:
        return {}
    return {
        str(c.pk): {
            "tender_id": c.tender_id,
            "status": c.status,
            "raised_at": _iso(c.raised_at),
            "accept_due_at": _iso(c.accept_due_at),
            "decision_due_at": _iso(c.decision_due_at),
            "handled_at": _iso(c.handled_at),
        }
        for c in Complaint.objects.filter(pk__in=_pks(ids))
    }


SOURCES = (
    FeedSource("notice", "procedures:notice:", "notice", public=True, state=notice_state),
    FeedSource("tender", "procedures:tender:", "tender", public=True, state=tender_state),
    FeedSource("entity", "registry:entity:", "entity", public=True, state=entity_state),
    FeedSource("document", "procedures:document:", "document", public=True, state=document_state),
    FeedSource("clarification", "procedures:clarification:", "clarification", public=True,
               state=clarification_state),
    FeedSource("objection", "procedures:objection:", "objection", public=False, state=objection_state),
    FeedSource("complaint", "procedures:complaint:", "complaint", public=False, state=complaint_state),
)  # fmt: skip


def register() -> None:
    for source in SOURCES:
        register_feed_source(source)
