"""RFC 9162 hashing and proofs: reference vectors, then properties over random trees."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryHashReader,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

# The eight test leaves of RFC 6962 implementations, and the roots of their prefixes (sizes 0..8).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAF_HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


@pytest.mark.parametrize("size", range(9))
def test_root_of_the_reference_leaves_matches_the_published_root(size):
    # when
    from_leaves = root_from_leaf_hashes(LEAF_HASHES[:size])
    from_reader = tree_root(size, MemoryHashReader(LEAF_HASHES[:size]))
    # then
    assert from_leaves.hex() == ROOTS[size]
    assert from_reader.hex() == ROOTS[size]


def test_leaf_and_node_hashes_use_the_domain_separation_prefixes():
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert node_hash(LEAF_HASHES[0], LEAF_HASHES[1]).hex() == ROOTS[2]


@pytest.mark.parametrize(
    ("index", "size", "expected"),
    [
        (
            0,
            8,
            [
                "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
            ],
        ),
        (
            5,
            8,
            [
                "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
                "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
            ],
        ),
        (2, 3, ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
        (
            1,
            5,
            [
                "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
                "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
            ],
        ),
        (0, 1, []),
    ],
)
def test_inclusion_proofs_of_the_reference_tree(index, size, expected):
    # given
    reader = MemoryHashReader(LEAF_HASHES[:size])
    # when
    proof = inclusion_proof(index, size, reader)
    # then
    assert b64(proof) == expected
    assert verify_inclusion(index, size, LEAF_HASHES[index], proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (1, 1, []),
        (
            1,
            8,
            [
                "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
            ],
        ),
        (
            6,
            8,
            [
                "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
            ],
        ),
        (
            6,
            7,
            [
                "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
            ],
        ),
        (
            2,
            5,
            ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="],
        ),
    ],
)
def test_consistency_proofs_of_the_reference_tree(first, second, expected):
    # given
    reader = MemoryHashReader(LEAF_HASHES[:second])
    # when
    proof = consistency_proof(first, second, reader)
    # then
    assert b64(proof) == expected
    assert verify_consistency(first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]), proof)


def test_proofs_for_impossible_indexes_and_sizes_are_refused():
    reader = MemoryHashReader(LEAF_HASHES)
    with pytest.raises(ProofError, match="leaf index 8 is not in a tree of size 8"):
        inclusion_proof(8, 8, reader)
    with pytest.raises(ProofError, match="need 0 < first <= second"):
        consistency_proof(0, 8, reader)
    with pytest.raises(ProofError, match="need 0 < first <= second"):
        consistency_proof(5, 4, reader)


def test_verifiers_reject_degenerate_inputs():
    root = bytes.fromhex(ROOTS[8])
    assert not verify_inclusion(8, 8, LEAF_HASHES[0], [], root)
    assert not verify_inclusion(0, 0, LEAF_HASHES[0], [], root)
    assert not verify_consistency(0, 8, EMPTY_ROOT, root, [])
    assert not verify_consistency(4, 8, bytes.fromhex(ROOTS[4]), root, [])  # empty proof, growing tree
    assert not verify_consistency(8, 8, root, bytes.fromhex(ROOTS[7]), [])  # same size, other root
    assert not verify_consistency(8, 8, root, root, [root])  # same size needs an empty proof


def test_compact_range_refuses_an_edge_that_does_not_fit_its_size():
    with pytest.raises(ValueError, match="a tree of size 3 has 2 edge hashes, not 1"):
        CompactRange(3, [EMPTY_ROOT])


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(value: bytes, position: int) -> bytes:
    position %= len(value)
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=600))
def test_every_inclusion_proof_verifies_and_any_change_fails(data, size):
    # given
    hashes = _leaves(size)
    reader = MemoryHashReader(hashes)
    root = root_from_leaf_hashes(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    # when
    proof = inclusion_proof(index, size, reader)
    # then
    assert verify_inclusion(index, size, hashes[index], proof, root)
    assert not verify_inclusion(index, size, _flip(hashes[index], data.draw(st.integers(0, 31))), proof, root)
    assert not verify_inclusion(index, size, hashes[index], proof, _flip(root, data.draw(st.integers(0, 31))))
    other_index = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    if size > 1:
        assert not verify_inclusion(other_index, size, hashes[index], proof, root)
    # A proof does not hash the size in; it fixes the path's shape, and the signed checkpoint fixes
    # the size. So any size whose path has another length must fail.
    other_size = data.draw(
        st.integers(min_value=index + 1, max_value=size + 600).filter(
            lambda s: len(inclusion_proof(index, s, MemoryHashReader(_leaves(s)))) != len(proof)
        )
    )
    assert not verify_inclusion(index, other_size, hashes[index], proof, root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], data.draw(st.integers(0, 31))), *proof[at + 1 :]]
        assert not verify_inclusion(index, size, hashes[index], bad, root)
        assert not verify_inclusion(index, size, hashes[index], proof[:-1], root)
    assert not verify_inclusion(index, size, hashes[index], [*proof, root], root)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), second=st.integers(min_value=1, max_value=600))
def test_every_consistency_proof_verifies_and_any_change_fails(data, second):
    # given
    hashes = _leaves(second)
    reader = MemoryHashReader(hashes)
    first = data.draw(st.integers(min_value=1, max_value=second))
    first_root, second_root = root_from_leaf_hashes(hashes[:first]), root_from_leaf_hashes(hashes)
    # when
    proof = consistency_proof(first, second, reader)
    # then
    assert verify_consistency(first, second, first_root, second_root, proof)
    assert tree_root(first, reader) == first_root
    assert not verify_consistency(
        first, second, _flip(first_root, data.draw(st.integers(0, 31))), second_root, proof
    )
    assert not verify_consistency(
        first, second, first_root, _flip(second_root, data.draw(st.integers(0, 31))), proof
    )
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], data.draw(st.integers(0, 31))), *proof[at + 1 :]]
        assert not verify_consistency(first, second, first_root, second_root, bad)
        assert not verify_consistency(first, second, first_root, second_root, proof[:-1])
        other_second = data.draw(
            st.integers(min_value=first, max_value=second + 600).filter(
                lambda s: len(consistency_proof(first, s, MemoryHashReader(_leaves(s)))) != len(proof)
            )
        )
        assert not verify_consistency(first, other_second, first_root, second_root, proof)
    if first < second:
        other_first = data.draw(st.integers(min_value=1, max_value=second).filter(lambda f: f != first))
        assert not verify_consistency(other_first, second, first_root, second_root, proof)
