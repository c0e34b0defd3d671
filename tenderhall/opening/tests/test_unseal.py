"""Unsealing a bid: every refusal with its reason, signed data from openssl in DER and in BER (-stream) read
alike, and the fast DER walk agreeing with asn1crypto's whole parse."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.bids.client import bid_package
from tenderhall.bids.envelope import content_key_unwrap, envelope_inspect
from tenderhall.opening import unseal
from tenderhall.opening.unseal import BidUnsealRefused, bid_unseal

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Keys:
    home: Path
    encryption_key: rsa.RSAPrivateKey

    def path(self, name: str) -> str:
        return str(self.home / name)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    home = tmp_path_factory.mktemp("bidder")
    ca = demo_ca_load_or_create(home / "ca", now=NOW)
    for usage in ("signing", "encryption"):
        key_pem, cert_pem = ca.issue_key_and_certificate(
            common_name="江城建工集团有限公司", serial_number="91420100MA000004XW", usage=usage, now=NOW
        )
        (home / f"{usage}.key").write_bytes(key_pem)
        (home / f"{usage}.pem").write_bytes(cert_pem)
    other_key, other_cert = ca.issue_key_and_certificate(
        common_name="楚天路桥工程有限公司", serial_number="91420100MA000005XW", usage="signing", now=NOW
    )
    (home / "other.key").write_bytes(other_key)
    (home / "other.pem").write_bytes(other_cert)
    key = serialization.load_pem_private_key((home / "encryption.key").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return Keys(home, key)


def openssl(*args: str, data: bytes = b"") -> bytes:
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def sign(keys: Keys, content: bytes, *extra: str, signer: str = "signing") -> bytes:
    return openssl(
        "cms", "-sign", "-binary", "-outform", "DER", "-signer", keys.path(f"{signer}.pem"),
        "-inkey", keys.path(f"{signer}.key"), *extra, data=content,
    )  # fmt: skip


def seal(keys: Keys, plaintext: bytes) -> tuple[bytes, bytes]:
    """An AES-256-GCM envelope of ``plaintext`` to the bidder's encryption certificate, and its key."""
    envelope = openssl(
        "cms", "-encrypt", "-binary", "-aes-256-gcm", "-recip", keys.path("encryption.pem"),
        "-keyopt", "rsa_padding_mode:oaep", "-outform", "DER", data=plaintext,
    )  # fmt: skip
    return envelope, content_key_unwrap(envelope_inspect(envelope).recipients[0], keys.encryption_key)


def unsealed(keys: Keys, plaintext: bytes) -> unseal.UnsealedBid:
    envelope, key = seal(keys, plaintext)
    return bid_unseal(envelope, content_key=key)


def refusal(keys: Keys, plaintext: bytes) -> str:
    with pytest.raises(BidUnsealRefused) as refused:
        unsealed(keys, plaintext)
    return str(refused.value.details["reason"])


PACKAGE = bid_package(bid_json={"price": "9350000.10", "duration_days": 180, "quality": "合格"}, documents=[])


@pytest.mark.parametrize("extra", [(), ("-stream",), ("-noattr",), ("-md", "sha512")])
def test_openssl_signed_packages_are_read_alike_in_der_and_ber(keys, extra):
    bid = unsealed(keys, sign(keys, PACKAGE, "-nodetach", *extra))
    assert bid.package == PACKAGE
    assert (bid.form["price"], bid.price, bid.duration_days) == ("9350000.10", Decimal("9350000.10"), 180)
    assert bid.signer_certificate == x509.load_pem_x509_certificate(
        (keys.home / "signing.pem").read_bytes()
    ).public_bytes(serialization.Encoding.DER)
    assert (bid.signing_time is None) == ("-noattr" in extra)


def test_the_der_walk_finds_the_same_content_as_the_whole_parse(keys):
    signed = sign(keys, PACKAGE, "-nodetach")
    hollow = unseal._hollow(signed)
    assert hollow is not None
    der, content = hollow
    whole = unseal._signed_data_parsed(signed)
    assert bytes(content) == whole["encap_content_info"]["content"].native == PACKAGE
    light = asn1_cms.SignedData.load(der)
    assert light["signer_infos"].dump() == whole["signer_infos"].dump()
    assert light["certificates"].dump() == whole["certificates"].dump()
    # BER (indefinite lengths) is left to the whole parse
    assert unseal._hollow(sign(keys, PACKAGE, "-nodetach", "-stream")) is None


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _two_signers(keys: Keys) -> bytes:
    (keys.home / "package.zip").write_bytes(PACKAGE)
    return openssl(
        "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", keys.path("package.zip"),
        "-signer", keys.path("signing.pem"), "-inkey", keys.path("signing.key"),
        "-signer", keys.path("other.pem"), "-inkey", keys.path("other.key"),
    )  # fmt: skip


def _altered_content(keys: Keys) -> bytes:
    signed = bytearray(sign(keys, PACKAGE, "-nodetach"))
    at = bytes(signed).index(b"bid.json") + 2
    signed[at] ^= 0x20  # one letter of the entry name: the package no longer matches its signed digest
    return bytes(signed)


CASES: dict[str, tuple[Callable[[Keys], bytes], str]] = {
    "not CMS at all": (lambda k: b"price=9350000", "not_signed"),
    "a detached signature": (lambda k: sign(k, PACKAGE), "not_signed"),
    "enveloped data inside": (
        lambda k: openssl(
            "cms", "-encrypt", "-binary", "-outform", "DER", k.path("encryption.pem"), data=PACKAGE
        ),
        "not_signed",
    ),
    "two signers": (_two_signers, "signer_missing"),
    "no certificate": (lambda k: sign(k, PACKAGE, "-nodetach", "-nocerts"), "signer_missing"),
    "SHA-1": (lambda k: sign(k, PACKAGE, "-nodetach", "-md", "sha1"), "unsupported_signature"),
    "content altered after signing": (_altered_content, "signature_invalid"),
    "not a ZIP": (lambda k: sign(k, b"price: 9350000", "-nodetach"), "package_invalid"),
    "no bid.json": (lambda k: sign(k, zipped({"offer.pdf": b"%PDF"}), "-nodetach"), "package_invalid"),
    "bid.json not an object": (
        lambda k: sign(k, zipped({"bid.json": b"[9350000]"}), "-nodetach"),
        "package_invalid",
    ),
    "bid.json not JSON": (
        lambda k: sign(k, zipped({"bid.json": b"price=1"}), "-nodetach"),
        "package_invalid",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_bad_bid_is_refused_with_its_reason(keys, case):
    make, reason = CASES[case]
    assert refusal(keys, make(keys)) == reason


def test_a_wrong_content_key_is_a_decryption_failure(keys):
    envelope, key = seal(keys, sign(keys, PACKAGE, "-nodetach"))
    with pytest.raises(BidUnsealRefused) as refused:
        bid_unseal(envelope, content_key=bytes(reversed(key)))
    assert refused.value.details["reason"] == "decryption_failed"
    assert refused.value.code == "bid_unseal_failed"


@pytest.mark.parametrize(
    ("price", "duration", "expected"),
    [
        ("1234.5", 90, (Decimal("1234.5"), 90)),
        (1234, "90", (Decimal("1234"), 90)),
        ("一百万", 9.5, (None, None)),
        (True, False, (None, None)),
        ("NaN", None, (None, None)),
        ("1", "²", (Decimal("1"), None)),  # str.isdigit takes it, int() refuses it
        ("1", "９０", (Decimal("1"), None)),  # full-width: not the number a bidder's form writes
        ("1", -5, (Decimal("1"), None)),  # the column holds no negative number
        ("1", 2**31, (Decimal("1"), None)),  # nor one past 2**31 - 1
        ("1", "9" * 5000, (Decimal("1"), None)),  # nor does int() read this many digits
    ],
)
def test_price_and_duration_are_read_only_when_they_are_numbers(price, duration, expected):
    assert (unseal._price(price), unseal._duration(duration)) == expected


def test_a_package_in_a_constructed_octet_string_is_read_as_the_browsers_library_writes_it(keys):
    # given: the same SignedData with its content cut into 1000-byte OCTET STRING pieces (definite lengths)
    from tenderhall.core.der import SEQUENCE, der_children, der_element, der_encode, der_whole

    signed = sign(keys, PACKAGE, "-nodetach")
    view = memoryview(signed)
    info = der_whole(view, SEQUENCE)
    assert info is not None
    oid, wrapper = der_children(view, info) or []
    inner = der_element(view, wrapper.start, wrapper.end)
    assert inner is not None
    version, algorithms, encap, *rest = der_children(view, inner) or []
    content_type, explicit = der_children(view, encap) or []
    octets = der_element(view, explicit.start, explicit.end)
    assert octets is not None
    content = bytes(view[octets.start : octets.end])
    pieces = b"".join(der_encode(0x04, content[i : i + 1000]) for i in range(0, len(content), 1000))
    encap_pieces = der_encode(
        SEQUENCE,
        bytes(view[content_type.offset : content_type.end]) + der_encode(0xA0, der_encode(0x24, pieces)),
    )
    body = (
        bytes(view[version.offset : algorithms.end]) + encap_pieces + bytes(view[rest[0].offset : inner.end])
    )
    rebuilt = der_encode(
        SEQUENCE, bytes(view[oid.offset : oid.end]) + der_encode(0xA0, der_encode(SEQUENCE, body))
    )
    # when / then: openssl accepts it, and so does the opening, with the same package
    (keys.home / "pieces.p7s").write_bytes(rebuilt)
    path = keys.path("pieces.p7s")
    openssl("cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", path, "-out", "/dev/null")
    assert unsealed(keys, rebuilt).package == PACKAGE
