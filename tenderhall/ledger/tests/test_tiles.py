"""C2SP tlog-tiles paths, tile arithmetic, entry bundles, and proofs read from tiles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.ledger.merkle import (
    MemoryHashReader,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from tenderhall.ledger.tiles import (
    ENTRIES,
    TileAppender,
    TileHashReader,
    TilePathError,
    TileRef,
    decode_entries,
    edge_tiles,
    encode_entries,
    entry_bundles_for_size,
    format_index,
    parse_tile_path,
    tiles_for_size,
)


@pytest.mark.parametrize(
    ("index", "text"), [(0, "000"), (67, "067"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")]
)
def test_tile_indexes_are_written_in_three_digit_groups(index, text):
    assert format_index(index) == text
    assert parse_tile_path(f"tile/0/{text}") == TileRef(0, index)


@pytest.mark.parametrize(
    ("path", "ref"),
    [
        ("tile/0/x001/x234/067", TileRef(0, 1234067, 256)),
        ("tile/2/001.p/17", TileRef(2, 1, 17)),
        ("tile/entries/005", TileRef(ENTRIES, 5, 256)),
        ("tile/entries/x001/000.p/255", TileRef(ENTRIES, 1000, 255)),
    ],
)
def test_tile_paths_round_trip(path, ref):
    assert parse_tile_path(path) == ref
    assert ref.path() == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",
        "tile/64/000",
        "tile/0/1",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/entries/000.p/",
        "tile/-1/000",
    ],
)
def test_paths_outside_the_layout_are_refused(path):
    with pytest.raises(TilePathError):
        parse_tile_path(path)


def test_tiles_of_a_tree_of_70000_leaves():
    # given: the example of the tlog-tiles specification
    refs = tiles_for_size(70_000)
    # then: 273 full level-0 tiles, a partial of 112, a full level-1 tile, a partial of 17, a level-2 of 1
    assert [r for r in refs if r.level == 0 and not r.is_partial] == [TileRef(0, i) for i in range(273)]
    assert [r for r in refs if r.is_partial] == [TileRef(0, 273, 112), TileRef(1, 1, 17), TileRef(2, 0, 1)]
    assert TileRef(1, 0) in refs
    assert len(refs) == 273 + 1 + 2 + 1
    assert edge_tiles(70_000) == [TileRef(0, 273, 112), TileRef(1, 1, 17), TileRef(2, 0, 1)]
    assert tiles_for_size(256) == [TileRef(0, 0), TileRef(1, 0, 1)]
    assert entry_bundles_for_size(257) == [TileRef(ENTRIES, 0), TileRef(ENTRIES, 1, 1)]
    assert tiles_for_size(0) == []


def test_entry_bundles_are_uint16_length_prefixed():
    # given
    entries = [b"", b"a", b"x" * 300]
    # when
    bundle = encode_entries(entries)
    # then
    assert bundle[:5] == bytes.fromhex("0000000161")
    assert bundle[5:7] == (300).to_bytes(2, "big")
    assert decode_entries(bundle) == entries
    with pytest.raises(ValueError, match="ends inside an entry"):
        decode_entries(bundle[:-1])
    with pytest.raises(ValueError, match="does not fit a uint16 length prefix"):
        encode_entries([b"x" * 65536])


def test_the_appender_refuses_edge_tiles_that_do_not_fit_the_size():
    with pytest.raises(ValueError, match="edge tile at level 0 has 0 hashes, a tree of size 3 needs 3"):
        TileAppender(3, {})


def _build_tiles(hashes: list[bytes], cuts: list[int]) -> dict[tuple[int, int], bytes]:
    """Append the hashes in batches split at ``cuts``, as the integrator does, keeping every tile."""
    store: dict[tuple[int, int], bytes] = {}
    size = 0
    for end in [*sorted(set(cuts)), len(hashes)]:
        if end <= size:
            continue
        edge = {
            ref.level: [store[(ref.level, ref.index)][i * 32 : i * 32 + 32] for i in range(ref.width)]
            for ref in edge_tiles(size)
        }
        appender = TileAppender(size, edge)
        for value in hashes[size:end]:
            appender.append(value)
        store.update(appender.changed())
        size = end
    return store


@settings(max_examples=40, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=70_000))
def test_proofs_read_from_tiles_equal_proofs_from_the_whole_tree(data, size):
    # given: a tree built in random batches and stored as tiles
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=size), max_size=4))
    store = _build_tiles(hashes, cuts)
    tree_size = data.draw(st.integers(min_value=1, max_value=size))
    memory = MemoryHashReader(hashes[:tree_size])
    reader = TileHashReader(tree_size, lambda level, index, width: store[(level, index)][: width * 32])
    index = data.draw(st.integers(min_value=0, max_value=tree_size - 1))
    first = data.draw(st.integers(min_value=1, max_value=tree_size))
    # then
    assert tree_root(tree_size, reader) == tree_root(tree_size, memory)
    assert inclusion_proof(index, tree_size, reader) == inclusion_proof(index, tree_size, memory)
    assert consistency_proof(first, tree_size, reader) == consistency_proof(first, tree_size, memory)
    assert set(tiles_for_size(size)) == {
        TileRef(level, index, len(data_) // 32) for (level, index), data_ in store.items()
    }
