"""The fast canonical JSON of ledger events is byte-identical to the RFC 8785 reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.core.hashing import canonical_json as reference
from tenderhall.ledger.canonical import canonical_json

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(value=_values)
def test_fast_canonical_json_equals_the_reference(value):
    assert canonical_json(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ue000": 2},  # keys where UTF-16 order differs from code point order
        {"a": '\x00\x1f\x7f"\\/\u2028'},
        {"b": 1.5, "a": [1e21, -0.0]},
        {"z": "中文", "a": {"y": None, "x": True}},
    ],
)
def test_edge_cases_equal_the_reference(value):
    assert canonical_json(value) == reference(value)
