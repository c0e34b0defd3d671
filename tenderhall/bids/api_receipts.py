"""What a bidder needs to seal a bid and to check its receipt offline.

* ``GET /bids/{bid_id}/receipt`` (the bidder only): the signed receipt, the RFC 3161 token, the ledger's
  tlog-proof once the leaf is integrated, and the keys to check them with (``tenderhall bid verify-receipt``).
* ``GET /tenders/{tender_id}/sealing`` (public once published): the certificates every envelope of the
  tender must also be sealed to, besides the bidder's own encryption certificate.

Mounted with ``api.add_router("/bids", receipts_router)`` in config/api.py.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Schema
from pydantic import Field

from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.accounts.trust import trust_roots_from_settings
from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create, tsa_signer_load_or_create
from tenderhall.bids import selectors
from tenderhall.bids.models import Bid
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.core.hooks import sealing_recipients
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.ledger.services import record_key
from tenderhall.procedures.models import Tender

router = Router(tags=["bids"])
BID_EVENTS = ("bids:bid:submitted", "bids:bid:replaced")


class ReceiptBundleOut(Schema):
    receipt: dict[str, object] = Field(description="the platform-signed receipt (docs/receipts.md)")
    timestamp_token: str = Field(description="base64 DER RFC 3161 TimeStampToken over the envelope's SHA-256")
    tlog_proof: str | None = Field(
        description="C2SP tlog-proof of the bid's ledger leaf; null until a published checkpoint covers it"
    )
    log_vkey: str = Field(description="the ledger's verifier key (C2SP vkey)")
    receipt_public_key: str = Field(description="PEM public key the receipt is signed with")
    tsa_root: str | None = Field(description="PEM root certificate the TSA certificate chains to")


class SealingCertificateOut(Schema):
    name: str = Field(description="the recipient's role, e.g. escrow")
    certificate_pem: str


class SealingInfoOut(Schema):
    tender_id: int
    tender_code: str
    bid_deadline: str | None
    certificates: list[SealingCertificateOut] = Field(
        description="recipients every envelope needs besides the bidder's own encryption certificate"
    )


@router.get(
    "/bids/{bid_id}/receipt",
    response=ReceiptBundleOut,
    operation_id="bid_receipt",
    auth=authenticated(Scope.PROCEDURES_READ),
)
def bid_receipt(request: HttpRequest, bid_id: int) -> ReceiptBundleOut:
    """The bid's receipt bundle, to save beside the envelope and check offline."""
    bid = selectors.access_bid_for_bidder(actor=request_user(request), bid_id=bid_id)
    if bid.receipt is None or bid.timestamp_token is None:
        raise NotFound(gettext("This bid has no receipt."))
    now = clock.now()
    tsa = tsa_signer_load_or_create(now=now)
    return ReceiptBundleOut(
        receipt=bid.receipt,
        timestamp_token=base64.b64encode(bytes(bid.timestamp_token)).decode("ascii"),
        tlog_proof=_tlog_proof(bid),
        log_vkey=ledger_selectors.ledger_vkey(),
        receipt_public_key=receipt_signer_load_or_create().public_key_pem().decode("ascii"),
        tsa_root=_root_pem([tsa.certificate, *tsa.chain], trust_roots_from_settings(now=now)),
    )


def _tlog_proof(bid: Bid) -> str | None:
    leaves = ledger_selectors.leaves_for_record(record_key=record_key({"bid": str(bid.token)}))
    leaf = next((leaf for leaf in leaves if leaf.event_type in BID_EVENTS), None)
    if leaf is None or not leaf.integrated:
        return None
    return ledger_selectors.tlog_proof(index=leaf.index)


def _root_pem(chain: list[bytes], roots: list[bytes]) -> str | None:
    """The trust root (PEM) that issued the top of ``chain`` (DER, leaf first), or None."""
    top = x509.load_der_x509_certificate(chain[-1])
    for der in roots:
        root = x509.load_der_x509_certificate(der)
        if root.subject == top.issuer or root == top:
            try:
                top.verify_directly_issued_by(root)
            except (ValueError, TypeError):
                if root != top:
                    continue
            return root.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return None


@router.get(
    "/tenders/{tender_id}/sealing", response=SealingInfoOut, operation_id="tender_sealing_info", auth=None
)
def tender_sealing_info(request: HttpRequest, tender_id: int) -> SealingInfoOut:
    """The certificates a bid for this tender is sealed to besides the bidder's own (the escrow opening
    certificate, when the tender has one)."""
    tender = Tender.objects.filter(pk=tender_id, published_at__isnull=False).first()
    if tender is None:
        raise NotFound(gettext("No such tender."))
    certificates = [
        SealingCertificateOut(
            name=name,
            certificate_pem=x509.load_der_x509_certificate(der)
            .public_bytes(serialization.Encoding.PEM)
            .decode("ascii"),
        )
        for name, der in sorted(sealing_recipients(tender).items())
    ]
    return SealingInfoOut(
        tender_id=tender.pk,
        tender_code=tender.code,
        bid_deadline=tender.bid_deadline.isoformat() if tender.bid_deadline else None,
        certificates=certificates,
    )
