"""Bid reads. Before the opening nobody but the bidder learns that a bid exists."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.models import Bid
from tenderhall.core.errors import NotFound
from tenderhall.procedures.models import Lot


def bidder_entity_ids(user: User) -> set[int]:
    return {
        entity_id
        for entity_id in RoleGrant.objects.filter(
            user=user, role=Role.BIDDER, entity__isnull=False
        ).values_list("entity_id", flat=True)
        if entity_id is not None
    }


def bid_list_for_bidder(user: User) -> QuerySet[Bid]:
    """The bids of the entities the user bids for, every version, newest first."""
    return (
        Bid.objects.filter(entity_id__in=bidder_entity_ids(user))
        .select_related("lot", "replaces")
        .order_by("-submitted_at", "-id")
    )


def access_bid_for_bidder(*, actor: User, bid_id: int) -> Bid:
    bid = Bid.objects.select_related("lot", "replaces").filter(pk=bid_id).first()
    if bid is None or bid.entity_id not in bidder_entity_ids(actor):
        raise NotFound(gettext("No such bid."))
    return bid


def active_bid_counts(tender_id: int) -> dict[int, int]:
    """Lot id → its active (submitted) bids, for every lot of the tender. For the workflow and the opening,
    which run after the deadline: never show it to anyone before."""
    counts = dict(
        Bid.objects.filter(lot__tender_id=tender_id, status=BidStatus.SUBMITTED)
        .values("lot_id")
        .annotate(n=Count("id"))
        .values_list("lot_id", "n")
    )
    lots = Lot.objects.filter(tender_id=tender_id).values_list("pk", flat=True)
    return {lot_id: counts.get(lot_id, 0) for lot_id in lots}


def tender_bid_count(tender: Any) -> int:
    """The most active bids any one lot of the tender holds: a lot opens only with enough of its own."""
    return max(active_bid_counts(tender.pk).values(), default=0)
