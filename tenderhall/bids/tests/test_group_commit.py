"""Bids uploaded at the same moment commit together: one thread writes every bid waiting in one transaction,
each bid keeps its own outcome (a refusal in one request leaves the others), and nothing waits for ever."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from tenderhall.bids import services, uploads
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.models import Bid
from tenderhall.bids.services import BiddingClosed
from tenderhall.bids.tests.test_services import make_bidder, make_scene, seal, stored_files
from tenderhall.core.audit import current_context
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.concurrency import postgresql_only
from tenderhall.ledger.models import Leaf
from tenderhall.registry.tests.factories import make_operator


def pending(name: str) -> Any:
    return services._Pending(submission=name, envelope=None, now=None, timestamp_token=b"", context=None)  # type: ignore[arg-type]


def test_bids_arriving_while_one_commits_are_written_together_by_one_thread(monkeypatch):
    # given: a commit that holds the first bid until five more are waiting
    batches: list[list[str]] = []
    first_started, others_waiting = threading.Event(), threading.Event()

    def commit(batch: list[Any]) -> None:
        batches.append([p.submission for p in batch])
        first_started.set()
        others_waiting.wait(timeout=10)
        for p in batch:
            p.bid = f"bid of {p.submission}"

    monkeypatch.setattr(services, "_commit", commit)
    group = services._GroupCommit()
    requests = [pending(f"upload {n}") for n in range(6)]
    threads = [threading.Thread(target=group.commit, args=(p,)) for p in requests]
    # when
    threads[0].start()
    assert first_started.wait(timeout=10)
    for thread in threads[1:]:
        thread.start()
    while len(group._waiting) < 5:
        threading.Event().wait(0.01)
    others_waiting.set()
    for thread in threads:
        thread.join(timeout=10)
    # then: two transactions for six bids, each request with its own bid, and the group idle again
    assert batches == [["upload 0"], [f"upload {n}" for n in range(1, 6)]]
    assert [p.bid for p in requests] == [f"bid of upload {n}" for n in range(6)]
    assert (group._waiting, group._leading) == ([], False)


def test_a_failed_transaction_fails_its_batch_and_the_next_bids_still_commit(monkeypatch):
    calls = []

    def commit(batch: list[Any]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            error = RuntimeError("disk full")
            for p in batch:
                p.error = error
            raise error
        for p in batch:
            p.bid = "bid"

    monkeypatch.setattr(services, "_commit", commit)
    group = services._GroupCommit()
    failed, later = pending("first"), pending("second")
    with pytest.raises(RuntimeError, match="disk full"):
        group.commit(failed)
    group.commit(later)
    assert (failed.error is not None, later.bid, group._leading) == (True, "bid", False)


@pytest.mark.django_db
def test_a_bid_refused_in_a_batch_leaves_the_others_committed(tmp_path):
    # given: two accepted envelopes on their way to the rows, one of them arrived after the deadline
    scene = make_scene(tmp_path)
    other = make_bidder(make_operator(), _directory(tmp_path, "other"))
    deadline = scene.tender.bid_deadline
    assert deadline is not None
    batch = [
        _accepted(scene, scene.bidder, seal(scene.bidder, tmp_path), arrived=deadline - timedelta(seconds=1)),
        _accepted(scene, other, seal(other, _directory(tmp_path, "s")), arrived=deadline),
    ]
    # when
    services._commit(batch)
    # then: the first has its bid and its leaf; the second is refused, and only it
    on_time, late = batch
    assert (on_time.error, type(late.error), late.bid) == (None, BiddingClosed, None)
    assert on_time.bid is not None
    assert list(Bid.objects.values_list("pk", flat=True)) == [on_time.bid.pk]
    assert Leaf.objects.filter(event_type="bids:bid:submitted").count() == 1


@pytest.mark.django_db
def test_a_bid_whose_audit_entry_fails_fails_alone_and_the_others_commit(tmp_path, monkeypatch):
    # given: two bids on time; writing the second's audit entry fails (so its batch's transaction fails)
    scene = make_scene(tmp_path)
    other = make_bidder(make_operator(), _directory(tmp_path, "other"))
    assert scene.tender.bid_deadline is not None
    on_time = scene.tender.bid_deadline - timedelta(seconds=1)
    batch = [
        _accepted(scene, scene.bidder, seal(scene.bidder, tmp_path), arrived=on_time),
        _accepted(scene, other, seal(other, _directory(tmp_path, "s")), arrived=on_time),
    ]
    audit = services._audit

    def failing_for_the_other(written: list[services._Pending]) -> None:
        if any(pending.submission.entity_id == other.entity.pk for pending in written):
            raise RuntimeError("audit store refused the entry")
        audit(written)

    monkeypatch.setattr(services, "_audit", failing_for_the_other)
    # when
    services._commit_batch(batch)
    # then: the first bid, its leaf and its entry are committed; the second has its own error and nothing
    first, second = batch
    assert (first.error, str(second.error), second.bid) == (None, "audit store refused the entry", None)
    assert first.bid is not None
    assert list(Bid.objects.values_list("entity_id", flat=True)) == [scene.bidder.entity.pk]
    assert Leaf.objects.filter(event_type="bids:bid:submitted").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("replacing", [False, True])
def test_a_batch_takes_as_many_statements_for_three_bids_as_for_one(tmp_path, replacing):
    # given: one bid, then three bids of other bidders, on their way to the rows (each replacing an earlier
    # bid of its bidder, or not)
    scene = make_scene(tmp_path)
    operator = make_operator()
    bidders = [scene.bidder] + [make_bidder(operator, _directory(tmp_path, f"b{n}")) for n in range(3)]
    assert scene.tender.bid_deadline is not None
    on_time = scene.tender.bid_deadline - timedelta(seconds=1)
    envelopes = [seal(bidder, _directory(tmp_path, f"s{n}")) for n, bidder in enumerate(bidders)]
    if replacing:
        services._commit(
            [_accepted(scene, b, e, arrived=on_time) for b, e in zip(bidders, envelopes, strict=True)]
        )
    pendings = [_accepted(scene, b, e, arrived=on_time) for b, e in zip(bidders, envelopes, strict=True)]
    # when
    with CaptureQueriesContext(connection) as one:
        services._commit(pendings[:1])
    with CaptureQueriesContext(connection) as three:
        services._commit(pendings[1:])
    # then: the same statements; every bid written with its leaf and its audit entry
    assert len(three.captured_queries) == len(one.captured_queries)
    assert all(p.error is None and p.bid is not None for p in pendings)
    event = "bids:bid:replaced" if replacing else "bids:bid:submitted"
    assert Leaf.objects.filter(event_type=event).count() == 4
    assert AuditEntry.objects.filter(action=event, subject_type="bid").count() == 4
    assert Bid.objects.filter(status=BidStatus.SUPERSEDED, ended_at=on_time).count() == (
        4 if replacing else 0
    )


@pytest.mark.django_db
def test_a_bidders_second_upload_in_the_same_batch_replaces_its_first(tmp_path):
    # given: an earlier bid of the bidder, then two more uploads of it in one batch, a second apart
    scene = make_scene(tmp_path)
    assert scene.tender.bid_deadline is not None
    at = scene.tender.bid_deadline - timedelta(minutes=1)
    services._commit([_accepted(scene, scene.bidder, seal(scene.bidder, tmp_path), arrived=at)])
    earlier = Bid.objects.get()
    batch = [
        _accepted(scene, scene.bidder, seal(scene.bidder, tmp_path), arrived=at + timedelta(seconds=n))
        for n in (1, 2)
    ]
    # when
    services._commit(batch)
    # then: a chain earlier <- first <- second, each ended when the next arrived; one active bid
    first, second = (p.bid for p in batch)
    assert first is not None
    assert second is not None
    rows = {bid.pk: bid for bid in Bid.objects.all()}
    assert [(rows[b.pk].status, rows[b.pk].ended_at) for b in (earlier, first, second)] == [
        (BidStatus.SUPERSEDED, at + timedelta(seconds=1)),
        (BidStatus.SUPERSEDED, at + timedelta(seconds=2)),
        (BidStatus.SUBMITTED, None),
    ]
    assert (rows[first.pk].replaces_id, rows[second.pk].replaces_id) == (earlier.pk, first.pk)
    assert (first.receipt or {})["replaces"] == str(earlier.token)
    assert (second.receipt or {})["replaces"] == str(first.token)
    leaves = Leaf.objects.filter(event_type__startswith="bids:").order_by("index")
    assert [leaf.event_type for leaf in leaves] == [
        "bids:bid:submitted",
        "bids:bid:replaced",
        "bids:bid:replaced",
    ]


@pytest.mark.django_db(transaction=True)
def test_bids_sent_at_once_from_many_connections_all_commit_each_with_its_own_receipt(tmp_path):
    postgresql_only()
    # given: five bidders of one tender, their envelopes sealed
    scene = make_scene(tmp_path)
    operator = make_operator()
    bidders = [scene.bidder] + [make_bidder(operator, _directory(tmp_path, f"b{n}")) for n in range(4)]
    envelopes = [seal(bidder, _directory(tmp_path, f"s{n}")) for n, bidder in enumerate(bidders)]
    outcomes: dict[int, str] = {}
    start = threading.Barrier(len(bidders))

    def send(n: int) -> None:
        try:
            start.wait(timeout=10)
            bid = services.bid_submit(
                actor=bidders[n].user,
                lot_id=scene.lot.pk,
                entity_id=bidders[n].entity.pk,
                envelope=BytesIO(envelopes[n]),
                bond_amount=Decimal("150000"),
                bond_payer_account="6222020200001234567",
                now=scene.during,
            )
            outcomes[n] = bid.receipt["bidder"] if bid.receipt else "no receipt"
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(bidders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: every bid committed, each receipt naming its own bidder and bid, one leaf each
    assert outcomes == {n: bidder.entity.identifier for n, bidder in enumerate(bidders)}
    assert {(bid.receipt or {}).get("bid") for bid in Bid.objects.all()} == {
        str(bid.token) for bid in Bid.objects.all()
    }
    assert Leaf.objects.filter(event_type="bids:bid:submitted").count() == len(bidders)
    assert len(stored_files()) == len(bidders)


def _directory(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return directory


def _accepted(scene: Any, bidder: Any, envelope: bytes, *, arrived: datetime) -> services._Pending:
    """What bid_submit hands to the commit: the checked request and the stored, checked envelope."""
    submission = services._submission_check(
        actor=bidder.user,
        lot_id=scene.lot.pk,
        entity_id=bidder.entity.pk,
        bond_amount=Decimal("150000"),
        bond_payer_account="6222020200001234567",
        bond_guarantee_reference="",
        now=scene.during,
    )
    with uploads.envelope_received(BytesIO(envelope)) as received:
        return services._Pending(
            submission=submission,
            envelope=received,
            now=arrived,
            timestamp_token=b"",
            context=current_context(),
        )
