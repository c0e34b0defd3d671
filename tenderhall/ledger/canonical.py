"""RFC 8785 canonical JSON for ledger events, fast. Pure.

The leaves are the RFC 8785 (JCS) form of the event. For the values events hold (objects with string
keys, strings, integers within ±2**53, booleans, null, arrays) the standard library's compact, key-sorted
JSON without ASCII escaping is byte-identical to JCS: both escape only ``"``, ``\\`` and control
characters (short forms, else ``\\u00xx`` in lower case), and sorting by code point equals sorting by
UTF-16 code unit when no key leaves the Basic Multilingual Plane. Anything else (floats, characters
beyond the BMP in keys, lone surrogates, large integers) goes through the reference implementation.
"""

from __future__ import annotations

import json
from typing import Any

from tenderhall.core.hashing import canonical_json as reference_canonical_json

_MAX_SAFE_INTEGER = (1 << 53) - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _plain_string(text: str, *, key: bool) -> bool:
    if text.isascii():
        return True
    limit = 0xFFFF if key else 0x10FFFF
    return all(ord(ch) <= limit and not 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _simple(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return _plain_string(value, key=False)
    if isinstance(value, int):
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _plain_string(key, key=True) and _simple(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_simple(item) for item in value)
    return False


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value`` (same result as :func:`tenderhall.core.hashing.canonical_json`)."""
    if _simple(value):
        return _ENCODER.encode(value).encode("utf-8")
    return reference_canonical_json(value)
