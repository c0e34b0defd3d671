"""Writers and a feed reader on separate database connections, for test_feed_race.py.

Run inside pytest on PostgreSQL (a transactional test), and as ``python -m
tenderhall.supervision.tests.feed_race <sqlite file>`` for SQLite: a file database in WAL mode, as the
embedded deployment runs it (the test run's in-memory SQLite cannot hold a reader's snapshot beside a
writer's transaction).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
READ_AT = T0 + timedelta(hours=1)  # past the watermark of every leaf written here


def _append(n: int, *, public: bool = True) -> None:
    from tenderhall.ledger.services import ledger_append

    kind = "notice" if public else "objection"
    ledger_append(
        event_type=f"procedures:{kind}:published" if public else "procedures:objection:raised",
        subjects={kind: str(n)},
        hashes={},
        actor=None,
        at=T0,
    )


def _page(cursor: int) -> tuple[list[int], int]:
    from tenderhall.supervision.feed import feed_page

    page = feed_page(cursor=cursor, limit=50, entity_types=["notice"], private=False, now=READ_AT)
    return [item.seq for item in page.items], page.next_cursor


def _thread(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def held_transaction(second_blocked: Callable[[threading.Event], bool]) -> dict[str, Any]:
    """A writer holds its appended leaf uncommitted while a second writer queues behind it and the reader
    reads; the reader sees neither until both commit, then both, once, in order."""
    errors: list[BaseException] = []
    appended, release, second_appended = threading.Event(), threading.Event(), threading.Event()
    base = _page(0)[1]

    def first() -> None:
        with transaction.atomic():
            _append(1)
            appended.set()
            release.wait(20)

    def second() -> None:
        with transaction.atomic():
            _append(2)
            second_appended.set()

    one = _thread(first, errors)
    assert appended.wait(20), errors
    before = _page(base)
    two = _thread(second, errors)
    second_waits = second_blocked(second_appended)
    during = _page(base)
    release.set()
    one.join(20)
    two.join(20)
    after = _page(base)
    return {
        "base": base,
        "before": before,
        "second_waits": second_waits,
        "during": during,
        "after": after,
        "errors": [repr(e) for e in errors],
    }


def many_writers(*, writers: int = 4, leaves_each: int = 30) -> dict[str, Any]:
    """Writers append public and private leaves in short transactions while a reader follows the feed
    with its cursor; what it read, and what the ledger holds at the end."""
    from tenderhall.ledger.models import Leaf

    errors: list[BaseException] = []
    done = threading.Event()
    start = _page(0)[1]
    read: list[int] = []
    pages = 0

    def writer(w: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(leaves_each):
                with transaction.atomic():
                    _append(w * 1000 + i, public=i % 3 != 2)

        return run

    def reader() -> None:
        nonlocal pages
        cursor = start
        while True:
            finished = done.is_set()  # read once more after the writers finished
            seqs, cursor = _page(cursor)
            read.extend(seqs)
            pages += 1
            if finished and not seqs:
                return

    threads = [_thread(writer(w), errors) for w in range(writers)]
    follower = _thread(reader, errors)
    for thread in threads:
        thread.join(60)
    done.set()
    follower.join(60)
    expected = list(
        Leaf.objects.filter(index__gte=start, event_type="procedures:notice:published")
        .order_by("index")
        .values_list("index", flat=True)
    )
    return {"read": read, "expected": expected, "pages": pages, "errors": [repr(e) for e in errors]}


def main(path: str) -> None:
    import os

    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    results = {
        "vendor": connection.vendor,
        # SQLite has no lock view: the second writer has not appended after a while, so it waits
        "held": held_transaction(lambda appended: not appended.wait(0.5)),
        "many": many_writers(),
    }
    connection.close()
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
