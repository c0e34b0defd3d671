from __future__ import annotations

from typing import Any

from ninja import Schema


class InclusionProofOut(Schema):
    index: int
    size: int
    leaf_hash: str
    root_hash: str
    hashes: list[str]


class ConsistencyProofOut(Schema):
    first: int
    second: int
    hashes: list[str]


class LeafOut(Schema):
    index: int
    event_type: str
    record_key: str
    leaf_hash: str
    integrated: bool
    event: dict[str, Any]
    data: str  # base64 of the exact leaf bytes (RFC 8785 canonical JSON)


class RecordOut(Schema):
    record_key: str
    checkpoint_size: int
    leaves: list[LeafOut]


class CheckpointOut(Schema):
    origin: str
    size: int
    root_hash: str
    vkey: str
    signed_at: str
    cosigners: list[str]
    note: str
