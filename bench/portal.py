"""Portal: search and list latency (p50/p95/p99) through ``notice_search`` over ``count`` generated notices.

The notices are generated in bulk (rows and search entries written directly, the same tokens the platform
indexes), shaped like real ones: a title and a body of about 250 characters drawn from a vocabulary with a
few very common words and many rare ones, regions over a province's cities, three sectors, publication over
three years. Queries: common and rare words, two-word queries, a code, words with a region or a sector, a
query that matches nothing; each run once before timing. Baseline, same run: a bare query of the notice
table (the newest 20 published notices by publication time), the least a page can cost.

    python -m bench.portal --count 1000000 [--output FILE]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figure, Target, django_setup, figures_write, percentile

BATCH = 5_000
COMMON = ["工程", "项目", "采购", "施工", "服务", "招标", "公告", "建设"]
RARE = [
    f"{a}{b}"
    for a in "江城东湖西岭南山北港新区高新光谷临空滨江汉阳青山洪山武昌蔡甸"
    for b in ("学校", "医院", "道路", "桥梁", "水厂", "公园", "管网", "场馆", "园区", "码头")
]
NAMES = ["改造", "修缮", "扩建", "新建", "维护", "监理", "设计", "供货", "安装", "运维"]
REGIONS = ["420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112", "420113", "420114"]
SECTORS = ["works", "procurement", "other"]


def notices_make(count: int, *, vocabulary_seed: int = 1) -> list[int]:
    """``count`` published notices of 20 tenders, indexed for search; their ids."""
    from django.db import connection, transaction

    from tenderhall.portal import tokens
    from tenderhall.portal.models import NoticeSearchEntry
    from tenderhall.procedures.models import Notice, Tender
    from tenderhall.procedures.tests.factories import make_draft_tender, make_parties

    rng = random.Random(vocabulary_seed)  # noqa: S311  # made-up notices, not secrets
    with transaction.atomic():
        parties = make_parties()
        tenders = [make_draft_tender(parties) for _ in range(20)]
        Tender.objects.filter(pk__in=[t.pk for t in tenders]).update(status="closed")
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = int(timedelta(days=3 * 365).total_seconds())
    ids: list[int] = []
    first = (Notice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for offset in range(0, count, BATCH):
        notices, entries = [], []
        for n in range(offset, min(count, offset + BATCH)):
            pk = first + n
            place, name = rng.choice(RARE), rng.choice(NAMES)
            title = f"{place}{name}{rng.choice(COMMON)}（编号E42010020{pk:08d}）招标公告"
            body = "，".join(
                rng.choice(COMMON) + rng.choice(RARE) + rng.choice(NAMES) + rng.choice(COMMON)
                for _ in range(18)
            )
            published = start + timedelta(seconds=rng.randrange(span))
            tender = tenders[n % len(tenders)]
            region, sector = rng.choice(REGIONS), rng.choice(SECTORS)
            notices.append(
                Notice(
                    pk=pk,
                    tender=tender,
                    kind="tender",
                    title=title,
                    body=body,
                    region_code=region,
                    sector=sector,
                    procedure_type=tender.procedure_type,
                    publish_at=published,
                    published_at=published,
                    created_by=parties.agency_user,
                    created_at=published,
                )
            )
            terms = tokens.notice_terms(
                title=title,
                body=body,
                region_code=region,
                sector=sector,
                procedure_type=tender.procedure_type,
                kind="tender",
                published_at=published,
            )
            entries.append(
                NoticeSearchEntry(
                    notice_id=pk,
                    tender_id=tender.pk,
                    rank=tokens.notice_rank(published, pk),
                    terms=" ".join(terms),
                )
            )
            ids.append(pk)
        with transaction.atomic():
            Notice.objects.bulk_create(notices)
            NoticeSearchEntry.objects.bulk_create(entries)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return ids


def _timed(function: object, **arguments: object) -> float:
    started = time.perf_counter()
    function(**arguments)  # type: ignore[operator]
    return time.perf_counter() - started


def run(*, count: int, rounds: int) -> list[Figure]:
    django_setup()
    from django.db import connection

    from tenderhall.portal.selectors import notice_search

    started = time.perf_counter()
    notices_make(count)
    generated = time.perf_counter() - started
    rng = random.Random(5)  # noqa: S311  # a query mix
    queries: list[dict[str, str]] = [
        *({"query": word} for word in COMMON[:4]),
        *({"query": word} for word in rng.sample(RARE, 12)),
        *({"query": f"{a} {b}"} for a, b in zip(rng.sample(RARE, 6), rng.sample(NAMES, 6), strict=True)),
        *({"query": f"{rng.choice(RARE)}{name}"} for name in NAMES[:6]),
        {"query": "E4201002000000077"},
        {"query": "不存在的词语"},
        *({"query": rng.choice(RARE), "region": region} for region in REGIONS[:4]),
        *({"query": rng.choice(COMMON), "sector": sector} for sector in SECTORS),
        {"query": "", "region": "420100"},
    ]
    for query in queries:  # warm: each query once
        notice_search(**query)  # type: ignore[arg-type]
    searches = [_timed(notice_search, **query) for _ in range(rounds) for query in queries]
    lists, nexts, bare = [], [], []
    table = connection.ops.quote_name("procedures_notice")
    for _ in range(rounds * 10):
        started = time.perf_counter()
        page = notice_search()
        lists.append(time.perf_counter() - started)
        nexts.append(_timed(notice_search, cursor=page.next_cursor))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM {table} WHERE published_at IS NOT NULL"  # noqa: S608  # fixed names
                " ORDER BY published_at DESC, id DESC LIMIT 20"
            )
            cursor.fetchall()
        bare.append(time.perf_counter() - started)
    baseline = percentile(bare, 50) * 1000

    def latency(samples: list[float]) -> dict[str, float]:
        return {f"p{p}_ms": round(percentile(samples, p) * 1000, 2) for p in (50, 95, 99)}

    details = {"notices": count, "generated_seconds": round(generated, 1), "queries": len(queries)}
    return [
        Figure(
            name=f"portal: search at {count:,} notices (p95)",
            unit="ms",
            value=percentile(searches, 95) * 1000,
            baseline=baseline,
            baseline_name="bare SELECT of the newest 20 published notices (p50)",
            target=Target(of="value", op="<", limit=50.0, text="p95 < 50 ms"),
            details={**details, **latency(searches), "samples": len(searches)},
        ),
        Figure(
            name=f"portal: list, first page, at {count:,} notices (p95)",
            unit="ms",
            value=percentile(lists, 95) * 1000,
            baseline=baseline,
            baseline_name="bare SELECT of the newest 20 published notices (p50)",
            details={**details, **latency(lists), "next_page": latency(nexts)},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    figures_write(run(count=options.count, rounds=options.rounds), options.output)


if __name__ == "__main__":
    main()
