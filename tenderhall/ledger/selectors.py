"""Reads of the transparency log: the published checkpoint, tiles, proofs, a record's leaves."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass

from tenderhall.core.errors import DomainError, NotFound
from tenderhall.ledger import conf
from tenderhall.ledger.keys import log_signer, witness_signer
from tenderhall.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from tenderhall.ledger.models import Checkpoint, Cosignature, Leaf, Tile, WitnessPeer
from tenderhall.ledger.note import Ed25519Verifier, parse_vkey
from tenderhall.ledger.tiles import (
    TILE_WIDTH,
    TileHashReader,
    TileRef,
    encode_entries,
    tile_width_at,
)

TILE_CACHE = 4096  # at most 32 MiB of hashes


class LedgerEmpty(DomainError):
    code = "ledger_no_checkpoint"
    status = 404


class ProofIndexOutOfRange(DomainError):
    code = "ledger_index_out_of_range"
    status = 422


class ProofSizeNotCheckpointed(DomainError):
    code = "ledger_size_beyond_checkpoint"
    status = 422


class ProofSizesInvalid(DomainError):
    code = "ledger_invalid_sizes"
    status = 422


def ledger_vkey() -> str:
    return log_signer().vkey


def witness_vkey() -> str:
    return witness_signer().vkey


def witness_verifiers() -> list[Ed25519Verifier]:
    """The cosignature keys of the witnesses this log is configured with."""
    return [parse_vkey(vkey) for vkey in WitnessPeer.objects.order_by("name").values_list("vkey", flat=True)]


def checkpoint_published() -> Checkpoint | None:
    """The latest checkpoint with at least the configured quorum of cosignatures from current witnesses."""
    quorum = conf.witness_quorum()
    if quorum <= 0:
        return Checkpoint.objects.order_by("-size").first()
    names = list(WitnessPeer.objects.values_list("name", flat=True))
    for checkpoint in Checkpoint.objects.order_by("-size")[:50]:
        if Cosignature.objects.filter(checkpoint=checkpoint, witness_name__in=names).count() >= quorum:
            return checkpoint
    return None


def checkpoint_get_published() -> Checkpoint:
    checkpoint = checkpoint_published()
    if checkpoint is None:
        msg = "the log has no published checkpoint yet"
        raise LedgerEmpty(msg)
    return checkpoint


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The signed note as served: the log's signature followed by the witnesses' cosignatures."""
    lines = (
        Cosignature.objects.filter(checkpoint=checkpoint)
        .order_by("witness_name")
        .values_list("line", flat=True)
    )
    return checkpoint.note + "".join(lines)


def published_size() -> int:
    checkpoint = checkpoint_published()
    return checkpoint.size if checkpoint is not None else 0


@functools.lru_cache(maxsize=TILE_CACHE)
def _tile_data(level: int, index: int, width: int) -> bytes:
    """The first ``width`` hashes of a tile. Those never change once written (a tile only grows), so
    reads are cached per process; only sizes covered by a committed checkpoint are ever asked for."""
    data = Tile.objects.filter(level=level, index=index).values_list("data", flat=True).first()
    if data is None or len(data) < width * 32:
        msg = f"tile {level}/{index} of width {width} is not stored"
        raise NotFound(msg)
    return bytes(data[: width * 32])


def clear_tile_cache() -> None:
    _tile_data.cache_clear()


def tile_read(ref: TileRef) -> bytes:
    """The bytes of a hash tile or entry bundle, if a published checkpoint covers it (else NotFound)."""
    size = published_size()
    if tile_width_at(ref.level, ref.index, size) < ref.width:
        msg = f"{ref.path()} is not covered by the published checkpoint (size {size})"
        raise NotFound(msg)
    if ref.is_entries:
        start = ref.index * TILE_WIDTH
        rows = Leaf.objects.filter(index__gte=start, index__lt=start + ref.width).order_by("index")
        entries = [bytes(data) for data in rows.values_list("data", flat=True)]
        return encode_entries(entries)
    return _tile_data(ref.level, ref.index, ref.width)


def reader_for(size: int) -> TileHashReader:
    return TileHashReader(size, _tile_data)


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: list[bytes]


def _checked_size(size: int) -> Checkpoint:
    checkpoint = checkpoint_get_published()
    if size > checkpoint.size:
        msg = f"size {size} is beyond the latest published checkpoint ({checkpoint.size})"
        raise ProofSizeNotCheckpointed(msg, details={"checkpoint_size": checkpoint.size})
    return checkpoint


def proof_inclusion(*, index: int, size: int) -> InclusionProof:
    _checked_size(size)
    if not 0 <= index < size:
        msg = f"leaf index {index} is not in a tree of size {size}"
        raise ProofIndexOutOfRange(msg)
    reader = reader_for(size)
    hashes = inclusion_proof(index, size, reader)
    leaf = reader.read_hashes([(0, index)])[0]
    return InclusionProof(index, size, leaf, tree_root(size, reader), hashes)


def proof_consistency(*, first: int, second: int) -> list[bytes]:
    _checked_size(second)
    if first > second:
        msg = f"the first size {first} is larger than the second {second}"
        raise ProofSizesInvalid(msg)
    if first < 1:
        msg = "a consistency proof starts from a tree of at least one leaf"
        raise ProofSizesInvalid(msg)
    try:
        return consistency_proof(first, second, reader_for(second))
    except ProofError as exc:  # pragma: no cover - sizes are checked above
        raise ProofSizesInvalid(str(exc)) from exc


@dataclass(frozen=True)
class LeafView:
    index: int
    event_type: str
    record_key: str
    data: bytes
    leaf_hash: bytes
    integrated: bool

    @property
    def event(self) -> dict[str, object]:
        value: dict[str, object] = json.loads(self.data)
        return value


def _view(leaf: Leaf, size: int) -> LeafView:
    data = bytes(leaf.data)
    return LeafView(leaf.index, leaf.event_type, leaf.record_key, data, leaf_hash(data), leaf.index < size)


def leaves_for_record(*, record_key: str) -> list[LeafView]:
    size = published_size()
    leaves = Leaf.objects.filter(record_key=record_key).order_by("index")[:1000]
    return [_view(leaf, size) for leaf in leaves]


def leaf_get(*, index: int) -> LeafView:
    leaf = Leaf.objects.filter(index=index).first()
    if leaf is None:
        msg = f"no leaf {index}"
        raise NotFound(msg)
    return _view(leaf, published_size())


def tlog_proof(*, index: int) -> str:
    """A C2SP tlog-proof for leaf ``index`` under the published checkpoint, with the leaf in ``extra``."""
    checkpoint = checkpoint_get_published()
    if not 0 <= index < checkpoint.size:
        msg = f"leaf {index} is not covered by the published checkpoint (size {checkpoint.size})"
        raise ProofIndexOutOfRange(msg)
    leaf = leaf_get(index=index)
    hashes = inclusion_proof(index, checkpoint.size, reader_for(checkpoint.size))
    lines = [
        "c2sp.org/tlog-proof@v1",
        "extra " + base64.b64encode(leaf.data).decode("ascii"),
        f"index {index}",
        *(base64.b64encode(h).decode("ascii") for h in hashes),
    ]
    return "\n".join(lines) + "\n\n" + checkpoint_text(checkpoint)
