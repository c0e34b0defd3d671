"""How `ledger verify` recomputes the opening's leaves from the rows and files they describe."""

from __future__ import annotations

from typing import Any

from tenderhall.ledger.sources import register_leaf_source, stored_file_sha256
from tenderhall.opening.models import OpenedBid, OpeningSession, Outcome, SealedShare


def _session(event: dict[str, Any]) -> OpeningSession | None:
    return (
        OpeningSession.objects.select_related("tender").filter(tender_id=event["subjects"]["tender"]).first()
    )


def _opened(event: dict[str, Any]) -> OpenedBid | None:
    return OpenedBid.objects.select_related("bid").filter(bid__token=event["subjects"]["bid"]).first()


def session_started(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """The bidder list published at the deadline: the lots and bids the session still holds."""
    from tenderhall.opening.sessions import started_data

    session = _session(event)
    if session is None:
        return [f"tender {event['subjects']['tender']} has no opening session"]
    lots = [
        {
            "lot": lot.lot.code,
            "failed": lot.failed,
            "bids": [
                {"bid": str(o.bid.token), "envelope": f"sha256:{o.bid.sha256}"}
                for o in session.bids.filter(bid__lot_id=lot.lot_id)
                .select_related("bid")
                .order_by("bid__submitted_at", "bid_id")
            ],
        }
        for lot in session.lots.select_related("lot").order_by("lot__code")
    ]
    return {**event, "data": started_data(session, lots)}


def bid_failed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    opened = _opened(event)
    if opened is None:
        return [f"bid {event['subjects']['bid']} is not at an opening"]
    return event  # a later decision may change the outcome; each decision is its own leaf


def bid_opened(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    opened = _opened(event)
    if opened is None or opened.outcome != Outcome.OPENED:
        return [f"bid {event['subjects']['bid']} is not opened now"]
    stored = stored_file_sha256(opened.package.name or "")
    if stored is None:
        return [f"bid {opened.bid.token}: its opened package is missing"]
    return {**event, "hashes": {"package": f"sha256:{stored}"}}


def share_submitted(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    share = SealedShare.objects.filter(
        escrow__tender_id=event["subjects"]["tender"], official_id=event["subjects"]["official"]
    ).first()
    if share is None:
        return [
            f"official {event['subjects']['official']} holds no share of tender {event['subjects']['tender']}"
        ]
    return {**event, "hashes": {"share": share.digest}}


def escrow_used(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    if _session(event) is None:
        return [f"tender {event['subjects']['tender']} has no opening session"]
    return event


def record_published(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    from tenderhall.opening.sessions import record_hash

    session = _session(event)
    if session is None or session.record is None:
        return [f"tender {event['subjects']['tender']} has no published opening record"]
    return {**event, "hashes": {"record": record_hash(session.record)}}


def record_confirmed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    from tenderhall.opening.sessions import record_hash

    opened = _opened(event)
    if opened is None or opened.confirmed_at is None:
        return [f"bid {event['subjects']['bid']} has not confirmed an opening record"]
    return {**event, "hashes": {"record": record_hash(opened.session.record or {})}}


def register() -> None:
    register_leaf_source("opening:session:started", session_started)
    register_leaf_source("opening:bid:failed", bid_failed)
    register_leaf_source("opening:bid:opened", bid_opened)
    register_leaf_source("opening:share:submitted", share_submitted)
    register_leaf_source("opening:escrow:used", escrow_used)
    register_leaf_source("opening:record:published", record_published)
    register_leaf_source("opening:record:confirmed", record_confirmed)
