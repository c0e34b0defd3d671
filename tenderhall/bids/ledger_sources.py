"""How `ledger verify` recomputes the bids' leaves: the stored envelope must still hash as logged."""

from __future__ import annotations

from typing import Any

from tenderhall.bids.models import Bid
from tenderhall.ledger.sources import register_leaf_source, stored_file_sha256


def bid_envelope(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    bid = Bid.objects.filter(token=event["subjects"]["bid"]).first()
    if bid is None:
        return [f"bid {event['subjects']['bid']} no longer exists"]
    stored = stored_file_sha256(bid.envelope.name or "")
    if stored is None:
        return [f"bid {bid.token}: its stored envelope is missing"]
    return {**event, "hashes": {"envelope": f"sha256:{stored}"}}


def bid_withdrawn(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    bid = Bid.objects.filter(token=event["subjects"]["bid"]).first()
    if bid is None or bid.status != "withdrawn":
        return [f"bid {event['subjects']['bid']} is not withdrawn now"]
    return event


def register() -> None:
    register_leaf_source("bids:bid:submitted", bid_envelope)
    register_leaf_source("bids:bid:replaced", bid_envelope)
    register_leaf_source("bids:bid:withdrawn", bid_withdrawn)
