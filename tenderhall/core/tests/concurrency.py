"""Helpers for tests that race two PostgreSQL connections for a row lock."""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections need PostgreSQL; SQLite serialises writers anyway")


def waiting_on_a_lock(timeout: float = 5.0) -> bool:
    """Whether another connection is blocked on a lock (seen from this one, outside its transaction)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # the view is cached per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False
