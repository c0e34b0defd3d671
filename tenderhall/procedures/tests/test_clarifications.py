"""Questions without the asker's name, clarifications to every downloader, deadlines moved by amendments."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.models import AuditEntry
from tenderhall.procedures import services
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.clarifications import (
    QuestionForManager,
    clarification_list,
    clarification_publish,
    notification_mark_read,
    notifications_for,
    question_ask,
    question_list_for_asker,
    question_list_for_manager,
)
from tenderhall.procedures.documents import document_download
from tenderhall.procedures.models import Clarification, Notification, Question
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import (
    PUBLISH_AT,
    attach_signed_document,
    make_draft_tender,
    make_parties,
)
from tenderhall.procedures.tests.support import DEADLINE, NOW, download, leaves, make_world, state

pytestmark = pytest.mark.django_db

LATE = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, 10 days before the deadline's day
MOVED = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)  # 15 full days after 17 March, at the deadline's 09:30


# --- questions --------------------------------------------------------------------------------------------


def test_a_downloader_asks_and_the_managers_get_the_text_without_the_asker():
    # given a bidder who downloaded the documents
    world = make_world()
    download(world, world.bidder)
    # when
    question = question_ask(actor=world.bidder, tender_id=world.tender.pk, text="  工期能否延长？ ", now=NOW)
    # then the platform knows who asked ...
    assert (question.asked_by_id, question.text, question.asked_at) == (
        world.bidder.pk,
        "工期能否延长？",
        NOW,
    )
    # ... the managers see the text only ...
    listed = question_list_for_manager(actor=world.agency_user, tender_id=world.tender.pk)
    assert listed == [
        QuestionForManager(id=question.pk, text="工期能否延长？", asked_at=NOW, clarification_id=None)
    ]
    assert {f.name for f in dataclasses.fields(QuestionForManager)} == {
        "id",
        "text",
        "asked_at",
        "clarification_id",
    }
    # ... and are told a question came, not by whom
    told = Notification.objects.get(user=world.agency_user)
    assert told.text == f"《{world.tender.name}》（{world.tender.code}）收到一个新的问题，请在澄清中答复。"
    assert world.bidder.full_name not in told.text
    # and the asker finds it among their own
    assert list(question_list_for_asker(actor=world.bidder, tender_id=world.tender.pk)) == [question]
    assert list(question_list_for_asker(actor=world.other_bidder, tender_id=world.tender.pk)) == []


def test_only_those_who_downloaded_the_documents_ask():
    world = make_world()
    before = state()
    with pytest.raises(DomainError) as caught:
        question_ask(actor=world.other_bidder, tender_id=world.tender.pk, text="?", now=NOW)
    assert (caught.value.code, caught.value.status) == ("question_needs_download", 403)
    assert state() == before


def test_no_question_is_taken_from_the_deadline_on():
    world = make_world()
    download(world, world.bidder)
    question_ask(
        actor=world.bidder, tender_id=world.tender.pk, text="?", now=DEADLINE - timedelta(microseconds=1)
    )
    with pytest.raises(DomainError) as caught:
        question_ask(actor=world.bidder, tender_id=world.tender.pk, text="?", now=DEADLINE)
    assert caught.value.code == "question_closed"
    assert Question.objects.count() == 1


@pytest.mark.parametrize("who", ["bidder", "other_bidder", "other_agency", "regulator", "tenderee"])
def test_the_question_list_is_not_found_for_anyone_but_the_managers_and_the_operator(who):
    world = make_world()
    with pytest.raises(NotFound):
        question_list_for_manager(actor=world.users[who], tender_id=world.tender.pk)
    assert question_list_for_manager(actor=world.operator, tender_id=world.tender.pk) == []


# --- clarifications ---------------------------------------------------------------------------------------


def ask(world, text="请澄清第三章。", now=NOW) -> Question:
    download(world, world.bidder, now=now)
    return question_ask(actor=world.bidder, tender_id=world.tender.pk, text=text, now=now)


def test_an_early_clarification_answers_questions_reaches_each_downloader_once_and_keeps_the_deadline():
    # given two downloaders (one downloaded twice) and a question
    world = make_world()
    question = ask(world)
    download(world, world.other_bidder)
    Notification.objects.all().delete()
    # when the agency answers 25 days before the deadline, affecting bids
    clarification = clarification_publish(
        actor=world.agency_user,
        tender_id=world.tender.pk,
        text="第三章工期为180日历天。",
        affects_bids=True,
        question_ids=[question.pk],
        now=NOW,
    )
    # then the deadline stays
    assert (clarification.deadline_before, clarification.deadline_after) == (DEADLINE, DEADLINE)
    world.tender.refresh_from_db()
    assert world.tender.bid_deadline == DEADLINE
    # and the question is answered
    question.refresh_from_db()
    assert question.clarification_id == clarification.pk
    [answered] = question_list_for_asker(actor=world.bidder, tender_id=world.tender.pk)
    assert answered.clarification == clarification
    # and the amendment notice is published at once, with the data the notice module expects
    notice = clarification.notice
    assert notice is not None
    assert notice.kind == NoticeKind.AMENDMENT
    assert notice.published_at == NOW
    assert notice.data["text"] == "第三章工期为180日历天。"
    assert notice.data["deadline_before"] == notice.data["deadline_after"] == DEADLINE.isoformat()
    assert "澄清与修改：第三章工期为180日历天。" in notice.body
    # and each downloader is told exactly once
    told = sorted(Notification.objects.values_list("user_id", "text"))
    expected_text = f"《{world.tender.name}》（{world.tender.code}）发布澄清/修改：{notice.title}。"
    assert told == sorted([(world.bidder.pk, expected_text), (world.other_bidder.pk, expected_text)])
    # and the ledger and audit record it
    leaf = leaves("procedures:clarification:published")[-1]
    assert leaf["subjects"] == {"clarification": str(clarification.pk), "tender": str(world.tender.pk)}
    assert leaf["data"] == {
        "notice": notice.pk,
        "affects_bids": True,
        "deadline_before": DEADLINE.isoformat(),
        "deadline_after": DEADLINE.isoformat(),
    }
    assert leaves("procedures:notice:published")[-1]["subjects"]["notice"] == str(notice.pk)
    entry = AuditEntry.objects.get(action="procedures:clarification:published")
    assert entry.changes["notified"] == [None, 2]


def test_a_late_amendment_that_affects_bids_moves_the_deadline_and_says_so():
    # given a downloader, 10 days before the deadline (the works limit is 15)
    world = make_world()
    download(world, world.bidder)
    # when
    clarification = clarification_publish(
        actor=world.agency_user,
        tender_id=world.tender.pk,
        text="技术参数修改。",
        affects_bids=True,
        question_ids=[],
        now=LATE,
    )
    # then the deadline moves to 2 April 09:30 (the 15-day period must run in full before it)
    assert (clarification.deadline_before, clarification.deadline_after) == (DEADLINE, MOVED)
    world.tender.refresh_from_db()
    assert world.tender.bid_deadline == MOVED
    assert world.tender.next_check_at == MOVED  # bidding closes at the new deadline
    notice = clarification.notice
    assert notice is not None
    assert notice.data["deadline_after"] == MOVED.isoformat()
    assert "投标截止时间调整为：2026年04月02日 09:30" in notice.body
    assert notice.data["timeline"]["bid_deadline"] == MOVED.isoformat()
    told = Notification.objects.get(user=world.bidder)
    assert told.text.endswith("投标截止时间由 2026年03月27日 09:30 调整为 2026年04月02日 09:30。")
    assert leaves("procedures:clarification:published")[-1]["data"]["deadline_after"] == MOVED.isoformat()


def test_a_late_clarification_that_does_not_affect_bids_leaves_the_deadline():
    world = make_world()
    clarification = clarification_publish(
        actor=world.agency_user,
        tender_id=world.tender.pk,
        text="联系人电话更正。",
        affects_bids=False,
        question_ids=[],
        now=LATE,
    )
    assert clarification.deadline_after == DEADLINE
    world.tender.refresh_from_db()
    assert world.tender.bid_deadline == DEADLINE


@pytest.mark.parametrize("who", ["bidder", "other_agency", "regulator", "tenderee"])
def test_only_the_managers_publish_clarifications_and_a_refusal_changes_nothing(who):
    world = make_world()
    before = state()
    with pytest.raises(DomainError) as caught:
        clarification_publish(
            actor=world.users[who],
            tender_id=world.tender.pk,
            text="x",
            affects_bids=True,
            question_ids=[],
            now=LATE,
        )
    assert caught.value.code == "permission_denied"
    assert state() == before
    world.tender.refresh_from_db()
    assert world.tender.bid_deadline == DEADLINE


def test_a_clarification_names_only_open_questions_of_its_tender():
    world = make_world()
    question = ask(world)
    clarification_publish(
        actor=world.agency_user,
        tender_id=world.tender.pk,
        text="a",
        affects_bids=False,
        question_ids=[question.pk],
        now=NOW,
    )
    before = state()
    with pytest.raises(DomainError) as caught:
        clarification_publish(
            actor=world.agency_user,
            tender_id=world.tender.pk,
            text="b",
            affects_bids=False,
            question_ids=[question.pk, 999_999],
            now=NOW,
        )
    assert caught.value.code == "invalid_input"
    assert caught.value.details == {
        "fields": {"question_ids": "not_open"},
        "unknown": [999_999],
        "answered": [question.pk],
    }
    assert state() == before


def test_a_draft_is_edited_not_clarified_and_nothing_is_clarified_from_the_deadline_on():
    draft = make_world(status=TenderStatus.DRAFT)
    with pytest.raises(DomainError) as caught:
        clarification_publish(
            actor=draft.agency_user,
            tender_id=draft.tender.pk,
            text="x",
            affects_bids=False,
            question_ids=[],
            now=NOW,
        )
    assert caught.value.code == "clarification_closed"
    world = make_world()
    with pytest.raises(DomainError) as caught:
        clarification_publish(
            actor=world.agency_user,
            tender_id=world.tender.pk,
            text="x",
            affects_bids=False,
            question_ids=[],
            now=DEADLINE,
        )
    assert caught.value.code == "clarification_closed"
    assert not Clarification.objects.exists()


def test_clarifications_are_public_and_notifications_belong_to_their_user():
    world = make_world()
    download(world, world.bidder)
    clarification = clarification_publish(
        actor=world.agency_user,
        tender_id=world.tender.pk,
        text="x",
        affects_bids=False,
        question_ids=[],
        now=NOW,
    )
    assert list(clarification_list(viewer=None, tender_id=world.tender.pk)) == [clarification]
    [mine] = notifications_for(world.bidder)
    with pytest.raises(NotFound):
        notification_mark_read(actor=world.other_bidder, notification_id=mine.pk, now=NOW)
    assert notification_mark_read(actor=world.bidder, notification_id=mine.pk, now=NOW).read_at == NOW
    # marking again keeps the first reading
    assert notification_mark_read(actor=world.bidder, notification_id=mine.pk, now=LATE).read_at == NOW


def test_journey_through_the_procedure_services_a_late_amendment_keeps_bidding_open_past_the_old_deadline():
    # given a tender published by the procedure services, with its signed documents
    parties = make_parties()
    draft = make_draft_tender(parties)
    attach_signed_document(parties, draft, now=PUBLISH_AT)
    tender = services.tender_publish(actor=parties.agency_user, tender_id=draft.pk, now=PUBLISH_AT)
    procedures_tick(now=PUBLISH_AT)  # the documents are on issue
    tender.refresh_from_db()
    assert tender.status == TenderStatus.BIDDING
    old_deadline = tender.bid_deadline
    assert old_deadline is not None
    # and a bidder who downloads the documents and asks a question
    bidder = make_user()
    document = tender.documents.get()
    document_download(actor=bidder, document_id=document.pk, now=PUBLISH_AT, remote_addr=None)
    question = question_ask(actor=bidder, tender_id=tender.pk, text="第二章是否有误？", now=PUBLISH_AT)
    # when the agency answers with an amendment 10 days before the deadline
    late = old_deadline - timedelta(days=10)
    clarification = clarification_publish(
        actor=parties.agency_user,
        tender_id=tender.pk,
        text="第二章更正。",
        affects_bids=True,
        question_ids=[question.pk],
        now=late,
    )
    # then the deadline moved, the scheduler leaves the tender open at the old deadline, and the bidder knows
    assert clarification.deadline_after > old_deadline
    procedures_tick(now=old_deadline)
    tender.refresh_from_db()
    assert (tender.status, tender.bid_deadline, tender.next_check_at) == (
        TenderStatus.BIDDING,
        clarification.deadline_after,
        clarification.deadline_after,
    )
    [answered] = question_list_for_asker(actor=bidder, tender_id=tender.pk)
    assert answered.clarification == clarification
    assert notifications_for(bidder).count() == 1
