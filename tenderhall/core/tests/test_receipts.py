"""Platform-signed JSON receipts: sign, verify, any change refused, key order irrelevant, openssl agrees."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.core.receipts import (
    ALG_ECDSA_P256,
    ALG_ED25519,
    RECEIPT_FORMAT,
    ReceiptFieldInvalid,
    ReceiptKeyMismatch,
    ReceiptMalformed,
    ReceiptSignatureInvalid,
    receipt_build,
    receipt_key_id,
    receipt_payload,
    receipt_sign,
    receipt_signer,
    receipt_verify,
)

# RFC 8032 §7.1 test 1 secret key, so that signatures are reproducible.
ED25519_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
FIELDS: dict[str, Any] = {
    "kind": "bids:bid:submitted",
    "tender": "T-2026-0001",
    "lot": 2,
    "bidder": "91110000MA01234567",
    "ciphertext": {"sha256": "ab" * 32, "bytes": 1048576},
    "received_at": "2026-03-02T09:30:15.123Z",
    "bond": {"amount": "12000.00", "currency": "CNY"},
    "withdrawn": False,
    "replaces": None,
    "timestamp_token": base64.b64encode(b"\x30\x03\x02\x01\x01").decode(),
    "names": ["甲", "乙"],
}


@pytest.fixture
def ed25519() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(ED25519_SEED)


def signed_receipt(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return receipt_sign(receipt_build(fields=FIELDS), key=key, key_id=receipt_key_id(key.public_key()))


def test_build_adds_the_format_and_copies_plain_json() -> None:
    # given
    fields = {**FIELDS, "names": ("甲", "乙")}
    # when
    receipt = receipt_build(fields=fields)
    # then
    assert receipt == {"format": RECEIPT_FORMAT, **FIELDS}
    assert receipt["ciphertext"] is not FIELDS["ciphertext"]


def test_the_payload_is_rfc8785_canonical_json() -> None:
    # given
    receipt = receipt_build(fields={"b": "二", "a": 1, "c": {"z": True, "y": None}})
    # when
    payload = receipt_payload(receipt)
    # then
    assert payload == '{"a":1,"b":"二","c":{"y":null,"z":true},"format":"tenderhall.receipt/1"}'.encode()


def test_sign_and_verify_round_trip_with_ed25519(ed25519: Ed25519PrivateKey) -> None:
    # when
    signed = signed_receipt(ed25519)
    # then
    assert signed["signature"]["alg"] == ALG_ED25519
    assert signed["signature"]["key_id"] == receipt_key_id(ed25519.public_key())
    assert len(base64.b64decode(signed["signature"]["value"])) == 64
    assert receipt_verify(signed, public_key=ed25519.public_key()) == {"format": RECEIPT_FORMAT, **FIELDS}


def test_ed25519_signatures_are_reproducible(ed25519: Ed25519PrivateKey) -> None:
    # Ed25519 is deterministic: the same receipt and key give the same signature, byte for byte.
    assert signed_receipt(ed25519) == signed_receipt(ed25519)


def test_sign_and_verify_round_trip_with_ecdsa_p256() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = signed_receipt(key)
    assert signed["signature"]["alg"] == ALG_ECDSA_P256
    assert receipt_verify(signed, public_key=key.public_key())["tender"] == "T-2026-0001"


def test_other_curves_are_not_receipt_keys() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(TypeError):
        receipt_sign(receipt_build(fields=FIELDS), key=key, key_id="x")


def test_key_order_and_white_space_do_not_matter(ed25519: Ed25519PrivateKey) -> None:
    # given: the receipt as a bidder stores it, pretty-printed with its keys reversed
    signed = signed_receipt(ed25519)
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items()))), indent=4, ensure_ascii=True))
    # when / then
    assert list(reordered) != list(signed)
    assert receipt_verify(reordered, public_key=ed25519.public_key()) == receipt_verify(
        signed, public_key=ed25519.public_key()
    )


ALTERATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "changed-top-field": lambda r: r.update(tender="T-2026-0002"),
    "changed-number": lambda r: r.update(lot=3),
    "number-as-string": lambda r: r.update(lot="2"),
    "changed-nested-field": lambda r: r["ciphertext"].update(sha256="cd" * 32),
    "changed-amount": lambda r: r["bond"].update(amount="1200.00"),
    "added-field": lambda r: r.update(extra="x"),
    "added-nested-field": lambda r: r["ciphertext"].update(sha512=""),
    "removed-field": lambda r: r.pop("replaces"),
    "false-to-null": lambda r: r.update(withdrawn=None),
    "reordered-list": lambda r: r["names"].reverse(),
    "changed-token": lambda r: r.update(timestamp_token=base64.b64encode(b"\x30\x03\x02\x01\x02").decode()),
}


@pytest.mark.parametrize("alter", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_any_altered_field_is_refused(
    ed25519: Ed25519PrivateKey, alter: Callable[[dict[str, Any]], None]
) -> None:
    # given
    signed = copy.deepcopy(signed_receipt(ed25519))
    alter(signed)
    # when / then
    with pytest.raises(ReceiptSignatureInvalid) as refused:
        receipt_verify(signed, public_key=ed25519.public_key())
    assert refused.value.code == "receipt_signature_invalid"


def test_a_flipped_signature_bit_is_refused(ed25519: Ed25519PrivateKey) -> None:
    signed = signed_receipt(ed25519)
    raw = bytearray(base64.b64decode(signed["signature"]["value"]))
    raw[0] ^= 1
    signed["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(ReceiptSignatureInvalid):
        receipt_verify(signed, public_key=ed25519.public_key())


def test_another_key_is_refused_by_its_id(ed25519: Ed25519PrivateKey) -> None:
    # given
    signed = signed_receipt(ed25519)
    other = Ed25519PrivateKey.generate().public_key()
    # when / then
    with pytest.raises(ReceiptKeyMismatch) as refused:
        receipt_verify(signed, public_key=other)
    assert refused.value.details == {
        "key_id": receipt_key_id(ed25519.public_key()),
        "expected_key_id": receipt_key_id(other),
    }


def test_a_key_id_pointing_at_another_key_does_not_help_a_forger(ed25519: Ed25519PrivateKey) -> None:
    # given: a receipt signed by a stranger who writes the platform's key id into it
    stranger = Ed25519PrivateKey.generate()
    forged = receipt_sign(
        receipt_build(fields=FIELDS), key=stranger, key_id=receipt_key_id(ed25519.public_key())
    )
    # when / then
    with pytest.raises(ReceiptSignatureInvalid):
        receipt_verify(forged, public_key=ed25519.public_key())


def test_an_algorithm_that_does_not_fit_the_key_is_refused(ed25519: Ed25519PrivateKey) -> None:
    signed = signed_receipt(ed25519)
    signed["signature"]["alg"] = ALG_ECDSA_P256
    with pytest.raises(ReceiptKeyMismatch):
        receipt_verify(signed, public_key=ed25519.public_key())


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.pop("signature"),
        lambda r: r.update(signature="abc"),
        lambda r: r["signature"].pop("key_id"),
        lambda r: r["signature"].update(value="not base64!"),
        lambda r: r.update(format="tenderhall.receipt/2"),
        lambda r: r.pop("format"),
    ],
    ids=[
        "no-signature",
        "signature-not-object",
        "no-key-id",
        "value-not-base64",
        "other-format",
        "no-format",
    ],
)
def test_malformed_receipts_are_refused(
    ed25519: Ed25519PrivateKey, damage: Callable[[dict[str, Any]], None]
) -> None:
    signed = signed_receipt(ed25519)
    damage(signed)
    with pytest.raises(ReceiptMalformed):
        receipt_verify(signed, public_key=ed25519.public_key())


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": 1.5}, "price"),
        ({"ciphertext": {"bytes": 2**53}}, "ciphertext.bytes"),
        ({"names": ["a", b"b"]}, "names[1]"),
        ({"nested": {1: "x"}}, "nested"),
        ({"nested": {"名称": "x"}}, "nested"),
        ({"nested": {"a-b": "x"}}, "nested"),
        ({"note": "line\nbreak"}, "note"),
        ({"names": ["a\x7f"]}, "names[0]"),
        ({"format": "x"}, "format"),
        ({"signature": {}}, "signature"),
    ],
    ids=[
        "float",
        "big-integer",
        "bytes",
        "non-string-key",
        "non-ascii-key",
        "hyphen-in-key",
        "line-break",
        "delete-character",
        "reserved-format",
        "reserved-signature",
    ],
)
def test_build_refuses_what_is_not_plain_json(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ReceiptFieldInvalid) as refused:
        receipt_build(fields=fields)
    assert refused.value.details == {"field": field}


def test_sign_refuses_an_unbuilt_or_signed_receipt(ed25519: Ed25519PrivateKey) -> None:
    key_id = receipt_key_id(ed25519.public_key())
    with pytest.raises(ReceiptMalformed):
        receipt_sign(dict(FIELDS), key=ed25519, key_id=key_id)
    with pytest.raises(ReceiptMalformed):
        receipt_sign(signed_receipt(ed25519), key=ed25519, key_id=key_id)


def test_the_key_id_is_the_sha256_of_the_public_key_info(ed25519: Ed25519PrivateKey) -> None:
    spki = ed25519.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signer = receipt_signer(ed25519)
    assert signer.key_id == hashlib.sha256(spki).hexdigest() == receipt_key_id(ed25519.public_key())
    assert signer.public_key_pem().startswith(b"-----BEGIN PUBLIC KEY-----")


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_openssl_verifies_an_ed25519_receipt_signature(tmp_path: Path, ed25519: Ed25519PrivateKey) -> None:
    # given: what docs/receipts.md tells a bidder to write out
    signed = signed_receipt(ed25519)
    (tmp_path / "payload.json").write_bytes(receipt_payload(signed))
    (tmp_path / "signature.bin").write_bytes(base64.b64decode(signed["signature"]["value"]))
    (tmp_path / "receipt-key.pem").write_bytes(receipt_signer(ed25519).public_key_pem())
    # when
    ok = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", "receipt-key.pem", "-rawin",
        "-in", "payload.json", "-sigfile", "signature.bin", cwd=tmp_path,
    )  # fmt: skip
    spki = openssl(
        "pkey", "-pubin", "-in", "receipt-key.pem", "-outform", "DER", "-out", "key.der", cwd=tmp_path
    )
    assert spki.returncode == 0, spki.stderr
    key_id = hashlib.sha256((tmp_path / "key.der").read_bytes()).hexdigest()  # what `| sha256sum` prints
    # then
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout
    assert key_id == signed["signature"]["key_id"]


def test_openssl_verifies_an_ecdsa_receipt_signature(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = signed_receipt(key)
    (tmp_path / "payload.json").write_bytes(receipt_payload(signed))
    (tmp_path / "signature.der").write_bytes(base64.b64decode(signed["signature"]["value"]))
    (tmp_path / "receipt-key.pem").write_bytes(receipt_signer(key).public_key_pem())
    ok = openssl(
        "dgst",
        "-sha256",
        "-verify",
        "receipt-key.pem",
        "-signature",
        "signature.der",
        "payload.json",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Verified OK" in ok.stdout


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_jq_writes_the_canonical_payload_a_bidder_verifies(
    tmp_path: Path, ed25519: Ed25519PrivateKey
) -> None:
    # given: a stored receipt with Chinese text, slashes, quotes and large integers, pretty-printed
    fields = {**FIELDS, "note": 'a/b "引号" \\ <tag> \u2028 😀', "big": 2**53 - 1, "neg": -5, "empty": {}}
    signed = receipt_sign(
        receipt_build(fields=fields), key=ed25519, key_id=receipt_key_id(ed25519.public_key())
    )
    (tmp_path / "receipt.json").write_text(json.dumps(signed, ensure_ascii=False, indent=2), encoding="utf-8")
    # when
    jq = subprocess.run(
        ["jq", "-cjS", "del(.signature)", "receipt.json"], cwd=tmp_path, capture_output=True, check=True
    )
    # then
    assert jq.stdout == receipt_payload(signed)
