"""At the deadline a bid and the scheduler's close race for the tender's row lock, on two connections: the bid
still waiting when bidding closed is refused, and it leaves no file and no row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction

from tenderhall.bids.models import Bid
from tenderhall.bids.services import BiddingClosed
from tenderhall.bids.tests.test_services import make_scene, seal, stored_files, submit
from tenderhall.core.tests.concurrency import postgresql_only, waiting_on_a_lock
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick


@pytest.mark.django_db(transaction=True)
def test_a_bid_waiting_on_the_lock_while_bidding_closes_is_refused_and_leaves_nothing(tmp_path):
    postgresql_only()
    # given: an envelope ready one millisecond before the deadline
    scene = make_scene(tmp_path)
    deadline = scene.tender.bid_deadline
    assert deadline is not None
    envelope = seal(scene.bidder, tmp_path)
    outcome: dict[str, object] = {}

    def late_bid() -> None:
        try:
            submit(scene, envelope, now=deadline - timedelta(milliseconds=1))
            outcome["bid"] = "accepted"
        except BiddingClosed as refused:
            outcome["bid"] = refused.code
        finally:
            connections.close_all()

    bidder = threading.Thread(target=late_bid)
    # when: the scheduler holds the tender's lock to close bidding while the bid asks for it
    with transaction.atomic():
        Tender.objects.select_for_update().get(pk=scene.tender.pk)
        bidder.start()
        blocked = waiting_on_a_lock()
        assert procedures_tick(now=deadline) == 2  # bidding closed, then failed: no bid made it in
    bidder.join(timeout=20)
    # then
    assert blocked, "the bid never waited for the tender's lock"
    assert outcome == {"bid": "bidding_closed"}
    assert Tender.objects.get(pk=scene.tender.pk).status == TenderStatus.FAILED
    assert (Bid.objects.count(), stored_files()) == (0, [])
