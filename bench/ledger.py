"""Ledger: batched appends per second, and inclusion and consistency proof latency at ``count`` leaves.

Baselines, same run, same database: for appends, a bare executemany INSERT of the very same rows (the leaf
table without the ledger's event building, canonical JSON and head lock); for proofs, a bare SELECT of one
tile row by its key (the least a proof can cost: one round trip).

    python -m bench.ledger --count 1000000 [--output FILE]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from pathlib import Path

from bench.common import Figure, Target, django_setup, figures_write, percentile

BATCH = 10_000
PROOFS = 500


def run(*, count: int) -> list[Figure]:
    django_setup()
    from django.db import connection, transaction

    from tenderhall.core import clock
    from tenderhall.ledger import selectors
    from tenderhall.ledger.models import Leaf
    from tenderhall.ledger.services import LedgerEvent, ledger_append_batch, ledger_integrate_all

    now = clock.now()

    def events(start: int, size: int) -> list[LedgerEvent]:
        return [
            LedgerEvent(
                event_type="procedures:notice:published",
                subjects={"notice": str(n)},
                hashes={"content": f"sha256:{n:064x}"},
                actor=None,
                at=now + timedelta(microseconds=n),
            )
            for n in range(start, start + size)
        ]

    start = time.perf_counter()
    for offset in range(0, count, BATCH):
        with transaction.atomic():
            ledger_append_batch(events=events(offset, min(BATCH, count - offset)))
    append_seconds = time.perf_counter() - start

    # baseline: the same rows again, by a bare executemany into the same table, then removed
    rows = list(
        Leaf.objects.order_by("index").values_list("event_type", "data", "record_key", "appended_at")[:BATCH]
    )
    table = connection.ops.quote_name(Leaf._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(Leaf._meta.get_field(name).column)
        for name in ("index", "event_type", "data", "record_key", "appended_at")
    )
    bare_total = 0.0
    for offset in range(0, count, BATCH):
        batch = [(count + offset + n, *rows[n % len(rows)]) for n in range(min(BATCH, count - offset))]
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)",  # noqa: S608  # fixed names
                batch,
            )
        bare_total += time.perf_counter() - started
    with transaction.atomic():
        Leaf.objects.filter(index__gte=count).delete()

    start = time.perf_counter()
    ledger_integrate_all(now=clock.now())
    integrate_seconds = time.perf_counter() - start

    size = selectors.published_size()
    rng = random.Random(9)  # noqa: S311  # which leaves to prove, not a secret
    selectors.proof_inclusion(index=0, size=size)  # the checkpoint and the first tiles, once
    inclusion, consistency, bare = [], [], []
    tile_table = "ledger_tile"
    for _ in range(PROOFS):
        index = rng.randrange(size)
        started = time.perf_counter()
        selectors.proof_inclusion(index=index, size=size)
        inclusion.append(time.perf_counter() - started)
        first = rng.randrange(1, size)
        started = time.perf_counter()
        selectors.proof_consistency(first=first, second=size)
        consistency.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {tile_table} WHERE id = %s", [rng.randrange(1, 50)])  # noqa: S608
            cursor.fetchall()
        bare.append(time.perf_counter() - started)
    bare_p50 = percentile(bare, 50) * 1000
    details = {"leaves": count, "published_size": size, "integrate_seconds": round(integrate_seconds, 2)}
    return [
        Figure(
            name="ledger: appended leaves per second, batched",
            unit="leaves/s",
            value=count / append_seconds,
            baseline=count / bare_total,
            baseline_name=f"bare executemany INSERT of the same rows, {BATCH} per transaction",
            target=Target(of="value", op=">=", limit=50_000, text="≥ 50 000 leaves/s"),
            details={**details, "batch": BATCH, "append_seconds": round(append_seconds, 2)},
            higher_is_better=True,
        ),
        Figure(
            name=f"ledger: inclusion proof at {count:,} leaves (p95)",
            unit="ms",
            value=percentile(inclusion, 95) * 1000,
            baseline=bare_p50,
            baseline_name="bare SELECT of one tile row by key (p50)",
            target=Target(of="value", op="<", limit=2.0, text="< 2 ms"),
            details={
                **details,
                "proofs": PROOFS,
                "p50_ms": round(percentile(inclusion, 50) * 1000, 3),
                "p99_ms": round(percentile(inclusion, 99) * 1000, 3),
            },
        ),
        Figure(
            name=f"ledger: consistency proof at {count:,} leaves (p95)",
            unit="ms",
            value=percentile(consistency, 95) * 1000,
            baseline=bare_p50,
            baseline_name="bare SELECT of one tile row by key (p50)",
            details={
                **details,
                "proofs": PROOFS,
                "p50_ms": round(percentile(consistency, 50) * 1000, 3),
                "p99_ms": round(percentile(consistency, 99) * 1000, 3),
            },
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    figures_write(run(count=options.count), options.output)


if __name__ == "__main__":
    main()
