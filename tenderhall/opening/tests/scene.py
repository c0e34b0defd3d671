"""An opening to test with, made through the services: a published works tender whose escrow key is split
2-of-3 among opening officials, three bidders with their own CA certificates (files on "their machines"),
bids sealed with the client or with the openssl command line, and the scheduler run to the deadline."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from tenderhall.accounts.choices import Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import User
from tenderhall.accounts.services import certificate_accept
from tenderhall.accounts.tests.factories import make_user
from tenderhall.bids import services as bid_services
from tenderhall.bids.client import bid_package, bid_seal
from tenderhall.bids.envelope import content_key_unwrap, envelope_inspect, recipient_for
from tenderhall.bids.models import Bid
from tenderhall.opening import services as escrow_services
from tenderhall.opening.escrow import share_unseal
from tenderhall.opening.models import EscrowKey, OpeningSession, SealedShare
from tenderhall.procedures import services as procedure_services
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import (
    PUBLISH_AT,
    Parties,
    attach_signed_document,
    make_draft_tender,
    make_parties,
)
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.services import entity_certificate_upload
from tenderhall.registry.tests.factories import make_entity

DEADLINE = PUBLISH_AT + timedelta(days=22)
DURING = PUBLISH_AT + timedelta(days=5)
NAMES = ("江城建工集团有限公司", "楚天路桥工程有限公司", "汉江市政建设有限公司", "江夏园林绿化有限公司")
PRICES = ("9350000.00", "9120500.50", "9488000.00")


@dataclass
class Bidder:
    user: User
    entity: MarketEntity
    home: Path  # the bidder's own machine: its keys and certificates
    signing_key: rsa.RSAPrivateKey
    signing_cert: x509.Certificate
    encryption_key: rsa.RSAPrivateKey
    encryption_cert: x509.Certificate
    submitted: Bid | None = None

    @property
    def bid(self) -> Bid:
        assert self.submitted is not None, "this bidder has not submitted a bid"
        return self.submitted

    def content_key(self, envelope: bytes | None = None) -> bytes:
        """What `tenderhall bid unwrap-key` computes on the bidder's machine."""
        data = envelope if envelope is not None else read_envelope(self.bid)
        der = self.encryption_cert.public_bytes(serialization.Encoding.DER)
        return content_key_unwrap(recipient_for(envelope_inspect(data), der), self.encryption_key)


@dataclass
class Official:
    user: User
    key: rsa.RSAPrivateKey
    cert_pem: bytes

    def share(self, tender: Tender) -> str:
        sealed = SealedShare.objects.get(escrow__tender=tender, official=self.user)
        return share_unseal(
            bytes(sealed.envelope),
            certificate=x509.load_pem_x509_certificate(self.cert_pem),
            private_key=self.key,
        )


@dataclass
class Opening:
    parties: Parties
    tender: Tender
    officials: list[Official]
    bidders: list[Bidder] = field(default_factory=list)

    @property
    def escrow_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(
            EscrowKey.objects.get(tender=self.tender).certificate_pem.encode()
        )

    @property
    def session(self) -> OpeningSession:
        return OpeningSession.objects.get(tender=self.tender)


def read_envelope(bid: Bid) -> bytes:
    with bid.envelope.open("rb") as stored:
        return bytes(stored.read())


def _ca() -> Any:
    return demo_ca_load_or_create(
        Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=PUBLISH_AT - timedelta(days=2)
    )


def make_official(index: int) -> Official:
    user = make_user(role=Role.OPENING_OFFICIAL)
    key_pem, cert_pem = _ca().issue_key_and_certificate(
        common_name=f"开标人{index}", serial_number=user.id_number, usage="encryption", now=PUBLISH_AT
    )
    certificate_accept(actor=user, user=user, data=cert_pem, usage="encryption", now=PUBLISH_AT)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return Official(user, key, cert_pem)


def make_bidder(operator: User, home: Path, name: str) -> Bidder:
    user = make_user()
    entity = make_entity(registrant=user, role=Role.BIDDER, approved_by=operator, name=name)
    home.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[rsa.RSAPrivateKey, x509.Certificate]] = {}
    for usage in ("signing", "encryption"):
        key_pem, cert_pem = _ca().issue_key_and_certificate(
            common_name=entity.name,
            serial_number=entity.identifier,
            usage=usage,
            now=PUBLISH_AT - timedelta(days=1),
        )
        entity_certificate_upload(
            actor=user, entity_id=entity.pk, data=cert_pem, usage=usage, now=PUBLISH_AT - timedelta(days=1)
        )
        (home / f"{usage}.key.pem").write_bytes(key_pem)
        (home / f"{usage}.cert.pem").write_bytes(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        made[usage] = (key, x509.load_pem_x509_certificate(cert_pem))
    return Bidder(user, entity, home, *made["signing"], *made["encryption"])


def make_opening(
    tmp_path: Path, *, bidders: int = 3, officials: int = 3, k: int = 2, extra_lots: int = 0
) -> Opening:
    """A published tender in bidding, its escrow key split k-of-n, and the bidders (no bids yet)."""
    parties = make_parties()
    tender = make_draft_tender(parties)
    for index in range(extra_lots):
        procedure_services.lot_add(
            actor=parties.agency_user,
            tender_id=tender.pk,
            name=f"施工{index + 2}标段",
            estimate=Decimal("2000000"),
            bid_bond=Decimal("40000"),
            now=PUBLISH_AT,
        )
    attach_signed_document(parties, tender)
    people = [make_official(i) for i in range(officials)]
    escrow_services.escrow_plan_set(
        actor=parties.agency_user,
        tender_id=tender.pk,
        official_ids=[o.user.pk for o in people],
        k=k,
        now=PUBLISH_AT,
    )
    procedure_services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    procedures_tick(now=PUBLISH_AT + timedelta(minutes=1))
    tender.refresh_from_db()
    opening = Opening(parties, tender, people)
    opening.bidders = [
        make_bidder(parties.operator, tmp_path / f"bidder{i}", NAMES[i]) for i in range(bidders)
    ]
    return opening


def sealed_with_client(
    opening: Opening, bidder: Bidder, *, form: dict[str, Any], cipher: str = "aes-256-gcm"
) -> bytes:
    package = bid_package(bid_json=form, documents=[])
    return bid_seal(
        package=package,
        signing_key=bidder.signing_key,
        signing_certificate=bidder.signing_cert,
        recipients=[bidder.encryption_cert, opening.escrow_cert],
        cipher=cipher,  # type: ignore[arg-type]
    )


def sealed_with_openssl(
    opening: Opening,
    bidder: Bidder,
    *,
    form: dict[str, Any],
    cipher_args: tuple[str, ...] = ("-aes-256-cbc",),
) -> bytes:
    """What a bidder does without our client: zip, openssl cms -sign, openssl cms -encrypt."""
    home = bidder.home
    (home / "package.zip").write_bytes(bid_package(bid_json=form, documents=[]))
    (home / "escrow.pem").write_bytes(opening.escrow_cert.public_bytes(serialization.Encoding.PEM))
    subprocess.run(
        [
            "openssl", "cms", "-sign", "-binary", "-nodetach", "-in", str(home / "package.zip"),
            "-signer", str(home / "signing.cert.pem"), "-inkey", str(home / "signing.key.pem"),
            "-outform", "DER", "-out", str(home / "package.p7s"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    command = ["openssl", "cms", "-encrypt", "-binary", cipher_args[0], "-in", str(home / "package.p7s")]
    command += ["-recip", str(home / "encryption.cert.pem"), *cipher_args[1:]]
    command += ["-recip", str(home / "escrow.pem"), *cipher_args[1:], "-outform", "DER"]
    return subprocess.run(command, check=True, capture_output=True).stdout


def submit(
    opening: Opening, bidder: Bidder, envelope: bytes, *, now: datetime = DURING, lot_index: int = 0
) -> Bid:
    lot = opening.tender.lots.order_by("code")[lot_index]
    bidder.submitted = bid_services.bid_submit(
        actor=bidder.user,
        lot_id=lot.pk,
        entity_id=bidder.entity.pk,
        envelope=BytesIO(envelope),
        bond_amount=lot.bid_bond,
        bond_payer_account="6222020200001234567",
        now=now,
    )
    return bidder.bid


def form_for(index: int) -> dict[str, Any]:
    return {"price": PRICES[index], "duration_days": 180 + 10 * index, "quality": "合格", "bidder_no": index}


def open_at_deadline(
    tmp_path: Path, *, sealers: tuple[str, ...] = ("client", "openssl", "client")
) -> Opening:
    """Three bids sealed (by the client or openssl), then the scheduler at the deadline: the session."""
    opening = make_opening(tmp_path, bidders=len(sealers))
    for index, (bidder, sealer) in enumerate(zip(opening.bidders, sealers, strict=True)):
        seal = sealed_with_client if sealer == "client" else sealed_with_openssl
        submit(opening, bidder, seal(opening, bidder, form=form_for(index)))
    procedures_tick(now=DEADLINE)
    opening.tender.refresh_from_db()
    return opening
