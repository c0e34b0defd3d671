"""Submitting, replacing and withdrawing sealed bids: envelopes made by `openssl cms`, the deadline held under
the tender's lock, nothing left behind by a refusal, and no plaintext ever on the server."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tenderhall.accounts.choices import Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.bids import selectors, services, uploads
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.envelope import EnvelopeRefused
from tenderhall.bids.models import Bid
from tenderhall.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.ledger.models import Leaf
from tenderhall.procedures import services as procedure_services
from tenderhall.procedures.models import Lot, Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import (
    PUBLISH_AT,
    attach_signed_document,
    make_draft_tender,
    make_parties,
)
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.services import entity_certificate_upload
from tenderhall.registry.tests.factories import make_entity

pytestmark = pytest.mark.django_db
MARKER = b"SECRET-PRICE-MARKER-8765432.10"


@dataclass
class Bidder:
    user: User
    entity: MarketEntity
    encryption_cert: Path
    signing_cert: Path
    signing_key: Path


@dataclass
class Scene:
    tender: Tender
    lot: Lot
    bidder: Bidder
    during: datetime  # a moment while bidding is open


def make_bidder(operator: User, tmp_path: Path, *, now=PUBLISH_AT) -> Bidder:
    user = make_user()
    entity = make_entity(registrant=user, role=Role.BIDDER, approved_by=operator, name="江城建工集团有限公司")
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now - timedelta(days=1))
    paths = {}
    for usage in ("signing", "encryption"):
        key_pem, cert_pem = ca.issue_key_and_certificate(
            common_name=entity.name, serial_number=entity.identifier, usage=usage, now=now - timedelta(days=1)
        )
        entity_certificate_upload(
            actor=user, entity_id=entity.pk, data=cert_pem, usage=usage, now=now - timedelta(days=1)
        )
        (tmp_path / f"{usage}.key.pem").write_bytes(key_pem)
        (tmp_path / f"{usage}.cert.pem").write_bytes(cert_pem)
        paths[usage] = tmp_path / f"{usage}.cert.pem"
    return Bidder(user, entity, paths["encryption"], paths["signing"], tmp_path / "signing.key.pem")


def make_scene(tmp_path: Path) -> Scene:
    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    procedure_services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    procedures_tick(now=PUBLISH_AT + timedelta(minutes=1))
    tender.refresh_from_db()
    bidder = make_bidder(parties.operator, tmp_path)
    return Scene(tender, tender.lots.get(), bidder, PUBLISH_AT + timedelta(days=3))


def seal(
    bidder: Bidder,
    tmp_path: Path,
    *,
    cipher: str = "-aes-256-gcm",
    recipients: list[Path] | None = None,
    payload: bytes = b'{"price": "8765432.10", "duration_days": 180}\n' + MARKER,
) -> bytes:
    """What a bidder does without our client: openssl cms -sign, then openssl cms -encrypt."""
    plain, signed = tmp_path / "bid.json", tmp_path / "bid.p7s"
    plain.write_bytes(payload)
    subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            str(plain),
            "-signer",
            str(bidder.signing_cert),
            "-inkey",
            str(bidder.signing_key),
            "-outform",
            "DER",
            "-out",
            str(signed),
        ],
        check=True,
        capture_output=True,
    )
    command = ["openssl", "cms", "-encrypt", "-binary", cipher, "-in", str(signed), "-outform", "DER"]
    for recipient in recipients or [bidder.encryption_cert]:
        command += ["-recip", str(recipient)]
    return subprocess.run(command, check=True, capture_output=True).stdout


def submit(
    scene: Scene, envelope: bytes, *, now: datetime | None = None, bond: Decimal = Decimal("150000")
) -> Bid:
    return services.bid_submit(
        actor=scene.bidder.user,
        lot_id=scene.lot.pk,
        entity_id=scene.bidder.entity.pk,
        envelope=BytesIO(envelope),
        bond_amount=bond,
        bond_payer_account="6222020200001234567",
        now=now or scene.during,
    )


def stored_files() -> list[Path]:
    root = Path(settings.TENDERHALL_DATA_DIR) / "files" / "bids"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("cipher", ["-aes-128-cbc", "-aes-256-cbc", "-aes-256-gcm"])
def test_an_openssl_envelope_is_accepted_stored_as_sent_and_logged_without_naming_the_bidder(
    tmp_path, cipher
):
    # given
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path, cipher=cipher)
    # when
    bid = submit(scene, envelope)
    # then
    assert (bid.status, bid.size, bid.content_encryption) == (BidStatus.SUBMITTED, len(envelope), cipher[1:])
    assert Path(bid.envelope.path).read_bytes() == envelope
    leaf = json.loads(bytes(Leaf.objects.get(event_type="bids:bid:submitted").data))
    assert leaf["subjects"] == {"bid": str(bid.token)}
    assert leaf["hashes"] == {"envelope": f"sha256:{bid.sha256}"}
    assert "actor" not in leaf
    assert scene.bidder.entity.identifier not in json.dumps(leaf, ensure_ascii=False)


def test_a_replacement_supersedes_the_earlier_envelope_and_a_withdrawal_keeps_it(tmp_path):
    scene = make_scene(tmp_path)
    first = submit(scene, seal(scene.bidder, tmp_path))
    second = submit(scene, seal(scene.bidder, tmp_path), now=scene.during + timedelta(hours=1))
    first.refresh_from_db()
    assert (first.status, second.replaces) == (BidStatus.SUPERSEDED, first)
    services.bid_withdraw(actor=scene.bidder.user, bid=second, now=scene.during + timedelta(hours=2))
    second.refresh_from_db()
    assert second.status == BidStatus.WITHDRAWN
    assert len(stored_files()) == 2
    assert [e for e in Leaf.objects.values_list("event_type", flat=True) if e.startswith("bids:")] == [
        "bids:bid:submitted",
        "bids:bid:replaced",
        "bids:bid:withdrawn",
    ]


def test_the_deadline_holds_to_the_microsecond_and_a_late_bid_leaves_nothing(tmp_path):
    scene = make_scene(tmp_path)
    deadline = scene.tender.bid_deadline
    assert deadline is not None
    envelope = seal(scene.bidder, tmp_path)
    submit(scene, envelope, now=deadline - timedelta(microseconds=1))
    with pytest.raises(services.BiddingClosed):
        submit(scene, envelope, now=deadline)
    assert Bid.objects.count() == 1
    assert len(stored_files()) == 1


def test_after_the_scheduler_closes_bidding_no_bid_is_taken(tmp_path):
    scene = make_scene(tmp_path)
    deadline = scene.tender.bid_deadline
    assert deadline is not None
    procedures_tick(now=deadline)
    with pytest.raises(services.BiddingClosed):
        submit(scene, seal(scene.bidder, tmp_path), now=deadline - timedelta(seconds=1))
    assert stored_files() == []


@pytest.mark.parametrize(
    ("make_envelope", "reason"),
    [
        (lambda scene, tmp: b"this is not a CMS structure", None),
        (lambda scene, tmp: seal(scene.bidder, tmp)[:200], None),
        (
            lambda scene, tmp: seal(scene.bidder, tmp, recipients=[scene.bidder.signing_cert]),
            "recipient_missing",
        ),
    ],
)
def test_a_malformed_envelope_or_one_the_bidder_cannot_open_is_refused_and_nothing_stays(
    tmp_path, make_envelope, reason
):
    scene = make_scene(tmp_path)
    with pytest.raises(EnvelopeRefused) as refused:
        submit(scene, make_envelope(scene, tmp_path))
    if reason:
        assert refused.value.details["reason"] == reason
    assert (Bid.objects.count(), stored_files()) == (0, [])
    assert not Leaf.objects.filter(event_type__startswith="bids:").exists()


def test_the_bid_bond_is_checked_against_the_lot(tmp_path):
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path)
    with pytest.raises(InvalidInput) as low:
        submit(scene, envelope, bond=Decimal("149999.99"))
    assert set(low.value.details["fields"]) == {"bond_amount"}
    with pytest.raises(InvalidInput):
        submit(scene, envelope, bond=Decimal("196000.01"))  # over 2 % of the 9 800 000 estimate
    with pytest.raises(InvalidInput) as fraction:
        submit(scene, envelope, bond=Decimal("150000.001"))
    assert set(fraction.value.details["fields"]) == {"bond_amount"}
    with pytest.raises(InvalidInput) as long:  # a refusal, not a database error once the upload is in
        services.bid_submit(
            actor=scene.bidder.user,
            lot_id=scene.lot.pk,
            entity_id=scene.bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=Decimal("150000"),
            bond_payer_account="6" * 65,
            bond_guarantee_reference="G" * 101,
            now=scene.during,
        )
    assert long.value.details["fields"] == {
        "bond_payer_account": "At most 64 characters.",
        "bond_guarantee_reference": "At most 100 characters.",
    }
    assert stored_files() == []


def test_only_a_bidder_of_an_approved_entity_with_current_certificates_submits(tmp_path):
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path)
    with pytest.raises(PermissionDenied):
        services.bid_submit(
            actor=make_user(),
            lot_id=scene.lot.pk,
            entity_id=scene.bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=Decimal("150000"),
            bond_payer_account="1",
            now=scene.during,
        )
    with pytest.raises(services.BidderNotReady):
        # a year and a day later the demo certificates have expired
        services.bid_submit(
            actor=scene.bidder.user,
            lot_id=scene.lot.pk,
            entity_id=scene.bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=Decimal("150000"),
            bond_payer_account="1",
            now=PUBLISH_AT + timedelta(days=366),
        )
    with pytest.raises(NotFound):
        selectors.access_bid_for_bidder(actor=make_user(), bid_id=0)


def test_no_plaintext_of_a_sealed_bid_is_anywhere_on_the_server(tmp_path):
    # given: a bid whose plaintext holds a marker
    scene = make_scene(tmp_path)
    submit(scene, seal(scene.bidder, tmp_path))
    # then: no stored file and no database row holds the marker
    for path in Path(settings.TENDERHALL_DATA_DIR).rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_bytes(), path
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608  # table names from the introspection
            for row in cursor.fetchall():
                assert MARKER.decode() not in repr(row), table


def test_the_receipt_is_signed_and_its_timestamp_token_verifies_with_openssl(tmp_path):
    # given
    from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create
    from tenderhall.core.receipts import receipt_verify

    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path)
    # when
    bid = submit(scene, envelope)
    # then: the receipt names the envelope and verifies with the platform's receipt key
    assert bid.receipt is not None
    receipt_verify(bid.receipt, public_key=receipt_signer_load_or_create().private_key.public_key())
    assert (bid.receipt["envelope_sha256"], bid.receipt["bidder"]) == (
        bid.sha256,
        scene.bidder.entity.identifier,
    )
    tampered = {**bid.receipt, "envelope_sha256": "0" * 64}
    with pytest.raises(DomainError):
        receipt_verify(tampered, public_key=receipt_signer_load_or_create().private_key.public_key())
    # and openssl accepts the RFC 3161 token over the envelope's bytes
    assert bid.timestamp_token is not None
    (tmp_path / "token.der").write_bytes(bytes(bid.timestamp_token))
    (tmp_path / "envelope.p7m").write_bytes(envelope)
    (tmp_path / "root.pem").write_bytes(
        demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=scene.during).root_pem
    )
    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-token_in",
            "-in",
            str(tmp_path / "token.der"),
            "-data",
            str(tmp_path / "envelope.p7m"),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-attime",
            str(int(scene.during.timestamp())),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Verification: OK" in result.stdout


def test_an_envelope_over_the_size_limit_is_refused_while_streaming_and_leaves_no_file(tmp_path):
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path)
    with pytest.raises(uploads.EnvelopeTooLarge) as refused:
        services.bid_submit(
            actor=scene.bidder.user,
            lot_id=scene.lot.pk,
            entity_id=scene.bidder.entity.pk,
            envelope=BytesIO(envelope),
            bond_amount=Decimal("150000"),
            bond_payer_account="6222020200001234567",
            now=scene.during,
            max_size=len(envelope) - 1,
        )
    assert refused.value.details == {"max": len(envelope) - 1}
    assert (Bid.objects.count(), stored_files()) == (0, [])
