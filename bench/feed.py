"""Feed: items per second read through the public change feed (tenderhall.supervision.feed), page after page
with the cursor, over ``count`` notice leaves whose notices exist and are published.

Baseline, same run: the bare keyset query the feed is built on (the same leaves, the same page size, by
index from the cursor), without the leaf decoding, the sources and the entities' state.

    python -m bench.feed --count 100000 [--output FILE]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path

from bench.common import Figure, django_setup, figures_write

PAGE = 100


def run(*, count: int, notices: int) -> list[Figure]:
    django_setup()
    from django.db import connection, transaction

    from bench.portal import notices_make
    from tenderhall.core import clock
    from tenderhall.ledger.models import Leaf
    from tenderhall.ledger.services import LedgerEvent, ledger_append_batch
    from tenderhall.supervision.feed import feed_page

    ids = notices_make(notices, vocabulary_seed=3)
    past = clock.now() - timedelta(days=1)
    with transaction.atomic():
        for offset in range(0, count, 10_000):
            ledger_append_batch(
                events=[
                    LedgerEvent(
                        event_type="procedures:notice:published",
                        subjects={"notice": str(ids[n % len(ids)])},
                        hashes={},
                        actor=None,
                        at=past,
                    )
                    for n in range(offset, min(count, offset + 10_000))
                ]
            )
    Leaf.objects.update(appended_at=past)  # all older than the feed's watermark
    now = clock.now()
    started, cursor, items = time.perf_counter(), 0, 0
    while True:
        page = feed_page(cursor=cursor, limit=PAGE, entity_types=["notice"], private=False, now=now)
        if page.next_cursor == cursor:
            break
        items, cursor = items + len(page.items), page.next_cursor
    feed_seconds = time.perf_counter() - started
    table = connection.ops.quote_name(Leaf._meta.db_table)
    started, cursor, rows = time.perf_counter(), 0, 0
    with connection.cursor() as database:
        while True:
            database.execute(
                f'SELECT "index", event_type, data, appended_at FROM {table}'  # noqa: S608  # fixed names
                ' WHERE "index" >= %s ORDER BY "index" LIMIT %s',
                [cursor, PAGE],
            )
            page_rows = database.fetchall()
            if not page_rows:
                break
            rows, cursor = rows + len(page_rows), page_rows[-1][0] + 1
    bare_seconds = time.perf_counter() - started
    return [
        Figure(
            name="feed: items per second through the change feed",
            unit="items/s",
            value=items / feed_seconds,
            baseline=rows / bare_seconds,
            baseline_name=f"bare keyset SELECT of the same leaves, {PAGE} a page",
            details={"leaves": count, "items": items, "notices": len(ids), "page": PAGE},
            higher_is_better=True,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    figures_write(run(count=options.count, notices=options.notices), options.output)


if __name__ == "__main__":
    main()
