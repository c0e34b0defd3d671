"""A demo tender at its opening for `tenderhall demo-data`: published a month ago, three demo bidders sealed
bids with the client (their demo keys), and the deadline has passed, so the scheduler opens it now with an
eight-hour decryption window. The first bidder has already decrypted; the other two can do it in the opening
hall or with `tenderhall bid unwrap-key`. Made through the services like real data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenderhall.accounts.demo_ca import DemoCA
from tenderhall.accounts.models import User
from tenderhall.bids.client import bid_package, bid_seal
from tenderhall.bids.envelope import content_key_unwrap, envelope_inspect, recipient_for
from tenderhall.bids.services import bid_submit
from tenderhall.opening.sessions import content_key_submit
from tenderhall.portal.demo_tender import demo_tender_publish
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.registry.models import MarketEntity

PROJECT_NAME = "江城市滨江公园景观提升工程"
TENDER_NAME = "江城市滨江公园景观提升施工"
PUBLISHED_DAYS_AGO = 30
PRICES = ("11236800.00", "10988000.00", "11420500.00")


@dataclass(frozen=True)
class DemoBidder:
    user: User
    entity: MarketEntity
    keys: Path  # the demo keys and certificates: <keys>-signing.key.pem, <keys>-encryption.cert.pem ...


def _key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # the demo CA makes RSA keys
    return key


def demo_opening_start(
    *,
    agency_user: User,
    agency: MarketEntity,
    tenderee: MarketEntity,
    bidders: Sequence[DemoBidder],
    ca: DemoCA,
    now: datetime,
) -> bool:
    """Make the demo opening once; False when it already exists."""
    published_at = now - timedelta(days=PUBLISHED_DAYS_AGO)
    tender = demo_tender_publish(
        agency_user=agency_user,
        agency=agency,
        tenderee=tenderee,
        ca=ca,
        now=published_at,
        project_name=PROJECT_NAME,
        tender_name=TENDER_NAME,
        decryption_minutes=480,
    )
    if tender is None:
        return False
    procedures_tick(now=published_at)  # the documents are out: bidding is open
    lot = tender.lots.get()
    envelopes = []
    for index, bidder in enumerate(bidders):
        form = {"price": PRICES[index % len(PRICES)], "duration_days": 150 + 10 * index, "quality": "合格"}
        encryption_cert = x509.load_pem_x509_certificate(
            Path(f"{bidder.keys}-encryption.cert.pem").read_bytes()
        )
        envelope = bid_seal(
            package=bid_package(bid_json=form, documents=[]),
            signing_key=_key(Path(f"{bidder.keys}-signing.key.pem")),
            signing_certificate=x509.load_pem_x509_certificate(
                Path(f"{bidder.keys}-signing.cert.pem").read_bytes()
            ),
            recipients=[encryption_cert],
        )
        bid = bid_submit(
            actor=bidder.user,
            lot_id=lot.pk,
            entity_id=bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=Decimal("200000"),
            bond_payer_account=f"62220202000012345{index:02d}",
            now=published_at + timedelta(days=5, hours=index),
        )
        envelopes.append((bidder, bid, envelope, encryption_cert))
    procedures_tick(now=now)  # the deadline has passed: bidding closes and the opening starts now
    first, bid, envelope, encryption_cert = envelopes[0]
    recipient = recipient_for(
        envelope_inspect(envelope), encryption_cert.public_bytes(serialization.Encoding.DER)
    )
    content_key = content_key_unwrap(recipient, _key(Path(f"{first.keys}-encryption.key.pem")))
    content_key_submit(actor=first.user, bid_id=bid.pk, content_key=content_key, now=now)
    return True
