"""This node as a C2SP tlog-witness for other logs: ``add-checkpoint`` and the logs it follows.

The latest size per origin is checked and updated under a row lock, so two concurrent requests can
never roll a log's recorded size back (the race described by the specification).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from tenderhall.ledger.keys import witness_signer
from tenderhall.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from tenderhall.ledger.models import WitnessedLog
from tenderhall.ledger.note import (
    ED25519,
    Note,
    NoteError,
    UnverifiedNoteError,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    verify_note,
)

MAX_PROOF_LINES = 63


class WitnessRefusal(Exception):
    """An add-checkpoint request the witness refuses: ``status`` is the HTTP status the spec assigns."""

    def __init__(self, status: int, message: str, *, body: str | None = None, content_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body if body is not None else message + "\n"
        self.content_type = content_type or "text/plain; charset=utf-8"


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: list[bytes]
    note: Note


def _bad(message: str) -> WitnessRefusal:
    return WitnessRefusal(400, message)


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Read ``old <size>``, up to 63 base64 proof lines, a blank line, then the signed checkpoint."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad("the request is not UTF-8") from exc
    head, sep, rest = text.partition("\n")
    if not sep or not head.startswith("old "):
        raise _bad("the first line must read 'old <size>'")
    size_text = head[4:]
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise _bad(f"old size {size_text!r} is not a decimal without leading zeroes")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition("\n")
        if not sep:
            raise _bad("the proof lines must be followed by an empty line and the checkpoint")
        if line == "":
            break
        if len(proof) == MAX_PROOF_LINES:
            raise _bad(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            value = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad(f"proof line {len(proof) + 1} is not base64") from exc
        if len(value) != HASH_SIZE:
            raise _bad(f"proof line {len(proof) + 1} is {len(value)} bytes, not a SHA-256 hash")
        proof.append(value)
    try:
        note = parse_note(rest)
    except NoteError as exc:
        raise _bad(f"the checkpoint is not a signed note: {exc}") from exc
    return AddCheckpointRequest(int(size_text), proof, note)


def witness_add_checkpoint(*, body: bytes, now: datetime) -> str:
    """Check a log's new checkpoint against the latest one cosigned for it; cosign and record it.

    Returns the cosignature line(s); raises :class:`WitnessRefusal` with the spec's status code.
    """
    request = parse_add_checkpoint(body)
    try:
        checkpoint = parse_checkpoint(request.note.text)
    except NoteError as exc:
        raise _bad(f"malformed checkpoint: {exc}") from exc
    with transaction.atomic():
        log = WitnessedLog.objects.select_for_update().filter(origin=checkpoint.origin).first()
        if log is None:
            raise WitnessRefusal(404, f"unknown log origin {checkpoint.origin!r}")
        try:
            verify_note(request.note, [parse_vkey(log.vkey)])
        except UnverifiedNoteError as exc:
            raise WitnessRefusal(403, f"the checkpoint is not signed by the log's key: {exc}") from exc
        if request.old_size > checkpoint.size:
            raise _bad(f"old size {request.old_size} is larger than the checkpoint size {checkpoint.size}")
        if request.old_size != log.size:
            raise WitnessRefusal(
                409,
                f"old size {request.old_size} is not the latest cosigned size {log.size}",
                body=f"{log.size}\n",
                content_type="text/x.tlog.size",
            )
        if request.old_size == 0 and request.proof:
            raise _bad("a consistency proof from size 0 must be empty")
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            raise WitnessRefusal(422, "a checkpoint of size 0 must carry the empty tree's root hash")
        if request.old_size == checkpoint.size and request.old_size > 0:
            if request.proof:
                raise WitnessRefusal(422, "a consistency proof between equal sizes must be empty")
            if bytes(log.root_hash) != checkpoint.root_hash:
                raise WitnessRefusal(409, "same size as the latest cosigned checkpoint but another root hash")
        elif request.old_size > 0 and not verify_consistency(
            request.old_size, checkpoint.size, bytes(log.root_hash), checkpoint.root_hash, request.proof
        ):
            raise WitnessRefusal(
                422, f"the consistency proof from {request.old_size} to {checkpoint.size} does not verify"
            )
        log.size = checkpoint.size
        log.root_hash = checkpoint.root_hash
        log.updated_at = now
        log.save(update_fields=["size", "root_hash", "updated_at"])
        cosignature = witness_signer().cosign(request.note.text, int(now.timestamp()))
    return cosignature.line()


def witness_log_add(*, origin: str, vkey: str) -> WitnessedLog:
    """Follow a log: its checkpoints signed by ``vkey`` (an Ed25519 note key named after the origin)."""
    verifier = parse_vkey(vkey)
    if verifier.sig_type != ED25519:
        msg = "a log's vkey is an Ed25519 note key (type 0x01)"
        raise NoteError(msg)
    if verifier.name != origin:
        msg = f"the vkey is named {verifier.name!r}, not the origin {origin!r}"
        raise NoteError(msg)
    log, created = WitnessedLog.objects.get_or_create(origin=origin, defaults={"vkey": vkey})
    if not created and log.vkey != vkey:
        log.vkey = vkey
        log.save(update_fields=["vkey"])
    return log
