"""The ledger's JSON API: proofs, a record's leaves and downloadable tlog-proofs. All public."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tenderhall.ledger import conf, selectors
from tenderhall.ledger.models import Cosignature
from tenderhall.ledger.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    LeafOut,
    RecordOut,
)
from tenderhall.ledger.selectors import LeafView

router = Router(tags=["ledger"])


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def leaf_out(leaf: LeafView) -> LeafOut:
    return LeafOut(
        index=leaf.index,
        event_type=leaf.event_type,
        record_key=leaf.record_key,
        leaf_hash=_b64(leaf.leaf_hash),
        integrated=leaf.integrated,
        event=leaf.event,
        data=_b64(leaf.data),
    )


class InclusionQuery(Schema):
    index: int = Field(ge=0, description="the leaf index")
    size: int = Field(ge=1, description="the tree size, at most the latest published checkpoint's")


class ConsistencyQuery(Schema):
    first: int = Field(ge=1, description="the older tree size")
    second: int = Field(ge=1, description="the newer tree size, at most the latest published checkpoint's")


@router.get("/checkpoint", response=CheckpointOut, operation_id="ledger_checkpoint", auth=None)
def ledger_checkpoint(request: HttpRequest) -> CheckpointOut:
    """The latest published checkpoint, as JSON (the signed note itself is at /ledger/checkpoint)."""
    checkpoint = selectors.checkpoint_get_published()
    names = Cosignature.objects.filter(checkpoint=checkpoint).order_by("witness_name")
    return CheckpointOut(
        origin=conf.origin(),
        size=checkpoint.size,
        root_hash=_b64(bytes(checkpoint.root_hash)),
        vkey=selectors.ledger_vkey(),
        signed_at=checkpoint.signed_at.isoformat(),
        cosigners=list(names.values_list("witness_name", flat=True)),
        note=selectors.checkpoint_text(checkpoint),
    )


@router.get("/proofs/inclusion", response=InclusionProofOut, operation_id="ledger_proof_inclusion", auth=None)
def ledger_proof_inclusion(request: HttpRequest, query: Query[InclusionQuery]) -> InclusionProofOut:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    proof = selectors.proof_inclusion(index=query.index, size=query.size)
    return InclusionProofOut(
        index=proof.index,
        size=proof.size,
        leaf_hash=_b64(proof.leaf_hash),
        root_hash=_b64(proof.root_hash),
        hashes=[_b64(h) for h in proof.hashes],
    )


@router.get(
    "/proofs/consistency", response=ConsistencyProofOut, operation_id="ledger_proof_consistency", auth=None
)
def ledger_proof_consistency(request: HttpRequest, query: Query[ConsistencyQuery]) -> ConsistencyProofOut:
    """RFC 9162 consistency proof from the tree of ``first`` leaves to the tree of ``second`` leaves."""
    hashes = selectors.proof_consistency(first=query.first, second=query.second)
    return ConsistencyProofOut(first=query.first, second=query.second, hashes=[_b64(h) for h in hashes])


@router.get("/records/{record_key}", response=RecordOut, operation_id="ledger_record_leaves", auth=None)
def ledger_record_leaves(request: HttpRequest, record_key: str) -> RecordOut:
    """The leaves recorded for a record (``kind:id``, e.g. ``entity:12``), oldest first."""
    leaves = selectors.leaves_for_record(record_key=record_key)
    return RecordOut(
        record_key=record_key,
        checkpoint_size=selectors.published_size(),
        leaves=[leaf_out(leaf) for leaf in leaves],
    )


@router.get("/leaves/{index}", response=LeafOut, operation_id="ledger_leaf", auth=None)
def ledger_leaf(request: HttpRequest, index: int) -> LeafOut:
    return leaf_out(selectors.leaf_get(index=index))


@router.get(
    "/leaves/{index}/tlog-proof", operation_id="ledger_tlog_proof", auth=None, url_name="ledger_tlog_proof"
)
def ledger_tlog_proof(request: HttpRequest, index: int) -> HttpResponse:
    """A C2SP tlog-proof of the leaf under the latest published checkpoint, to keep and check offline
    (``tenderhall ledger check-proof``). The leaf bytes travel in the ``extra`` line."""
    text = selectors.tlog_proof(index=index)
    response = HttpResponse(text.encode("utf-8"), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leaf-{index}.tlog-proof"'
    return response
