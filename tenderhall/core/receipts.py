"""Platform-signed JSON receipts. Pure: no ORM, no clock, no files (the key is an argument).

A receipt is a JSON object with ``"format": "tenderhall.receipt/1"`` and the fields its issuer chose (for a
bid: the ciphertext hash, the time, the tender, lot and bidder, the RFC 3161 token). ``receipt_sign`` adds::

    "signature": {"alg": "Ed25519", "key_id": "<hex SHA-256 of the key's SPKI>", "value": "<base64>"}

The signature covers the RFC 8785 (JCS) canonical JSON of the receipt without its ``signature`` member, so key
order and white space do not matter, and any changed, added or removed field breaks it. The ``format`` member
is inside what is signed, so the signature cannot be passed off as one over another kind of message.
Format, keys and how to check a receipt with openssl: ``docs/receipts.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tenderhall.core.errors import DomainError
from tenderhall.core.hashing import canonical_json

RECEIPT_FORMAT = "tenderhall.receipt/1"
FORMAT_FIELD = "format"
SIGNATURE_FIELD = "signature"
ALG_ED25519 = "Ed25519"
ALG_ECDSA_P256 = "ECDSA-P256-SHA256"  # DER-encoded (r, s), as `openssl dgst -sha256 -sign` writes it
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles; larger integers would be rounded
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # jq escapes DEL where RFC 8785 does not: refuse all of them

ReceiptPrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
ReceiptPublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class ReceiptError(DomainError):
    """A receipt that cannot be built, or one that does not verify; subclasses name the reason."""

    code: ClassVar[str] = "receipt_error"
    status: ClassVar[int] = 422


class ReceiptFieldInvalid(ReceiptError):
    code = "receipt_field_invalid"


class ReceiptMalformed(ReceiptError):
    code = "receipt_malformed"


class ReceiptKeyMismatch(ReceiptError):
    code = "receipt_key_mismatch"


class ReceiptSignatureInvalid(ReceiptError):
    code = "receipt_signature_invalid"


@dataclass(frozen=True)
class ReceiptSigner:
    """The platform's receipt key with its identifier (``receipt_key_id`` of its public key)."""

    private_key: ReceiptPrivateKey
    key_id: str

    @property
    def public_key(self) -> ReceiptPublicKey:
        return self.private_key.public_key()

    def public_key_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def receipt_key_id(public_key: ReceiptPublicKey) -> str:
    """Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.

    The same as ``openssl pkey -pubin -in receipt-key.pem -outform DER | sha256sum``.
    """
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def receipt_signer(private_key: ReceiptPrivateKey) -> ReceiptSigner:
    return ReceiptSigner(private_key=private_key, key_id=receipt_key_id(private_key.public_key()))


def receipt_build(*, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A receipt (unsigned) of ``fields`` plus its ``format``: plain JSON values only, copied.

    Values may be strings, integers within ±(2^53 - 1), booleans, None, lists (or tuples) and objects. Floats
    are refused: amounts and other decimals go in as strings, so that no verifier has to agree on how a float
    is written. Field names are ASCII identifiers (``FIELD_NAME``) and strings hold no control characters:
    with that, ``jq -cjS 'del(.signature)'`` writes exactly the canonical payload, so a bidder needs no
    RFC 8785 library to check a receipt. ``format`` and ``signature`` are reserved.
    """
    for reserved in (FORMAT_FIELD, SIGNATURE_FIELD):
        if reserved in fields:
            raise ReceiptFieldInvalid(
                f"The field {reserved!r} is reserved in a receipt.", details={"field": reserved}
            )
    receipt = {FORMAT_FIELD: RECEIPT_FORMAT, **_plain(fields, path="")}
    _canonical(receipt, error=ReceiptFieldInvalid)
    return receipt


def receipt_payload(receipt: Mapping[str, Any]) -> bytes:
    """The bytes a receipt's signature covers: the canonical JSON of the receipt without ``signature``."""
    return _canonical(
        {name: value for name, value in receipt.items() if name != SIGNATURE_FIELD}, error=ReceiptMalformed
    )


def receipt_sign(receipt: Mapping[str, Any], *, key: ReceiptPrivateKey, key_id: str) -> dict[str, Any]:
    """``receipt`` (from ``receipt_build``) with a ``signature`` by ``key``, named ``key_id``."""
    if receipt.get(FORMAT_FIELD) != RECEIPT_FORMAT:
        raise ReceiptMalformed(f"Only a {RECEIPT_FORMAT} receipt (made by receipt_build) can be signed.")
    if SIGNATURE_FIELD in receipt:
        raise ReceiptMalformed("This receipt is already signed.")
    payload = receipt_payload(receipt)
    if isinstance(key, Ed25519PrivateKey):
        alg, signature = ALG_ED25519, key.sign(payload)
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        alg, signature = ALG_ECDSA_P256, key.sign(payload, ec.ECDSA(hashes.SHA256()))
    else:
        raise TypeError("a receipt key is Ed25519 or EC P-256")
    value = base64.b64encode(signature).decode("ascii")
    return {**receipt, SIGNATURE_FIELD: {"alg": alg, "key_id": key_id, "value": value}}


def receipt_verify(signed: Mapping[str, Any], *, public_key: ReceiptPublicKey) -> dict[str, Any]:
    """The receipt without its signature, once the signature by ``public_key`` verifies.

    Raises ``ReceiptMalformed`` (not a signed receipt of this format), ``ReceiptKeyMismatch`` (signed by
    another key or with another algorithm) or ``ReceiptSignatureInvalid`` (a field was changed, added or
    removed).
    """
    if not isinstance(signed, Mapping):
        raise ReceiptMalformed("A receipt is a JSON object.")
    signature = signed.get(SIGNATURE_FIELD)
    if (
        not isinstance(signature, Mapping)
        or set(signature) != {"alg", "key_id", "value"}
        or not all(isinstance(item, str) for item in signature.values())
    ):
        raise ReceiptMalformed("The receipt has no signature object with alg, key_id and value.")
    if signed.get(FORMAT_FIELD) != RECEIPT_FORMAT:
        raise ReceiptMalformed(
            f"This is not a {RECEIPT_FORMAT} receipt (format {signed.get(FORMAT_FIELD)!r}).",
            details={"format": str(signed.get(FORMAT_FIELD))},
        )
    expected_id = receipt_key_id(public_key)
    if signature["key_id"] != expected_id:
        raise ReceiptKeyMismatch(
            f"The receipt was signed with the key {signature['key_id']}, not with {expected_id}; "
            "check it with the platform key it names.",
            details={"key_id": signature["key_id"], "expected_key_id": expected_id},
        )
    try:
        raw = base64.b64decode(signature["value"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ReceiptMalformed("The receipt's signature value is not base64.") from error
    receipt = {name: value for name, value in signed.items() if name != SIGNATURE_FIELD}
    payload = receipt_payload(receipt)
    try:
        if signature["alg"] == ALG_ED25519 and isinstance(public_key, Ed25519PublicKey):
            public_key.verify(raw, payload)
        elif (
            signature["alg"] == ALG_ECDSA_P256
            and isinstance(public_key, ec.EllipticCurvePublicKey)
            and isinstance(public_key.curve, ec.SECP256R1)
        ):
            public_key.verify(raw, payload, ec.ECDSA(hashes.SHA256()))
        else:
            raise ReceiptKeyMismatch(
                f"The receipt's signature algorithm {signature['alg']!r} does not fit the key.",
                details={"alg": signature["alg"]},
            )
    except InvalidSignature as error:
        raise ReceiptSignatureInvalid(
            "The receipt's signature does not verify: a field was changed, added or removed."
        ) from error
    return receipt


def _plain(value: Any, *, path: str) -> Any:
    """A deep copy of ``value`` as JSON types, or ``ReceiptFieldInvalid`` naming where it is not JSON."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ReceiptFieldInvalid(
                f"The receipt field {path or '(top)'} holds a control character (such as a line break).",
                details={"field": path},
            )
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ReceiptFieldInvalid(
                f"The receipt field {path or '(top)'} is an integer beyond ±(2^53 - 1); give it as a string.",
                details={"field": path},
            )
        return value
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for name, item in value.items():
            if not isinstance(name, str) or not FIELD_NAME.match(name):
                raise ReceiptFieldInvalid(
                    f"The receipt field {path or '(top)'} has the name {name!r}; names are ASCII letters, "
                    "digits and underscores, not starting with a digit.",
                    details={"field": path},
                )
            copied[name] = _plain(item, path=f"{path}.{name}" if path else name)
        return copied
    if isinstance(value, list | tuple):
        return [_plain(item, path=f"{path}[{index}]") for index, item in enumerate(value)]
    kind = "a float (give decimals as strings)" if isinstance(value, float) else f"a {type(value).__name__}"
    raise ReceiptFieldInvalid(
        f"The receipt field {path or '(top)'} is {kind}, not a string, integer, boolean, list or object.",
        details={"field": path},
    )


def _canonical(value: Mapping[str, Any], *, error: type[ReceiptError]) -> bytes:
    try:
        return canonical_json(value)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as failure:
        raise error(f"The receipt cannot be written as canonical JSON ({failure}).") from failure
