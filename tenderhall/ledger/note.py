"""C2SP signed notes, checkpoints and cosignatures with Ed25519. Pure: no ORM, no clock, no I/O.

* signed-note: text ending in a newline, a blank line, then lines ``— <name> base64(key ID || signature)``;
  an Ed25519 key ID is ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` and its verifier key (vkey) reads
  ``<name>+<key ID in hex>+base64(0x01 || public key)``.
* tlog-checkpoint: the note text ``<origin>\\n<size>\\n<base64 root hash>\\n`` plus optional extension lines.
* tlog-cosignature v1: signature type 0x04; the signature is ``u64 timestamp || Ed25519 signature`` over
  ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tenderhall.ledger.merkle import HASH_SIZE

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\N{EM DASH} "
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20
MAX_TIMESTAMP = (1 << 63) - 1


class NoteError(ValueError):
    """A note, key or checkpoint is malformed or does not verify; the message says exactly why."""


class UnverifiedNoteError(NoteError):
    """No signature from a known key verified (or a known key's signature failed)."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = f"{what} is not valid base64: {text!r}"
        raise NoteError(msg) from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_key_name(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        msg = f"key name {name!r} must be non-empty, without spaces or '+'"
        raise NoteError(msg)


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{DASH}{self.name} {_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ed25519Verifier:
    """Verifies Ed25519 note signatures (type 0x01), or cosignatures v1 (type 0x04)."""

    name: str
    public_key: bytes
    sig_type: int = ED25519
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            msg = f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}"
            raise NoteError(msg)
        if self.sig_type not in (ED25519, COSIGNATURE_V1):
            msg = f"signature type 0x{self.sig_type:02x} is not supported (only 0x01 and 0x04)"
            raise NoteError(msg)
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([self.sig_type]) + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        if self.sig_type == COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                return False
            (timestamp,) = struct.unpack(">Q", signature[:8])
            if timestamp > MAX_TIMESTAMP:
                return False
            message, raw = cosignature_message(text, timestamp), signature[8:]
        else:
            if len(signature) != 64:
                return False
            message, raw = text, signature
        try:
            key.verify(raw, message)
        except InvalidSignature:
            return False
        return True


def parse_vkey(vkey: str) -> Ed25519Verifier:
    """Read ``name+hexkeyid+base64(type || key)``; the key ID must match the name and key."""
    parts = vkey.strip().split("+", 2)  # the base64 key itself may contain "+"
    if len(parts) != 3:
        msg = f"a verifier key reads name+keyid+key, got {vkey!r}"
        raise NoteError(msg)
    name, hex_id, encoded = parts
    _check_key_name(name)
    try:
        wanted_id = bytes.fromhex(hex_id)
    except ValueError as exc:
        msg = f"verifier key ID {hex_id!r} is not hexadecimal"
        raise NoteError(msg) from exc
    if len(wanted_id) != 4 or hex_id != hex_id.lower():
        msg = f"verifier key ID {hex_id!r} must be 8 lower-case hex digits"
        raise NoteError(msg)
    raw = _b64decode(encoded, "verifier key")
    if not raw:
        msg = "verifier key has no key material"
        raise NoteError(msg)
    verifier = Ed25519Verifier(name, raw[1:], raw[0])
    if verifier.key_id != wanted_id:
        msg = f"verifier key ID {hex_id} does not match its name and key ({verifier.key_id.hex()})"
        raise NoteError(msg)
    return verifier


@dataclass(frozen=True)
class Ed25519Signer:
    """Signs notes (type 0x01) as ``name`` with a private key."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, _raw_public(self.private_key.public_key()), ED25519)

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def sign(self, text: str) -> Signature:
        _check_text(text)
        raw = self.private_key.sign(text.encode("utf-8"))
        return Signature(self.name, self.verifier.key_id, raw)


@dataclass(frozen=True)
class CosignatureSigner:
    """Cosigns checkpoints (tlog-cosignature v1, type 0x04) as the witness ``name``."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, _raw_public(self.private_key.public_key()), COSIGNATURE_V1)

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def cosign(self, text: str, timestamp: int) -> Signature:
        _check_text(text)
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            msg = f"cosignature timestamp {timestamp} is out of range"
            raise NoteError(msg)
        raw = self.private_key.sign(cosignature_message(text.encode("utf-8"), timestamp))
        return Signature(self.name, self.verifier.key_id, struct.pack(">Q", timestamp) + raw)


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime " + str(timestamp).encode("ascii") + b"\n" + text


def cosignature_timestamp(signature: Signature) -> int:
    """The POSIX time a v1 cosignature states (its first 8 bytes)."""
    if len(signature.signature) != 72:
        msg = f"a v1 cosignature is 72 bytes, not {len(signature.signature)}"
        raise NoteError(msg)
    return int(struct.unpack(">Q", signature.signature[:8])[0])


# --- notes --------------------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        msg = "note text must end with a newline"
        raise NoteError(msg)
    for ch in text:
        if ch < " " and ch != "\n":
            msg = f"note text contains the control character {ch!r}"
            raise NoteError(msg)


def sign_note(text: str, signers: Sequence[Ed25519Signer]) -> Note:
    return Note(text, tuple(signer.sign(text) for signer in signers))


def parse_note(raw: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the format strictly."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_NOTE_BYTES:
            msg = f"note is larger than {MAX_NOTE_BYTES} bytes"
            raise NoteError(msg)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = "note is not valid UTF-8"
            raise NoteError(msg) from exc
    for ch in raw:
        if ch < " " and ch != "\n":
            msg = f"note contains the control character {ch!r}"
            raise NoteError(msg)
    if not raw.endswith("\n"):
        msg = "note must end with a newline"
        raise NoteError(msg)
    split = raw.rfind("\n\n")
    if split < 0:
        msg = "note has no blank line between text and signatures"
        raise NoteError(msg)
    text, sig_block = raw[: split + 1], raw[split + 2 :]
    if not sig_block:
        msg = "note has no signature lines"
        raise NoteError(msg)
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = f"note has more than {MAX_SIGNATURES} signatures"
        raise NoteError(msg)
    signatures = tuple(_parse_signature_line(line) for line in lines)
    return Note(text, signatures)


def parse_signature_lines(raw: str) -> list[Signature]:
    """Read the ``— name sig`` lines a witness returns (each ending in a newline)."""
    if not raw.endswith("\n"):
        msg = "signature lines must end with a newline"
        raise NoteError(msg)
    return [_parse_signature_line(line) for line in raw[:-1].split("\n")]


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(DASH):
        msg = f"signature line does not start with an em dash and a space: {line!r}"
        raise NoteError(msg)
    parts = line[len(DASH) :].split(" ")
    if len(parts) != 2:
        msg = f"signature line must read '— <name> <base64>': {line!r}"
        raise NoteError(msg)
    name, encoded = parts
    _check_key_name(name)
    blob = _b64decode(encoded, f"signature of {name}")
    if len(blob) < 5:
        msg = f"signature of {name} is too short"
        raise NoteError(msg)
    return Signature(name, blob[:4], blob[4:])


def verify_note(note: Note, verifiers: Sequence[Ed25519Verifier]) -> list[tuple[Ed25519Verifier, Signature]]:
    """The (verifier, signature) pairs that verified. Signatures from unknown keys are ignored;
    a known key's signature that fails, or no verified signature at all, rejects the note."""
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode("utf-8")
    verified: list[tuple[Ed25519Verifier, Signature]] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text, sig.signature):
            msg = f"bad signature from known key {sig.name}+{sig.key_id.hex()}"
            raise UnverifiedNoteError(msg)
        if (sig.name, sig.key_id) not in seen:
            seen.add((sig.name, sig.key_id))
            verified.append((verifier, sig))
    if not verified:
        msg = "no signature from a known key: " + (
            ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures) or "none"
        )
        raise UnverifiedNoteError(msg)
    return verified


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's note text (not the signatures): origin, size, root hash, extensions."""
    if not text.endswith("\n"):
        msg = "checkpoint text must end with a newline"
        raise NoteError(msg)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        msg = f"checkpoint has {len(lines)} lines, needs at least origin, size and root hash"
        raise NoteError(msg)
    origin, size_text, root_text, *extensions = lines
    if not origin:
        msg = "checkpoint origin is empty"
        raise NoteError(msg)
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
        msg = f"checkpoint size {size_text!r} is not a decimal without leading zeroes"
        raise NoteError(msg)
    size = int(size_text)
    if size >= 1 << 63:
        msg = f"checkpoint size {size} is too large"
        raise NoteError(msg)
    root = _b64decode(root_text, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        msg = f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}"
        raise NoteError(msg)
    if any(not line for line in extensions):
        msg = "checkpoint extension lines must be non-empty"
        raise NoteError(msg)
    return Checkpoint(origin, size, root, tuple(extensions))


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    note: Note
    log_signature: Signature
    cosignatures: tuple[tuple[Ed25519Verifier, Signature], ...]


def verify_checkpoint(
    raw: str | bytes,
    log_verifier: Ed25519Verifier,
    witnesses: Sequence[Ed25519Verifier] = (),
    *,
    quorum: int = 0,
) -> VerifiedCheckpoint:
    """Parse a signed checkpoint, check the log's signature, its origin, and a quorum of cosignatures."""
    note = parse_note(raw)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != log_verifier.name:
        msg = f"checkpoint origin {checkpoint.origin!r} is not the log's key name {log_verifier.name!r}"
        raise NoteError(msg)
    log_verified = verify_note(note, [log_verifier])
    cosigners = [w for w in witnesses if w.sig_type == COSIGNATURE_V1]
    cosigned: list[tuple[Ed25519Verifier, Signature]] = []
    if cosigners:
        known = {(w.name, w.key_id) for w in cosigners}
        if any((s.name, s.key_id) in known for s in note.signatures):
            cosigned = verify_note(note, cosigners)
    if len(cosigned) < quorum:
        msg = f"checkpoint has {len(cosigned)} valid cosignatures from known witnesses, needs {quorum}"
        raise UnverifiedNoteError(msg)
    return VerifiedCheckpoint(checkpoint, note, log_verified[0][1], tuple(cosigned))
