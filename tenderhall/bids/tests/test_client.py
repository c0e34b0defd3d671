"""The bidder's client: a deterministic package, a seal that our envelope checks and openssl both accept, and
an offline receipt check that names each kind of tampering."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from tenderhall.accounts.demo_ca import DemoCA, demo_ca_load_or_create
from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create, tsa_signer_load_or_create
from tenderhall.bids.client import bid_package, bid_seal, receipt_check, receipt_report
from tenderhall.bids.envelope import (
    content_key_unwrap,
    envelope_decrypt,
    envelope_inspect,
    envelope_require_recipients,
)
from tenderhall.bids.tests.test_services import MARKER, make_scene, submit
from tenderhall.core.tsa import tsa_serial_new, tsa_timestamp
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.ledger.services import ledger_integrate
from tenderhall.procedures.tests.factories import PUBLISH_AT

BID_FORM = {"price": "8765432.10", "duration_days": 180, "marker": MARKER.decode()}


@dataclass(frozen=True)
class Party:
    key_path: Path
    cert_path: Path

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


@dataclass(frozen=True)
class Pki:
    ca: DemoCA
    root: Path
    signing: Party
    encryption: Party
    escrow: Party
    directory: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = demo_ca_load_or_create(directory / "ca", now=PUBLISH_AT)
    parties = {}
    for name, usage in (("signing", "signing"), ("encryption", "encryption"), ("escrow", "encryption")):
        key_pem, cert_pem = ca.issue_key_and_certificate(
            common_name=f"江城建工 {name}", serial_number="91110000MA01234567", usage=usage, now=PUBLISH_AT
        )
        (directory / f"{name}.key.pem").write_bytes(key_pem)
        (directory / f"{name}.pem").write_bytes(cert_pem)
        parties[name] = Party(directory / f"{name}.key.pem", directory / f"{name}.pem")
    root = directory / "root.pem"
    root.write_bytes(ca.root_pem)
    return Pki(ca, root, parties["signing"], parties["encryption"], parties["escrow"], directory)


def openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def decrypt(path: Path, party: Party) -> bytes:
    return openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", path,
        "-recip", party.cert_path, "-inkey", party.key_path,
    )  # fmt: skip


def seal(pki: Pki, package: bytes, **options: str) -> bytes:
    return bid_seal(
        package=package,
        signing_key=pki.signing.key,
        signing_certificate=pki.signing.certificate,
        recipients=[pki.encryption.certificate, pki.escrow.certificate],
        **options,  # type: ignore[arg-type]
    )


# --- the package --------------------------------------------------------------------------------------------


def test_the_package_is_a_zip_with_bid_json_first_then_the_documents_by_name_and_always_the_same_bytes(
    tmp_path: Path,
) -> None:
    # given
    (tmp_path / "z-drawings.pdf").write_bytes(b"%PDF-1.7 drawings")
    (tmp_path / "a-offer.pdf").write_bytes(b"%PDF-1.7 offer")
    documents = [tmp_path / "z-drawings.pdf", tmp_path / "a-offer.pdf"]
    # when
    first = bid_package(bid_json=BID_FORM, documents=documents)
    second = bid_package(bid_json=dict(reversed(BID_FORM.items())), documents=list(reversed(documents)))
    # then
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["bid.json", "a-offer.pdf", "z-drawings.pdf"]
        assert json.loads(archive.read("bid.json")) == BID_FORM
        assert archive.read("a-offer.pdf") == b"%PDF-1.7 offer"
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_two_documents_with_one_name_or_one_named_bid_json_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "offer.pdf").write_bytes(b"1")
    (tmp_path / "offer.pdf").write_bytes(b"2")
    (tmp_path / "bid.json").write_bytes(b"{}")
    with pytest.raises(ValueError, match=r"offer\.pdf"):
        bid_package(bid_json={}, documents=[tmp_path / "offer.pdf", tmp_path / "a" / "offer.pdf"])
    with pytest.raises(ValueError, match=r"bid\.json"):
        bid_package(bid_json={}, documents=[tmp_path / "bid.json"])


# --- sealing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "content_encryption", "transport"),
    [
        ({}, "aes-256-gcm", "rsa-oaep-sha256"),
        ({"key_transport": "rsa-pkcs1v15"}, "aes-256-gcm", "rsa-pkcs1v15"),
        ({"cipher": "aes-256-cbc"}, "aes-256-cbc", "rsa-pkcs1v15"),
    ],
)
def test_a_sealed_bid_lists_both_recipients_and_openssl_opens_it_to_a_signed_package_with_either_key(
    pki: Pki, options: dict[str, str], content_encryption: str, transport: str
) -> None:
    # given
    package = bid_package(bid_json=BID_FORM, documents=[])
    # when
    envelope = seal(pki, package, **options)
    # then: our envelope checks accept it, with exactly the two recipients
    info = envelope_inspect(envelope)
    assert info.content_encryption == content_encryption
    assert [r.key_transport for r in info.recipients] == [transport, transport]
    der = {
        name: party.certificate.public_bytes(serialization.Encoding.DER)
        for name, party in (("bidder", pki.encryption), ("escrow", pki.escrow))
    }
    found = envelope_require_recipients(info, certificates=der)
    assert len(info.recipients) == 2
    # and openssl cms -decrypt opens it with the bidder's key and with the escrow key, to the same SignedData
    path = pki.directory / f"bid-{content_encryption}-{transport}.p7m"
    path.write_bytes(envelope)
    signed = {party: decrypt(path, getattr(pki, party)) for party in ("encryption", "escrow")}
    assert signed["encryption"] == signed["escrow"]
    # which openssl cms -verify accepts against the CA root, giving back the package
    verified = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", pki.root, "-purpose", "any",
        stdin=signed["encryption"],
    )  # fmt: skip
    assert verified == package
    with zipfile.ZipFile(io.BytesIO(verified)) as archive:
        assert json.loads(archive.read("bid.json"))["price"] == "8765432.10"
    # and our own unwrap + decrypt give the same plaintext
    key = content_key_unwrap(found["escrow"], pki.escrow.key)
    assert envelope_decrypt(envelope, content_key=key) == signed["encryption"]


def test_the_signed_package_carries_the_signer_certificate(pki: Pki) -> None:
    envelope = seal(pki, b"package")
    found = envelope_require_recipients(
        envelope_inspect(envelope),
        certificates={"bidder": pki.encryption.certificate.public_bytes(serialization.Encoding.DER)},
    )
    signed = envelope_decrypt(envelope, content_key=content_key_unwrap(found["bidder"], pki.encryption.key))
    certificates = openssl("cms", "-verify", "-noverify", "-inform", "DER", "-certsout", "/dev/stdout",
                           "-out", "/dev/null", stdin=signed)  # fmt: skip
    assert pki.signing.certificate.public_bytes(serialization.Encoding.PEM).decode() in certificates.decode()


def test_a_recipient_without_an_rsa_key_and_cbc_with_oaep_are_refused(pki: Pki) -> None:
    ec_certificate = x509.load_pem_x509_certificate(pki.ca.root_pem)  # the demo CA's key is EC
    with pytest.raises(ValueError, match="RSA"):
        bid_seal(
            package=b"p",
            signing_key=pki.signing.key,
            signing_certificate=pki.signing.certificate,
            recipients=[pki.encryption.certificate, ec_certificate],
        )
    with pytest.raises(ValueError, match="PKCS#1"):
        seal(pki, b"p", cipher="aes-256-cbc", key_transport="rsa-oaep-sha256")
    with pytest.raises(ValueError, match="recipient"):
        bid_seal(
            package=b"p",
            signing_key=pki.signing.key,
            signing_certificate=pki.signing.certificate,
            recipients=[],
        )


# --- the receipt, checked offline ---------------------------------------------------------------------------


@dataclass
class Submitted:
    envelope: bytes
    receipt: dict[str, object]
    token: bytes
    proof: str
    other_proof: str
    vkey: str
    public_key: object
    root: bytes


@pytest.fixture
def submitted(tmp_path: Path) -> Iterator[Submitted]:
    # The ledger caches tiles per process; each test's database starts a new log.
    ledger_selectors.clear_tile_cache()
    scene = make_scene(tmp_path)
    package = bid_package(bid_json=BID_FORM, documents=[])
    bidder_key = serialization.load_pem_private_key(scene.bidder.signing_key.read_bytes(), password=None)
    assert isinstance(bidder_key, rsa.RSAPrivateKey)
    envelope = bid_seal(
        package=package,
        signing_key=bidder_key,
        signing_certificate=x509.load_pem_x509_certificate(scene.bidder.signing_cert.read_bytes()),
        recipients=[x509.load_pem_x509_certificate(scene.bidder.encryption_cert.read_bytes())],
    )
    bid = submit(scene, envelope)
    ledger_integrate(now=scene.during + timedelta(seconds=1))
    leaf = next(
        leaf
        for leaf in ledger_selectors.leaves_for_record(record_key=f"bid:{bid.token}")
        if leaf.event_type == "bids:bid:submitted"
    )
    root = (Path(settings.TENDERHALL_DATA_DIR) / "demo-ca" / "root.pem").read_bytes()
    assert bid.receipt is not None
    assert bid.timestamp_token is not None
    yield Submitted(
        envelope=envelope,
        receipt=bid.receipt,
        token=bytes(bid.timestamp_token),
        proof=ledger_selectors.tlog_proof(index=leaf.index),
        other_proof=ledger_selectors.tlog_proof(index=0 if leaf.index else 1),
        vkey=ledger_selectors.ledger_vkey(),
        public_key=receipt_signer_load_or_create().public_key,
        root=x509.load_pem_x509_certificate(root).public_bytes(serialization.Encoding.DER),
    )
    ledger_selectors.clear_tile_cache()


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def check(s: Submitted, **changes: object) -> list[str]:
    arguments: dict[str, object] = {
        "receipt": s.receipt,
        "token": s.token,
        "envelope": s.envelope,
        "receipt_public_key": s.public_key,
        "tsa_roots": [s.root],
        "proof": s.proof,
        "log_vkey": s.vkey,
    }
    return receipt_check(**{**arguments, **changes})  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_real_submissions_receipt_passes_every_check(submitted: Submitted) -> None:
    assert check(submitted) == []
    report = receipt_report(
        receipt=submitted.receipt,
        token=submitted.token,
        envelope=submitted.envelope,
        receipt_public_key=submitted.public_key,  # type: ignore[arg-type]
        tsa_roots=[submitted.root],
        proof=submitted.proof,
        log_vkey=submitted.vkey,
    )
    assert len(report.passed) == 4
    assert "leaf" in report.passed[-1]
    # without a proof yet, everything else still passes
    assert check(submitted, proof=None) == []


@pytest.mark.django_db
def test_each_kind_of_tampering_is_named(submitted: Submitted, pki: Pki, tmp_path: Path) -> None:
    # an altered receipt
    altered = copy.deepcopy(submitted.receipt)
    altered["lot"] = "another lot"
    problems = check(submitted, receipt=altered)
    assert [p.split(":")[0] for p in problems] == ["receipt signature"], problems
    # another envelope
    other = submitted.envelope[:-1] + bytes([submitted.envelope[-1] ^ 1])
    problems = check(submitted, envelope=other)
    assert {p.split(":")[0] for p in problems} == {"envelope", "timestamp", "ledger"}
    assert hashlib.sha256(other).hexdigest() in problems[0]
    # a token for other bytes: a receipt whose token is another bid's
    foreign = tsa_timestamp(
        digest=hashlib.sha256(b"other bytes").digest(),
        now=PUBLISH_AT + timedelta(days=3),
        serial=tsa_serial_new(),
        signer=tsa_signer_load_or_create(now=PUBLISH_AT + timedelta(days=3)),
    )
    problems = check(submitted, token=foreign)
    assert only(problems).startswith("timestamp:"), problems
    assert "other data" in problems[0]
    # a wrong TSA root
    problems = check(submitted, tsa_roots=[pki.ca.root_der])
    assert only(problems).startswith("timestamp:"), problems
    # a proof for another leaf
    problems = check(submitted, proof=submitted.other_proof)
    assert only(problems).startswith("ledger: leaf"), problems
    # a proof that does not verify against the log's key
    problems = check(submitted, log_vkey="other+00000000+AQ" + "A" * 42 + "=")
    assert only(problems).startswith("ledger"), problems
