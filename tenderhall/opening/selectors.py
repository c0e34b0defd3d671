"""Opening reads: who sees which part of an opening, and the opened bids evaluation builds on."""

from __future__ import annotations

from enum import StrEnum

from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_supervises
from tenderhall.bids.selectors import bidder_entity_ids
from tenderhall.core.errors import NotFound
from tenderhall.opening.models import OpenedBid, OpeningSession, Outcome
from tenderhall.procedures.selectors import can_manage_project, managed_entity_ids


class View(StrEnum):
    """What a viewer of an opening sees: the public only the published record; bidders the bidder list,
    the decryption status and the results as they come; managers and supervisors everything."""

    PUBLIC = "public"
    BIDDER = "bidder"
    MANAGER = "manager"
    SUPERVISOR = "supervisor"


def opening_view_for(viewer: User | None, session: OpeningSession) -> View:
    if viewer is None:
        return View.PUBLIC
    project = session.tender.project
    if can_manage_project(viewer, project) or project.tenderee_id in managed_entity_ids(viewer):
        return View.MANAGER
    if user_supervises(viewer):
        return View.SUPERVISOR
    entities = bidder_entity_ids(viewer)
    if entities and session.bids.filter(bid__entity_id__in=entities).exists():
        return View.BIDDER
    return View.PUBLIC


def access_session_for_viewer(*, viewer: User | None, tender_id: int) -> OpeningSession:
    """An opening is public from the moment it starts (the deadline has passed)."""
    session = (
        OpeningSession.objects.select_related("tender", "tender__project", "record_notice")
        .filter(tender_id=tender_id)
        .first()
    )
    if session is None:
        raise NotFound(gettext("This tender has no opening (yet)."))
    return session


def access_session_for_manager(*, actor: User, tender_id: int) -> OpeningSession:
    session = (
        OpeningSession.objects.select_related("tender", "tender__project").filter(tender_id=tender_id).first()
    )
    if session is None or opening_view_for(actor, session) is not View.MANAGER:
        raise NotFound(gettext("No such opening."))
    return session


def access_opened_bid_for_bidder(*, actor: User, bid_id: int) -> OpenedBid:
    opened = (
        OpenedBid.objects.select_related("bid", "bid__lot", "bid__entity", "session", "session__tender")
        .filter(bid_id=bid_id)
        .first()
    )
    if opened is None or opened.bid.entity_id not in bidder_entity_ids(actor):
        raise NotFound(gettext("No such bid at an opening."))
    return opened


def access_opened_bid_for_manager(*, actor: User, bid_id: int) -> OpenedBid:
    opened = (
        OpenedBid.objects.select_related("bid", "bid__entity", "session", "session__tender__project")
        .filter(bid_id=bid_id)
        .first()
    )
    if opened is None or opening_view_for(actor, opened.session) is not View.MANAGER:
        raise NotFound(gettext("No such bid at an opening."))
    return opened


def session_bids(session: OpeningSession) -> QuerySet[OpenedBid]:
    return session.bids.select_related("bid", "bid__lot", "bid__entity").order_by(
        "bid__lot__code", "bid__submitted_at", "pk"
    )


def opened_bids(lot_id: int) -> QuerySet[OpenedBid]:
    """The bids of a lot that were opened (by their bidder or by the escrow key): what evaluation judges."""
    return (
        OpenedBid.objects.filter(bid__lot_id=lot_id, outcome=Outcome.OPENED)
        .select_related("bid", "bid__entity")
        .order_by("bid__submitted_at", "pk")
    )
