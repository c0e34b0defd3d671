"""Writes to the transparency log. Other apps call :func:`ledger_append` inside their own transaction.

The integrator (:func:`ledger_integrate`) hashes new leaves into tiles and signs a checkpoint; the
witness push (:func:`ledger_witness_push`) collects cosignatures for it. Network I/O never happens
inside a database transaction.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from tenderhall.core.errors import DomainError
from tenderhall.ledger import conf
from tenderhall.ledger.canonical import canonical_json
from tenderhall.ledger.keys import log_signer
from tenderhall.ledger.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
)
from tenderhall.ledger.models import Checkpoint, Cosignature, Leaf, LogHead, Tile, TreeState, WitnessPeer
from tenderhall.ledger.note import Checkpoint as CheckpointBody
from tenderhall.ledger.note import Note, NoteError, parse_note, parse_signature_lines, parse_vkey, verify_note
from tenderhall.ledger.tiles import MAX_ENTRY_BYTES, TileAppender, TileHashReader, edge_tiles, split_hashes

logger = logging.getLogger(__name__)


class LedgerInconsistent(DomainError):
    """The tiles disagree with a checkpoint already signed: the integrator refuses to sign anything."""

    code = "ledger_inconsistent"
    status = 500


class LeafTooLarge(DomainError):
    code = "ledger_leaf_too_large"
    status = 422


def ledger_event(
    *,
    event_type: str,
    subjects: Mapping[str, str],
    hashes: Mapping[str, str],
    actor: str | None,
    at: datetime,
    data: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The event dict a leaf holds. Leaf sources rebuild it from live rows to compare (see sources.py)."""
    if event_type.count(":") != 2:
        msg = f"ledger event type {event_type!r} must read app:subject:action"
        raise ValueError(msg)
    event: dict[str, object] = {
        "type": event_type,
        "at": at.isoformat(timespec="microseconds"),
        "subjects": dict(subjects),
        "hashes": dict(hashes),
    }
    if actor is not None:
        event["actor"] = actor
    if data:
        event["data"] = dict(data)
    return event


def record_key(subjects: Mapping[str, str]) -> str:
    """How a record finds its leaves: the first subject, as ``kind:id``."""
    kind, ident = next(iter(subjects.items()))
    return f"{kind}:{ident}"


@dataclass(frozen=True)
class LedgerEvent:
    event_type: str
    subjects: Mapping[str, str]
    hashes: Mapping[str, str]
    actor: str | None
    at: datetime
    data: Mapping[str, object] | None = None


def _leaf_row(event: LedgerEvent) -> Leaf:
    if not event.subjects:
        msg = "a ledger event names at least one subject"
        raise ValueError(msg)
    payload = canonical_json(
        ledger_event(
            event_type=event.event_type,
            subjects=event.subjects,
            hashes=event.hashes,
            actor=event.actor,
            at=event.at,
            data=event.data,
        )
    )
    if len(payload) > MAX_ENTRY_BYTES:
        msg = f"a ledger leaf is at most {MAX_ENTRY_BYTES} bytes, this one has {len(payload)}: log hashes"
        raise LeafTooLarge(msg)
    return Leaf(
        event_type=event.event_type,
        data=payload,
        record_key=record_key(event.subjects),
        appended_at=event.at,
    )


def _lock_head() -> LogHead:
    if not transaction.get_connection().in_atomic_block:
        msg = "ledger_append must run inside the transaction of the change it records"
        raise RuntimeError(msg)
    LogHead.objects.get_or_create(id=1)
    return LogHead.objects.select_for_update().get(id=1)


def ledger_append(
    *,
    event_type: str,
    subjects: Mapping[str, str],
    hashes: Mapping[str, str],
    actor: str | None,
    at: datetime,
    data: Mapping[str, object] | None = None,
) -> Leaf:
    """Append one event as a leaf, in the caller's transaction (it must be in one)."""
    if not transaction.get_connection().in_atomic_block:
        msg = "ledger_append must run inside the transaction of the change it records"
        raise RuntimeError(msg)
    leaf = _leaf_row(LedgerEvent(event_type, subjects, hashes, actor, at, data))
    head = _lock_head()
    leaf.index = head.size
    leaf.save(force_insert=True)
    head.size += 1
    head.save(update_fields=["size"])
    return leaf


def ledger_append_batch(*, events: Iterable[LedgerEvent]) -> list[Leaf]:
    """Append many events under one lock and one bulk insert, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        msg = "ledger_append_batch must run inside the transaction of the change it records"
        raise RuntimeError(msg)
    leaves = [_leaf_row(event) for event in events]
    head = _lock_head()
    for offset, leaf in enumerate(leaves):
        leaf.index = head.size + offset
    _insert_leaves(leaves)
    head.size += len(leaves)
    head.save(update_fields=["size"])
    return leaves


def _insert_leaves(leaves: list[Leaf]) -> None:
    """One prepared INSERT run over all rows: the ORM's per-row SQL compilation would dominate."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    names = ("index", "event_type", "data", "record_key", "appended_at")
    column = {field.name: field.column for field in Leaf._meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in names)
    sql = f"INSERT INTO {quote(Leaf._meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (leaf.index, leaf.event_type, leaf.data, leaf.record_key, adapt(leaf.appended_at)) for leaf in leaves
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY is several times faster than INSERTs there
            table = quote(Leaf._meta.db_table)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, rows)
    for leaf in leaves:
        leaf._state.adding = False
        leaf._state.db = connection.alias


# --- the integrator -------------------------------------------------------------------------------


class _DatabaseTiles:
    """Tile reads for the integrator: the tiles it is writing first, the stored ones otherwise."""

    def __init__(self, pending: Mapping[tuple[int, int], bytes]) -> None:
        self.pending = pending

    def __call__(self, level: int, index: int, width: int) -> bytes:
        data = self.pending.get((level, index))
        if data is None:
            row = Tile.objects.filter(level=level, index=index).values_list("data", flat=True).first()
            data = bytes(row) if row is not None else b""
        if len(data) < width * 32:
            msg = f"tile {level}/{index} holds {len(data) // 32} hashes, {width} are needed"
            raise LedgerInconsistent(msg)
        return bytes(data[: width * 32])


def _edge(size: int) -> dict[int, list[bytes]]:
    edge: dict[int, list[bytes]] = {}
    for ref in edge_tiles(size):
        data = _DatabaseTiles({})(ref.level, ref.index, ref.width)
        edge[ref.level] = split_hashes(data)
    return edge


def _sign_checkpoint(size: int, root: bytes, now: datetime) -> Checkpoint:
    body = CheckpointBody(conf.origin(), size, root)
    note = log_signer().sign(body.text())
    return Checkpoint.objects.create(
        size=size, root_hash=root, note=body.text() + "\n" + note.line(), signed_at=now
    )


def ledger_integrate(*, now: datetime, max_leaves: int | None = None) -> Checkpoint | None:
    """Hash the leaves appended since the last run into tiles and sign a checkpoint, in one transaction.

    Returns the new checkpoint, or None when there was nothing to do. Runs of several processes are
    serialised by the lock on the tree state; a crash leaves the previous state intact. Before signing,
    a consistency proof from the previous checkpoint to the new tree must verify, so the log never
    signs two inconsistent checkpoints.
    """
    limit = max_leaves or conf.max_leaves_per_checkpoint()
    TreeState.objects.get_or_create(id=1)
    with transaction.atomic():
        state = TreeState.objects.select_for_update().get(id=1)
        latest = Checkpoint.objects.order_by("-size").first()
        if latest is not None and latest.size != state.size:
            msg = f"the latest checkpoint is at {latest.size} but the tree at {state.size}"
            raise LedgerInconsistent(msg)
        appender = TileAppender(state.size, _edge(state.size))
        rows = (
            Leaf.objects.filter(index__gte=state.size, index__lt=state.size + limit)
            .order_by("index")
            .values_list("index", "data")
        )
        for index, data in rows.iterator(chunk_size=4096):
            if index != appender.size:
                break  # a gap: a later leaf's transaction committed first; it waits for the next run
            appender.append(leaf_hash(bytes(data)))
        if latest is not None and appender.size == state.size:
            return None
        pending = appender.changed()
        reader = TileHashReader(appender.size, _DatabaseTiles(pending))
        root = tree_root(appender.size, reader)
        if latest is not None and latest.size > 0:
            proof = consistency_proof(latest.size, appender.size, reader)
            if not verify_consistency(latest.size, appender.size, bytes(latest.root_hash), root, proof):
                msg = f"the tree at {appender.size} is not consistent with the checkpoint at {latest.size}"
                raise LedgerInconsistent(msg)
        Tile.objects.bulk_create(
            [Tile(level=level, index=index, data=data) for (level, index), data in sorted(pending.items())],
            update_conflicts=True,
            unique_fields=["level", "index"],
            update_fields=["data"],
            batch_size=500,
        )
        state.size = appender.size
        state.save(update_fields=["size"])
        checkpoint = _sign_checkpoint(appender.size, root if appender.size else EMPTY_ROOT, now)
    logger.info("ledger: signed checkpoint at %d", checkpoint.size)
    return checkpoint


def ledger_integrate_all(*, now: datetime) -> list[Checkpoint]:
    """Integrate until no leaf is waiting (one checkpoint per ``max_leaves_per_checkpoint`` leaves)."""
    made = []
    while (checkpoint := ledger_integrate(now=now)) is not None:
        made.append(checkpoint)
        head = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
        if checkpoint.size >= head:
            break
    return made


def ledger_integrate_if_due(now: datetime) -> Checkpoint | None:
    """For the embedded mode: integrate (and ask the witnesses) if leaves wait and the interval passed.

    Cheap when nothing is due (two indexed reads), so a request hook or a scheduler tick may call it
    often; it never starts threads.
    """
    latest = Checkpoint.objects.order_by("-size").values_list("size", "signed_at").first()
    head = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
    if latest is not None:
        size, signed_at = latest
        if head <= size or now - signed_at < conf.checkpoint_interval():
            return None
    checkpoint = ledger_integrate(now=now)
    if checkpoint is not None and WitnessPeer.objects.exists():
        ledger_witness_push(now=now, checkpoint=checkpoint)
    return checkpoint


# --- witnesses ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes


Poster = Callable[[str, bytes], HttpAnswer]


def http_post(url: str, body: bytes) -> HttpAnswer:
    """POST with urllib; an HTTP error status is an answer, not an exception."""
    if not url.startswith(("http://", "https://")):
        msg = f"witness URL {url!r} must be http(s)"
        raise ValueError(msg)
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310  # scheme checked above
    request.add_header("Content-Type", "text/plain; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=conf.witness_timeout()) as response:  # noqa: S310
            return HttpAnswer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, exc.headers.get("Content-Type", ""), exc.read())


def _add_checkpoint_body(checkpoint: Checkpoint, old: int) -> bytes:
    proof: list[bytes] = []
    if 0 < old < checkpoint.size:
        proof = consistency_proof(old, checkpoint.size, TileHashReader(checkpoint.size, _DatabaseTiles({})))
    lines = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"old {old}\n{lines}\n{checkpoint.note}".encode()


def _ask_witness(peer: WitnessPeer, checkpoint: Checkpoint, post: Poster) -> str:
    """One witness round trip (retrying once after a 409 that tells the size it holds). Returns the
    verified cosignature line, or raises ValueError with what went wrong."""
    verifier = parse_vkey(peer.vkey)
    old = peer.cosigned_size if peer.cosigned_size <= checkpoint.size else 0
    for _attempt in range(2):
        url = peer.url.rstrip("/") + "/add-checkpoint"
        answer = post(url, _add_checkpoint_body(checkpoint, old))
        if answer.status == 409 and answer.content_type.startswith("text/x.tlog.size"):
            text = answer.body.decode("ascii", "replace").strip()
            if not text.isdigit() or int(text) > checkpoint.size:
                msg = f"witness holds size {text!r}, ahead of this log's checkpoint at {checkpoint.size}"
                raise ValueError(msg)
            old = int(text)
            continue
        if answer.status != 200:
            msg = f"witness answered {answer.status}: {answer.body[:200].decode('utf-8', 'replace').strip()}"
            raise ValueError(msg)
        try:
            signatures = parse_signature_lines(answer.body.decode("utf-8"))
            note = parse_note(checkpoint.note)
            verified = verify_note(Note(note.text, tuple(signatures)), [verifier])
        except (NoteError, UnicodeDecodeError) as exc:
            msg = f"witness cosignature does not verify: {exc}"
            raise ValueError(msg) from exc
        return verified[0][1].line()
    msg = "witness kept answering 409"
    raise ValueError(msg)


def ledger_witness_push(
    *, now: datetime, checkpoint: Checkpoint | None = None, post: Poster = http_post
) -> dict[str, str]:
    """Ask every configured witness to cosign ``checkpoint`` (default: the latest); store what verifies.

    Returns ``{witness name: "cosigned" | error message}``. Witnesses are asked outside any transaction.
    """
    if checkpoint is None:
        checkpoint = Checkpoint.objects.order_by("-size").first()
        if checkpoint is None:
            return {}
    outcome: dict[str, str] = {}
    done = set(Cosignature.objects.filter(checkpoint=checkpoint).values_list("witness_name", flat=True))
    for peer in WitnessPeer.objects.order_by("name"):
        if peer.name in done:
            outcome[peer.name] = "cosigned"
            continue
        try:
            line = _ask_witness(peer, checkpoint, post)
        except (ValueError, ProofError, OSError) as exc:
            logger.warning("ledger: witness %s did not cosign %d: %s", peer.name, checkpoint.size, exc)
            WitnessPeer.objects.filter(pk=peer.pk).update(last_error=str(exc)[:1000], last_contact_at=now)
            outcome[peer.name] = str(exc)
            continue
        with contextlib.suppress(IntegrityError), transaction.atomic():  # another worker may have stored it
            Cosignature.objects.create(
                checkpoint=checkpoint, witness_name=peer.name, line=line, cosigned_at=now
            )
        WitnessPeer.objects.filter(pk=peer.pk).update(
            cosigned_size=checkpoint.size, last_error="", last_contact_at=now
        )
        outcome[peer.name] = "cosigned"
    return outcome


def witness_peer_add(*, name: str, url: str, vkey: str) -> WitnessPeer:
    """Configure a witness to push checkpoints to; its vkey must be a cosignature key named ``name``."""
    verifier = parse_vkey(vkey)
    if verifier.name != name:
        msg = f"the vkey is for {verifier.name!r}, not {name!r}"
        raise NoteError(msg)
    if verifier.sig_type != 0x04:
        msg = "a witness vkey must be a cosignature key (type 0x04)"
        raise NoteError(msg)
    peer, _ = WitnessPeer.objects.update_or_create(name=name, defaults={"url": url, "vkey": vkey})
    return peer
