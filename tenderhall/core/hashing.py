"""Hashes used across the platform (files, canonical records)."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON: the byte form that the ledger and signatures hash."""
    return rfc8785.dumps(value)
