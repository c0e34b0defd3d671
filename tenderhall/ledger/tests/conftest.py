from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenderhall.ledger.selectors import clear_tile_cache


@pytest.fixture(autouse=True)
def _fresh_tile_cache() -> Iterator[None]:
    """Full tiles are cached per process because they never change; tests roll the database back."""
    clear_tile_cache()
    yield
    clear_tile_cache()
