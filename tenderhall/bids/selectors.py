"""Bid reads. Before the opening nobody but the bidder learns that a bid exists."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.bids.models import Bid
from tenderhall.core.errors import NotFound


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
