"""The feed neither skips nor repeats an item while others write: two connections, PostgreSQL and SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tenderhall.core.tests.concurrency import postgresql_only, waiting_on_a_lock
from tenderhall.supervision.tests import feed_race


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_reader_sees_no_leaf_until_every_lower_one_is_committed():
    postgresql_only()
    # given a writer holding leaf N uncommitted, and a second writer queued behind it for leaf N + 1
    # when a reader reads the feed before, during and after both commit
    result = feed_race.held_transaction(lambda appended: waiting_on_a_lock() and not appended.is_set())
    # then it reads nothing while the first is open, then both leaves, once, in order
    base = result["base"]
    assert result["errors"] == []
    assert result["second_waits"] is True
    assert result["before"] == ([], base)
    assert result["during"] == ([], base)
    assert result["after"] == ([base, base + 1], base + 2)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_reader_following_four_writers_reads_every_public_item_once_in_order():
    postgresql_only()
    # given four writers appending 30 leaves each, a third of them private
    # when a reader follows the public feed with its cursor meanwhile
    result = feed_race.many_writers()
    # then it read exactly the public leaves, each once, in ledger order
    assert result["errors"] == []
    assert len(result["expected"]) == 4 * 20
    assert result["read"] == result["expected"]
    assert result["pages"] >= 2


def test_on_sqlite_the_same_two_races_in_a_file_database_with_separate_connections(tmp_path: Path):
    # given a fresh SQLite file database (WAL), migrated, in its own process
    env = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    # when both races run there
    run = subprocess.run(
        [sys.executable, "-m", "tenderhall.supervision.tests.feed_race", str(tmp_path / "race.sqlite3")],
        capture_output=True,
        check=False,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=300,
    )
    # then
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    result = json.loads(run.stdout)
    assert result["vendor"] == "sqlite"
    held = result["held"]
    assert held["errors"] == []
    assert held["second_waits"] is True
    assert held["before"] == [[], 0]
    assert held["during"] == [[], 0]
    assert held["after"] == [[0, 1], 2]
    many = result["many"]
    assert many["errors"] == []
    assert len(many["expected"]) == 4 * 20
    assert many["expected"] == sorted(set(many["expected"]))
    assert many["read"] == many["expected"]
