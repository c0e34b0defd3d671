"""Suite-wide fixtures: each test gets its own data directory; the database is the one the run asked for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.utils import translation


@pytest.fixture(autouse=True)
def _data_dir(settings: LazySettings, tmp_path: Path) -> Path:
    """Files and keys go to a fresh directory per test, never to the developer's var/."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings.TENDERHALL_DATA_DIR = data_dir
    settings.PASSWORD_HASHERS = ["tenderhall.core.tests.hashers.TestArgon2PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "files"},
        },
    }
    return data_dir


@pytest.fixture(autouse=True)
def _fresh_ledger_tile_cache() -> Iterator[None]:
    """The ledger caches tile reads per process; each test builds its own log."""
    from tenderhall.ledger import selectors

    selectors._tile_data.cache_clear()
    yield
    selectors._tile_data.cache_clear()


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Services called directly speak English, as the API does; a request still picks its own language."""
    with translation.override("en"):
        yield


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run meant for PostgreSQL must not quietly fall back to SQLite (and the reverse)."""
    expected = os.environ.get("TENDERHALL_EXPECT_DB")
    if not expected:
        return
    from django.db import connection

    if connection.vendor != expected:
        pytest.exit(f"this run expects {expected} but DATABASE_URL gives {connection.vendor}", returncode=3)
