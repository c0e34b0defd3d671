"""OCDS export over the demo data (`tenderhall demo-data`) moved through its life by the real services and
scheduler: every package validates against the official 1.1.5 schema with 0 errors, a release is made for
each public change with the right tag, and nothing about bids is public before the deadline."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.exchange import validation
from tenderhall.exchange.national_sources import ROWS
from tenderhall.exchange.ocds_merge import compile_releases
from tenderhall.exchange.selectors import all_records, all_releases
from tenderhall.exchange.tests.support import (
    NOW,
    PREFIX,
    Clock,
    add_bid,
    after_deadline,
    demo_data,
    tick,
    use_clock,
)
from tenderhall.opening.sessions import opening_windows_close_due, record_publish
from tenderhall.procedures import services
from tenderhall.procedures.clarifications import clarification_publish
from tenderhall.procedures.models import Tender
from tenderhall.registry.models import MarketEntity

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    use_clock(monkeypatch)
    settings.TENDERHALL_OCID_PREFIX = PREFIX
    settings.TENDERHALL_PUBLIC_URL = "https://ggzy.example.org"
    settings.TENDERHALL_OCDS_PUBLISHER_NAME = "江城市公共资源交易中心"


def get(path: str) -> tuple[int, Any]:
    response = Client().get(path)
    return response.status_code, json.loads(response.content)


def valid(package: Any) -> Any:
    errors = validation.package_errors(package)
    assert errors == []
    return package


def releases_of(tender: Tender) -> list[dict[str, Any]]:
    status, package = get(f"/api/v1/ocds/releases/{PREFIX}-{tender.code}")
    assert status == 200
    return valid(package)["releases"]  # type: ignore[no-any-return]


def entity(name: str) -> MarketEntity:
    return MarketEntity.objects.get(name=name)


def test_the_published_demo_tender_is_one_valid_release_with_its_parties_method_and_documents() -> None:
    # given the demo data
    tender = demo_data()
    # when its releases are fetched by ocid
    status, package = get(f"/api/v1/ocds/releases/{PREFIX}-{tender.code}")
    # then the package is valid OCDS and says who publishes it
    assert status == 200
    valid(package)
    assert package["version"] == "1.1"
    assert package["publisher"] == {"name": "江城市公共资源交易中心"}
    assert package["uri"] == f"https://ggzy.example.org/api/v1/ocds/releases/{PREFIX}-{tender.code}"
    # the publication and the tender notice, each its own release, ids ending in their leaf index
    # (demo-data opens the documents at once: a third release says so)
    first, notice, *later = package["releases"]
    assert [r["tender"]["statusDetails"] for r in later] in ([], ["投标中"])
    assert first["ocid"] == f"{PREFIX}-{tender.code}"
    assert first["tag"] == ["planning", "tender"]
    assert notice["tag"] == ["tenderUpdate"]
    assert first["id"].startswith(f"{tender.code}-")
    assert first["id"] != notice["id"]
    assert first["date"] == "2026-03-02T09:30:00+08:00"
    school, agency = entity("江城市第一实验中学"), entity("华信工程咨询有限公司")
    assert first["parties"] == [
        {
            "id": f"CN-SAIC-{school.identifier}",
            "name": school.name,
            "roles": ["buyer"],
            "identifier": {"scheme": "CN-SAIC", "id": school.identifier, "legalName": school.name},
        },
        {
            "id": f"CN-SAIC-{agency.identifier}",
            "name": agency.name,
            "roles": ["procuringEntity"],
            "identifier": {"scheme": "CN-SAIC", "id": agency.identifier, "legalName": agency.name},
        },
    ]
    assert first["buyer"] == {"id": f"CN-SAIC-{school.identifier}", "name": school.name}
    t = first["tender"]
    assert (t["procurementMethod"], t["procurementMethodDetails"]) == ("open", "公开招标（资格后审）")
    assert t["status"] == "active"
    assert t["statusDetails"] == "已发布"
    assert t["mainProcurementCategory"] == "works"
    assert t["value"] == {"amount": 11800000, "currency": "CNY"}
    assert first["planning"]["budget"]["amount"] == {"amount": 12800000, "currency": "CNY"}
    assert tender.bid_deadline is not None
    assert t["tenderPeriod"] == {
        "startDate": "2026-03-02T09:30:00+08:00",
        "endDate": tender.bid_deadline.astimezone(BEIJING).isoformat(timespec="seconds"),
    }
    assert t["tenderPeriod"]["endDate"].endswith("T09:30:00+08:00")
    assert [d["documentType"] for d in t["documents"]] == ["biddingDocuments"]
    assert t["documents"][0]["description"] == f"SHA-256 {tender.documents.get().sha256}"
    assert [d["documentType"] for d in notice["tender"]["documents"]] == ["biddingDocuments", "tenderNotice"]
    notice_id = tender.notices.get().pk
    assert notice["tender"]["documents"][1]["url"] == f"https://ggzy.example.org/notices/{notice_id}/"
    assert t["lots"] == [
        {
            "id": tender.lots.get().code,
            "title": "施工标段",
            "status": "active",
            "value": {"amount": 11800000, "currency": "CNY"},
            "contractPeriod": {"durationInDays": 180},
        }
    ]


def test_nothing_about_bids_is_public_before_the_deadline_and_counts_in_force_come_after() -> None:
    # given the demo tender in bidding with three bids, one of them withdrawn before the deadline
    tender = demo_data()
    assert tender.documents_from is not None
    assert tender.bid_deadline is not None
    tick(tender.documents_from + timedelta(seconds=1))
    during = tender.documents_from + timedelta(hours=2)
    add_bid(tender, entity("江城建工集团有限公司"), at=during)
    add_bid(tender, entity("恒远路桥建设有限公司"), at=during)
    add_bid(tender, entity("明达机电设备有限公司"), at=during, ended_at=during + timedelta(hours=1))
    Clock.moment = tender.bid_deadline - timedelta(seconds=1)
    # when the releases and the period's releases are read just before the deadline
    before = releases_of(tender)
    status, period = get("/api/v1/ocds/releases")
    mine = [r for r in period["releases"] if r["ocid"] == f"{PREFIX}-{tender.code}"]
    assert mine == before
    # then no release says anything about bids or bidders
    assert status == 200
    for text in (json.dumps(before, ensure_ascii=False), json.dumps(mine, ensure_ascii=False)):
        assert '"bids"' not in text
        assert "tenderers" not in text
        for name in ("江城建工集团有限公司", "恒远路桥建设有限公司", "明达机电设备有限公司"):
            assert name not in text
    assert [r["tag"] for r in before] == [["planning", "tender"], ["tenderUpdate"], ["tenderUpdate"]]
    assert before[-1]["tender"]["statusDetails"] == "投标中"
    # when the deadline passes
    tick(after_deadline(tender))
    after = releases_of(tender)
    # then the release of the closing carries the bids in force then: 2 (the withdrawn one does not count)
    closing = next(r for r in after if r["tender"]["statusDetails"] == "投标截止")
    lot = tender.lots.get().code
    assert [(s["id"], s["value"], s.get("relatedLot")) for s in closing["bids"]["statistics"]] == [
        (f"bids-{lot}", 2, lot),
        ("bids-total", 2, None),
    ]
    assert all("bids" not in r for r in after[: after.index(closing)])
    assert after[:3] == before  # earlier releases never change


def test_a_clarification_moving_the_deadline_is_a_tender_amendment_and_a_cancellation_is_a_cancellation() -> (
    None
):
    tender = demo_data()
    assert tender.documents_from is not None
    assert tender.bid_deadline is not None
    agency = User.objects.get(username="agency")
    tick(tender.documents_from + timedelta(seconds=1))
    # given a clarification that affects the bids ten days before the deadline
    moment = tender.bid_deadline - timedelta(days=10)
    Clock.moment = moment
    clarification_publish(
        actor=agency,
        tender_id=tender.pk,
        text="工程量清单第3章更正。",
        affects_bids=True,
        question_ids=[],
        now=moment,
    )
    tender.refresh_from_db()
    # and then the tender is terminated
    services.tender_cancel(
        actor=agency, tender_id=tender.pk, reason="项目资金未落实", now=moment + timedelta(hours=1)
    )
    releases = releases_of(tender)
    tags = [r["tag"] for r in releases]
    assert tags == [
        ["planning", "tender"],
        ["tenderUpdate"],  # the tender notice
        ["tenderUpdate"],  # documents on issue: bidding
        ["tenderUpdate"],  # the clarification's notice, published in the same transaction just before
        ["tenderAmendment"],  # the clarification
        ["tenderCancellation"],  # the termination
        ["tenderCancellation"],  # its notice
    ]
    amended = releases[4]["tender"]
    assert amended["amendments"] == [
        {
            "id": amended["amendments"][0]["id"],
            "date": releases[4]["date"],
            "rationale": "澄清与修改（影响投标文件编制）",
            "description": "工程量清单第3章更正。",
        }
    ]
    assert releases[3]["tender"]["tenderPeriod"]["endDate"] != amended["tenderPeriod"]["endDate"]
    assert amended["tenderPeriod"]["endDate"] == tender.bid_deadline.astimezone(BEIJING).isoformat(
        timespec="seconds"
    )
    last = releases[-1]["tender"]
    assert (last["status"], last["statusDetails"]) == ("cancelled", "已终止：项目资金未落实")
    assert [lot["status"] for lot in last["lots"]] == ["cancelled"]


def test_the_record_package_compiles_the_releases_into_the_latest_state() -> None:
    tender = demo_data()
    assert tender.documents_from is not None
    tick(tender.documents_from + timedelta(seconds=1))
    status, package = get(f"/api/v1/ocds/records/{PREFIX}-{tender.code}")
    assert status == 200
    valid(package)
    (record,) = package["records"]
    assert record["ocid"] == f"{PREFIX}-{tender.code}"
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["date"] == record["releases"][-1]["date"]
    assert compiled["tender"]["statusDetails"] == "投标中"
    assert len(compiled["tender"]["documents"]) == 2
    assert compiled == compile_releases(record["releases"])


def test_drafts_and_unknown_ocids_are_not_found_with_a_stable_code() -> None:
    tender = demo_data()
    draft = Tender.objects.create(
        project=tender.project,
        code=tender.code[:-3] + "999",
        name="草稿",
        procedure_type="works_open",
        created_by=User.objects.get(username="agency"),
        created_at=NOW,
    )
    for ocid in (f"{PREFIX}-{draft.code}", f"ocds-other-{tender.code}", "x"):
        status, body = get(f"/api/v1/ocds/releases/{ocid}")
        assert (status, body["code"]) == (404, "not_found")
        status, body = get(f"/api/v1/ocds/records/{ocid}")
        assert (status, body["code"]) == (404, "not_found")


def test_export_ocds_writes_a_valid_release_package_and_a_record_package(tmp_path: Any) -> None:
    tender = demo_data()
    assert tender.documents_from is not None
    tick(tender.documents_from + timedelta(seconds=1))
    target = tmp_path / "ocds.json"
    err = io.StringIO()
    call_command("export-ocds", "--output", str(target), stderr=err)
    package = valid(json.loads(target.read_text(encoding="utf-8")))
    ocid = f"{PREFIX}-{tender.code}"
    assert [r["tag"] for r in package["releases"] if r["ocid"] == ocid] == [
        ["planning", "tender"],
        ["tenderUpdate"],
        ["tenderUpdate"],
    ]
    assert package["releases"] == list(all_releases())
    assert err.getvalue().strip() == f"{len(package['releases'])} releases exported to {target}"
    out = io.StringIO()
    call_command("export-ocds", "--records", stdout=out, stderr=io.StringIO())
    records = valid(json.loads(out.getvalue()))
    assert [r["ocid"] for r in records["records"]] == [r["ocid"] for r in all_records()]
    assert ocid in [r["ocid"] for r in records["records"]]
    assert not (tmp_path / "ocds.json.partial").exists()


def test_export_ocds_with_nothing_public_fails_and_leaves_no_file(tmp_path: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CommandError, match="Nothing exported"):
        call_command("export-ocds", "--output", str(out / "ocds.json"), stderr=io.StringIO())
    assert list(out.iterdir()) == []


def test_the_demo_opening_record_publishes_each_opened_bid_with_bidder_price_and_outcome() -> None:
    # given the demo tender at its opening: the first bidder decrypted, the window then closed on the others
    demo_data()
    tender = Tender.objects.get(opening__isnull=False)  # the demo tender at its opening
    before = releases_of(tender)
    assert all("details" not in r.get("bids", {}) for r in before)  # no bidder before the record
    session = tender.opening
    later = session.decryption_until + timedelta(seconds=1)
    Clock.moment = later
    opening_windows_close_due(now=later)
    # when the agency publishes the opening record
    record_publish(actor=User.objects.get(username="agency"), tender_id=tender.pk, now=later)
    # then one more release, of the record's notice, names every bid with its outcome
    releases = releases_of(tender)
    assert releases[: len(before)] == before
    (record,) = releases[len(before) :]
    builder, roads, equipment = (
        entity(n) for n in ("江城建工集团有限公司", "恒远路桥建设有限公司", "明达机电设备有限公司")
    )
    details = {d["tenderers"][0]["name"]: (d["status"], d.get("value")) for d in record["bids"]["details"]}
    assert details == {
        builder.name: ("valid", {"amount": 11236800, "currency": "CNY"}),
        roads.name: ("withdrawn", None),
        equipment.name: ("withdrawn", None),
    }
    assert record["tender"]["numberOfTenderers"] == 3
    assert {p["id"] for p in record["parties"] if "tenderer" in p["roles"]} == {
        f"CN-SAIC-{e.identifier}" for e in (builder, roads, equipment)
    }
    assert record["tender"]["documents"][-1]["documentType"] == "bidders"
    # and the national 开标记录 has the same three rows
    rows = [r for r in ROWS["opening_record"]() if r["TENDER_PROJECT_CODE"] == tender.code]
    assert [(r["BIDDER_NAME"], r["BID_PRICE"], r["DECRYPT_RESULT"]) for r in rows] == [
        (builder.name, "11236800.00", "1"),
        (roads.name, "", "2"),
        (equipment.name, "", "2"),
    ]
