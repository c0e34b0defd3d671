"""RFC 9162 Merkle tree hashing, proofs and their verification. Pure: no ORM, no clock, no I/O.

Hashes are SHA-256 with the 0x00 (leaf) and 0x01 (interior node) prefixes of RFC 9162 §2.1.1.

Proofs are generated from a :class:`HashReader`, which returns the hashes of *perfect* subtrees:
``(level, index)`` names the Merkle Tree Hash of leaves ``[index * 2**level, (index + 1) * 2**level)``.
The ledger's tiles store exactly those hashes (see :mod:`tenderhall.ledger.tiles`), so a proof for any
tree size up to the integrated one needs only a handful of tile reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

Node = tuple[int, int]
"""A perfect subtree: (level, index), covering leaves [index << level, (index + 1) << level)."""


class ProofError(ValueError):
    """A proof was asked for sizes or indexes that do not make sense; the message says which."""


class HashReader(Protocol):
    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """The hashes of the given perfect subtrees, in the same order."""
        ...


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k = the largest power of two smaller than n (n > 1), as in RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect tree whose leaves' hashes (or lower subtrees' hashes) are given."""
    level = list(hashes)
    if not level or len(level) & (len(level) - 1):
        msg = f"a perfect subtree has a power-of-two width, not {len(level)}"
        raise ValueError(msg)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from the n leaf hashes (an empty list gives the hash of the empty string)."""
    return CompactRange.from_leaf_hashes(hashes).root()


class CompactRange:
    """The right edge of a tree: one perfect subtree hash per set bit of the size, highest first.

    Appending costs O(1) amortised hashes, so a whole log can be rebuilt in one streaming pass.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            msg = f"a tree of size {size} has {size.bit_count()} edge hashes, not {len(hashes)}"
            raise ValueError(msg)
        self.size = size
        self._hashes = list(hashes)

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> CompactRange:
        edge = cls()
        for value in hashes:
            edge.append(value)
        return edge

    def append(self, value: bytes) -> None:
        size = self.size
        while size & 1:
            value = node_hash(self._hashes.pop(), value)
            size >>= 1
        self._hashes.append(value)
        self.size += 1

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for value in reversed(self._hashes[:-1]):
            result = node_hash(value, result)
        return result

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._hashes)


def _range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose concatenation is [start, end), largest first, for a range that is
    a node of the RFC 9162 tree (start aligned to a power of two at least as large as end - start)."""
    nodes: list[Node] = []
    while start < end:
        width = end - start
        level = width.bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


class _Plan:
    """Collects the subtree ranges a proof needs, reads all their perfect pieces at once, then hashes."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def add(self, start: int, end: int) -> None:
        self.ranges.append((start, end))

    def resolve(self, reader: HashReader) -> list[bytes]:
        pieces = [_range_nodes(start, end) for start, end in self.ranges]
        wanted = sorted({node for nodes in pieces for node in nodes})
        found = dict(zip(wanted, reader.read_hashes(wanted), strict=True))
        result = []
        for nodes in pieces:
            value = found[nodes[-1]]
            for node in reversed(nodes[:-1]):
                value = node_hash(found[node], value)
            result.append(value)
        return result


def tree_root(size: int, reader: HashReader) -> bytes:
    """MTH(D[size]) from stored perfect subtree hashes."""
    if size < 0:
        msg = f"a tree size is never negative (got {size})"
        raise ProofError(msg)
    if size == 0:
        return EMPTY_ROOT
    plan = _Plan()
    plan.add(0, size)
    return plan.resolve(reader)[0]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, from the leaf's sibling up to the root's child."""
    if not 0 <= index < size:
        msg = f"leaf index {index} is not in a tree of size {size}"
        raise ProofError(msg)
    plan = _Plan()
    start, end = 0, size
    # Walk from the root down; each step keeps one side and records the other as a proof hash.
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            plan.add(start + k, end)
            end = start + k
        else:
            plan.add(start, start + k)
            start += k
    return list(reversed(plan.resolve(reader)))


def consistency_proof(first: int, second: int, reader: HashReader) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal)."""
    if not 0 < first <= second:
        msg = f"no consistency proof from size {first} to size {second}: need 0 < first <= second"
        raise ProofError(msg)
    plan = _Plan()
    start, end, m = 0, second, first
    complete = True  # the "b" flag of SUBPROOF: whether the subtree is the whole old tree so far
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            plan.add(start + k, end)
            end = start + k
        else:
            plan.add(start, start + k)
            start += k
            m -= k
            complete = False
    if not complete:
        plan.add(start, end)
    hashes = plan.resolve(reader)
    # SUBPROOF lists the deepest hashes first: the old tree's own subtree (unless it is the whole old
    # tree), then the siblings collected on the way down, from the bottom up.
    if complete:
        return list(reversed(hashes))
    return [hashes[-1], *reversed(hashes[:-1])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf hash ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, value = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and value == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``second_root`` of size ``second`` an extension of ``first_root``?"""
    if first <= 0 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_value = second_value = path[0]
    for hash_ in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_value = node_hash(hash_, first_value)
            second_value = node_hash(hash_, second_value)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            second_value = node_hash(second_value, hash_)
        fn >>= 1
        sn >>= 1
    return first_value == first_root and second_value == second_root and sn == 0


class MemoryHashReader:
    """A :class:`HashReader` over leaf hashes held in memory (tests, small tools)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self._levels[-1]) > 1:
            below = self._levels[-1]
            self._levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        result = []
        for level, index in nodes:
            if level >= len(self._levels) or index >= len(self._levels[level]):
                msg = f"no perfect subtree ({level}, {index}) in a tree of {len(self._levels[0])} leaves"
                raise ProofError(msg)
            result.append(self._levels[level][index])
        return result
