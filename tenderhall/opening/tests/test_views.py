"""The opening hall page and its event stream: each viewer sees what the API shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from tenderhall.core import clock
from tenderhall.opening import sessions
from tenderhall.opening.tests.scene import DEADLINE, open_at_deadline

pytestmark = pytest.mark.django_db
AT_OPENING = DEADLINE + timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: AT_OPENING)


def events_once(client: Client, tender_id: int) -> str:
    response = client.get(f"/opening/tenders/{tender_id}/hall/events?once=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]  # a streaming response


def test_the_public_sees_the_lots_and_no_bid_until_the_record_then_the_record(tmp_path):
    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    sessions.content_key_submit(
        actor=bidder.user, bid_id=bidder.bid.pk, content_key=bidder.content_key(), now=AT_OPENING
    )
    public = Client()
    page = public.get(f"/opening/tenders/{opening.tender.pk}/hall/").content.decode()
    assert 'id="hall-lots"' in page
    assert 'id="hall-bids"' not in page
    assert bidder.entity.name not in page
    assert "9350000.00" not in page
    stream = events_once(public, opening.tender.pk)
    assert stream.startswith("retry: 1000\n\nevent: state\ndata: ")
    assert bidder.entity.name not in stream
    # once the record is published, the public sees it
    sessions.opening_windows_close_due(now=DEADLINE + timedelta(hours=1))
    sessions.record_publish(
        actor=opening.parties.agency_user, tender_id=opening.tender.pk, now=DEADLINE + timedelta(hours=1)
    )
    stream = events_once(public, opening.tender.pk)
    assert 'id="hall-record"' in stream
    assert "9350000.00" in stream
    assert bidder.entity.name in stream


def test_a_bidder_sees_every_bidder_live_and_gets_the_key_form_for_its_own_bid_only(tmp_path):
    opening = open_at_deadline(tmp_path)
    bidder, other = opening.bidders[0], opening.bidders[1]
    client = Client()
    client.force_login(bidder.user)
    page = client.get(f"/opening/tenders/{opening.tender.pk}/hall/").content.decode()
    assert f'id="key-form-{bidder.bid.pk}"' in page
    assert f'id="key-form-{other.bid.pk}"' not in page
    assert all(b.entity.name in page for b in opening.bidders)
    sessions.content_key_submit(
        actor=other.user, bid_id=other.bid.pk, content_key=other.content_key(), now=AT_OPENING
    )
    stream = events_once(client, opening.tender.pk)
    assert 'data-outcome="opened"' in stream
    assert "9120500.50" in stream


def test_the_manager_gets_the_record_and_fault_forms(tmp_path):
    opening = open_at_deadline(tmp_path)
    client = Client()
    client.force_login(opening.parties.agency_user)
    page = client.get(f"/opening/tenders/{opening.tender.pk}/hall/").content.decode()
    assert 'id="record-form"' in page
    assert 'id="fault-form"' in page
    assert 'id="key-form-' not in page


def test_a_tender_without_an_opening_has_no_hall():
    assert Client().get("/opening/tenders/999999/hall/").status_code == 404
    assert Client().get("/opening/tenders/999999/hall/events?once=1").status_code == 404


def test_the_tender_page_links_to_its_opening_hall_once_the_opening_has_started(tmp_path):
    from tenderhall.opening.tests.scene import make_opening

    opening = make_opening(tmp_path, bidders=0)
    page = Client().get(f"/tenders/{opening.tender.pk}/").content.decode()
    assert 'id="opening-hall-link"' not in page
    opened = open_at_deadline(tmp_path / "second")
    page = Client().get(f"/tenders/{opened.tender.pk}/").content.decode()
    assert f'href="/opening/tenders/{opened.tender.pk}/hall/" id="opening-hall-link"' in page
