"""Plain HTTP endpoints of the log (C2SP formats are text and bytes, not JSON) and the explorer page."""

from __future__ import annotations

import base64
import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from tenderhall.core.clock import now
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.ledger import conf, selectors
from tenderhall.ledger.merkle import verify_inclusion
from tenderhall.ledger.note import NoteError, parse_vkey, verify_checkpoint
from tenderhall.ledger.tiles import TilePathError, parse_tile_path
from tenderhall.ledger.witness import WitnessRefusal
from tenderhall.ledger.witness import witness_add_checkpoint as _witness_add_checkpoint

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=5"
TEXT = "text/plain; charset=utf-8"
MAX_WITNESS_REQUEST = 64 * 1024
_BYTE_COUNT = re.compile(r"[0-9]+")  # RFC 9110 Content-Length: ASCII digits only, no sign, space or list


def _text(body: str, status: int = 200, content_type: str = TEXT) -> HttpResponse:
    return HttpResponse(body.encode("utf-8"), status=status, content_type=content_type)


@require_GET
def checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest published checkpoint as a signed note, with the witnesses' cosignatures."""
    published = selectors.checkpoint_published()
    if published is None:
        return _text("no checkpoint yet\n", status=404)
    response = _text(selectors.checkpoint_text(published))
    response["Cache-Control"] = SHORT_LIVED
    return response


@require_GET
def tile(request: HttpRequest, tile_path: str) -> HttpResponse:
    """A hash tile or an entry bundle; full ones never change, so they are cached for a year."""
    try:
        ref = parse_tile_path(tile_path)
        data = selectors.tile_read(ref)
    except (TilePathError, NotFound) as exc:
        return _text(f"{exc}\n", status=404)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Cache-Control"] = SHORT_LIVED if ref.is_partial else IMMUTABLE
    return response


@csrf_exempt  # a machine-to-machine endpoint; the checkpoint's signature is the authentication
@require_POST
def witness_add_checkpoint(request: HttpRequest) -> HttpResponse:
    """C2SP tlog-witness ``add-checkpoint``: 200 with cosignature lines, or the spec's error status.

    The body is read only up to one byte past the limit: a body declared larger is refused unread, and one
    sent without a length (in chunks) is refused as soon as it is known to be too large.
    """
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared and not _BYTE_COUNT.fullmatch(declared):
        return _text("invalid Content-Length\n", status=400)
    # Counted by its digits first: int() refuses numbers of more than 4300 digits.
    if declared and (
        len(declared.lstrip("0")) > len(str(MAX_WITNESS_REQUEST)) or int(declared) > MAX_WITNESS_REQUEST
    ):
        return _text("request too large\n", status=413)
    body = request.read(MAX_WITNESS_REQUEST + 1)
    if len(body) > MAX_WITNESS_REQUEST:
        return _text("request too large\n", status=413)
    try:
        lines = _witness_add_checkpoint(body=body, now=now())
    except WitnessRefusal as refusal:
        return _text(refusal.body, status=refusal.status, content_type=refusal.content_type)
    return _text(lines)


def _lookup(query: str) -> dict[str, object]:
    """Leaves for a record key (``entity:12``) or a leaf index, each with its proof checked here."""
    query = query.strip()
    if not query:
        return {}
    try:
        if query.isascii() and query.isdigit():  # isdigit alone takes '²' (int() refuses) and '２'
            leaves = [selectors.leaf_get(index=int(query))]
        else:
            leaves = selectors.leaves_for_record(record_key=query)
    except NotFound:
        leaves = []
    published = selectors.checkpoint_published()
    rows = []
    for leaf in leaves:
        row: dict[str, object] = {"leaf": leaf, "proof": [], "verified": None}
        if published is not None and leaf.integrated:
            proof = selectors.proof_inclusion(index=leaf.index, size=published.size)
            row["proof"] = [base64.b64encode(h).decode("ascii") for h in proof.hashes]
            row["verified"] = verify_inclusion(
                leaf.index, published.size, leaf.leaf_hash, proof.hashes, bytes(published.root_hash)
            )
        rows.append(row)
    return {"query": query, "rows": rows}


@require_GET
def explorer(request: HttpRequest) -> HttpResponse:
    """The public page: the latest checkpoint and its cosigners, the vkey, record look-up and proofs."""
    published = selectors.checkpoint_published()
    context: dict[str, object] = {
        "origin": conf.origin(),
        "vkey": selectors.ledger_vkey(),
        "checkpoint": published,
        "root_b64": base64.b64encode(bytes(published.root_hash)).decode() if published else "",
        "note": selectors.checkpoint_text(published) if published else "",
        "cosigners": [],
        "signature_ok": None,
        "error": "",
    }
    if published is not None:
        try:
            verified = verify_checkpoint(
                selectors.checkpoint_text(published),
                parse_vkey(selectors.ledger_vkey()),
                selectors.witness_verifiers(),
            )
            context["signature_ok"] = True
            context["cosigners"] = [
                {"name": verifier.name, "vkey": verifier.vkey} for verifier, _ in verified.cosignatures
            ]
        except NoteError as exc:
            context["signature_ok"] = False
            context["error"] = str(exc)
    try:
        context.update(_lookup(request.GET.get("q", "")))
    except DomainError as exc:
        context["error"] = exc.message
    return render(request, "ledger/explorer.html", context)
