"""Generated edge cases through the whole export: every package validates with 0 errors, each mapping
choice shows in the data, identity numbers never leave, and the export streams in flat memory."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.tests.factories import make_user
from tenderhall.exchange import sources, validation
from tenderhall.exchange.export import ocds_export
from tenderhall.exchange.ocds_mapping import Change, ChangeKind
from tenderhall.exchange.selectors import (
    all_records,
    all_releases,
    published_tenders_one_by_one,
    releases_in_period,
)
from tenderhall.exchange.tests.generated import ALL_CASES, PERSON_ID, Case, Generator, entity
from tenderhall.exchange.tests.support import NOW, PREFIX
from tenderhall.procedures.models import Tender
from tenderhall.registry.services import entity_update
from tenderhall.registry.tests.factories import make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _prefix(settings: Any) -> None:
    settings.TENDERHALL_OCID_PREFIX = PREFIX


def exported(*, records: bool = False) -> Any:
    out = io.StringIO()
    ocds_export(out=out, records=records, now=NOW)
    return json.loads(out.getvalue())


def by_code(package: Any, tender: Tender) -> list[dict[str, Any]]:
    return [r for r in package["releases"] if r["ocid"] == f"{PREFIX}-{tender.code}"]


def test_every_edge_case_exports_valid_release_and_record_packages() -> None:
    # given one tender of every generated case
    generator = Generator(at=NOW)
    tenders = {case: generator.tender(case) for case in ALL_CASES}
    # when everything is exported as releases and as records
    releases, records = exported(), exported(records=True)
    # then both packages are valid and hold every tender
    assert validation.package_errors(releases) == []
    assert validation.package_errors(records) == []
    assert {r["ocid"] for r in records["records"]} == {f"{PREFIX}-{t.code}" for t in tenders.values()}
    text = json.dumps(releases, ensure_ascii=False) + json.dumps(records, ensure_ascii=False)
    assert PERSON_ID not in text  # a natural person's identity number is never published
    methods = {
        case.procedure_type: by_code(releases, tender)[0]["tender"]["procurementMethod"]
        for case, tender in tenders.items()
        if case.ending == "" and case.lots == 1 and case.agency
    }
    assert methods == {
        "competitive_consultation": "selective",
        "competitive_negotiation": "selective",
        "procurement_open": "open",
        "request_for_quotation": "selective",
        "single_source": "direct",
        "works_invited": "limited",
        "works_invited_prequalified": "limited",
        "works_open": "open",
        "works_open_prequalified": "open",
    }


def test_the_cases_show_their_mapping() -> None:
    generator = Generator(at=NOW)
    person = generator.tender(Case(natural_person_tenderee=True, agency=False))
    lots = generator.tender(Case(lots=3, estimate=__import__("decimal").Decimal("1234567.89")))
    failed = generator.tender(Case(ending="failed"))
    clarified = generator.tender(Case(ending="clarified"))
    package = exported()
    assert validation.package_errors(package) == []
    (first,) = by_code(package, person)
    assert first["parties"] == [
        {
            "id": f"TH-ENTITY-{person.project.tenderee_id}",
            "name": "张三",
            "roles": ["buyer", "procuringEntity"],
        }
    ]
    assert first["tender"]["procuringEntity"] == first["buyer"]
    (multi,) = by_code(package, lots)
    assert [lot["value"]["amount"] for lot in multi["tender"]["lots"]] == [1234567.89] * 3
    assert multi["tender"]["value"] == {"amount": 3703703.67, "currency": "CNY"}
    failing = by_code(package, failed)
    assert [r["tag"] for r in failing] == [
        ["planning", "tender"],
        ["tenderUpdate"],
        ["tenderUpdate"],
        ["tenderUpdate"],
    ]
    assert failing[2]["bids"]["statistics"][-1] == {
        "id": "bids-total",
        "measure": "bids",
        "value": 1,
        "date": failing[2]["date"],
    }
    assert (failing[-1]["tender"]["status"], failing[-1]["tender"]["statusDetails"]) == (
        "unsuccessful",
        "流标",
    )
    amended = by_code(package, clarified)
    assert [r["tag"] for r in amended] == [["planning", "tender"], ["tenderUpdate"], ["tenderAmendment"]]
    assert amended[-1]["tender"]["tenderPeriod"]["endDate"] != amended[0]["tender"]["tenderPeriod"]["endDate"]


def test_the_opening_record_publishes_the_opened_bids_with_bidders_prices_and_outcomes() -> None:
    # given a tender whose opening record was published: two bids opened, one revoked
    generator = Generator(at=NOW)
    tender = generator.tender(Case(ending="opened", lots=2))
    releases = by_code(exported(), tender)
    record = releases[-1]
    assert record["tag"] == ["tenderUpdate"]
    names = sorted(b.name for b in generator.bidders)
    assert record["tender"]["numberOfTenderers"] == 3
    assert sorted(t["name"] for t in record["tender"]["tenderers"]) == names
    details = record["bids"]["details"]
    assert [(d["status"], d.get("value", {}).get("amount")) for d in details] == [
        ("valid", 1100000.5),
        ("valid", 1100001.5),
        ("withdrawn", None),
    ]
    assert {d["relatedLots"][0] for d in details} == {f"{tender.code}001"}
    assert {p["name"] for p in record["parties"] if "tenderer" in p["roles"]} == set(names)
    assert record["tender"]["documents"][-1]["documentType"] == "bidders"
    assert all("details" not in r.get("bids", {}) for r in releases[:-1])  # nothing of it before
    assert [lot["status"] for lot in record["tender"]["lots"]] == ["active", "unsuccessful"]  # no bid: 流标


def test_awards_and_contracts_come_through_the_award_source_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an award source as the evaluation app will register it
    generator = Generator(at=NOW)
    tender = generator.tender(Case())
    winner = sources.org_of(generator.bidders[0])
    base = NOW + timedelta(days=40)

    def award_source(t: Tender) -> list[Change]:
        if t.pk != tender.pk:
            return []
        return [
            Change(
                10_000,
                base,
                ChangeKind.AWARD,
                {
                    "id": "award-1",
                    "lot": f"{t.code}001",
                    "supplier": winner,
                    "value": "1100000.50",
                    "duration_days": 80,
                },
            ),
            Change(
                10_001,
                base + timedelta(days=1),
                ChangeKind.CONTRACT,
                {"id": "contract-1", "award_id": "award-1", "value": "1100000.50", "title": "施工合同"},
            ),
        ]

    monkeypatch.setattr(sources, "AWARD_SOURCES", [award_source])
    package = exported(records=True)
    assert validation.package_errors(package) == []
    (record,) = [r for r in package["records"] if r["ocid"] == f"{PREFIX}-{tender.code}"]
    assert [r["tag"] for r in record["releases"]][-2:] == [["award"], ["contract"]]
    compiled = record["compiledRelease"]
    assert compiled["awards"] == [
        {
            "id": "award-1",
            "status": "active",
            "date": "2026-04-11T09:30:00+08:00",
            "suppliers": [winner.reference()],
            "relatedLots": [f"{tender.code}001"],
            "value": {"amount": 1100000.5, "currency": "CNY"},
            "contractPeriod": {"durationInDays": 80},
        }
    ]
    assert compiled["contracts"][0]["awardID"] == "award-1"
    assert {"supplier"} <= set(next(p for p in compiled["parties"] if p["id"] == winner.party_id)["roles"])


class Sink:
    """Counts what is written and keeps nothing, so the measure is the exporter's own memory. The ORM leaves
    reference cycles that the garbage collector frees when its thresholds say; collecting every few chunks
    makes the peak what the exporter keeps alive, not when the collector last ran."""

    def __init__(self) -> None:
        self.size = 0
        self.writes = 0

    def write(self, text: str, /) -> None:
        self.size += len(text)
        self.writes += 1
        if self.writes % 10 == 0:
            gc.collect()


def peak_of_export(records: bool) -> tuple[int, int]:
    sink = Sink()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        ocds_export(out=sink, records=records, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sink.size


def test_the_export_streams_in_flat_memory_five_times_the_data_not_more_memory() -> None:
    # given 48 tenders of four kinds (the first export warms Django's and SQLite's caches up)
    generator = Generator(at=NOW)
    cases = [Case(ending=e) for e in ("", "cancelled", "failed", "clarified")]
    for i in range(48):
        generator.tender(cases[i % 4])
    peak_of_export(records=False)
    small_peak, small_size = peak_of_export(records=False)
    small_record_peak, _ = peak_of_export(records=True)
    # when there are five times as many
    for i in range(192):
        generator.tender(cases[i % 4])
    large_peak, large_size = peak_of_export(records=False)
    large_record_peak, _ = peak_of_export(records=True)
    # then five times the output takes about the same peak memory (one tender's history at a time)
    assert large_size > 4.9 * small_size
    assert large_peak < 1.25 * small_peak, (small_peak, large_peak)
    assert large_record_peak < 1.25 * small_record_peak, (small_record_peak, large_record_peak)
    # and what the larger export adds to the peak is a small fraction of what it adds to the output
    assert large_peak - small_peak < (large_size - small_size) / 10


def test_all_releases_is_lazy_one_tender_at_a_time() -> None:
    generator = Generator(at=NOW)
    for _ in range(3):
        generator.tender(Case())
    stream: Iterator[dict[str, Any]] = all_releases()
    first = next(stream)
    assert first["tag"] == ["planning", "tender"]
    assert len(list(all_records())) == 3


def release_queries(tender: Tender) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert list(sources.tender_releases(tender))
    return len(captured)


def test_a_tenders_releases_cost_the_same_queries_however_many_bids_awards_and_contracts() -> None:
    # given opening records of 2 and of 6 bids, and awards with their contracts on 1 and on 4 lots
    generator = Generator(at=NOW)
    generator.bidders += [entity(f"示例投标人{i}有限公司", by=generator.user, at=NOW) for i in range(3, 6)]
    few_bids = generator.tender(Case(ending="opened", bids=2))
    many_bids = generator.tender(Case(ending="opened", bids=6))
    one_lot = generator.tender(Case(ending="awarded", lots=1))
    four_lots = generator.tender(Case(ending="awarded", lots=4))
    # when each tender's releases are built, then the bidders' and suppliers' register versions are read
    # in one query per list (not one per party), and the contracts in one per tender
    assert release_queries(many_bids) == release_queries(few_bids)
    assert release_queries(four_lots) == release_queries(one_lot)


def test_published_tenders_load_in_batches_not_one_query_per_tender() -> None:
    generator = Generator(at=NOW)
    for _ in range(3):
        generator.tender(Case(lots=2))
    with CaptureQueriesContext(connection) as small:
        assert len([t.lots.all()[0].code for t in published_tenders_one_by_one()]) == 3
    for _ in range(7):
        generator.tender(Case(lots=2))
    with CaptureQueriesContext(connection) as large:
        assert len([t.lots.all()[0].code for t in published_tenders_one_by_one()]) == 10
    assert len(large) == len(small) == 2  # the tenders with project and parties, then their lots


def test_an_awarded_tender_publishes_its_awards_with_the_result_notice_then_each_contract() -> None:
    # given a tender of two lots awarded to one bidder, its result notice, then a contract per lot
    generator = Generator(at=NOW)
    tender = generator.tender(Case(ending="awarded", lots=2))
    package = exported(records=True)
    assert validation.package_errors(package) == []
    (record,) = [r for r in package["records"] if r["ocid"] == f"{PREFIX}-{tender.code}"]
    # then the awards come with the result notice, each contract with its own release
    tags = [r["tag"] for r in record["releases"]]
    assert tags == [
        ["planning", "tender"],
        ["tenderUpdate"],  # the candidates' publicity: a document, not awards
        ["tenderUpdate"],  # awarded
        ["award"],  # the result notice with the awards
        ["contract"],
        ["contract"],
    ]
    compiled = record["compiledRelease"]
    codes = [f"{tender.code}001", f"{tender.code}002"]
    winner = sources.org_of(generator.bidders[0])
    assert [
        (a["id"], a["relatedLots"], a["suppliers"], a["value"]["amount"]) for a in compiled["awards"]
    ] == [
        (f"award-{codes[0]}", [codes[0]], [winner.reference()], 990000),
        (f"award-{codes[1]}", [codes[1]], [winner.reference()], 990001),
    ]
    assert [(c["id"], c["awardID"], c["value"]["amount"], c["period"]) for c in compiled["contracts"]] == [
        (f"contract-{codes[0]}", f"award-{codes[0]}", 990000, {"durationInDays": 75}),
        (f"contract-{codes[1]}", f"award-{codes[1]}", 990001, {"durationInDays": 75}),
    ]
    assert compiled["tender"]["status"] == "complete"
    assert [lot["status"] for lot in compiled["tender"]["lots"]] == ["complete", "complete"]
    assert "supplier" in next(p for p in compiled["parties"] if p["id"] == winner.party_id)["roles"]
    # and the period listing finds the contracts' releases through their contract
    page = releases_in_period(since=None, until=None, cursor=None, limit=500)
    assert [r["tag"] for r in page.releases if r["ocid"] == f"{PREFIX}-{tender.code}"] == tags


def test_a_party_renamed_later_keeps_its_name_in_the_releases_made_before() -> None:
    # given a tender published by a registered tenderee
    owner = make_user(now=NOW - timedelta(days=1))
    tenderee = make_entity(
        registrant=owner, role=Role.TENDEREE, name="旧名称建设单位", now=NOW - timedelta(days=1)
    )
    generator = Generator(at=NOW)
    generator.tenderee = tenderee
    tender = generator.tender(Case(agency=False))
    # when the tenderee changes its name afterwards
    entity_update(
        actor=owner, entity_id=tenderee.pk, changes={"name": "新名称建设单位"}, now=NOW + timedelta(days=2)
    )
    # then the release of the publication still names it as it was
    (first,) = by_code(exported(), tender)
    assert first["buyer"]["name"] == "旧名称建设单位"
    assert first["parties"][0]["name"] == "旧名称建设单位"


def test_export_ocds_check_validates_each_release_as_it_goes(tmp_path: Any) -> None:
    generator = Generator(at=NOW)
    for case in ALL_CASES:
        generator.tender(case)
    target = tmp_path / "out.json"
    err = io.StringIO()
    call_command("export-ocds", "--records", "--check", "-o", str(target), stderr=err)
    assert err.getvalue().strip() == (
        f"{len(ALL_CASES)} records exported to {target}, each valid against the OCDS 1.1.5 schema"
    )


def test_export_ocds_check_fails_on_an_invalid_release_and_keeps_no_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an award source that gives an award status outside the closed codelist
    generator = Generator(at=NOW)
    tender = generator.tender(Case())
    winner = sources.org_of(generator.bidders[0])

    def bad_awards(t: Tender) -> list[Change]:
        details = {"id": "award-1", "lot": f"{t.code}001", "supplier": winner, "status": "中标"}
        return [Change(10_000, NOW + timedelta(days=30), ChangeKind.AWARD, details)] if t == tender else []

    monkeypatch.setattr(sources, "AWARD_SOURCES", [bad_awards])
    target = tmp_path / "out.json"
    err = io.StringIO()
    # when it is exported with --check
    with pytest.raises(CommandError, match=r"1 schema error\(s\) in the export; nothing kept"):
        call_command("export-ocds", "--check", "-o", str(target), stderr=err)
    # then the error is named and no file is left
    assert f"{tender.code}-10000: /awards/0/status [enum]" in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
