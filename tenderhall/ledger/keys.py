"""The log's and the witness's Ed25519 keys: read from files, created on first use (mode 0600)."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from tenderhall.ledger import conf
from tenderhall.ledger.note import CosignatureSigner, Ed25519Signer


class KeyFileError(Exception):
    """The key file exists but is not an unencrypted Ed25519 PKCS#8 PEM key."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the key at ``path``, or create it atomically: two processes starting at once agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
            os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return _read_key(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_key(path: Path, _mtime: int) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"{path} holds a {type(key).__name__}, not an Ed25519 private key"
        raise KeyFileError(msg)
    return key


def log_signer() -> Ed25519Signer:
    return Ed25519Signer(conf.origin(), load_or_create_key(conf.log_key_file()))


def witness_signer() -> CosignatureSigner:
    return CosignatureSigner(conf.witness_name(), load_or_create_key(conf.witness_key_file()))
