"""C2SP tlog-proof: an offline receipt that a leaf is in a log, under a (cosigned) checkpoint. Pure.

c2sp.org/tlog-proof@v1
extra <base64 of the leaf bytes>        (optional; tenderhall always includes the leaf)
index <leaf index>
<base64 inclusion proof hash>...
<empty line>
<the signed checkpoint, with cosignatures>
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from tenderhall.ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from tenderhall.ledger.note import Ed25519Verifier, NoteError, VerifiedCheckpoint, verify_checkpoint

HEADER = "c2sp.org/tlog-proof@v1"


class TlogProofError(ValueError):
    """The proof file is malformed or does not prove what it claims; the message says which part."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    extra: bytes | None
    hashes: list[bytes]
    checkpoint: str


@dataclass(frozen=True)
class CheckedProof:
    index: int
    leaf: bytes
    verified: VerifiedCheckpoint


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = f"{what} is not valid base64"
        raise TlogProofError(msg) from exc


def parse_tlog_proof(text: str) -> TlogProof:
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        msg = "no empty line between the proof and the checkpoint"
        raise TlogProofError(msg)
    lines = head.split("\n")
    if lines[0] != HEADER:
        msg = f"the first line must be {HEADER!r}"
        raise TlogProofError(msg)
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64(lines[position][6:], "the extra line")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        msg = "missing the 'index <n>' line"
        raise TlogProofError(msg)
    index_text = lines[position][6:]
    if not index_text.isascii() or not index_text.isdigit() or (index_text != "0" and index_text[0] == "0"):
        msg = f"index {index_text!r} is not a decimal without leading zeroes"
        raise TlogProofError(msg)
    hashes = []
    for number, line in enumerate(lines[position + 1 :], start=1):
        value = _b64(line, f"proof hash {number}")
        if len(value) != HASH_SIZE:
            msg = f"proof hash {number} is {len(value)} bytes, not {HASH_SIZE}"
            raise TlogProofError(msg)
        hashes.append(value)
    return TlogProof(int(index_text), extra, hashes, checkpoint)


def check_tlog_proof(
    text: str,
    log: Ed25519Verifier,
    witnesses: Sequence[Ed25519Verifier] = (),
    *,
    quorum: int = 0,
    entry: bytes | None = None,
) -> CheckedProof:
    """Verify the checkpoint (log signature, cosignature quorum) and the leaf's inclusion under it."""
    proof = parse_tlog_proof(text)
    leaf = entry if entry is not None else proof.extra
    if leaf is None:
        msg = "the proof carries no leaf ('extra' line); give the leaf bytes"
        raise TlogProofError(msg)
    try:
        verified = verify_checkpoint(proof.checkpoint, log, witnesses, quorum=quorum)
    except NoteError as exc:
        msg = f"checkpoint: {exc}"
        raise TlogProofError(msg) from exc
    size, root = verified.checkpoint.size, verified.checkpoint.root_hash
    if not verify_inclusion(proof.index, size, leaf_hash(leaf), proof.hashes, root):
        msg = f"the inclusion proof of leaf {proof.index} in the tree of size {size} does not verify"
        raise TlogProofError(msg)
    return CheckedProof(proof.index, leaf, verified)
