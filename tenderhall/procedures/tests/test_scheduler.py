"""The scheduler: due events fired once, in order, never for suspended tenders; twice, concurrently or after a
crash, the outcome, the ledger leaves and the audit entries are the same."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, transaction

from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.audit import audit_record
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.concurrency import postgresql_only, waiting_on_a_lock
from tenderhall.ledger.models import Leaf
from tenderhall.procedures import scheduler
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus
from tenderhall.procedures.models import Notice, Project, Tender
from tenderhall.procedures.scheduler import notices_publish_due, procedures_tick
from tenderhall.registry.tests.factories import make_entity

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)
CREATED_AT = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
DOCUMENTS_FROM = datetime(2026, 4, 21, 1, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 5, 20, 1, 30, tzinfo=UTC)
_numbers = itertools.count(1)


def make_tender(
    *,
    status: str = TenderStatus.PUBLISHED,
    suspended_from: str = "",
    documents_from: datetime = DOCUMENTS_FROM,
    bid_deadline: datetime = DEADLINE,
    next_check_at: datetime | None = None,
    user: User | None = None,
) -> Tender:
    """A tender row as the services leave it (made with the ORM, so these tests need no service)."""
    n = next(_numbers)
    user = user or make_user()
    project = Project.objects.create(
        code=f"E4201002026{n:06d}",
        name=f"测试工程{n}",
        sector=Sector.WORKS,
        region_code="420100",
        tenderee=make_entity(),
        budget=Decimal(1_000_000),
        registered_by=user,
        registered_at=CREATED_AT,
    )
    if next_check_at is None:
        timed: dict[str, datetime] = {
            TenderStatus.PUBLISHED: documents_from,
            TenderStatus.BIDDING: bid_deadline,
        }
        next_check_at = timed.get(status)
    return Tender.objects.create(
        project=project,
        code=f"{project.code}001",
        name=f"测试标{n}",
        procedure_type="works_open",
        status=status,
        suspended_from=suspended_from,
        notice_publish_at=documents_from - timedelta(days=1),
        documents_from=documents_from,
        documents_until=documents_from + timedelta(days=10),
        bid_deadline=bid_deadline,
        next_check_at=next_check_at,
        created_by=user,
        created_at=CREATED_AT,
    )


def make_notice(tender: Tender, *, publish_at: datetime, content_hash: str = "sha256:" + "ab" * 32) -> Notice:
    return Notice.objects.create(
        tender=tender,
        kind=NoticeKind.TENDER,
        title=f"{tender.name}招标公告",
        body="正文",
        region_code="420100",
        sector=Sector.WORKS,
        procedure_type=tender.procedure_type,
        publish_at=publish_at,
        content_hash=content_hash,
        created_by=tender.created_by,
        created_at=CREATED_AT,
    )


def state(tender: Tender) -> tuple[str, str, datetime | None]:
    tender.refresh_from_db()
    return tender.status, tender.suspended_from, tender.next_check_at


def leaves() -> list[dict[str, object]]:
    return [json.loads(bytes(leaf.data)) for leaf in Leaf.objects.order_by("index")]


def audit(action_prefix: str = "procedures:") -> list[tuple[str, str, str, dict[str, object]]]:
    entries = AuditEntry.objects.filter(action__startswith=action_prefix).order_by("id")
    return [(e.action, e.subject_type, e.subject_id, e.changes) for e in entries]


# --- timed events -------------------------------------------------------------------------------------------


def test_documents_open_when_their_moment_comes_with_one_leaf_and_one_audit_entry():
    # given
    tender = make_tender()
    # when
    changes = procedures_tick(now=DOCUMENTS_FROM)
    # then
    assert changes == 1
    assert state(tender) == (TenderStatus.BIDDING, "", DEADLINE)
    assert leaves() == [
        {
            "type": "procedures:tender:documents_opened",
            "at": "2026-04-21T01:00:00.000000+00:00",
            "subjects": {"tender": str(tender.pk)},
            "hashes": {},
            "actor": "system:scheduler",
            "data": {"from": "published", "to": "bidding", "code": tender.code},
        }
    ]
    assert Leaf.objects.get().record_key == f"tender:{tender.pk}"
    entry = AuditEntry.objects.get(action="procedures:tender:documents_opened")
    assert (entry.actor_id, entry.channel, entry.subject_type, entry.subject_id) == (
        None,
        "system",
        "tender",
        str(tender.pk),
    )
    assert (entry.at, entry.changes) == (DOCUMENTS_FROM, {"status": ["published", "bidding"]})


def test_bidding_closes_exactly_at_the_deadline_and_without_bids_the_tender_fails_with_its_notice():
    # given
    tender = make_tender(status=TenderStatus.BIDDING)
    # when
    early = procedures_tick(now=DEADLINE - US)
    # then
    assert early == 0
    assert state(tender) == (TenderStatus.BIDDING, "", DEADLINE)
    # when
    on_time = procedures_tick(now=DEADLINE)
    # then: no bids, fewer than the 3 of works_open: no opening (流标)
    assert on_time == 2
    assert state(tender) == (TenderStatus.FAILED, "", None)
    assert [leaf["type"] for leaf in leaves()] == [
        "procedures:tender:bidding_closed",
        "procedures:tender:failed",
        "procedures:notice:published",
    ]
    assert audit("procedures:tender:") == [
        (
            "procedures:tender:bidding_closed",
            "tender",
            str(tender.pk),
            {"status": ["bidding", "bidding_closed"]},
        ),
        ("procedures:tender:failed", "tender", str(tender.pk), {"status": ["bidding_closed", "failed"]}),
    ]
    notice = Notice.objects.get(tender=tender)
    assert (notice.kind, notice.published_at, notice.data["bid_count"], notice.data["minimum_bids"]) == (
        NoticeKind.FAILED,
        DEADLINE,
        0,
        3,
    )
    assert "依法不予开标，本次招标失败（流标）" in notice.body


def test_a_tender_that_missed_both_moments_catches_up_in_one_tick_step_by_step():
    # given: the worker was down from before the documents until after the deadline
    tender = make_tender()
    later = DEADLINE + timedelta(hours=3)
    # when
    changes = procedures_tick(now=later)
    # then
    assert changes == 3
    assert state(tender) == (TenderStatus.FAILED, "", None)
    transitions = [leaf for leaf in leaves() if leaf["type"] != "procedures:notice:published"]
    assert [(leaf["type"], leaf["data"]["to"], leaf["at"]) for leaf in transitions] == [  # type: ignore[index]
        ("procedures:tender:documents_opened", "bidding", "2026-05-20T04:30:00.000000+00:00"),
        ("procedures:tender:bidding_closed", "bidding_closed", "2026-05-20T04:30:00.000000+00:00"),
        ("procedures:tender:failed", "failed", "2026-05-20T04:30:00.000000+00:00"),
    ]
    assert [action for action, *_ in audit("procedures:tender:")] == [
        "procedures:tender:documents_opened",
        "procedures:tender:bidding_closed",
        "procedures:tender:failed",
    ]


def test_running_the_tick_twice_changes_nothing_the_second_time():
    # given
    tenders = [make_tender(), make_tender(status=TenderStatus.BIDDING)]
    first = procedures_tick(now=DEADLINE)
    after_first = [state(t) for t in tenders], leaves(), audit()
    # when
    second = procedures_tick(now=DEADLINE)
    third = procedures_tick(now=DEADLINE + timedelta(days=30))
    # then
    assert (first, second, third) == (5, 0, 0)  # 3 + 2 transitions, each tender ending failed
    assert ([state(t) for t in tenders], leaves(), audit()) == after_first
    assert Leaf.objects.count() == 7  # the 5 transitions and 2 failed-tender notices


def test_the_earliest_due_tenders_go_first_and_the_limit_holds():
    # given
    late = make_tender(documents_from=DOCUMENTS_FROM + timedelta(hours=2))
    early = make_tender(documents_from=DOCUMENTS_FROM)
    middle = make_tender(documents_from=DOCUMENTS_FROM + timedelta(hours=1))
    not_yet = make_tender(documents_from=DEADLINE - timedelta(days=1))
    now = DOCUMENTS_FROM + timedelta(hours=3)
    # when
    first = procedures_tick(now=now, limit=2)
    # then
    assert first == 2
    assert [leaf["subjects"] for leaf in leaves()] == [{"tender": str(early.pk)}, {"tender": str(middle.pk)}]
    assert state(late)[0] == TenderStatus.PUBLISHED
    # when
    second = procedures_tick(now=now, limit=2)
    # then
    assert second == 1
    assert leaves()[-1]["subjects"] == {"tender": str(late.pk)}
    assert state(not_yet)[0] == TenderStatus.PUBLISHED
    assert Leaf.objects.count() == 3


@pytest.mark.parametrize(
    ("status", "suspended_from"),
    [
        (TenderStatus.SUSPENDED, TenderStatus.BIDDING),
        (TenderStatus.SUSPENDED, TenderStatus.PUBLISHED),
        (TenderStatus.DRAFT, ""),
        (TenderStatus.CANCELLED, ""),
    ],
)
def test_a_tender_with_nothing_timed_is_not_advanced_and_leaves_the_schedule(status, suspended_from):
    # given: a stale next_check_at, as a service that forgot to clear it would leave
    tender = make_tender(status=status, suspended_from=suspended_from, next_check_at=DOCUMENTS_FROM)
    # when
    changes = procedures_tick(now=DEADLINE + timedelta(days=1))
    # then
    assert changes == 0
    assert state(tender) == (status, suspended_from, None)
    assert leaves() == []
    assert audit() == []


def test_a_stale_early_check_is_moved_to_the_real_moment_without_a_change():
    # given: checked before the deadline (say the deadline was moved by an amendment)
    tender = make_tender(status=TenderStatus.BIDDING, next_check_at=DEADLINE - timedelta(days=3))
    # when
    changes = procedures_tick(now=DEADLINE - timedelta(days=1))
    # then
    assert changes == 0
    assert state(tender) == (TenderStatus.BIDDING, "", DEADLINE)
    assert leaves() == []


# --- crashes ------------------------------------------------------------------------------------------------


def test_a_crash_inside_the_transaction_leaves_nothing_and_the_next_tick_does_the_step_once(
    monkeypatch, caplog
):
    # given: the audit write fails after the status was saved and the leaf appended
    broken, healthy = make_tender(), make_tender(documents_from=DOCUMENTS_FROM + timedelta(minutes=1))
    calls = []

    def crash(**kwargs: object) -> None:
        calls.append(kwargs["subject_id"])
        if kwargs["subject_id"] == broken.pk:
            raise ConnectionError("the database went away")
        real_audit_record(**kwargs)  # type: ignore[arg-type]

    real_audit_record = audit_record
    monkeypatch.setattr(scheduler, "audit_record", crash)
    now = DOCUMENTS_FROM + timedelta(hours=1)
    # when
    said: list[str] = []
    with caplog.at_level(logging.ERROR, logger="tenderhall.procedures.scheduler"):
        crashed = procedures_tick(now=now, say=said.append)
    # then: the broken tender rolled back whole and is not reported as done; the other one went on
    assert crashed == 1
    assert said == [f"tender {healthy.code}: published → bidding (open_documents)"]
    assert calls == [broken.pk, healthy.pk]
    assert state(broken) == (TenderStatus.PUBLISHED, "", DOCUMENTS_FROM)
    assert state(healthy)[0] == TenderStatus.BIDDING
    assert [leaf["subjects"] for leaf in leaves()] == [{"tender": str(healthy.pk)}]
    assert f"tender {broken.pk}: the scheduler could not advance it" in caplog.text
    # when: the next tick, the fault gone
    monkeypatch.setattr(scheduler, "audit_record", real_audit_record)
    recovered = procedures_tick(now=now)
    again = procedures_tick(now=now)
    # then
    assert (recovered, again) == (1, 0)
    assert state(broken) == (TenderStatus.BIDDING, "", DEADLINE)
    assert [leaf["subjects"] for leaf in leaves()] == [
        {"tender": str(healthy.pk)},
        {"tender": str(broken.pk)},
    ]
    assert [subject for _, _, subject, _ in audit()] == [str(healthy.pk), str(broken.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_crash_rolls_back_the_real_transaction_and_a_rerun_does_the_step_once(monkeypatch):
    # given: committed rows, no test transaction around the tick; the leaf append fails after the save
    tender = make_tender(status=TenderStatus.BIDDING)

    def crash(**kwargs: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(scheduler, "ledger_append", crash)
    # when
    assert procedures_tick(now=DEADLINE) == 0
    # then
    assert state(tender) == (TenderStatus.BIDDING, "", DEADLINE)
    assert audit() == []
    # when
    monkeypatch.undo()
    assert procedures_tick(now=DEADLINE) == 2
    assert procedures_tick(now=DEADLINE) == 0
    # then
    assert state(tender) == (TenderStatus.FAILED, "", None)
    assert [leaf["type"] for leaf in leaves()] == [
        "procedures:tender:bidding_closed",
        "procedures:tender:failed",
        "procedures:notice:published",
    ]
    assert len(audit("procedures:tender:")) == 2


# --- concurrency (PostgreSQL: row locks across connections) -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_tick_waits_for_the_first_holding_the_lock_and_then_finds_nothing_to_do(caplog):
    postgresql_only()
    # given
    tender = make_tender(status=TenderStatus.BIDDING)
    results: dict[str, int] = {}

    def second_tick() -> None:
        try:
            results["second"] = procedures_tick(now=DEADLINE)
        finally:
            connections.close_all()

    other = threading.Thread(target=second_tick)
    # when: the first tick holds the tender's row lock while the second one asks for it
    with transaction.atomic():
        Tender.objects.select_for_update().get(pk=tender.pk)
        other.start()
        blocked = waiting_on_a_lock()
        results["first"] = procedures_tick(now=DEADLINE)
    other.join(timeout=10)
    # then
    assert blocked, "the second tick never waited for the row lock"
    assert results == {"first": 2, "second": 0}  # closed, then failed (no bids)
    assert "could not advance" not in caplog.text  # nothing was refused: no deadlock, no error
    assert state(tender) == (TenderStatus.FAILED, "", None)
    assert [leaf["type"] for leaf in leaves()] == [
        "procedures:tender:bidding_closed",
        "procedures:tender:failed",
        "procedures:notice:published",
    ]
    assert len(audit("procedures:tender:")) == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_advance_each_tender_once():
    postgresql_only()
    # given
    tenders = [make_tender(), make_tender(), make_tender(status=TenderStatus.BIDDING)]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(procedures_tick(now=DEADLINE))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(2)]
    # when
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    # then: three steps for each published tender (documents, close, fail: no bids), two for the one in
    # bidding, however the work was shared
    assert sum(results) == 8
    assert [state(t)[0] for t in tenders] == [TenderStatus.FAILED] * 3
    assert sorted(str(leaf["type"]) for leaf in leaves()) == sorted(
        ["procedures:tender:documents_opened"] * 2
        + ["procedures:tender:bidding_closed"] * 3
        + ["procedures:tender:failed"] * 3
        + ["procedures:notice:published"] * 3
    )
    assert len(audit("procedures:tender:")) == 8


# --- notices ------------------------------------------------------------------------------------------------


def test_a_notice_is_published_at_its_time_with_its_hash_in_the_ledger_once():
    # given
    tender = make_tender()
    due = make_notice(tender, publish_at=DOCUMENTS_FROM - timedelta(days=1))
    future = make_notice(tender, publish_at=DOCUMENTS_FROM + timedelta(days=1))
    now = DOCUMENTS_FROM - timedelta(hours=1)
    # when
    published = notices_publish_due(now=now)
    again = notices_publish_due(now=now)
    # then
    assert (published, again) == (1, 0)
    due.refresh_from_db()
    future.refresh_from_db()
    assert (due.published_at, future.published_at) == (now, None)
    assert leaves() == [
        {
            "type": "procedures:notice:published",
            "at": "2026-04-21T00:00:00.000000+00:00",
            "subjects": {"notice": str(due.pk), "tender": str(tender.pk)},
            "hashes": {"notice": "sha256:" + "ab" * 32},
            "actor": "system:scheduler",
            "data": {"kind": "tender"},
        }
    ]
    assert audit() == [
        ("procedures:notice:published", "notice", str(due.pk), {"published_at": [None, now.isoformat()]})
    ]


def test_a_notice_is_published_exactly_at_publish_at_and_not_a_microsecond_before():
    # given
    notice = make_notice(make_tender(), publish_at=DOCUMENTS_FROM)
    # then
    assert notices_publish_due(now=DOCUMENTS_FROM - US) == 0
    assert notices_publish_due(now=DOCUMENTS_FROM) == 1
    notice.refresh_from_db()
    assert notice.published_at == DOCUMENTS_FROM


def test_a_published_notice_is_never_published_again():
    # given
    notice = make_notice(make_tender(), publish_at=DOCUMENTS_FROM)
    Notice.objects.filter(pk=notice.pk).update(published_at=DOCUMENTS_FROM)
    # then
    assert notices_publish_due(now=DEADLINE) == 0
    assert leaves() == []


def test_a_notice_without_a_content_hash_is_left_unpublished_and_logged(caplog):
    # given
    notice = make_notice(make_tender(), publish_at=DOCUMENTS_FROM, content_hash="")
    # when
    with caplog.at_level(logging.ERROR, logger="tenderhall.procedures.scheduler"):
        published = notices_publish_due(now=DEADLINE)
    # then
    assert published == 0
    notice.refresh_from_db()
    assert notice.published_at is None
    assert leaves() == []
    assert f"notice {notice.pk} has no content hash; it is not published" in caplog.text


def test_a_notice_whose_publication_crashed_is_published_once_on_the_next_tick(monkeypatch):
    # given
    notice = make_notice(make_tender(), publish_at=DOCUMENTS_FROM)

    def crash(**kwargs: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(scheduler, "audit_record", crash)
    # when
    crashed = notices_publish_due(now=DOCUMENTS_FROM)
    # then
    notice.refresh_from_db()
    assert (crashed, notice.published_at, leaves()) == (0, None, [])
    # when
    monkeypatch.undo()
    published, again = notices_publish_due(now=DOCUMENTS_FROM), notices_publish_due(now=DEADLINE)
    # then
    notice.refresh_from_db()
    assert (published, again, notice.published_at) == (1, 0, DOCUMENTS_FROM)
    assert [leaf["type"] for leaf in leaves()] == ["procedures:notice:published"]
    assert [action for action, *_ in audit()] == ["procedures:notice:published"]


def test_a_tick_publishes_due_notices_before_it_advances_tenders():
    # given: the notice and the documents on the same moment
    tender = make_tender()
    notice = make_notice(tender, publish_at=DOCUMENTS_FROM)
    # when
    changes = procedures_tick(now=DOCUMENTS_FROM)
    # then
    assert changes == 2
    assert [leaf["type"] for leaf in leaves()] == [
        "procedures:notice:published",
        "procedures:tender:documents_opened",
    ]
    notice.refresh_from_db()
    assert notice.published_at == DOCUMENTS_FROM


# --- the command --------------------------------------------------------------------------------------------


def test_the_tick_command_prints_each_change_then_nothing_due():
    # given: moments long past, as the command reads the clock
    tender = make_tender(
        documents_from=datetime(2025, 1, 6, 1, 0, tzinfo=UTC), bid_deadline=DEADLINE.replace(year=2099)
    )
    notice = make_notice(tender, publish_at=datetime(2025, 1, 5, 1, 0, tzinfo=UTC))
    out = StringIO()
    # when
    call_command("procedures", "tick", stdout=out)
    call_command("procedures", "tick", stdout=out)
    # then
    assert out.getvalue().splitlines() == [
        f"notice {notice.pk} (tender) published",
        f"tender {tender.code}: published → bidding (open_documents)",
        "nothing due",
    ]
