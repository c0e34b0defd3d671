"""The escrow opening key: a 3-of-5 split among five officials, checked against openssl as the peer."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from tenderhall.accounts.certificates import validate_certificate
from tenderhall.accounts.demo_ca import DemoCA, demo_ca_load_or_create
from tenderhall.opening import shamir
from tenderhall.opening.escrow import (
    EscrowCertificateUnusable,
    EscrowKey,
    EscrowKeyMismatch,
    EscrowOfficialCertificateUnusable,
    EscrowOfficialsInvalid,
    EscrowShareMismatch,
    EscrowShareUnsealFailed,
    EscrowTenderCodeInvalid,
    escrow_key_generate,
    escrow_key_rebuild,
    escrow_share_verify,
    share_digest,
    share_unseal,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TENDER_CODE = "E1100000001000123001"
OTHER_TENDER_CODE = "E1100000001000124001"


@dataclass(frozen=True)
class Official:
    id: str
    key_pem: bytes
    certificate_pem: bytes

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


@dataclass(frozen=True)
class World:
    ca: DemoCA
    officials: list[Official]
    escrow: EscrowKey
    other: EscrowKey  # another tender's escrow key, for the same officials
    shares: list[str]  # the five shares of ``escrow``, unsealed
    other_shares: list[str]


def openssl(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, input=stdin, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def official_pairs(officials: list[Official]) -> list[tuple[str, bytes]]:
    return [(official.id, official.certificate_pem) for official in officials]


def reshare(encoded: str, *, block: int = 0, delta: int = 1) -> str:
    """The share with one value moved by ``delta`` and a fresh checksum: altered on purpose, not damaged."""
    share = shamir.share_decode(encoded)
    ys = list(share.ys)
    ys[block] = (ys[block] + delta) % shamir.PRIME
    return shamir.share_encode(
        shamir.Share(
            split_id=share.split_id,
            k=share.k,
            n=share.n,
            x=share.x,
            secret_length=share.secret_length,
            ys=tuple(ys),
        )
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One CA, five officials with RSA-2048 encryption certificates, two tenders' escrow keys (RSA-3072)."""
    ca = demo_ca_load_or_create(tmp_path_factory.mktemp("ca"), now=NOW)
    officials = []
    for number in range(1, 6):
        key_pem, certificate_pem = ca.issue_key_and_certificate(
            common_name=f"开标官{number}",
            serial_number=f"11010519800101{number:04d}",
            usage="encryption",
            now=NOW,
        )
        officials.append(Official(id=f"official-{number}", key_pem=key_pem, certificate_pem=certificate_pem))
    pairs = official_pairs(officials)
    escrow = escrow_key_generate(tender_code=TENDER_CODE, ca=ca, officials=pairs, k=3, now=NOW)
    other = escrow_key_generate(tender_code=OTHER_TENDER_CODE, ca=ca, officials=pairs, k=3, now=NOW)

    def unseal_all(key: EscrowKey) -> list[str]:
        return [
            share_unseal(
                sealed.envelope_der, certificate=official.certificate_pem, private_key=official.private_key
            )
            for sealed, official in zip(key.sealed_shares, officials, strict=True)
        ]

    return World(ca, officials, escrow, other, unseal_all(escrow), unseal_all(other))


# --- generation --------------------------------------------------------------------------------------------


def test_the_escrow_certificate_is_an_rsa_3072_encryption_certificate_naming_the_tender(world: World) -> None:
    # when
    info = validate_certificate(
        world.escrow.certificate_pem, usage="encryption", trust_roots=[world.ca.root_der], now=NOW
    )

    # then
    certificate = x509.load_pem_x509_certificate(world.escrow.certificate_pem)
    assert info.key_algorithm == "rsa-3072"
    assert info.key_usage == ("keyEncipherment",)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"escrow opening key {TENDER_CODE}"
    )
    assert world.escrow.tender_code == TENDER_CODE
    assert (world.escrow.k, world.escrow.n) == (3, 5)


def test_the_escrow_certificate_verifies_with_openssl_against_the_ca_root(
    world: World, tmp_path: Path
) -> None:
    (tmp_path / "root.pem").write_bytes(world.ca.root_pem)
    (tmp_path / "escrow.pem").write_bytes(world.escrow.certificate_pem)

    output = openssl(
        "verify",
        "-x509_strict",
        "-attime",
        str(int(NOW.timestamp())),
        "-CAfile",
        "root.pem",
        "escrow.pem",
        cwd=tmp_path,
    )

    assert output == b"escrow.pem: OK\n"


def test_the_commitment_is_sha256_of_the_public_key_info_as_openssl_computes_it(
    world: World, tmp_path: Path
) -> None:
    # given
    (tmp_path / "escrow.pem").write_bytes(world.escrow.certificate_pem)

    # when: the SubjectPublicKeyInfo DER, extracted by openssl
    public_pem = openssl("x509", "-in", "escrow.pem", "-noout", "-pubkey", cwd=tmp_path)
    spki = openssl("pkey", "-pubin", "-outform", "DER", cwd=tmp_path, stdin=public_pem)

    # then
    assert world.escrow.commitment == "sha256:" + hashlib.sha256(spki).hexdigest()
    assert world.other.commitment != world.escrow.commitment


def test_each_official_gets_one_sealed_share_in_order_with_its_digest(world: World) -> None:
    sealed = world.escrow.sealed_shares

    assert [(share.official, share.x) for share in sealed] == [(f"official-{i}", i) for i in range(1, 6)]
    assert [share.digest for share in sealed] == [share_digest(text) for text in world.shares]
    decoded = [shamir.share_decode(text) for text in world.shares]
    assert [share.x for share in decoded] == [1, 2, 3, 4, 5]
    assert {(share.k, share.n, share.split_id.hex()) for share in decoded} == {(3, 5, world.escrow.split_id)}
    assert world.other.split_id != world.escrow.split_id


def test_openssl_cms_decrypt_opens_each_sealed_share_to_the_same_share_as_share_unseal(
    world: World, tmp_path: Path
) -> None:
    for official, sealed, text in zip(world.officials, world.escrow.sealed_shares, world.shares, strict=True):
        # given
        (tmp_path / "share.der").write_bytes(sealed.envelope_der)
        (tmp_path / "official.pem").write_bytes(official.certificate_pem)
        (tmp_path / "official.key").write_bytes(official.key_pem)

        # when
        opened = openssl(
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "share.der",
            "-recip",
            "official.pem",
            "-inkey",
            "official.key",
            cwd=tmp_path,
        )

        # then
        assert opened.decode("ascii") == text
        printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", "share.der", cwd=tmp_path)
        assert b"aes-256-cbc" in printed
        assert printed.count(b"rsaEncryption") == 1  # one recipient: this official


def test_nothing_that_generation_returns_holds_the_private_key(world: World) -> None:
    # given: the rebuilt key's secret parts
    key = escrow_key_rebuild(shares=world.shares[:3], certificate_pem=world.escrow.certificate_pem)
    numbers = key.private_numbers()
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secrets_found = [
        der,
        der[100:132],
        numbers.d.to_bytes(384, "big")[:32],
        numbers.p.to_bytes(192, "big")[:32],
        numbers.q.to_bytes(192, "big")[:32],
    ]

    # when: everything the generation handed back, as bytes
    published = [
        world.escrow.certificate_pem,
        world.escrow.commitment.encode(),
        *(sealed.envelope_der for sealed in world.escrow.sealed_shares),
        *(sealed.digest.encode() for sealed in world.escrow.sealed_shares),
    ]

    # then
    assert not [part for part in secrets_found for blob in published if part in blob]


# --- rebuilding --------------------------------------------------------------------------------------------


def test_any_three_shares_rebuild_the_key_that_opens_a_message_sealed_by_openssl(
    world: World, tmp_path: Path
) -> None:
    # given: a message sealed to the escrow certificate by openssl, as a bidder's envelope would be
    (tmp_path / "escrow.pem").write_bytes(world.escrow.certificate_pem)
    (tmp_path / "bid.txt").write_bytes("投标报价 1234567.89 元".encode())
    openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-aes256",
        "-in",
        "bid.txt",
        "-outform",
        "DER",
        "-out",
        "bid.der",
        "escrow.pem",
        cwd=tmp_path,
    )
    envelope = (tmp_path / "bid.der").read_bytes()
    certificate = x509.load_pem_x509_certificate(world.escrow.certificate_pem)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    oaep_message = public_key.encrypt(b"content-encryption key", oaep)

    for subset in itertools.combinations(world.shares, 3):
        # when
        key = escrow_key_rebuild(shares=subset, certificate_pem=world.escrow.certificate_pem)

        # then
        assert pkcs7.pkcs7_decrypt_der(envelope, certificate, key, []) == "投标报价 1234567.89 元".encode()
        assert key.decrypt(oaep_message, oaep) == b"content-encryption key"


def test_four_or_five_shares_rebuild_the_key_too_and_the_certificate_may_be_der(world: World) -> None:
    der = x509.load_pem_x509_certificate(world.escrow.certificate_pem).public_bytes(
        serialization.Encoding.DER
    )

    four = escrow_key_rebuild(shares=world.shares[1:], certificate_pem=der)
    five = escrow_key_rebuild(shares=[text.encode() + b"\n" for text in world.shares], certificate_pem=der)

    assert four.private_numbers() == five.private_numbers()


def test_two_shares_do_not_rebuild_the_key(world: World) -> None:
    with pytest.raises(shamir.SharesTooFew) as caught:
        escrow_key_rebuild(shares=world.shares[:2], certificate_pem=world.escrow.certificate_pem)

    assert caught.value.details == {"given": 2, "needed": 3}


def test_two_shares_and_a_share_of_another_tender_are_refused(world: World) -> None:
    with pytest.raises(shamir.SharesFromDifferentSplits):
        escrow_key_rebuild(
            shares=[world.shares[0], world.shares[1], world.other_shares[2]],
            certificate_pem=world.escrow.certificate_pem,
        )


def test_another_tenders_shares_do_not_match_this_certificate(world: World) -> None:
    with pytest.raises(EscrowKeyMismatch) as caught:
        escrow_key_rebuild(shares=world.other_shares[:3], certificate_pem=world.escrow.certificate_pem)

    assert caught.value.code == "escrow_key_mismatch"


@pytest.mark.parametrize(
    ("block", "delta"),
    [(0, 1), (-1, 1), (5, 2**500), (12, shamir.PRIME - 1)],
    ids=["first-block+1", "last-block+1", "middle-block+2^500", "block-1"],
)
def test_a_share_altered_on_purpose_gives_a_key_mismatch(world: World, block: int, delta: int) -> None:
    # given: official 3's share altered and given a valid checksum
    altered = reshare(world.shares[2], block=block, delta=delta)

    # when / then
    with pytest.raises(EscrowKeyMismatch) as caught:
        escrow_key_rebuild(
            shares=[world.shares[0], world.shares[1], altered], certificate_pem=world.escrow.certificate_pem
        )
    assert caught.value.code == "escrow_key_mismatch"


def test_a_share_that_disagrees_with_the_others_is_found_when_more_than_k_are_given(world: World) -> None:
    altered = reshare(world.shares[4], block=3)

    with pytest.raises(EscrowKeyMismatch) as caught:
        escrow_key_rebuild(shares=[*world.shares[:4], altered], certificate_pem=world.escrow.certificate_pem)

    assert caught.value.details == {"x": 5}


def test_a_share_damaged_in_transit_is_refused_by_its_checksum(world: World) -> None:
    text = world.shares[0]
    damaged = text[:100] + ("A" if text[100] != "A" else "B") + text[101:]

    with pytest.raises(shamir.ShareChecksumMismatch):
        escrow_key_rebuild(shares=[damaged, *world.shares[1:3]], certificate_pem=world.escrow.certificate_pem)


def test_rebuild_refuses_the_certificate_of_another_key_and_one_that_is_not_an_rsa_certificate(
    world: World,
) -> None:
    # given: an RSA certificate of another key, and the CA's EC root
    _key, other_rsa_pem = world.ca.issue_key_and_certificate(
        common_name="x", serial_number="1", usage="encryption", now=NOW
    )

    # when / then
    with pytest.raises(EscrowKeyMismatch):
        escrow_key_rebuild(shares=world.shares[:3], certificate_pem=other_rsa_pem)
    with pytest.raises(EscrowCertificateUnusable) as caught:
        escrow_key_rebuild(shares=world.shares[:3], certificate_pem=b"not a certificate")
    assert caught.value.code == "escrow_certificate_unusable"
    assert caught.value.details["reason"] == "malformed"
    with pytest.raises(EscrowCertificateUnusable):
        escrow_key_rebuild(shares=world.shares[:3], certificate_pem=world.ca.root_pem)


# --- each share on its own ---------------------------------------------------------------------------------


def test_a_submitted_share_is_checked_against_the_digest_kept_for_its_official(world: World) -> None:
    sealed = world.escrow.sealed_shares

    assert escrow_share_verify(world.shares[0] + "\n", digest=sealed[0].digest).x == 1
    with pytest.raises(EscrowShareMismatch) as caught:
        escrow_share_verify(reshare(world.shares[0]), digest=sealed[0].digest)
    assert caught.value.code == "escrow_share_mismatch"
    assert caught.value.details == {"x": 1}
    with pytest.raises(EscrowShareMismatch):
        escrow_share_verify(world.shares[1], digest=sealed[0].digest)
    with pytest.raises(EscrowShareMismatch):
        escrow_share_verify(world.other_shares[0], digest=sealed[0].digest)


def test_a_sealed_share_does_not_open_with_another_officials_key(world: World) -> None:
    first, second = world.officials[0], world.officials[1]

    with pytest.raises(EscrowShareUnsealFailed) as caught:
        share_unseal(
            world.escrow.sealed_shares[0].envelope_der,
            certificate=second.certificate_pem,
            private_key=second.private_key,
        )
    assert caught.value.code == "escrow_share_unseal_failed"
    with pytest.raises(EscrowShareUnsealFailed) as caught:
        # the right certificate but the wrong key: PKCS#1 v1.5 may "decrypt" to noise (implicit rejection)
        share_unseal(
            world.escrow.sealed_shares[0].envelope_der,
            certificate=x509.load_pem_x509_certificate(first.certificate_pem),
            private_key=second.private_key,
        )
    assert caught.value.details["reason"] in {"decrypt", "not_a_share"}
    with pytest.raises(EscrowShareUnsealFailed):
        share_unseal(
            b"\x30\x03\x02\x01\x00", certificate=first.certificate_pem, private_key=first.private_key
        )


# --- refusals before any key is made -----------------------------------------------------------------------


class RecordingIssuer:
    """A CA stand-in that records requests; it must not be reached when the input is refused."""

    def __init__(self, ca: DemoCA) -> None:
        self.ca = ca
        self.requests: list[bytes] = []

    def issue_from_csr(self, csr_pem: bytes, *, usage: str, now: datetime, days: int = 365) -> bytes:
        self.requests.append(csr_pem)
        return self.ca.issue_from_csr(csr_pem, usage=usage, now=now, days=days)


@pytest.mark.parametrize(
    ("k", "error", "code"),
    [
        (1, shamir.ThresholdTooLow, "shamir_threshold_too_low"),
        (6, shamir.ThresholdAboveShareCount, "shamir_threshold_above_share_count"),
    ],
)
def test_generate_refuses_a_threshold_before_making_a_key(
    world: World, k: int, error: type[shamir.ShamirError], code: str
) -> None:
    issuer = RecordingIssuer(world.ca)

    with pytest.raises(error) as caught:
        escrow_key_generate(
            tender_code=TENDER_CODE, ca=issuer, officials=official_pairs(world.officials), k=k, now=NOW
        )

    assert caught.value.code == code
    assert issuer.requests == []


def test_generate_refuses_an_official_listed_twice_or_unnamed(world: World) -> None:
    issuer = RecordingIssuer(world.ca)
    pairs = official_pairs(world.officials)

    with pytest.raises(EscrowOfficialsInvalid) as caught:
        escrow_key_generate(tender_code=TENDER_CODE, ca=issuer, officials=[*pairs, pairs[0]], k=3, now=NOW)
    assert caught.value.details == {"official": "official-1"}
    with pytest.raises(EscrowOfficialsInvalid):
        escrow_key_generate(
            tender_code=TENDER_CODE, ca=issuer, officials=[("", pairs[0][1]), *pairs[1:]], k=3, now=NOW
        )
    assert issuer.requests == []


def test_generate_refuses_an_official_certificate_that_cannot_receive_a_share(world: World) -> None:
    # given: a signing certificate (no keyEncipherment), garbage, and the EC root
    issuer = RecordingIssuer(world.ca)
    _key, signing_pem = world.ca.issue_key_and_certificate(
        common_name="签名证书", serial_number="2", usage="signing", now=NOW
    )
    pairs = official_pairs(world.officials)[:4]
    cases = [
        (signing_pem, "wrong_key_usage"),
        (b"garbage", "malformed"),
        (world.ca.root_pem, "unsupported_key"),
    ]

    for certificate, reason in cases:
        # when / then
        with pytest.raises(EscrowOfficialCertificateUnusable) as caught:
            escrow_key_generate(
                tender_code=TENDER_CODE, ca=issuer, officials=[*pairs, ("late", certificate)], k=3, now=NOW
            )
        assert caught.value.code == "escrow_official_certificate_unusable"
        assert caught.value.details["official"] == "late"
        assert caught.value.details["reason"] == reason
    assert issuer.requests == []


@pytest.mark.parametrize("code", ["", " E1", "E" * 41, "E1\n"])
def test_generate_refuses_a_tender_code_that_cannot_name_a_certificate(world: World, code: str) -> None:
    with pytest.raises(EscrowTenderCodeInvalid):
        escrow_key_generate(
            tender_code=code, ca=world.ca, officials=official_pairs(world.officials), k=3, now=NOW
        )


def test_generate_refuses_a_certificate_the_ca_made_for_another_key(world: World) -> None:
    # given: a CA that certifies a key of its own choosing instead of the requested one
    class SwappingIssuer:
        def issue_from_csr(self, csr_pem: bytes, *, usage: str, now: datetime, days: int = 365) -> bytes:
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            csr = x509.load_pem_x509_csr(csr_pem)
            swapped = (
                x509.CertificateSigningRequestBuilder().subject_name(csr.subject).sign(other, hashes.SHA256())
            )
            return world.ca.issue_from_csr(
                swapped.public_bytes(serialization.Encoding.PEM), usage=usage, now=now, days=days
            )

    # when / then
    with pytest.raises(EscrowCertificateUnusable):
        escrow_key_generate(
            tender_code=TENDER_CODE,
            ca=SwappingIssuer(),
            officials=official_pairs(world.officials),
            k=3,
            now=NOW,
        )
