"""The opening over the API: the session as each viewer may see it, the bidder's wrapped key and its content
key, the managers' decisions and record, the officials' shares, the bidders' confirmations."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Schema

from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.bids.selectors import bidder_entity_ids
from tenderhall.core import clock
from tenderhall.core.errors import InvalidInput
from tenderhall.opening import selectors, sessions
from tenderhall.opening.models import OpenedBid, OpeningSession, Outcome
from tenderhall.opening.selectors import View, opening_view_for

router = Router(tags=["opening"])
READ, WRITE = Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE


class OpenedBidOut(Schema):
    bid_id: int | None  # only for the bidder itself, managers and supervisors
    bid_token: str
    lot_code: str
    bidder: str
    outcome: str
    opened_via: str
    attempts: int | None
    reason: str
    price: Decimal | None
    duration_days: int | None
    form: dict[str, Any] | None
    confirmed: bool


class OpeningLotOut(Schema):
    code: str
    name: str
    bid_count: int
    failed: bool


class OpeningOut(Schema):
    tender_id: int
    tender_code: str
    status: str
    view: str
    started_at: datetime
    decryption_until: datetime
    escrow_allowed: bool
    lots: list[OpeningLotOut]
    bids: list[OpenedBidOut]  # empty for the public until the record is published
    record: dict[str, Any] | None
    record_notice_id: int | None


def opened_bid_out(opened: OpenedBid, *, view: View, own: bool) -> OpenedBidOut:
    """What a viewer sees of one bid: bidders see every bidder's status and, as they come, the results;
    only the bid's own bidder, managers and supervisors see its id, attempts and full form."""
    full = own or view in (View.MANAGER, View.SUPERVISOR)
    opened_now = opened.outcome == Outcome.OPENED
    return OpenedBidOut(
        bid_id=opened.bid_id if full else None,
        bid_token=str(opened.bid.token),
        lot_code=opened.bid.lot.code,
        bidder=opened.bid.entity.name,
        outcome=opened.outcome,
        opened_via=opened.opened_via,
        attempts=opened.attempts if full else None,
        reason=opened.fault_reason,
        price=opened.price if opened_now else None,
        duration_days=opened.duration_days if opened_now else None,
        form=opened.form if full and opened_now else None,
        confirmed=opened.confirmed_at is not None,
    )


def opening_out(session: OpeningSession, *, viewer: Any) -> OpeningOut:
    view = opening_view_for(viewer, session)
    own = bidder_entity_ids(viewer) if viewer is not None else set()
    show_bids = view is not View.PUBLIC or session.record is not None
    return OpeningOut(
        tender_id=session.tender_id,
        tender_code=session.tender.code,
        status=session.status,
        view=view,
        started_at=session.started_at,
        decryption_until=session.decryption_until,
        escrow_allowed=session.escrow_allowed,
        lots=[
            OpeningLotOut(code=lot.lot.code, name=lot.lot.name, bid_count=lot.bid_count, failed=lot.failed)
            for lot in session.lots.select_related("lot")
        ],
        bids=[
            opened_bid_out(opened, view=view, own=opened.bid.entity_id in own)
            for opened in (selectors.session_bids(session) if show_bids else [])
        ],
        record=session.record,
        record_notice_id=session.record_notice_id,
    )


@router.get("/tenders/{tender_id}/session", response=OpeningOut, operation_id="opening_get", auth=None)
def opening_get(request: HttpRequest, tender_id: int) -> OpeningOut:
    """The tender's opening, once started (public from the deadline): the public sees the lots and, once
    published, the signed record; bidders also the bidder list and decryption status live; managers and
    supervisors everything."""
    viewer = optional_user(request, READ)
    return opening_out(selectors.access_session_for_viewer(viewer=viewer, tender_id=tender_id), viewer=viewer)


class WrappedKeyOut(Schema):
    bid_id: int
    content_encryption: str
    key_transport: str
    recipient_issuer: str | None
    recipient_serial: str | None
    encrypted_key: str  # base64


@router.get(
    "/bids/{bid_id}/wrapped-key",
    response=WrappedKeyOut,
    operation_id="opening_wrapped_key",
    auth=authenticated(READ),
)
def opening_wrapped_key(request: HttpRequest, bid_id: int) -> WrappedKeyOut:
    """The encryptedKey of your own recipient in your bid: unwrap it on your machine (`tenderhall bid
    unwrap-key --wrapped FILE`, or `openssl pkeyutl -decrypt`) and send the result as the content key."""
    wrapped = sessions.wrapped_key_for_bidder(actor=request_user(request), bid_id=bid_id)
    recipient = wrapped.recipient
    return WrappedKeyOut(
        bid_id=wrapped.bid.pk,
        content_encryption=wrapped.content_encryption,
        key_transport=recipient.key_transport,
        recipient_issuer=recipient.issuer,
        recipient_serial=format(recipient.serial, "x") if recipient.serial is not None else None,
        encrypted_key=base64.b64encode(recipient.encrypted_key).decode("ascii"),
    )


class ContentKeyIn(Schema):
    content_key: str  # hex


def _hex_key(value: str) -> bytes:
    try:
        key = binascii.unhexlify(value.strip())
    except (binascii.Error, ValueError):
        raise InvalidInput(
            gettext("The content key is written in hex (as `tenderhall bid unwrap-key` prints it)."),
            details={"fields": {"content_key": "hex"}},
        ) from None
    if len(key) not in (16, 24, 32):
        raise InvalidInput(
            gettext("A content key is 16, 24 or 32 bytes (32, 48 or 64 hex digits), not %(n)s.")
            % {"n": len(key)},
            details={"fields": {"content_key": "length"}},
        )
    return key


@router.post(
    "/bids/{bid_id}/content-key",
    response=OpenedBidOut,
    operation_id="opening_content_key",
    auth=authenticated(WRITE),
)
def opening_content_key(request: HttpRequest, bid_id: int, payload: ContentKeyIn) -> OpenedBidOut:
    """In the decryption window: hand over your bid's content key; the platform decrypts and checks it."""
    actor = request_user(request)
    opened = sessions.content_key_submit(
        actor=actor, bid_id=bid_id, content_key=_hex_key(payload.content_key), now=clock.now()
    )
    return opened_bid_out(opened, view=View.BIDDER, own=True)


class FaultIn(Schema):
    bidder_at_fault: bool
    reason: str


@router.post(
    "/bids/{bid_id}/fault",
    response=OpenedBidOut,
    operation_id="opening_fault_decide",
    auth=authenticated(WRITE),
)
def opening_fault_decide(request: HttpRequest, bid_id: int, payload: FaultIn) -> OpenedBidOut:
    """After the window: whose fault a failed decryption was (the bidder's: revoked; another's: withdrawn,
    and open to the escrow key where the rules allow it)."""
    opened = sessions.bid_fault_decide(
        actor=request_user(request),
        bid_id=bid_id,
        bidder_at_fault=payload.bidder_at_fault,
        reason=payload.reason,
        now=clock.now(),
    )
    return opened_bid_out(opened, view=View.MANAGER, own=False)


class SealedShareOut(Schema):
    tender_id: int
    x: int
    k: int
    n: int
    digest: str
    sealed: str  # base64 of the CMS envelope: `tenderhall opening unwrap-share --sealed FILE`


@router.get(
    "/tenders/{tender_id}/sealed-share",
    response=SealedShareOut,
    operation_id="opening_sealed_share",
    auth=authenticated(READ),
)
def opening_sealed_share(request: HttpRequest, tender_id: int) -> SealedShareOut:
    """Your share of the tender's escrow key, sealed to your encryption certificate."""
    share = sessions.sealed_share_for_official(actor=request_user(request), tender_id=tender_id)
    return SealedShareOut(
        tender_id=tender_id,
        x=share.x,
        k=share.escrow.k,
        n=share.escrow.n,
        digest=share.digest,
        sealed=base64.b64encode(bytes(share.envelope)).decode("ascii"),
    )


class ShareIn(Schema):
    share: str


class ShareResultOut(Schema):
    submitted: int
    k: int
    opened: list[str]  # bid tokens the rebuilt key opened
    failed: dict[str, str]


@router.post(
    "/tenders/{tender_id}/shares",
    response=ShareResultOut,
    operation_id="opening_share_submit",
    auth=authenticated(WRITE),
)
def opening_share_submit(request: HttpRequest, tender_id: int, payload: ShareIn) -> ShareResultOut:
    """Hand over your unwrapped share for an escrow opening; the k-th share opens the eligible bids."""
    result = sessions.share_submit(
        actor=request_user(request), tender_id=tender_id, share=payload.share, now=clock.now()
    )
    return ShareResultOut(
        submitted=result.submitted,
        k=result.k,
        opened=[str(o.bid.token) for o in result.opened],
        failed=result.failed,
    )


@router.post(
    "/tenders/{tender_id}/record",
    response=OpeningOut,
    operation_id="opening_record_publish",
    auth=authenticated(WRITE),
)
def opening_record_publish(request: HttpRequest, tender_id: int) -> OpeningOut:
    """Publish the opening record (开标记录表), signed by the platform, as a notice."""
    actor = request_user(request)
    return opening_out(
        sessions.record_publish(actor=actor, tender_id=tender_id, now=clock.now()), viewer=actor
    )


@router.post(
    "/bids/{bid_id}/confirm",
    response=OpenedBidOut,
    operation_id="opening_record_confirm",
    auth=authenticated(WRITE),
)
def opening_record_confirm(request: HttpRequest, bid_id: int) -> OpenedBidOut:
    """Confirm the published record for your bid. To object, raise an objection to the opening instead."""
    opened = sessions.record_confirm(actor=request_user(request), bid_id=bid_id, now=clock.now())
    return opened_bid_out(opened, view=View.BIDDER, own=True)
