"""C2SP tlog-tiles: tile paths, tile arithmetic, entry bundles, and a hash reader over tiles. Pure.

A tile at level L and index N holds up to 256 hashes: the Merkle Tree Hashes of the full subtrees of
height 8·L covering leaves ``[(N·256 + i)·256**L, (N·256 + i + 1)·256**L)``. A partial tile of width W
holds the first W of them. Level 0 tiles hold leaf hashes; entry bundles hold the leaves themselves,
each prefixed by its length as a big-endian uint16.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tenderhall.ledger.merkle import HASH_SIZE, Node, ProofError, perfect_root

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
ENTRIES = -1
"""The level used for entry bundles in a :class:`TileRef` (they live at ``tile/entries/``)."""

_INDEX_RE = re.compile(r"(?:x\d{3}/)*\d{3}")
_PATH_RE = re.compile(r"tile/(?P<level>entries|\d+)/(?P<index>(?:x\d{3}/)*\d{3})(?:\.p/(?P<width>\d+))?")


class TilePathError(ValueError):
    """A tile path that the tlog-tiles layout does not allow."""


@dataclass(frozen=True, order=True)
class TileRef:
    level: int  # ENTRIES for an entry bundle
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level == ENTRIES

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        level = "entries" if self.is_entries else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{level}/{format_index(self.index)}{suffix}"


def format_index(index: int) -> str:
    """1234067 → ``x001/x234/067``: 3-digit groups, all but the last prefixed with ``x``."""
    if index < 0:
        msg = f"a tile index is never negative (got {index})"
        raise TilePathError(msg)
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def parse_index(text: str) -> int:
    if not _INDEX_RE.fullmatch(text):
        msg = f"tile index {text!r} is not in the x001/x234/067 form"
        raise TilePathError(msg)
    groups = text.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        msg = f"tile index {text!r} has a leading zero group"
        raise TilePathError(msg)
    value = 0
    for group in groups:
        value = value * 1000 + int(group.removeprefix("x"))
    return value


def parse_tile_path(path: str) -> TileRef:
    """Read ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` strictly (no leading zeroes)."""
    match = _PATH_RE.fullmatch(path)
    if not match:
        msg = f"{path!r} is not a tile path"
        raise TilePathError(msg)
    level_text, index_text, width_text = match["level"], match["index"], match["width"]
    if level_text == "entries":
        level = ENTRIES
    else:
        if level_text != str(int(level_text)) or int(level_text) > MAX_LEVEL:
            msg = f"tile level {level_text!r} must be 0 to {MAX_LEVEL} without leading zeroes"
            raise TilePathError(msg)
        level = int(level_text)
    width = TILE_WIDTH
    if width_text is not None:
        if width_text != str(int(width_text)) or not 1 <= int(width_text) < TILE_WIDTH:
            msg = f"partial tile width {width_text!r} must be 1 to 255 without leading zeroes"
            raise TilePathError(msg)
        width = int(width_text)
    return TileRef(level, parse_index(index_text), width)


def tile_width_at(level: int, index: int, size: int) -> int:
    """How many hashes tile (level, index) holds in a tree of ``size`` leaves (0 if none; 256 if full)."""
    level = max(level, 0)
    complete = size >> (TILE_HEIGHT * level)  # full subtrees of height 8·level
    return max(0, min(TILE_WIDTH, complete - index * TILE_WIDTH))


def tiles_for_size(size: int) -> list[TileRef]:
    """Every hash tile a tree of ``size`` leaves has (full and the rightmost partial ones)."""
    refs = []
    level = 0
    while (size >> (TILE_HEIGHT * level)) > 0:
        complete = size >> (TILE_HEIGHT * level)
        for index in range((complete + TILE_WIDTH - 1) // TILE_WIDTH):
            refs.append(TileRef(level, index, tile_width_at(level, index, size)))
        level += 1
    return refs


def entry_bundles_for_size(size: int) -> list[TileRef]:
    return [
        TileRef(ENTRIES, index, tile_width_at(0, index, size))
        for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH)
    ]


def encode_entries(entries: Sequence[bytes]) -> bytes:
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            msg = f"an entry of {len(entry)} bytes does not fit a uint16 length prefix"
            raise ValueError(msg)
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_entries(data: bytes) -> list[bytes]:
    entries, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            msg = f"entry bundle ends inside a length prefix at byte {offset}"
            raise ValueError(msg)
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            msg = f"entry bundle ends inside an entry at byte {offset}"
            raise ValueError(msg)
        entries.append(data[offset : offset + length])
        offset += length
    return entries


def split_hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        msg = f"tile data of {len(data)} bytes is not a whole number of hashes"
        raise ValueError(msg)
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


TileFetcher = Callable[[int, int, int], bytes]
"""fetch(level, index, width) → the first ``width`` hashes of the tile, concatenated."""


class TileHashReader:
    """A :class:`tenderhall.ledger.merkle.HashReader` for a tree of ``size`` leaves stored as tiles.

    A perfect subtree at level ``8·t + r`` is the root of 2**r consecutive hashes of one tile at level t,
    so any proof needs only the few tiles on its path; each is fetched once per reader.
    """

    def __init__(self, size: int, fetch: TileFetcher) -> None:
        self.size = size
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            width = tile_width_at(level, index, self.size)
            if width == 0:
                msg = f"tile {level}/{index} is empty in a tree of size {self.size}"
                raise ProofError(msg)
            hashes = split_hashes(self._fetch(level, index, width))
            if len(hashes) != width:
                msg = f"tile {level}/{index} has {len(hashes)} hashes, expected {width}"
                raise ProofError(msg)
            self._tiles[key] = hashes
        return self._tiles[key]

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        result = []
        for level, index in nodes:
            if (index + 1) << level > self.size:
                msg = f"subtree ({level}, {index}) is beyond the tree size {self.size}"
                raise ProofError(msg)
            tile_level, rest = divmod(level, TILE_HEIGHT)
            first = index << rest  # position of the subtree's first hash within its tile level
            tile = self._tile(tile_level, first // TILE_WIDTH)
            start = first % TILE_WIDTH
            piece = tile[start : start + (1 << rest)]
            result.append(piece[0] if rest == 0 else perfect_root(piece))
        return result


def edge_tiles(size: int) -> list[TileRef]:
    """The partial tiles at the right edge of a tree of ``size`` leaves: what appending extends."""
    refs = []
    level = 0
    while (complete := size >> (TILE_HEIGHT * level)) > 0:
        if complete % TILE_WIDTH:
            refs.append(TileRef(level, complete // TILE_WIDTH, complete % TILE_WIDTH))
        level += 1
    return refs


class TileAppender:
    """Extends a tiled tree with new leaf hashes; :meth:`changed` gives every tile to write back.

    Start from the tree's size and its edge tiles (see :func:`edge_tiles`); a tile that fills up is
    hashed into the level above, exactly as tlog-tiles defines the higher levels.
    """

    def __init__(self, size: int, edge: Mapping[int, Sequence[bytes]]) -> None:
        self.size = size
        self._counts: list[int] = []
        self._current: list[list[bytes]] = []
        self._changed: dict[tuple[int, int], list[bytes]] = {}
        wanted = {ref.level: ref.width for ref in edge_tiles(size)}
        for level in set(wanted) | set(edge):
            have = len(edge.get(level, ()))
            if have != wanted.get(level, 0):
                need = wanted.get(level, 0)
                msg = f"edge tile at level {level} has {have} hashes, a tree of size {size} needs {need}"
                raise ValueError(msg)
        level = 0
        while (complete := size >> (TILE_HEIGHT * level)) > 0 or level == 0:
            self._counts.append(complete)
            self._current.append(list(edge.get(level, ())))
            level += 1

    def _add(self, level: int, value: bytes) -> None:
        while True:
            if level == len(self._counts):
                self._counts.append(0)
                self._current.append([])
            current = self._current[level]
            current.append(value)
            self._changed[(level, self._counts[level] // TILE_WIDTH)] = current
            self._counts[level] += 1
            if len(current) < TILE_WIDTH:
                return
            value = perfect_root(current)
            self._current[level] = []
            level += 1

    def append(self, leaf_hash: bytes) -> None:
        self._add(0, leaf_hash)
        self.size += 1

    def changed(self) -> dict[tuple[int, int], bytes]:
        """(level, index) → the tile's hashes so far, for every tile the appended leaves touched."""
        return {key: b"".join(hashes) for key, hashes in self._changed.items()}
