"""`tenderhall ledger verify`: prove that the log, its checkpoints and the live data agree.

Locally: every leaf is numbered without gaps, the stored tiles are exactly the hashes of the leaves,
every checkpoint's signature verifies and its root is the root of the leaves at its size, every stored
cosignature verifies, and every leaf is recomputed from the live rows and files by its app's leaf source.
Remotely: from a log's public endpoints alone (checkpoint, tiles, entry bundles) with its vkey.
Each problem is one sentence naming what is wrong.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenderhall.core.hashing import canonical_json
from tenderhall.ledger.merkle import CompactRange, leaf_hash
from tenderhall.ledger.models import Checkpoint, Cosignature, Leaf, LogHead, Tile, TreeState, WitnessPeer
from tenderhall.ledger.note import (
    Ed25519Verifier,
    Note,
    NoteError,
    parse_note,
    parse_signature_lines,
    parse_vkey,
    verify_checkpoint,
    verify_note,
)
from tenderhall.ledger.selectors import ledger_vkey
from tenderhall.ledger.sources import leaf_source
from tenderhall.ledger.tiles import (
    TileAppender,
    decode_entries,
    entry_bundles_for_size,
    tiles_for_size,
)

MAX_PROBLEMS = 1000


@dataclass
class VerifyReport:
    size: int = 0
    leaves_checked: int = 0
    checkpoints_checked: int = 0
    cosignatures_checked: int = 0
    problems: list[str] = field(default_factory=list)
    unknown_types: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("… more problems not listed")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    return {prefix: value}


def _differences(stored: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    before, after = _flatten(stored), _flatten(live)
    found = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            found.append(f"{key} is {before[key]!r} in the log but absent now")
        elif key not in before:
            found.append(f"{key} is absent from the log but {after[key]!r} now")
        elif before[key] != after[key]:
            found.append(f"{key} is {before[key]!r} in the log but {after[key]!r} now")
    return found


def _check_leaf_against_source(report: VerifyReport, index: int, data: bytes, record_key: str) -> None:
    try:
        event = json.loads(data)
    except ValueError:
        report.problem(f"leaf {index}: not JSON")
        return
    event_type = str(event.get("type", ""))
    label = f"leaf {index} ({event_type} {record_key})"
    if canonical_json(event) != data:
        report.problem(f"{label}: not in RFC 8785 canonical form")
    source = leaf_source(event_type)
    if source is None:
        report.unknown_types[event_type] = report.unknown_types.get(event_type, 0) + 1
        return
    try:
        result = source(event)
    except Exception as exc:  # a broken source is reported, never fatal to the run
        report.problem(f"{label}: its leaf source failed: {type(exc).__name__}: {exc}")
        return
    if isinstance(result, list):
        for message in result:
            report.problem(f"{label}: {message}")
    elif canonical_json(result) != data:
        for message in _differences(event, result) or ["differs from the live data"]:
            report.problem(f"{label}: {message}")


def _stored_tiles() -> Iterator[tuple[int, int, bytes]]:
    for level, index, data in Tile.objects.order_by("level", "index").values_list("level", "index", "data"):
        yield level, index, bytes(data)


def _verify_leaves(
    report: VerifyReport, checkpoint_sizes: set[int], integrated: int, *, check_sources: bool
) -> tuple[dict[int, bytes], TileAppender]:
    """Stream the leaves once: numbering, roots at each checkpoint size, tiles, leaf sources."""
    edge = CompactRange()
    appender = TileAppender(0, {})
    roots = {0: edge.root()}
    expected = 0
    rows = Leaf.objects.order_by("index").values_list("index", "data", "record_key")
    for index, raw, record_key in rows.iterator(chunk_size=2000):
        data = bytes(raw)
        if index != expected:
            report.problem(f"leaf {expected} is missing (the next stored leaf is {index})")
            break
        value = leaf_hash(data)
        edge.append(value)
        if expected < integrated:
            appender.append(value)
        expected += 1
        if expected in checkpoint_sizes:
            roots[expected] = edge.root()
        if check_sources:
            _check_leaf_against_source(report, index, data, record_key)
        report.leaves_checked += 1
    report.size = expected
    return roots, appender


def _verify_tiles(report: VerifyReport, appender: TileAppender) -> None:
    rebuilt = appender.changed()
    for level, index, data in _stored_tiles():
        want = rebuilt.pop((level, index), None)
        if want is None:
            report.problem(f"tile {level}/{index} is stored but no leaf reaches it")
        elif data != want:
            report.problem(f"tile {level}/{index} does not hold the hashes of its leaves")
    for level, index in sorted(rebuilt):
        report.problem(f"tile {level}/{index} is missing")


def _verify_checkpoints(
    report: VerifyReport, checkpoints: Mapping[int, Checkpoint], roots: Mapping[int, bytes]
) -> None:
    log = parse_vkey(ledger_vkey())
    for size, checkpoint in sorted(checkpoints.items()):
        report.checkpoints_checked += 1
        label = f"checkpoint at {size}"
        try:
            verified = verify_checkpoint(checkpoint.note, log)
        except NoteError as exc:
            report.problem(f"{label}: {exc}")
            continue
        if verified.checkpoint.size != size or verified.checkpoint.root_hash != bytes(checkpoint.root_hash):
            report.problem(f"{label}: the signed text does not match the stored size and root")
        if size not in roots:
            report.problem(f"{label}: the log has only {report.size} leaves")
        elif roots[size] != verified.checkpoint.root_hash:
            report.problem(f"{label}: its root hash is not the root of the stored leaves")
    witnesses = {p.name: parse_vkey(p.vkey) for p in WitnessPeer.objects.all()}
    for cosignature in Cosignature.objects.select_related("checkpoint").order_by("checkpoint__size"):
        _check_cosignature(report, cosignature, witnesses)


def verify_local(*, check_sources: bool = True) -> VerifyReport:
    """Verify this platform's log against its own database, files and keys."""
    report = VerifyReport()
    checkpoints = {c.size: c for c in Checkpoint.objects.all()}
    integrated = TreeState.objects.filter(id=1).values_list("size", flat=True).first() or 0
    roots, appender = _verify_leaves(report, set(checkpoints), integrated, check_sources=check_sources)
    head = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
    if head != report.size:
        report.problem(f"the log head says {head} leaves but {report.size} are stored")
    _verify_tiles(report, appender)
    _verify_checkpoints(report, checkpoints, roots)
    return report


def _check_cosignature(
    report: VerifyReport, cosignature: Cosignature, witnesses: Mapping[str, Ed25519Verifier]
) -> None:
    label = f"cosignature of {cosignature.witness_name} on checkpoint {cosignature.checkpoint.size}"
    verifier = witnesses.get(cosignature.witness_name)
    if verifier is None:
        report.problem(f"{label}: the witness is no longer configured, its key is unknown")
        return
    report.cosignatures_checked += 1
    try:
        note = parse_note(cosignature.checkpoint.note)
        signatures = parse_signature_lines(cosignature.line)
        verify_note(Note(note.text, tuple(signatures)), [verifier])
    except NoteError as exc:
        report.problem(f"{label}: {exc}")


# --- remote ---------------------------------------------------------------------------------------

Fetcher = Callable[[str], bytes]


def http_get(url: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        msg = f"{url!r} is not an http(s) URL"
        raise ValueError(msg)
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # scheme checked above
        body: bytes = response.read()
        return body


def verify_remote(
    *,
    url: str,
    log: Ed25519Verifier,
    witnesses: Sequence[Ed25519Verifier] = (),
    quorum: int = 0,
    fetch: Fetcher = http_get,
) -> VerifyReport:
    """Verify a log from its tlog-tiles prefix alone: checkpoint signatures, every entry bundle and
    tile recomputed from the entries, and the root. ``url`` is the prefix, e.g. https://host/ledger."""
    report = VerifyReport()
    prefix = url.rstrip("/")
    try:
        verified = verify_checkpoint(fetch(f"{prefix}/checkpoint"), log, witnesses, quorum=quorum)
    except (NoteError, OSError, urllib.error.URLError) as exc:
        report.problem(f"checkpoint: {exc}")
        return report
    report.checkpoints_checked = 1
    report.cosignatures_checked = len(verified.cosignatures)
    size = report.size = verified.checkpoint.size
    edge = CompactRange()
    appender = TileAppender(0, {})
    for ref in entry_bundles_for_size(size):
        try:
            entries = decode_entries(fetch(f"{prefix}/{ref.path()}"))
        except (ValueError, OSError) as exc:
            report.problem(f"{ref.path()}: {exc}")
            return report
        if len(entries) != ref.width:
            report.problem(f"{ref.path()}: holds {len(entries)} entries, not {ref.width}")
            return report
        for entry in entries:
            value = leaf_hash(entry)
            edge.append(value)
            appender.append(value)
            report.leaves_checked += 1
    if edge.root() != verified.checkpoint.root_hash:
        report.problem(f"the entries do not hash to the root of the checkpoint at {size}")
    rebuilt = appender.changed()
    for ref in tiles_for_size(size):
        want = rebuilt[(ref.level, ref.index)][: ref.width * 32]
        try:
            got = fetch(f"{prefix}/{ref.path()}")
        except OSError as exc:
            report.problem(f"{ref.path()}: {exc}")
            continue
        if got != want:
            report.problem(f"{ref.path()}: does not hold the hashes of the entries")
    return report
