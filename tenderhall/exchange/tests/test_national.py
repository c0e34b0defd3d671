"""The national data spec's core datasets over the demo data and the generated edge cases: every row of
every dataset keeps the field formats (17/20/23-character codes, yyyyMMddHHmmss in Beijing time, amounts,
region and organisation codes), in JSON and CSV, and nothing is made up where no source exists yet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenderhall.exchange import national_sources
from tenderhall.exchange.national import DATASETS, field_problems
from tenderhall.exchange.national_sources import ROWS
from tenderhall.exchange.tests.generated import ALL_CASES, PERSON_ID, Generator
from tenderhall.exchange.tests.support import NOW, demo_data, use_clock
from tenderhall.procedures.models import Notice, Tender

pytestmark = pytest.mark.django_db


def export(dataset: str, output: str = "json") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export-national", "--dataset", dataset, "--format", output, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_every_dataset_of_the_demo_data_and_the_edge_cases_keeps_the_field_formats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the demo data and a tender of every generated case
    use_clock(monkeypatch)
    demo_data()
    generator = Generator(at=NOW - timedelta(days=60))
    for case in ALL_CASES:
        generator.tender(case)
    counts = {}
    for key, dataset in DATASETS.items():
        # when each dataset is exported
        text, err = export(key)
        body = json.loads(text)
        # then it is the dataset with its fields, every row conforming
        assert (body["dataNo"], body["table"]) == (dataset.data_no, dataset.table)
        assert [f["name"] for f in body["fields"]] == [f.name for f in dataset.fields]
        for row in body["rows"]:
            assert field_problems(dataset, row) == [], (key, row)
        assert PERSON_ID not in text
        counts[key] = len(body["rows"])
        assert err.strip() == f"{counts[key]} rows of {dataset.data_no} {dataset.label} ({dataset.table})"
    published = Tender.objects.filter(published_at__isnull=False)
    assert counts["tender_project"] == published.count()
    assert counts["project"] == published.values("project").distinct().count()
    assert counts["section"] == sum(t.lots.count() for t in published)
    assert counts["opening_record"] == 3  # the generated opening record; the demo opening is not recorded yet
    assert counts["contract"] == 2  # the generated awarded tender's two lots
    notices = Notice.objects.filter(published_at__isnull=False, tender__published_at__isnull=False)
    assert (
        counts["tender_notice"]
        == notices.filter(kind__in=("tender", "prequalification", "amendment")).count()
    )
    assert counts["candidates_notice"] == 4  # the awarded case: two lots, two candidates each
    assert counts["result_notice"] == 2  # one row per awarded lot


def test_the_demo_tender_rows_read_as_the_spec_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    use_clock(monkeypatch)
    tender = demo_data()
    (row,) = [r for r in ROWS["tender_project"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert row["PROJECT_CODE"] == tender.code[:17]
    assert (row["TENDER_MODE"], row["TENDER_MODE_NAME"], row["TENDER_ORGANIZE_FORM"]) == (
        "1",
        "公开招标（资格后审）",
        "2",
    )
    assert row["PUBLISH_TIME"] == "20260302093000"
    assert (row["CONTROL_PRICE"], row["CURRENCY_CODE"], row["PRICE_UNIT"]) == ("11500000.00", "156", "0")
    (section,) = [r for r in ROWS["section"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert section["BID_SECTION_CODE"] == tender.lots.get().code
    assert (section["MARGIN_AMOUNT"], section["TIME_LIMIT"]) == ("200000.00", "180")
    (notice,) = [r for r in ROWS["tender_notice"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert (notice["BULLETIN_TYPE"], notice["NOTICE_NATURE"], notice["CORRECTED_NOTICE_ID"]) == ("1", "1", "")
    assert notice["NOTICE_SEND_TIME"] == "20260302093000"
    assert notice["BID_DOC_REFER_END_TIME"].endswith("093000")


def test_csv_has_the_field_names_then_one_line_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    use_clock(monkeypatch)
    demo_data()
    text, _ = export("section", "csv")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [f.name for f in DATASETS["section"].fields]
    assert len(lines) == 1 + len(list(ROWS["section"]())) == 3


@pytest.mark.parametrize("dataset", sorted(ROWS))
def test_a_dataset_costs_the_same_queries_for_many_tenders_as_for_a_few(dataset: str) -> None:
    # given a tender of each of eight cases (bids, candidates, awards, contracts, corrections, a person)
    generator = Generator(at=NOW - timedelta(days=60))
    cases = ALL_CASES[-8:]

    def rows_and_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = list(ROWS[dataset]())
        return len(rows), len(captured)

    for case in cases:
        generator.tender(case)
    few_rows, few_queries = rows_and_queries()
    # when there are twice as many (one batch still)
    for case in cases:
        generator.tender(case)
    many_rows, many_queries = rows_and_queries()
    # then twice the rows cost the same queries
    assert many_rows == 2 * few_rows > 0
    assert many_queries == few_queries


def test_a_clarification_is_nature_3_and_names_the_first_notice() -> None:
    generator = Generator(at=NOW)
    tender = generator.tender(next(c for c in ALL_CASES if c.ending == "clarified"))
    rows = [r for r in ROWS["tender_notice"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert [(r["NOTICE_NATURE"], r["CORRECTED_NOTICE_ID"]) for r in rows] == [("3", "")]
    assert rows[0]["BID_DOC_REFER_END_TIME"] != ""


def test_contracts_come_from_a_registered_source_and_bad_rows_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generator = Generator(at=NOW)
    tender = generator.tender(ALL_CASES[0])

    def contracts(tenders: Sequence[Tender]) -> Iterator[dict[str, str]]:
        (t,) = tenders
        yield {
            "CONTRACT_CODE": f"HT-{t.code}",
            "BID_SECTION_CODE": t.lots.first().code,  # type: ignore[union-attr]
            "TENDER_PROJECT_CODE": t.code,
            "CONTRACT_NAME": "施工合同",
            "TENDERER_NAME": "招标人",
            "WIN_BIDDER_NAME": "中标人",
            "CONTRACT_AMOUNT": "1100000.50",
            "CURRENCY_CODE": "156",
            "PRICE_UNIT": "0",
            "SIGN_TIME": "2026-04-01",  # not the spec's format
        }

    monkeypatch.setattr(national_sources, "CONTRACT_SOURCES", [contracts])
    with pytest.raises(CommandError, match="2 field format problem"):
        export("contract")
    row = next(ROWS["contract"]())
    assert row["TENDER_PROJECT_CODE"] == tender.code
    assert field_problems(DATASETS["contract"], row) == [
        "SIGN_TIME (合同签订时间): '2026-04-01' is not a datetime",
        "SIGN_TIME (合同签订时间): '2026-04-01' is not a real time",
    ]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("PROJECT_CODE", "E42010020260000011", "is not a project_code"),
        ("REGION_CODE", "42010", "is not a region"),
        ("TOTAL_INVESTMENT", "123456789012345.00", "is not a amount"),
        ("CREATE_TIME", "20260230093000", "is not a real time"),
        ("LEGAL_PERSON_CODE", "11010519491231002", "is not a org_code"),
        ("PROJECT_NAME", "", "required"),
    ],
)
def test_field_problems_names_each_broken_format(field: str, value: str, problem: str) -> None:
    row: dict[str, Any] = {
        "PROJECT_CODE": "E42010020260000001",
        "PROJECT_NAME": "项目",
        "REGION_CODE": "420100",
        "LEGAL_PERSON": "招标人",
        "TOTAL_INVESTMENT": "1.00",
        "CURRENCY_CODE": "156",
        "PRICE_UNIT": "0",
        "CREATE_TIME": "20260302093000",
    }
    row["PROJECT_CODE"] = "E4201002026000001"
    row[field] = value
    (found,) = field_problems(DATASETS["project"], row)
    assert found.startswith(field)
    assert found.endswith(problem)


def test_candidates_and_results_are_rows_per_candidate_and_per_award_without_identity_numbers() -> None:
    generator = Generator(at=NOW)
    tender = generator.tender(next(c for c in ALL_CASES if c.ending == "awarded"))
    candidates = [r for r in ROWS["candidates_notice"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    winner = generator.bidders[0]
    assert [
        (
            r["BID_SECTION_CODE"][-3:],
            r["WIN_CANDIDATE_ORDER"],
            r["WIN_CANDIDATE_NAME"],
            r["WIN_CANDIDATE_CODE"],
        )
        for r in candidates
    ] == [
        ("001", "1", winner.name, winner.identifier),
        ("001", "2", "张三", ""),  # a natural person: named, never their identity number
        ("002", "1", winner.name, winner.identifier),
        ("002", "2", "张三", ""),
    ]
    (period,) = {(r["PUBLICITY_START_TIME"], r["PUBLICITY_END_TIME"]) for r in candidates}
    assert int(period[1][:8]) - int(period[0][:8]) == 3  # three days of publicity, same month
    assert period[0][8:] == period[1][8:]
    results = [r for r in ROWS["result_notice"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert [(r["BID_SECTION_CODE"][-3:], r["WIN_BIDDER_CODE"], r["WIN_BID_PRICE"]) for r in results] == [
        ("001", winner.identifier, "990000.00"),
        ("002", winner.identifier, "990001.00"),
    ]
    for key, rows in (("candidates_notice", candidates), ("result_notice", results)):
        for row in rows:
            assert field_problems(DATASETS[key], row) == []


def test_export_national_writes_a_whole_file_or_none(tmp_path: Any) -> None:
    generator = Generator(at=NOW)
    tender = generator.tender(next(c for c in ALL_CASES if c.lots == 3))
    target = tmp_path / "out" / "sections.csv"
    target.parent.mkdir()
    call_command(
        "export-national", "--dataset", "section", "--format", "csv", "-o", str(target), stderr=io.StringIO()
    )
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("BID_SECTION_CODE,TENDER_PROJECT_CODE,BID_SECTION_NAME")
    assert [line.split(",")[0] for line in lines[1:]] == [f"{tender.code}00{i}" for i in (1, 2, 3)]
    assert sorted(p.name for p in target.parent.iterdir()) == ["sections.csv"]
