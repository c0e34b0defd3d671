"""Shamir secret sharing, k of n, over the prime field GF(p) with p = 2^521 - 1. Pure: no ORM, no clock.

Why this field: p is a Mersenne prime (one of the few primes with a one-line definition, nothing to trust or
check), every 64-byte block of a secret (< 2^512) is an element of it, and so is any 256-bit key. Shares are
one field element (66 bytes) per block.

Secrets longer than one block — the escrow opening key is a ~1.8 KB PKCS#8 DER — are cut into 64-byte blocks
(the last may be shorter) and every block is shared with its own random polynomial, all evaluated at the
same x. The blocks are independent, so k - 1 shares still say nothing about any block. Nothing but the shares
exists of the secret: no encrypted copy, no key-encryption key (docs/escrow-opening.md says why).

Coefficients are drawn uniformly from [0, p), zero included: excluding zero would leak (crypto-notes §6).

Integrity. Shamir has none: a wrong share silently yields a different secret. So:

* every encoded share ends with a checksum (first 8 bytes of SHA-256 of the rest), which catches a share
  damaged in transport or typed wrongly — not one altered on purpose (anyone can recompute it);
* every split has a random ``split_id`` carried by each share, so shares of two different splits are refused
  before any arithmetic, even when k, n and the length agree;
* given more than k shares, ``combine`` checks that the extra shares lie on the polynomial the first k give;
* a combined block that does not fit its length (probability 1 - 2^-9 or more per block for a wrong set) is
  refused as inconsistent;
* and ``combine`` always takes a ``commitment``: the caller either checks the secret against
  ``secret_commitment`` published at split time, or passes ``None`` and checks the result itself (the escrow
  checks the rebuilt key against its certificate). Taking it as a required argument keeps that choice visible.

Text encoding of a share (ASCII, one line, fields separated by ``:``)::

    tenderhall-share-v1:<split_id, 32 hex>:<k>:<n>:<x>:<secret_length>:<y, base64>:<checksum, 16 hex>

Integers are canonical decimal; ``y`` is the concatenation of one 66-byte big-endian field element per block
(standard base64 with padding, RFC 4648 §4); the checksum covers everything before its colon.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenderhall.core.errors import DomainError

PRIME = 2**521 - 1
"""The field's modulus, the Mersenne prime M521."""
BLOCK_BYTES = 64
"""Bytes of secret per field element: 2^512 < p."""
ELEMENT_BYTES = (PRIME.bit_length() + 7) // 8  # 66
MIN_THRESHOLD = 2
MAX_SHARES = 255
MAX_SECRET_BYTES = 16 * 1024
"""Far above an RSA 16384 private key in PKCS#8 DER (~9.5 KB)."""
SPLIT_ID_BYTES = 16
PREFIX = "tenderhall-share-v1"
CHECKSUM_BYTES = 8
MAX_SHARE_TEXT = 32 * 1024

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,9}")
_HEX_SPLIT_ID = re.compile(f"[0-9a-f]{{{2 * SPLIT_ID_BYTES}}}")
_HEX_CHECKSUM = re.compile(f"[0-9a-f]{{{2 * CHECKSUM_BYTES}}}")
_FIELD_COUNT = 8
_COMMITMENT_LABEL = b"tenderhall-shamir-commitment-v1\x00"


class RandomSource(Protocol):
    """Where coefficients come from: the ``secrets`` module, or a seeded stand-in in tests."""

    def randbelow(self, exclusive_upper_bound: int, /) -> int: ...


class ShamirError(DomainError):
    """Base of the secret-sharing errors; each subclass has its own stable ``code``."""

    code = "shamir_error"
    status = 422


class ThresholdTooLow(ShamirError):
    code = "shamir_threshold_too_low"


class ThresholdAboveShareCount(ShamirError):
    code = "shamir_threshold_above_share_count"


class TooManyShares(ShamirError):
    code = "shamir_too_many_shares"


class SecretInvalid(ShamirError):
    code = "shamir_secret_invalid"


class ShareMalformed(ShamirError):
    """An encoded share that cannot be read; ``details["reason"]`` names the part that is wrong."""

    code = "share_malformed"

    def __init__(self, message: str, *, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.reason = reason


class ShareChecksumMismatch(ShamirError):
    code = "share_checksum_mismatch"


class ShareDuplicate(ShamirError):
    code = "share_duplicate"


class SharesTooFew(ShamirError):
    code = "shares_too_few"


class SharesFromDifferentSplits(ShamirError):
    code = "shares_from_different_splits"


class SharesInconsistent(ShamirError):
    """The shares belong to one split but do not lie on one polynomial: at least one was altered."""

    code = "shares_inconsistent"


class CommitmentMismatch(ShamirError):
    code = "shamir_commitment_mismatch"


@dataclass(frozen=True)
class Share:
    """One share: the point (x, y) of every block's polynomial, and what is needed to combine it.

    ``ys`` holds one field element per 64-byte block of the secret; it is left out of ``repr`` so that a
    share never ends up in a log by accident.
    """

    split_id: bytes
    k: int
    n: int
    x: int
    secret_length: int
    ys: tuple[int, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.split_id) != SPLIT_ID_BYTES:
            raise ShareMalformed(f"A split id has {SPLIT_ID_BYTES} bytes.", reason="split_id")
        threshold_check(k=self.k, n=self.n)
        if not 1 <= self.x <= self.n:
            raise ShareMalformed(
                f"The share's x is {self.x}; it must be between 1 and n = {self.n}.", reason="x"
            )
        if not 1 <= self.secret_length <= MAX_SECRET_BYTES:
            raise ShareMalformed(
                f"The secret length is {self.secret_length}; it must be between 1 and {MAX_SECRET_BYTES}.",
                reason="secret_length",
            )
        blocks = block_count(self.secret_length)
        if len(self.ys) != blocks:
            raise ShareMalformed(
                f"A share of a {self.secret_length}-byte secret has {blocks} values, not {len(self.ys)}.",
                reason="y_length",
            )
        if any(not 0 <= y < PRIME for y in self.ys):
            raise ShareMalformed("A value of the share is not an element of the field.", reason="y_range")


def block_count(secret_length: int) -> int:
    return -(-secret_length // BLOCK_BYTES)


def split(secret: bytes, *, k: int, n: int, rng: RandomSource = secrets) -> list[Share]:
    """n shares of ``secret`` (x = 1..n), any k of which rebuild it and any k - 1 of which say nothing."""
    threshold_check(k=k, n=n)
    if not 1 <= len(secret) <= MAX_SECRET_BYTES:
        raise SecretInvalid(
            f"The secret has {len(secret)} bytes; it must have between 1 and {MAX_SECRET_BYTES}."
        )
    split_id = rng.randbelow(2 ** (8 * SPLIT_ID_BYTES)).to_bytes(SPLIT_ID_BYTES, "big")
    ys: list[list[int]] = [[] for _ in range(n)]
    for start in range(0, len(secret), BLOCK_BYTES):
        block = int.from_bytes(secret[start : start + BLOCK_BYTES], "big")
        coefficients = [block] + [rng.randbelow(PRIME) for _ in range(k - 1)]
        for index in range(n):
            ys[index].append(_evaluate(coefficients, index + 1))
        del coefficients, block
    return [
        Share(split_id=split_id, k=k, n=n, x=index + 1, secret_length=len(secret), ys=tuple(values))
        for index, values in enumerate(ys)
    ]


def secret_commitment(secret: bytes) -> str:
    """``sha256:<hex>`` of a label and the secret, to publish at split time and check in ``combine``.

    Hiding only because the secrets shared here (keys) have far more entropy than anyone can search; do not
    publish it for a guessable secret.
    """
    return "sha256:" + hashlib.sha256(_COMMITMENT_LABEL + secret).hexdigest()


def combine(shares: Sequence[Share], *, commitment: str | None) -> bytes:
    """The secret that ``shares`` (at least k of one split) rebuild.

    ``commitment`` is what ``secret_commitment`` gave at split time, checked here; ``None`` means the caller
    checks the result itself (as the escrow does against its certificate).
    """
    if not shares:
        raise SharesTooFew("No share was given.")
    first = shares[0]
    for share in shares[1:]:
        if (share.split_id, share.k, share.n, share.secret_length) != (
            first.split_id,
            first.k,
            first.n,
            first.secret_length,
        ):
            raise SharesFromDifferentSplits(
                f"Share x={share.x} comes from a different split than share x={first.x}; "
                "combine only shares made together.",
                details={"x": [first.x, share.x]},
            )
    seen: set[int] = set()
    for share in shares:
        if share.x in seen:
            raise ShareDuplicate(
                f"Share x={share.x} was given twice; each official's share counts once.",
                details={"x": share.x},
            )
        seen.add(share.x)
    if len(shares) < first.k:
        raise SharesTooFew(
            f"{len(shares)} shares were given; this secret needs {first.k} of its {first.n}.",
            details={"given": len(shares), "needed": first.k},
        )
    basis = list(shares[: first.k])
    xs = [share.x for share in basis]
    for extra in shares[first.k :]:
        weights = _lagrange_weights(xs, at=extra.x)
        for block, y in enumerate(extra.ys):
            if _interpolate(weights, [share.ys[block] for share in basis]) != y:
                raise SharesInconsistent(
                    f"Share x={extra.x} does not lie on the polynomial of shares {xs}: "
                    "at least one of these shares was altered.",
                    details={"x": extra.x},
                )
    weights = _lagrange_weights(xs, at=0)
    secret = bytearray()
    for block in range(block_count(first.secret_length)):
        length = min(BLOCK_BYTES, first.secret_length - block * BLOCK_BYTES)
        value = _interpolate(weights, [share.ys[block] for share in basis])
        try:
            secret += value.to_bytes(length, "big")
        except OverflowError:
            raise SharesInconsistent(
                f"Shares {xs} do not rebuild a secret of {first.secret_length} bytes: "
                "at least one of them was altered.",
                details={"x": xs},
            ) from None
    result = bytes(secret)
    if commitment is not None and not hmac.compare_digest(secret_commitment(result), commitment):
        raise CommitmentMismatch(
            "The rebuilt secret does not match the published commitment: at least one share was altered.",
            details={"x": xs},
        )
    return result


def share_encode(share: Share) -> str:
    body = ":".join(
        [
            PREFIX,
            share.split_id.hex(),
            str(share.k),
            str(share.n),
            str(share.x),
            str(share.secret_length),
            base64.b64encode(b"".join(y.to_bytes(ELEMENT_BYTES, "big") for y in share.ys)).decode("ascii"),
        ]
    )
    return f"{body}:{_checksum(body)}"


def share_decode(data: str | bytes) -> Share:
    """The share encoded in ``data`` (surrounding whitespace ignored), or ``ShareMalformed`` saying why."""
    text = _share_text(data)
    fields = text.split(":")
    if fields[0] != PREFIX:
        raise ShareMalformed(f"A share starts with '{PREFIX}:'.", reason="prefix")
    if len(fields) != _FIELD_COUNT:
        raise ShareMalformed(
            f"A share has {_FIELD_COUNT} fields separated by ':', this one has {len(fields)}: "
            "it is incomplete or two shares were joined.",
            reason="fields",
        )
    _prefix, split_hex, k_text, n_text, x_text, length_text, y_text, checksum = fields
    if not _HEX_CHECKSUM.fullmatch(checksum):
        raise ShareMalformed(
            f"The share's checksum should be {2 * CHECKSUM_BYTES} lower-case hex digits.", reason="checksum"
        )
    if not hmac.compare_digest(_checksum(text[: -len(checksum) - 1]), checksum):
        raise ShareChecksumMismatch(
            "The share's checksum does not match: it was damaged or mistyped; copy it again."
        )
    if not _HEX_SPLIT_ID.fullmatch(split_hex):
        raise ShareMalformed(
            f"The split id should be {2 * SPLIT_ID_BYTES} lower-case hex digits.", reason="split_id"
        )
    try:
        return Share(
            split_id=bytes.fromhex(split_hex),
            k=_decimal(k_text, name="k"),
            n=_decimal(n_text, name="n"),
            x=_decimal(x_text, name="x"),
            secret_length=_decimal(length_text, name="secret_length"),
            ys=_share_values(y_text),
        )
    except ShareMalformed:
        raise
    except ShamirError as error:
        raise ShareMalformed(error.message, reason="parameters", details={"code": error.code}) from None


def threshold_check(*, k: int, n: int) -> None:
    """Refuse a threshold k and share count n that cannot make a sound k-of-n split."""
    if k < MIN_THRESHOLD:
        raise ThresholdTooLow(
            f"The threshold k is {k}; it must be at least {MIN_THRESHOLD} (k = 1 would hand the whole "
            "secret to every holder).",
            details={"k": k},
        )
    if k > n:
        raise ThresholdAboveShareCount(
            f"The threshold k = {k} is more than the number of shares n = {n}: the secret could never be "
            "rebuilt.",
            details={"k": k, "n": n},
        )
    if n > MAX_SHARES:
        raise TooManyShares(f"At most {MAX_SHARES} shares can be made, not {n}.", details={"n": n})


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    """The polynomial with these coefficients (constant first) at x, by Horner's rule."""
    value = 0
    for coefficient in reversed(coefficients):
        value = (value * x + coefficient) % PRIME
    return value


def _lagrange_weights(xs: Sequence[int], *, at: int) -> list[int]:
    """w_j such that f(at) = sum w_j * f(x_j) for every polynomial f of degree < len(xs)."""
    weights = []
    for j, xj in enumerate(xs):
        numerator, denominator = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                numerator = numerator * (at - xm) % PRIME
                denominator = denominator * (xj - xm) % PRIME
        weights.append(numerator * pow(denominator, -1, PRIME) % PRIME)
    return weights


def _interpolate(weights: Sequence[int], ys: Sequence[int]) -> int:
    return sum(w * y for w, y in zip(weights, ys, strict=True)) % PRIME


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode("ascii")).digest()[:CHECKSUM_BYTES].hex()


def _decimal(text: str, *, name: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise ShareMalformed(f"The share's {name} should be a decimal number, not {text!r}.", reason=name)
    return int(text)


def _share_text(data: str | bytes) -> str:
    if len(data) > MAX_SHARE_TEXT:
        raise ShareMalformed(
            f"The share is {len(data)} characters long, more than any share ({MAX_SHARE_TEXT}).",
            reason="too_long",
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise ShareMalformed(
                "The share holds bytes that are not ASCII; it is not a tenderhall share, or it was "
                "not decrypted with the right key.",
                reason="not_ascii",
            ) from None
    text = data.strip()
    if not text.isascii() or not text.isprintable():
        raise ShareMalformed("The share holds characters no share has.", reason="characters")
    return text


def _share_values(y_text: str) -> tuple[int, ...]:
    try:
        raw = base64.b64decode(y_text, validate=True)
    except binascii.Error:
        raise ShareMalformed("The share's value is not valid base64.", reason="y_base64") from None
    if base64.b64encode(raw).decode("ascii") != y_text:
        raise ShareMalformed("The share's value is not canonical base64.", reason="y_base64")
    if len(raw) % ELEMENT_BYTES:
        raise ShareMalformed(
            f"The share's value has {len(raw)} bytes, not a multiple of {ELEMENT_BYTES}.", reason="y_length"
        )
    return tuple(
        int.from_bytes(raw[start : start + ELEMENT_BYTES], "big")
        for start in range(0, len(raw), ELEMENT_BYTES)
    )
