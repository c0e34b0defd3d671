"""The full journey: a works tender whose documents the agency signs, uploads and publishes in its pages,
three bids sealed with real CMS in the sealing page (each bidder with its own PKCS#12 file; the signing and
the encryption happen in the page, only the envelope is uploaded, and the receipt saved from the page verifies
offline), opened in the opening hall by their bidders with the content keys they unwrapped on their machines,
the record published from the hall, then the committee drawn from a verifiable seed, the declarations signed,
the scoring, the signed report, the candidates' publicity, the award and the contract — and `tenderhall ledger
verify` recomputes every leaf.

The draft tender and its opening officials come from the opening's test scene (services with real keys); the
scheduler is run where the worker would run it. People act in the browser (the agency publishing and
presiding over the hall, the bidders sealing and in the hall, one expert, the agency, the tenderee) or over
the API with their tokens (the expert pool's import, the evaluation's set-up and draw, the other experts, the
contract), and every other signature is made with openssl or the CMS builder. The clock is shifted and
jumps; the test never sleeps to reach a moment.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.core import clock
from tenderhall.core.hashing import sha256_hex
from tenderhall.evaluation import draw
from tenderhall.evaluation.models import Committee, Contract, EvaluatedBid, Evaluation, Member, Publicity
from tenderhall.evaluation.tests.support import expert_csv
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.opening import views
from tenderhall.opening.services import escrow_plan_set
from tenderhall.opening.tests.scene import (
    NAMES,
    PRICES,
    Opening,
    form_for,
    make_bidder,
    make_official,
    read_envelope,
)
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import make_draft_tender, make_parties
from tenderhall.procedures.tests.support import Signer, accept_for_user, make_signer
from tenderhall.registry.tests.factories import uscc
from tests.browser.journey_steps import (
    LIVE,
    People,
    hall_row,
    open_in_hall,
    publish_in_page,
    seal_in_page,
    submit_action,
)
from tests.browser.test_tender_journey import ShiftedClock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# 18:00 in Beijing on the factories' Monday, after the agency's two-factor enrolment (its codes are one-time)
PUBLISHED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STREAM_GONE = views.STREAM_SECONDS + 5  # s: the longest a request thread of the live server may go on
API = "/api/v1/evaluation"
SCORES = {0: ("38", "15"), 1: ("45", "18"), 2: ("41", "16")}  # tech of 50, biz of 20, by bid order


def api(user: User, now: Any) -> dict[str, str]:
    return bearer(user, Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE, now=now)


@pytest.fixture
def people(
    browser: Any, live_server: Any, transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[People]:
    """Everyone's browser, on a clock shifted to the evening the tender is published. The contexts are closed,
    and the live server's request threads (the hall's event streams among them) are waited for, before the
    database is emptied: a stream notices its closed connection on its next write, within seconds."""
    ledger_selectors.clear_tile_cache()
    shifted = ShiftedClock(PUBLISHED)
    monkeypatch.setattr(clock, "now", shifted.now)
    made = People(browser, live_server.url, shifted)
    yield made
    made.close()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=STREAM_GONE)
    ledger_selectors.clear_tile_cache()


def test_the_whole_life_of_a_tender_ends_with_a_log_that_verifies(people: People, tmp_path: Path) -> None:
    # given: a draft works tender whose escrow key the agency has assigned to three opening officials (2 of 3)
    parties = make_parties()
    agency, tenderee = parties.agency_user, parties.tenderee_user
    tender = make_draft_tender(parties, now=PUBLISHED)
    officials = [make_official(i) for i in range(3)]
    escrow_plan_set(
        actor=agency, tender_id=tender.pk, official_ids=[o.user.pk for o in officials], k=2, now=PUBLISHED
    )
    shifted, base = people.shifted, people.base

    # when: the agency signs the documents, uploads them and publishes the tender in its pages; the worker
    # opens the documents at their time
    publish_in_page(
        people.page(agency, totp_secret=agency.totp_secret),
        base,
        parties=parties,
        tender=tender,
        home=tmp_path / "agency",
    )
    procedures_tick(now=shifted.now())
    tender.refresh_from_db()
    assert tender.status == "bidding"
    assert tender.bid_deadline is not None
    deadline = tender.bid_deadline

    # and: during bidding three bidders seal in the sealing page, each with its own PKCS#12 file and its own
    # price, and save the receipt and the envelope the page offers
    shifted.jump(PUBLISHED + timedelta(days=5) - shifted.now())
    lot = tender.lots.get()
    opening = Opening(parties, tender, officials)
    opening.bidders = [make_bidder(parties.operator, tmp_path / f"bidder{i}", NAMES[i]) for i in range(3)]
    bidder_pages, sealed = [], []
    for index, bidder in enumerate(opening.bidders):
        bidder_pages.append(people.page(bidder.user))
        form = form_for(index)
        sealed.append(
            seal_in_page(
                bidder_pages[index],
                base,
                lot=lot,
                bidder=bidder,
                price=form["price"],
                duration_days=form["duration_days"],
                password=f"p12-bidder{index}".encode(),
            )
        )

    # then: only the envelope left each page, byte for byte the one stored and the one saved; no key,
    # password, price, document or content key travelled; and the first bidder's receipt verifies offline
    for bidder, seal in zip(opening.bidders, sealed, strict=True):
        envelope = seal.envelope.read_bytes()
        assert seal.uploads == [envelope] == [read_envelope(bidder.bid)]
        key = bidder.content_key(envelope)
        assert seal.in_clear(content_key=key, content_key_hex=key.hex().encode()) == []
    out, problems = io.StringIO(), io.StringIO()
    first = sealed[0]
    call_command(
        "bid", "verify-receipt", "--receipt", str(first.receipt), "--envelope", str(first.envelope),
        stdout=out, stderr=problems,
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    assert problems.getvalue() == ""
    assert len(lines) == 4, lines  # the signature, the envelope, the timestamp and the ledger's proof
    assert lines[1].startswith(f"OK: the receipt names this envelope (SHA-256 {first.bid.sha256}, "), lines
    assert lines[2].startswith("OK: the RFC 3161 token stamps this envelope at "), lines

    # when: the worker opens the session at the deadline and the hall fills a few minutes later
    shifted.jump(deadline + timedelta(minutes=5) - shifted.now())
    procedures_tick(now=deadline)
    opening.tender.refresh_from_db()
    hall = f"{base}/opening/tenders/{opening.tender.pk}/hall/"
    office = people.page(agency, totp_secret=agency.totp_secret)
    office.goto(hall)
    expect(office.locator("#hall-view")).to_have_text("manager")
    expect(office.locator('#hall-state tr.hall-bid[data-outcome="pending"]')).to_have_count(3)

    # and: each bidder opens its own bid with the content key it unwrapped on its machine; the agency's page,
    # never reloaded, shows the price the bidder typed in the sealing page as it comes
    for index, bidder in enumerate(opening.bidders):
        open_in_hall(bidder_pages[index], hall, bidder)
        expect(hall_row(office, bidder)).to_have_attribute("data-outcome", "opened", timeout=LIVE)
        expect(hall_row(office, bidder).locator(".hall-price")).to_have_text(PRICES[index])

    # and: every bid decrypted, the agency publishes the opening record without waiting for the window's end
    answer = submit_action(office, "#record-form", f"/tenders/{opening.tender.pk}/record")
    assert answer.status == 200, answer.text()
    expect(office.locator("#hall-record")).to_be_visible(timeout=LIVE)
    assert opening.session.status == "recorded"
    # the record states what each page sealed: bid.json's price and duration, under the envelope's hash
    entries = {entry["bid"]: entry for entry in (opening.session.record or {})["lots"][0]["bids"]}
    assert [
        (entry["envelope_sha256"], entry["outcome"], entry["price"], entry["duration_days"])
        for entry in (entries[str(bidder.bid.token)] for bidder in opening.bidders)
    ] == [
        (sha256_hex(seal.envelope.read_bytes()), "opened", PRICES[index], form_for(index)["duration_days"])
        for index, seal in enumerate(sealed)
    ]
    shifted.jump(timedelta(minutes=5))
    http = Client()

    # and: a pool of seven experts with accounts and signing certificates, imported by the operator
    experts: dict[str, tuple[User, Signer]] = {}
    rows = []
    for n in range(7):
        user = make_user(two_factor=True)
        signer = make_signer(common_name=user.full_name, serial_number=f"EXPJ{n:04d}", now=deadline)
        accept_for_user(signer, user=user, now=deadline)
        code = f"J{n + 1:03d}"
        experts[code] = (user, signer)
        rows.append(
            {"code": code, "full_name": user.full_name, "username": user.username, "specialties": "A0101",
             "region_code": "110101", "employer_identifier": uscc(9000 + n, region="110100"),
             "title": "高级工程师", "years": "12"}
        )  # fmt: skip
    imported = http.post(
        f"{API}/experts/import",
        {"file": SimpleUploadedFile("pool.csv", expert_csv(rows))},
        headers=api(opening.parties.operator, shifted.now()),
    )
    assert imported.json() == {"created": 7, "updated": 0}

    # when: the agency sets up the evaluation (comprehensive scoring) and draws a committee of five
    config = {
        "method": "comprehensive", "price_weight": "0.30",
        "factors": [{"code": "tech", "name": "技术方案", "weight": "0.50", "full": "50"},
                    {"code": "biz", "name": "商务条款", "weight": "0.20", "full": "20"}],
    }  # fmt: skip
    made = http.post(
        f"{API}/lots/{lot.pk}/evaluation",
        config,
        content_type="application/json",
        headers=api(agency, shifted.now()),
    )
    assert made.status_code == 201, made.content
    evaluation_id = made.json()["id"]
    assert Tender.objects.get(pk=opening.tender.pk).status == "evaluation"
    created = http.post(
        f"{API}/evaluations/{evaluation_id}/committee",
        {"specialty": "A01", "experts": 5},
        content_type="application/json",
        headers=api(agency, shifted.now()),
    ).json()
    record = http.post(
        f"{API}/committees/{created['committee_id']}/draw", headers=api(agency, shifted.now())
    ).json()
    assert record["seed"] is None
    assert len(record["drawn"]) == 5

    # and: the first drawn expert declares, scores and hands in in the browser; the others over the API
    bids = list(EvaluatedBid.objects.filter(evaluation_id=evaluation_id).order_by("bid__submitted_at"))
    first_code, *other_codes = record["drawn"]
    user, signer = experts[first_code]
    page = people.page(user, totp_secret=user.totp_secret)
    page.goto(f"{base}/evaluation/{evaluation_id}/")
    with page.expect_download() as download:
        page.click("#declaration a:has-text('下载承诺书')")
    (tmp_path / "d.p7s").write_bytes(signer.openssl(Path(download.value.path()).read_bytes()))
    page.set_input_files("#declaration #id_signature", str(tmp_path / "d.p7s"))
    page.click("#declaration button:has-text('签署并确认参加')")
    page.wait_for_selector("text=承诺书已验签，席位已确认。")
    for code in other_codes:
        other, other_signer = experts[code]
        text = http.get(
            f"{API}/evaluations/{evaluation_id}/declaration", headers=api(other, shifted.now())
        ).content
        declared = http.post(
            f"{API}/evaluations/{evaluation_id}/declaration",
            {"signature": SimpleUploadedFile("d.p7s", other_signer.openssl(text))},
            headers=api(other, shifted.now()),
        )
        assert declared.json()["status"] == "declared", declared.content
    page.reload()
    for index, bid in enumerate(bids):
        page.fill(f"#bid-{bid.pk} input[name=score-tech]", SCORES[index][0])
        page.fill(f"#bid-{bid.pk} input[name=score-biz]", SCORES[index][1])
        page.click(f"#bid-{bid.pk} button:has-text('保存')")
        page.wait_for_selector("text=已保存。")
    page.click("#submit button")
    page.wait_for_selector("#submitted")
    for code in other_codes:
        other = experts[code][0]
        for index, bid in enumerate(bids):
            for factor, value in zip(("tech", "biz"), SCORES[index], strict=True):
                put = http.put(
                    f"{API}/evaluations/{evaluation_id}/bids/{bid.pk}/scores",
                    {"factor": factor, "value": value},
                    content_type="application/json",
                    headers=api(other, shifted.now()),
                )
                assert put.status_code == 204, put.content
        assert (
            http.post(
                f"{API}/evaluations/{evaluation_id}/submit", headers=api(other, shifted.now())
            ).status_code
            == 200
        )

    # and: the agency concludes and makes the report in the browser; every member signs the PDF with openssl
    # (the agency's page that presided over the opening hall)
    office.goto(f"{base}/evaluation/{evaluation_id}/")
    office.click("#conclude")
    office.wait_for_selector("text=评审结果已汇总。")
    office.click("#make-report")
    office.wait_for_selector("text=评标报告已生成，待评标委员会成员签名。")
    for code in record["drawn"]:
        member, member_signer = experts[code]
        report = http.get(f"{API}/evaluations/{evaluation_id}/report", headers=api(member, shifted.now()))
        pdf = report.getvalue()
        signed = http.post(
            f"{API}/evaluations/{evaluation_id}/report/signatures",
            {"signature": SimpleUploadedFile("r.p7s", member_signer.openssl(pdf))},
            headers=api(member, shifted.now()),
        )
        assert signed.status_code == 201, signed.content
    office.reload()
    office.click("#publish-candidates")
    office.wait_for_selector("text=中标候选人已公示。")
    assert office.locator("#tender-status").inner_text() == "公示中"

    # and: after the publicity the tenderee awards the first-ranked candidate and records the contract
    shifted.jump(Publicity.objects.get().ends_at + timedelta(hours=1) - shifted.now())
    owner = people.page(tenderee, totp_secret=tenderee.totp_secret)
    owner.goto(f"{base}/evaluation/{evaluation_id}/")
    owner.click("#award-form button")
    owner.wait_for_selector("text=已确定中标人，中标结果已公告。")
    winner = EvaluatedBid.objects.get(
        pk=(Evaluation.objects.get(pk=evaluation_id).results or {})["candidates"][0]
    )
    shifted.jump(timedelta(days=7))  # the contract is signed a week after the award
    contract = http.post(
        f"{API}/evaluations/{evaluation_id}/contract",
        {"document": SimpleUploadedFile("合同.pdf", b"%PDF-1.7 contract"), "amount": str(winner.price),
         "signed_on": (shifted.now() - timedelta(minutes=1)).isoformat(),
         "duration_days": str(winner.duration_days)},
        headers=api(tenderee, shifted.now()),
    )  # fmt: skip
    assert contract.status_code == 201, contract.content

    # then: the tender is contracted, the contract matches the winning bid, the draw redoes from its seed,
    # and the whole log verifies against the database and the stored files
    assert Tender.objects.get(pk=opening.tender.pk).status == "contracted"
    assert Contract.objects.get().differences == []
    # the second bid (9,120,500.50, the lowest) with the best technical score is first
    assert winner.bid_id == opening.bidders[1].bid.pk
    public = http.get(f"{API}/committees/{created['committee_id']}/draw").json()
    assert (
        draw.draw(bytes.fromhex(public["seed"]), public["eligible"], 5) == public["drawn"] == record["drawn"]
    )
    assert Member.objects.filter(committee=Committee.objects.get(), status="declared").count() == 5
    out = io.StringIO()
    call_command("ledger", "verify", stdout=out)
    assert out.getvalue().rstrip().endswith("OK: the log verifies"), out.getvalue()
    assert people.errors == []
