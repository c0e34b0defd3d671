"""The integrator: tiles and checkpoints from appended leaves, never an inconsistent checkpoint."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from tenderhall.ledger import conf
from tenderhall.ledger.merkle import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes
from tenderhall.ledger.models import Checkpoint, Leaf, Tile, TreeState
from tenderhall.ledger.note import parse_note, parse_vkey, verify_checkpoint
from tenderhall.ledger.selectors import ledger_vkey
from tenderhall.ledger.services import (
    LeafTooLarge,
    LedgerEvent,
    LedgerInconsistent,
    ledger_append,
    ledger_append_batch,
    ledger_integrate,
    ledger_integrate_all,
    ledger_integrate_if_due,
)
from tenderhall.ledger.tiles import TILE_WIDTH

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def append(count: int, *, start: int = 0) -> list[Leaf]:
    events = [
        LedgerEvent("tests:thing:made", {"thing": str(start + i)}, {"file": f"{i:064x}"}, "user:1", NOW)
        for i in range(count)
    ]
    with transaction.atomic():
        return ledger_append_batch(events=events)


def leaf_hashes() -> list[bytes]:
    return [leaf_hash(bytes(d)) for d in Leaf.objects.order_by("index").values_list("data", flat=True)]


def test_append_writes_canonical_json_leaves_numbered_from_zero():
    # when
    with transaction.atomic():
        first = ledger_append(
            event_type="tests:thing:made", subjects={"thing": "7"}, hashes={"doc": "ab"}, actor=None, at=NOW
        )
        second = ledger_append(
            event_type="tests:thing:made",
            subjects={"thing": "8", "other": "1"},
            hashes={},
            actor="user:3",
            at=NOW,
            data={"b": 2, "a": 1},
        )
    # then
    assert (first.index, second.index) == (0, 1)
    assert bytes(Leaf.objects.get(index=0).data) == (
        b'{"at":"2026-03-01T08:00:00.000000+00:00","hashes":{"doc":"ab"},'
        b'"subjects":{"thing":"7"},"type":"tests:thing:made"}'
    )
    assert Leaf.objects.get(index=1).record_key == "thing:8"
    assert b'"data":{"a":1,"b":2}' in bytes(Leaf.objects.get(index=1).data)


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="must run inside the transaction"):
        ledger_append(event_type="tests:thing:made", subjects={"t": "1"}, hashes={}, actor=None, at=NOW)
    assert Leaf.objects.count() == 0


def test_a_leaf_larger_than_an_entry_bundle_allows_is_refused():
    with transaction.atomic(), pytest.raises(LeafTooLarge, match="a ledger leaf is at most 65535 bytes"):
        ledger_append(
            event_type="tests:thing:made",
            subjects={"t": "1"},
            hashes={},
            actor=None,
            at=NOW,
            data={"x": "y" * 70000},
        )
    assert Leaf.objects.count() == 0


def test_the_first_run_signs_the_empty_tree_and_a_second_run_does_nothing():
    # when
    first = ledger_integrate(now=NOW)
    again = ledger_integrate(now=NOW)
    # then
    assert first is not None
    assert (first.size, bytes(first.root_hash)) == (0, EMPTY_ROOT)
    assert again is None
    assert Checkpoint.objects.count() == 1


def test_integration_stores_tiles_and_signs_a_checkpoint_over_the_leaves():
    # given
    append(300)
    # when
    checkpoint = ledger_integrate(now=NOW)
    # then
    assert checkpoint is not None
    assert checkpoint.size == 300
    assert bytes(checkpoint.root_hash) == root_from_leaf_hashes(leaf_hashes())
    verified = verify_checkpoint(checkpoint.note, parse_vkey(ledger_vkey()))
    assert verified.checkpoint.origin == conf.origin()
    assert verified.checkpoint.size == 300
    tiles = {(t.level, t.index): bytes(t.data) for t in Tile.objects.all()}
    assert set(tiles) == {(0, 0), (0, 1), (1, 0)}
    assert tiles[(0, 0)] == b"".join(leaf_hashes()[:TILE_WIDTH])
    assert len(tiles[(0, 1)]) == 44 * 32
    assert tiles[(1, 0)] == root_from_leaf_hashes(leaf_hashes()[:TILE_WIDTH])
    assert TreeState.objects.get().size == 300


def test_integration_in_batches_signs_consistent_checkpoints():
    # given
    append(600)
    # when
    made = [ledger_integrate(now=NOW, max_leaves=250) for _ in range(4)]
    # then
    assert [c.size if c else None for c in made] == [250, 500, 600, None]
    hashes = leaf_hashes()
    for checkpoint in Checkpoint.objects.all():
        assert bytes(checkpoint.root_hash) == root_from_leaf_hashes(hashes[: checkpoint.size])


def test_integrate_all_catches_up_and_the_key_file_is_private(settings):
    # given
    settings.TENDERHALL_LEDGER_MAX_LEAVES_PER_CHECKPOINT = 100
    append(250)
    # when
    made = ledger_integrate_all(now=NOW)
    # then
    assert [c.size for c in made] == [100, 200, 250]
    key_file = settings.TENDERHALL_DATA_DIR / "ledger" / "log.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_tree_inconsistent_with_the_last_checkpoint_is_never_signed():
    # given: a signed checkpoint, then a stored tile altered behind the integrator's back
    append(10)
    ledger_integrate(now=NOW)
    tile = Tile.objects.get(level=0, index=0)
    tile.data = b"\x00" * 32 + bytes(tile.data)[32:]
    tile.save()
    append(5, start=10)
    # when
    with pytest.raises(
        LedgerInconsistent, match="the tree at 15 is not consistent with the checkpoint at 10"
    ):
        ledger_integrate(now=NOW)
    # then: nothing was signed or moved
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [10]
    assert TreeState.objects.get().size == 10


def test_integrate_if_due_waits_for_the_interval(settings):
    # given
    settings.TENDERHALL_LEDGER_CHECKPOINT_INTERVAL = 5
    first = ledger_integrate_if_due(NOW)
    append(3)
    # when
    early = ledger_integrate_if_due(NOW + timedelta(seconds=4))
    due = ledger_integrate_if_due(NOW + timedelta(seconds=5))
    idle = ledger_integrate_if_due(NOW + timedelta(seconds=60))
    # then
    assert first is not None
    assert first.size == 0
    assert early is None
    assert due is not None
    assert due.size == 3
    assert idle is None


def test_the_note_of_a_checkpoint_is_a_signed_note():
    append(2)
    checkpoint = ledger_integrate(now=NOW)
    assert checkpoint is not None
    note = parse_note(checkpoint.note)
    assert [sig.name for sig in note.signatures] == [conf.origin()]
