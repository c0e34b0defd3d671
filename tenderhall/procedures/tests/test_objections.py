"""Objections to the documents until the cut-off, the suspension they cause and the deadline moved by it;
complaints to the regulator within their limits, accepted or rejected and decided."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tenderhall.core.errors import DomainError
from tenderhall.core.models import AuditEntry
from tenderhall.procedures.choices import (
    ComplaintStatus,
    ObjectionStatus,
    ObjectionSubject,
    Sector,
    TenderStatus,
)
from tenderhall.procedures.models import Clarification, Complaint, Notification, Objection, Tender
from tenderhall.procedures.objections import (
    complaint_accept,
    complaint_decide,
    complaint_file,
    complaint_list_for_viewer,
    complaint_reject,
    deadline_after_suspension,
    objection_answer,
    objection_list_for_viewer,
    objection_raise,
    suspended_since,
)
from tenderhall.procedures.tests.support import (
    DEADLINE,
    World,
    download,
    leaf_source_problems,
    leaves,
    make_world,
    state,
)

pytestmark = pytest.mark.django_db

RAISED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Beijing
ANSWER_DUE = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # end of Friday 6 March in Beijing: 3 days after
CUTOFF = datetime(2026, 3, 17, 16, 0, tzinfo=UTC)  # end of 17 March in Beijing, 10 days before 27 March
ANSWERED = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # Thursday 11:00 in Beijing: 2 days 1 hour suspended
PUSHED = DEADLINE + timedelta(days=3)  # the suspended time rounded up to whole days


def raise_on_documents(
    world: World, *, now=RAISED, user=None, entity=None, text="第五章评分标准排斥潜在投标人。"
):
    return objection_raise(
        actor=user or world.bidder,
        tender_id=world.tender.pk,
        entity_id=(entity or world.bidder_entity).pk,
        subject=ObjectionSubject.DOCUMENTS,
        text=text,
        now=now,
    )


# --- objections -------------------------------------------------------------------------------------------


def test_an_objection_to_the_documents_suspends_the_tender_and_falls_due_in_3_days():
    # given a tender on issue with one downloader
    world = make_world()
    download(world, world.other_bidder)
    # when a bidder objects
    objection = raise_on_documents(world)
    # then
    assert (objection.status, objection.raised_at, objection.answer_due_at) == (
        ObjectionStatus.OPEN,
        RAISED,
        ANSWER_DUE,
    )
    assert objection.raised_for_id == world.bidder_entity.pk
    world.tender.refresh_from_db()
    assert (world.tender.status, world.tender.suspended_from) == (
        TenderStatus.SUSPENDED,
        TenderStatus.BIDDING,
    )
    assert world.tender.next_check_at is None  # nothing timed happens while suspended
    # the public ledger commits to the objector without naming them
    leaf = leaves("procedures:objection:raised")[-1]
    assert "actor" not in leaf
    assert leaf["data"] == {"subject": "documents", "answer_due_at": ANSWER_DUE.isoformat(), "suspends": True}
    assert leaf["subjects"] == {"objection": str(objection.pk), "tender": str(world.tender.pk)}
    printed = json.dumps(leaf, ensure_ascii=False)
    assert world.bidder_entity.identifier not in printed
    assert world.bidder_entity.name not in printed
    assert leaves("procedures:tender:suspended")[-1]["data"]["from"] == TenderStatus.BIDDING
    # the managers are told when to answer, and the downloaders that the tender is suspended
    assert Notification.objects.get(user=world.agency_user).text.endswith("请于 2026-03-07 00:00 前答复。")
    assert "暂停" in Notification.objects.get(user=world.other_bidder).text
    assert AuditEntry.objects.filter(action="procedures:objection:raised").count() == 1


def test_objections_to_the_documents_are_taken_until_the_end_of_the_10th_day_before_the_deadline():
    world = make_world()
    raise_on_documents(world, now=CUTOFF - timedelta(microseconds=1))
    before = state()
    with pytest.raises(DomainError) as caught:
        raise_on_documents(world, now=CUTOFF)
    assert caught.value.code == "objection_closed"
    assert caught.value.details == {"cutoff": CUTOFF.isoformat()}
    assert state() == before


@pytest.mark.parametrize("who", ["other_bidder", "agency", "regulator"])
def test_only_a_person_acting_for_the_entity_as_bidder_objects_for_it(who):
    world = make_world()
    before = state()
    with pytest.raises(DomainError) as caught:
        raise_on_documents(world, user=world.users[who])
    assert caught.value.code == "permission_denied"
    assert state() == before


def test_an_objection_to_the_result_is_not_taken_while_bidding():
    world = make_world()
    with pytest.raises(DomainError) as caught:
        objection_raise(
            actor=world.bidder,
            tender_id=world.tender.pk,
            entity_id=world.bidder_entity.pk,
            subject=ObjectionSubject.RESULT,
            text="x",
            now=RAISED,
        )
    assert caught.value.code == "objection_closed"


def test_an_objection_to_the_result_suspends_the_publicity_until_answered_and_moves_no_deadline():
    # given a works tender in the candidates' publicity (set directly: the evaluation app gets it there)
    world = make_world()
    download(world, world.other_bidder)
    Tender.objects.filter(pk=world.tender.pk).update(status=TenderStatus.PUBLICITY, next_check_at=None)
    # when a bidder objects to the result
    objection = objection_raise(
        actor=world.bidder,
        tender_id=world.tender.pk,
        entity_id=world.bidder_entity.pk,
        subject=ObjectionSubject.RESULT,
        text="第二名的业绩不满足资格条件。",
        now=RAISED,
    )
    # then the tender is suspended from the publicity (条例 art. 54)
    world.tender.refresh_from_db()
    assert (world.tender.status, world.tender.suspended_from) == (TenderStatus.SUSPENDED, "publicity")
    assert "评标结果的异议暂停" in Notification.objects.get(user=world.other_bidder).text
    # when it is answered, the publicity resumes, and nothing is amended
    objection_answer(
        actor=world.agency_user, objection_id=objection.pk, answer="经核实，业绩满足要求。", now=ANSWERED
    )
    world.tender.refresh_from_db()
    assert (world.tender.status, world.tender.suspended_from, world.tender.bid_deadline) == (
        TenderStatus.PUBLICITY,
        "",
        DEADLINE,
    )
    assert not Clarification.objects.exists()
    assert len(leaves("procedures:tender:resumed")) == 1


def test_the_last_answer_resumes_the_tender_and_moves_the_deadline_by_the_suspended_days():
    # given two objections, a downloader, and the tender suspended since the first
    world = make_world()
    download(world, world.other_bidder)
    first = raise_on_documents(world)
    second = raise_on_documents(
        world, user=world.other_bidder, entity=world.other_bidder_entity, now=RAISED + timedelta(hours=5)
    )
    assert len(leaves("procedures:tender:suspended")) == 1
    # when the first is answered the tender stays suspended
    objection_answer(
        actor=world.agency_user, objection_id=first.pk, answer="评分标准符合规定。", now=ANSWERED
    )
    world.tender.refresh_from_db()
    assert world.tender.status == TenderStatus.SUSPENDED
    # when the second is answered
    answered = objection_answer(
        actor=world.agency_user,
        objection_id=second.pk,
        answer="已修改第五章。",
        now=ANSWERED + timedelta(hours=1),
    )
    # then the tender resumes where it was, with its deadline pushed back by the whole suspended days
    assert (answered.status, answered.answer, answered.answered_by_id) == (
        ObjectionStatus.ANSWERED,
        "已修改第五章。",
        world.agency_user.pk,
    )
    world.tender.refresh_from_db()
    assert (world.tender.status, world.tender.suspended_from) == (TenderStatus.BIDDING, "")
    assert world.tender.bid_deadline == PUSHED
    assert world.tender.next_check_at == PUSHED
    # and the move went out as an amendment notice to the downloaders
    clarification = Clarification.objects.get()
    assert (clarification.deadline_before, clarification.deadline_after) == (DEADLINE, PUSHED)
    assert "顺延 3 日" in clarification.text
    assert (
        Notification.objects.filter(user=world.other_bidder, text__contains="2026年03月30日 09:30").count()
        == 1
    )
    leaf = leaves("procedures:objection:answered")[-1]
    assert leaf["data"] == {
        "late": False,
        "suspended_at": RAISED.isoformat(),
        "deadline_before": DEADLINE.isoformat(),
        "deadline_after": PUSHED.isoformat(),
    }
    assert leaves("procedures:tender:resumed")[-1]["data"]["to"] == TenderStatus.BIDDING
    # and each objector heard the answer to their own objection
    assert Notification.objects.get(user=world.bidder, text__contains="异议已答复").text.endswith(
        "评分标准符合规定。"
    )


@pytest.mark.parametrize("who", ["bidder", "other_agency", "regulator", "tenderee"])
def test_only_the_managers_answer_and_a_refusal_changes_nothing(who):
    world = make_world()
    objection = raise_on_documents(world)
    before = state()
    with pytest.raises(DomainError) as caught:
        objection_answer(actor=world.users[who], objection_id=objection.pk, answer="x", now=ANSWERED)
    assert caught.value.code == "permission_denied"
    assert state() == before
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN


def test_an_objection_is_answered_once_and_a_late_answer_is_recorded_as_late():
    world = make_world()
    objection = raise_on_documents(world)
    objection_answer(actor=world.agency_user, objection_id=objection.pk, answer="x", now=ANSWER_DUE)
    assert leaves("procedures:objection:answered")[-1]["data"]["late"] is True
    with pytest.raises(DomainError) as caught:
        objection_answer(actor=world.agency_user, objection_id=objection.pk, answer="y", now=ANSWER_DUE)
    assert caught.value.code == "objection_answered"


def test_on_the_procurement_track_a_challenge_to_the_documents_does_not_suspend():
    world = make_world(procedure_type="procurement_open", sector=Sector.PROCUREMENT)
    download(world, world.bidder)
    objection = raise_on_documents(world)
    assert objection.answer_due_at == datetime(2026, 3, 12, 16, 0, tzinfo=UTC)  # 7 working days
    world.tender.refresh_from_db()
    assert world.tender.status == TenderStatus.BIDDING
    assert leaves("procedures:objection:raised")[-1]["data"]["suspends"] is False


def test_managers_see_every_objection_and_a_bidder_only_its_own():
    world = make_world()
    mine = raise_on_documents(world)
    theirs = raise_on_documents(world, user=world.other_bidder, entity=world.other_bidder_entity)
    assert list(objection_list_for_viewer(viewer=world.agency_user, tender_id=world.tender.pk)) == [
        mine,
        theirs,
    ]
    assert list(objection_list_for_viewer(viewer=world.regulator, tender_id=world.tender.pk)) == [
        mine,
        theirs,
    ]
    assert list(objection_list_for_viewer(viewer=world.bidder, tender_id=world.tender.pk)) == [mine]
    assert list(objection_list_for_viewer(viewer=world.other_agency_user, tender_id=world.tender.pk)) == []


def test_the_suspension_runs_from_the_first_of_overlapping_objections():
    world = make_world()
    first = raise_on_documents(world)
    raise_on_documents(world, now=RAISED + timedelta(days=1))
    objection_answer(
        actor=world.agency_user, objection_id=first.pk, answer="x", now=RAISED + timedelta(days=2)
    )
    assert suspended_since(world.tender, RAISED + timedelta(days=2, hours=1)) == RAISED


def test_the_deadline_moves_by_whole_days_rounded_up():
    assert deadline_after_suspension(DEADLINE, suspended_at=RAISED, resumed_at=RAISED) == DEADLINE
    assert deadline_after_suspension(
        DEADLINE, suspended_at=RAISED, resumed_at=RAISED + timedelta(seconds=1)
    ) == (DEADLINE + timedelta(days=1))
    assert deadline_after_suspension(
        DEADLINE, suspended_at=RAISED, resumed_at=RAISED + timedelta(days=2)
    ) == (DEADLINE + timedelta(days=2))


# --- complaints -------------------------------------------------------------------------------------------

FILED = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
ACCEPT_DUE = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # 3 working days: end of Monday 9 March
COMPLAINT_DEADLINE = datetime(2026, 3, 13, 16, 0, tzinfo=UTC)  # 10 days after 3 March, end of the day


def file_complaint(world: World, *, now=FILED, known_at=RAISED, user=None, objection_id=None):
    return complaint_file(
        actor=user or world.bidder,
        tender_id=world.tender.pk,
        entity_id=world.bidder_entity.pk,
        text="评标委员会组成违法。",
        known_at=known_at,
        now=now,
        objection_id=objection_id,
    )


def test_a_complaint_is_filed_with_the_regulator_and_acceptance_falls_due_in_3_working_days():
    world = make_world()
    complaint = file_complaint(world)
    assert (complaint.status, complaint.raised_at, complaint.accept_due_at) == (
        ComplaintStatus.SUBMITTED,
        FILED,
        ACCEPT_DUE,
    )
    assert complaint.decision_due_at is None
    leaf = leaves("procedures:complaint:filed")[-1]
    assert "actor" not in leaf
    assert leaf["data"] == {"accept_due_at": ACCEPT_DUE.isoformat()}
    assert Notification.objects.filter(user=world.regulator).count() == 1


def test_a_complaint_is_taken_until_the_end_of_the_10th_day_after_the_grounds_were_known():
    world = make_world()
    file_complaint(world, now=COMPLAINT_DEADLINE - timedelta(microseconds=1))
    before = state()
    with pytest.raises(DomainError) as caught:
        file_complaint(world, now=COMPLAINT_DEADLINE)
    assert caught.value.code == "complaint_late"
    assert caught.value.details == {"deadline": COMPLAINT_DEADLINE.isoformat()}
    assert state() == before


def test_an_objections_answer_period_is_not_counted_in_the_complaint_limit():
    # given an objection raised on 3 March and answered on 5 March (2 days)
    world = make_world()
    objection = raise_on_documents(world)
    objection_answer(actor=world.agency_user, objection_id=objection.pk, answer="x", now=ANSWERED)
    # when / then: 10 days + 2 = 15 March, a Sunday, rolled over to Monday 16 March
    later = datetime(2026, 3, 16, 15, 59, tzinfo=UTC)
    assert file_complaint(world, now=later, objection_id=objection.pk).raised_at == later
    with pytest.raises(DomainError) as caught:
        file_complaint(world, now=datetime(2026, 3, 16, 16, 0, tzinfo=UTC), objection_id=objection.pk)
    assert caught.value.code == "complaint_late"


def test_on_the_procurement_track_a_complaint_follows_a_challenge_and_runs_from_its_answer_period():
    world = make_world(procedure_type="procurement_open", sector=Sector.PROCUREMENT)
    with pytest.raises(DomainError) as caught:
        file_complaint(world, known_at=None)
    assert caught.value.code == "complaint_needs_objection"
    challenge = raise_on_documents(world)
    with pytest.raises(DomainError) as caught:  # the answer period has not run yet
        file_complaint(world, known_at=None, objection_id=challenge.pk)
    assert caught.value.code == "complaint_needs_objection"
    # 15 working days after 13 March: Friday 3 April, so until the end of that day
    last = datetime(2026, 4, 3, 15, 59, tzinfo=UTC)
    complaint = file_complaint(world, known_at=None, objection_id=challenge.pk, now=last)
    # no acceptance limit on this track: acceptance falls due with the decision, 30 working days
    assert complaint.accept_due_at == datetime(2026, 5, 20, 16, 0, tzinfo=UTC)


def test_the_regulator_accepts_then_decides_and_the_decision_is_a_ledger_leaf():
    world = make_world()
    complaint = file_complaint(world)
    accepted_at = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    accepted = complaint_accept(actor=world.regulator, complaint_id=complaint.pk, now=accepted_at)
    assert accepted.status == ComplaintStatus.ACCEPTED
    assert accepted.decision_due_at == datetime(
        2026, 4, 17, 16, 0, tzinfo=UTC
    )  # 30 working days after 5 March
    decided = complaint_decide(
        actor=world.regulator,
        complaint_id=complaint.pk,
        upheld=True,
        outcome="责令重新组建评标委员会。",
        now=accepted_at + timedelta(days=7),
    )
    assert (decided.status, decided.outcome, decided.handled_by_id) == (
        ComplaintStatus.UPHELD,
        "责令重新组建评标委员会。",
        world.regulator.pk,
    )
    leaf = leaves("procedures:complaint:decided")[-1]
    assert leaf["data"] == {"status": "upheld"}
    assert leaf["actor"] == f"user:{world.regulator.pk}"
    assert [e.action for e in AuditEntry.objects.filter(subject_type="complaint").order_by("pk")] == [
        "procedures:complaint:filed",
        "procedures:complaint:accepted",
        "procedures:complaint:decided",
    ]
    assert Notification.objects.filter(user=world.bidder).count() == 2


def test_a_rejected_complaint_cannot_be_decided_and_only_regulators_handle_complaints():
    world = make_world()
    complaint = file_complaint(world)
    for who in ("operator", "agency", "bidder"):
        before = state()
        with pytest.raises(DomainError) as caught:
            complaint_accept(actor=world.users[who], complaint_id=complaint.pk, now=FILED)
        assert caught.value.code == "permission_denied"
        assert state() == before
    rejected = complaint_reject(
        actor=world.regulator, complaint_id=complaint.pk, reason="超过投诉期限。", now=FILED
    )
    assert (rejected.status, rejected.outcome) == (ComplaintStatus.REJECTED, "超过投诉期限。")
    assert leaves("procedures:complaint:decided")[-1]["data"] == {"status": "rejected"}
    with pytest.raises(DomainError) as caught:
        complaint_decide(
            actor=world.regulator, complaint_id=complaint.pk, upheld=False, outcome="x", now=FILED
        )
    assert caught.value.code == "complaint_not_pending"


def test_complaints_are_seen_by_regulators_the_complainant_and_the_tenders_managers():
    world = make_world()
    complaint = file_complaint(world)
    for who, seen in [
        ("regulator", True),
        ("operator", True),
        ("bidder", True),
        ("agency", True),
        ("tenderee", True),
        ("other_bidder", False),
        ("other_agency", False),
    ]:
        assert (complaint in complaint_list_for_viewer(viewer=world.users[who])) is seen, who


# --- ledger verify ----------------------------------------------------------------------------------------


def test_the_leaf_sources_rebuild_objection_and_complaint_leaves_and_name_an_edited_row():
    # given an objection raised and answered, and a complaint filed, accepted and decided
    world = make_world()
    objection = raise_on_documents(world)
    objection_answer(actor=world.agency_user, objection_id=objection.pk, answer="答复", now=ANSWERED)
    complaint = file_complaint(world)
    complaint_accept(actor=world.regulator, complaint_id=complaint.pk, now=FILED)
    complaint_decide(
        actor=world.regulator, complaint_id=complaint.pk, upheld=False, outcome="驳回", now=FILED
    )
    assert leaf_source_problems() == []
    # when the objector, the answer and the decision are edited in the database
    Objection.objects.filter(pk=objection.pk).update(raised_for=world.other_bidder_entity, answer="另一答复")
    Complaint.objects.filter(pk=complaint.pk).update(outcome="成立")
    # then each changed leaf is named
    problems = leaf_source_problems()
    assert [p.split(") ")[0].split(" (")[1] for p in problems] == [
        "procedures:objection:raised",
        "procedures:objection:answered",
        "procedures:complaint:decided",
    ]
