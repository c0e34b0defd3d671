"""A browser journey of the opening hall with three bidders, one of whom fails to decrypt.

Three bids are opened at the deadline. The agency watches the hall; two bidders paste the content keys they
unwrapped on their own machines and the agency's page shows their prices as they come (server-sent events,
never reloaded); the third bidder pastes a wrong key and is refused, its bid stays pending until the window
ends and the worker marks it failed. The agency publishes the record, the public reads it, a bidder confirms
it. No page ever sends a private key: only hex content keys leave the bidders' browsers.

The platform's clock is shifted to a few minutes after the deadline (the test never depends on the day it
runs, and never sleeps to reach a moment: the clock jumps past the window's end).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tenderhall.core import clock
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.opening import sessions, views
from tenderhall.opening.models import OpenedBid, Outcome
from tenderhall.opening.tests.scene import DEADLINE, PRICES, Bidder, open_at_deadline
from tests.browser.test_tender_journey import ShiftedClock, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STREAM_GONE = views.STREAM_SECONDS + 5  # s: the longest a request thread of the live server may go on
LIVE = 20_000  # ms: the stream looks for changes every second; a busy machine may take a while longer
WRONG_KEY = "0" * 64


class Pages:
    """Browser contexts, one per person; every request they make is recorded with the body it sent."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.sent: list[tuple[str, str, bytes]] = []  # method, url, body
        self.errors: list[str] = []

    def new(self) -> Any:
        context = self.browser.new_context(locale="zh-CN")
        self.contexts.append(context)
        context.on("request", lambda r: self.sent.append((r.method, r.url, r.post_data_buffer or b"")))
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page


@pytest.fixture
def pages(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Pages]:
    """Closes the contexts, and waits for the live server to finish their event streams, before the
    database is emptied (a stream notices its closed connection on its next write, within seconds)."""
    ledger_selectors.clear_tile_cache()
    made = Pages(browser)
    yield made
    for context in made.contexts:
        context.close()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=STREAM_GONE)
    ledger_selectors.clear_tile_cache()


def row(page: Any, bidder: Bidder) -> Any:
    return page.locator(f'#hall-state tr.hall-bid[data-bid-token="{bidder.bid.token}"]')


def submit_action(page: Any, form: str, path_end: str) -> Any:
    """Submit one of the hall's action forms and wait for the API's answer to reach the page."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(path_end)) as answer:
        page.click(f"{form} button[type=submit]")
    return answer.value


def test_three_bidders_at_the_opening_hall_one_fails_to_decrypt_and_the_record_is_published(
    pages: Pages, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: three sealed bids, opened by the scheduler at the deadline; the clock a few minutes later
    shifted = ShiftedClock(DEADLINE + timedelta(minutes=5))
    monkeypatch.setattr(clock, "now", shifted.now)
    opening = open_at_deadline(tmp_path)
    tender, session = opening.tender, opening.session
    first, second, third = opening.bidders
    base = live_server.url
    hall = f"{base}/opening/tenders/{tender.pk}/hall/"

    new_page, sent, errors = pages.new, pages.sent, pages.errors

    # when: the agency opens the hall
    agency = new_page()
    sign_in(
        agency, base, opening.parties.agency_user.username, shifted, opening.parties.agency_user.totp_secret
    )
    agency.goto(hall)
    agency.evaluate("window.sameHallPage = true")  # gone if the page were ever reloaded

    # then: it presides (record and fault forms), sees three pending bids and the countdown running
    expect(agency.locator("#hall-view")).to_have_text("manager")
    expect(agency.locator("#record-form")).to_be_visible()
    expect(agency.locator("#fault-form")).to_be_visible()
    expect(agency.locator("#hall-state tr.hall-bid")).to_have_count(3)
    expect(agency.locator('#hall-state tr.hall-bid[data-outcome="pending"]')).to_have_count(3)
    countdown = agency.locator("#hall-countdown")
    expect(countdown).to_have_text(re.compile(r"^00:5\d:\d\d$"))  # the window is an hour from the deadline
    left = int(countdown.get_attribute("data-seconds-left") or "0")
    expected = (session.decryption_until - shifted.now()).total_seconds()
    # the page counts on the server's clock (a little behind it by the time the page took to load)
    assert expected - 60 < left < expected + 10, (left, expected)
    agency.wait_for_function(
        "left => Number(document.getElementById('hall-countdown').dataset.secondsLeft) < left",
        arg=left,
        timeout=LIVE,
    )  # it runs down on the server's clock
    for price in PRICES:
        assert price not in agency.locator("#hall-state").inner_text()

    # when: the three bidders open the hall, each with the key form of its own bid only
    bidder_pages: dict[int, Any] = {}
    for bidder in (first, second, third):
        page = new_page()
        sign_in(page, base, bidder.user.username, shifted)
        page.goto(hall)
        expect(page.locator("#hall-view")).to_have_text("bidder")
        expect(page.locator(f"#key-form-{bidder.bid.pk}")).to_be_visible()
        others = [b for b in opening.bidders if b is not bidder]
        assert all(page.locator(f"#key-form-{b.bid.pk}").count() == 0 for b in others)
        bidder_pages[bidder.bid.pk] = page
    # and: bidders 1 and 2 paste the content keys they unwrapped on their machines
    for index, bidder in enumerate((first, second)):
        page = bidder_pages[bidder.bid.pk]
        page.fill(f"#content-key-{bidder.bid.pk}", bidder.content_key().hex())
        answer = submit_action(page, f"#key-form-{bidder.bid.pk}", f"/bids/{bidder.bid.pk}/content-key")
        assert answer.status == 200, answer.text()
        expect(page.locator("#hall-status")).to_have_attribute("data-code", "ok")
        expect(row(page, bidder)).to_have_attribute("data-outcome", "opened", timeout=LIVE)

        # then: the agency's page, never reloaded, shows the bid opened with its price
        expect(row(agency, bidder)).to_have_attribute("data-outcome", "opened", timeout=LIVE)
        expect(row(agency, bidder).locator(".hall-price")).to_have_text(PRICES[index])

    # when: bidder 3 pastes a wrong key
    page3 = bidder_pages[third.bid.pk]
    page3.fill(f"#content-key-{third.bid.pk}", WRONG_KEY)
    answer = submit_action(page3, f"#key-form-{third.bid.pk}", f"/bids/{third.bid.pk}/content-key")

    # then: its page shows the refusal, and its bid stays pending (it may try again until the window ends)
    assert answer.status == 422
    assert answer.json()["code"] == "bid_unseal_failed"
    expect(page3.locator("#hall-status")).to_have_attribute("data-code", "bid_unseal_failed")
    expect(row(page3, third)).to_have_attribute("data-outcome", "pending")
    expect(row(agency, third)).to_have_attribute("data-outcome", "pending")
    expect(row(agency, third).locator(".hall-price")).to_have_text("—")
    failed_attempt = OpenedBid.objects.get(bid=third.bid)
    assert (failed_attempt.outcome, failed_attempt.attempts) == (Outcome.PENDING, 1)
    # the others' pages see the two results, and nothing of the third bid's price
    expect(row(bidder_pages[first.bid.pk], second)).to_have_attribute("data-outcome", "opened", timeout=LIVE)
    assert PRICES[2] not in agency.content()

    # when: the window ends and the worker closes it
    shifted.jump(session.decryption_until + timedelta(minutes=1) - shifted.now())
    assert sessions.opening_windows_close_due(now=shifted.now()) == 1

    # then: the agency's page shows bidder 3's failure, the two opened bids unchanged
    late = OpenedBid.objects.get(bid=third.bid)
    assert late.outcome == Outcome.REVOKED
    assert late.fault_reason
    expect(row(agency, third)).to_have_attribute("data-outcome", "revoked", timeout=LIVE)
    expect(row(agency, third).locator(".hall-outcome")).to_contain_text("解密失败：投标人原因")
    expect(row(agency, third).locator(".hall-outcome")).to_contain_text(late.fault_reason)
    expect(agency.locator('#hall-state tr.hall-bid[data-outcome="opened"]')).to_have_count(2)

    # when: the agency publishes the record
    answer = submit_action(agency, "#record-form", f"/tenders/{tender.pk}/record")
    assert answer.status == 200, answer.text()
    expect(agency.locator("#hall-status")).to_have_attribute("data-code", "ok")
    expect(agency.locator("#hall-record")).to_be_visible(timeout=LIVE)
    # everything the agency saw came over the event stream into the page it opened first
    assert agency.evaluate("window.sameHallPage") is True
    assert int(agency.locator("#hall").get_attribute("data-updates") or "0") >= 4

    # then: the public (not signed in) reads the record: two prices and bidder 3's failure, not its price
    public = new_page()
    public.goto(hall)
    expect(public.locator("#hall-view")).to_have_text("public")
    record = public.locator("#hall-record")
    expect(record).to_be_visible()
    assert public.locator("#key-form-" + str(first.bid.pk)).count() == 0
    assert public.locator("#record-form").count() == 0
    lines = record.locator("tr.record-bid")
    expect(lines).to_have_count(3)
    for index, bidder in enumerate((first, second)):
        line = lines.filter(has_text=bidder.entity.name)
        expect(line).to_contain_text(PRICES[index])
        expect(line).to_contain_text("已解密")  # the record's labels are Chinese, as it is published
    failed = lines.filter(has_text=third.entity.name)
    expect(failed).to_contain_text("投标人原因解密失败（视为撤销）")
    expect(failed).to_contain_text("—")  # no price: the failed bid was never decrypted
    expect(failed).to_contain_text(late.fault_reason)
    assert PRICES[2] not in public.content()

    # when: bidder 1 confirms the record from its page
    page1 = bidder_pages[first.bid.pk]
    expect(page1.locator("#hall-record")).to_be_visible(timeout=LIVE)
    answer = submit_action(page1, f"#confirm-form-{first.bid.pk}", f"/bids/{first.bid.pk}/confirm")

    # then: the confirmation is recorded for that bid only
    assert answer.status == 200, answer.text()
    assert answer.json()["confirmed"] is True
    expect(page1.locator("#hall-status")).to_have_attribute("data-code", "ok")
    confirmed = {o.bid_id: o.confirmed_at is not None for o in OpenedBid.objects.filter(session=session)}
    assert confirmed == {first.bid.pk: True, second.bid.pk: False, third.bid.pk: False}

    # and: no page sent a private key; the only keys that left the browsers were the hex content keys
    posts = [(url, body) for method, url, body in sent if method == "POST"]
    key_posts = [(url, body) for url, body in posts if url.endswith("/content-key")]
    assert [json.loads(body) for _url, body in key_posts] == [
        {"content_key": first.content_key().hex()},
        {"content_key": second.content_key().hex()},
        {"content_key": WRONG_KEY},
    ]
    secrets = [
        (bidder.home / f"{usage}.key.pem").read_bytes().splitlines()[1]
        for bidder in opening.bidders
        for usage in ("signing", "encryption")
    ]
    assert any(body for _method, _url, body in sent)  # the recording saw what the pages posted
    for _method, url, body in sent:
        assert b"PRIVATE KEY" not in body, url
        assert not any(secret in body for secret in secrets), url
    assert errors == []
