"""Bids API: submit a sealed envelope per lot, replace it, withdraw it, read your own.

Two ways to upload the same thing: the envelope as the request body (``POST /lots/{id}/envelopes``, the
bid's fields in the query string), and a multipart form (``POST /lots/{id}/bids``), which form-making tools
send. Under `tenderhall serve` both stream straight to storage as they arrive (bids.uploads); both end in
``services.bid_submit``.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.bids import selectors, services
from tenderhall.bids.models import Bid
from tenderhall.bids.schemas import BidOut
from tenderhall.bids.uploads import body_arrived
from tenderhall.core import clock
from tenderhall.core.errors import DomainError

router = Router(tags=["bids"])
READ, WRITE = Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE
# RFC 7193's type for CMS, the older S/MIME one, and plain bytes: the body is checked as an envelope anyway.
ENVELOPE_TYPES = ("application/cms", "application/pkcs7-mime", "application/octet-stream")


class NotAnEnvelopeBody(DomainError):
    code = "unsupported_media_type"
    status = 415


def bid_out(bid: Bid) -> BidOut:
    return BidOut(
        id=bid.pk,
        token=bid.token,
        lot_id=bid.lot_id,
        lot_code=bid.lot.code,
        entity_id=bid.entity_id,
        status=bid.status,
        size=bid.size,
        sha256=bid.sha256,
        content_encryption=bid.content_encryption,
        submitted_at=bid.submitted_at,
        ended_at=bid.ended_at,
        replaces_token=bid.replaces.token if bid.replaces else None,
        bond_amount=bid.bond_amount,
        receipt=bid.receipt,
    )


@router.post(
    "/lots/{lot_id}/bids", response={201: BidOut}, operation_id="bid_submit", auth=authenticated(WRITE)
)
def bid_submit(
    request: HttpRequest,
    lot_id: int,
    envelope: File[UploadedFile],
    entity_id: Form[int],
    bond_amount: Form[Decimal],
    bond_payer_account: Form[str] = "",
    bond_guarantee_reference: Form[str] = "",
) -> Status[BidOut]:
    """Submit the entity's sealed envelope (CMS EnvelopedData or AuthEnvelopedData, DER) for a lot; a second
    submission replaces the first. The deadline is the server's clock when the upload has arrived."""
    bid = services.bid_submit(
        actor=request_user(request),
        lot_id=lot_id,
        entity_id=entity_id,
        envelope=envelope,
        bond_amount=bond_amount,
        bond_payer_account=bond_payer_account,
        bond_guarantee_reference=bond_guarantee_reference,
        now=clock.now(),
    )
    return Status(201, bid_out(bid))


@router.post(
    "/lots/{lot_id}/envelopes",
    response={201: BidOut},
    operation_id="bid_submit_envelope",
    auth=authenticated(WRITE),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the sealed envelope itself (DER), up to 200 MB",
            "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ENVELOPE_TYPES},
        }
    },
)
def bid_submit_envelope(
    request: HttpRequest,
    lot_id: int,
    entity_id: Query[int],
    bond_amount: Query[Decimal],
    bond_payer_account: Query[str] = "",
    bond_guarantee_reference: Query[str] = "",
) -> Status[BidOut]:
    """Submit the entity's sealed envelope as the request body (``Content-Type: application/cms``), the
    bid's fields in the query string: the body streams to storage with its SHA-256 in one pass, with no form
    to parse. Otherwise the same as the multipart submission: a second one replaces the first, and the
    deadline is the server's clock when the upload has arrived."""
    if request.content_type not in ENVELOPE_TYPES:
        raise NotAnEnvelopeBody(
            gettext("Send the envelope itself as the body, with Content-Type %(types)s (not %(sent)s).")
            % {"types": ", ".join(ENVELOPE_TYPES), "sent": request.content_type or "none"},
            details={"accepted": list(ENVELOPE_TYPES)},
        )
    body = body_arrived(request)
    bid = services.bid_submit(
        actor=request_user(request),
        lot_id=lot_id,
        entity_id=entity_id,
        envelope=body,
        bond_amount=bond_amount,
        bond_payer_account=bond_payer_account,
        bond_guarantee_reference=bond_guarantee_reference,
        now=clock.now(),  # read once the whole body is on the server: the arrival
    )
    return Status(201, bid_out(bid))


@router.get("/bids", response=list[BidOut], operation_id="bid_list_mine", auth=authenticated(READ))
def bid_list_mine(request: HttpRequest) -> list[BidOut]:
    return [bid_out(b) for b in selectors.bid_list_for_bidder(request_user(request))[:200]]


@router.post(
    "/bids/{bid_id}/withdraw", response=BidOut, operation_id="bid_withdraw", auth=authenticated(WRITE)
)
def bid_withdraw(request: HttpRequest, bid_id: int) -> BidOut:
    actor = request_user(request)
    bid = selectors.access_bid_for_bidder(actor=actor, bid_id=bid_id)
    return bid_out(services.bid_withdraw(actor=actor, bid=bid, now=clock.now()))
