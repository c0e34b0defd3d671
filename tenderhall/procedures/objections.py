"""Objections (异议 / 质疑) to the tenderee and complaints (投诉) to the regulator, with their limits.

Objections
    A person acting for a market entity as bidder objects to a tender's documents, its opening or its
    evaluation result. Objections to the documents are taken until the procedure's cut-off
    (``deadlines.objection_cutoff``: 10 days before the bid deadline on the works track, 条例 art. 22;
    within 7 working days of obtaining the documents on the procurement track, 政府采购法 art. 52);
    objections to the opening only while it runs (条例 art. 44), to the result only during the publicity
    (条例 art. 54). The answer is due by ``deadlines.objection_answer_due``.

    On the works track an open objection to the documents suspends the tendering (条例 art. 22:
    "作出答复前，应当暂停招标投标活动"): the first one takes the tender to ``suspended``; the answer to the
    last one resumes it. **The bid deadline moves by the suspended time**, counted in whole calendar days
    and rounded up, at the deadline's time of day: bidders lose no preparation time to the suspension, and
    the deadline can never fall inside it. The move goes out as an amendment notice to every downloader.
    An open objection to the result suspends the works track's tender during the candidates' publicity in
    the same way (条例 art. 54), and the last answer resumes it; the award waits (no deadline moves).
    (The procurement track has no statutory suspension for a challenge; there the purchaser amends the
    documents if the answer needs it.)

Complaints
    To the regulator, within ``deadlines.complaint_deadline``: on the works track 10 days from knowing the
    grounds, not counting an objection's answer period (条例 art. 60); on the procurement track 15 working
    days after the challenge's answer period ends (政府采购法 art. 55), so a challenge must come first.
    Acceptance is due by the ``complaint_acceptance`` limit (3 working days, 条例 art. 61) or, where the
    rules have none, by the decision limit; the decision by ``complaint_decision`` (30 working days from
    acceptance, 条例 art. 61; from receipt, 政府采购法 art. 56), whichever anchor the rules name.

The transparency log is public, so the leaves of raised objections and filed complaints commit to who raised
them (a hash over the text, the entity and the person) without naming them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import clarifications, selectors, workflow
from tenderhall.procedures.calendar import calendar_load
from tenderhall.procedures.choices import ComplaintStatus, ObjectionStatus, ObjectionSubject, TenderStatus
from tenderhall.procedures.deadlines import (
    complaint_deadline,
    limit_due,
    local_date,
    objection_answer_due,
    objection_cutoff,
)
from tenderhall.procedures.models import Complaint, DocumentDownload, Objection, Tender
from tenderhall.procedures.rules import Event, ProcedureRules, Track, procedure_rules
from tenderhall.procedures.selectors import access_tender_for_viewer, can_manage_project, managed_entity_ids
from tenderhall.procedures.services import _lock_tender
from tenderhall.registry.choices import EntityStatus

# The tender statuses in which each kind of objection is taken.
SUBJECT_STATUSES = {
    ObjectionSubject.DOCUMENTS: clarifications.ON_ISSUE,
    ObjectionSubject.OPENING: frozenset({TenderStatus.OPENING}),
    ObjectionSubject.RESULT: frozenset({TenderStatus.PUBLICITY}),
}
_ONE_DAY = timedelta(days=1)


class ObjectionClosed(Conflict):
    code = "objection_closed"


class ObjectionAnswered(Conflict):
    code = "objection_answered"


class ComplaintLate(Conflict):
    code = "complaint_late"


class ComplaintNeedsObjection(InvalidInput):
    code = "complaint_needs_objection"


class ComplaintNotPending(Conflict):
    code = "complaint_not_pending"


def _text(text: str, field: str) -> str:
    text = text.strip()
    if not text or len(text) > clarifications.MAX_TEXT_LENGTH:
        raise InvalidInput(
            gettext("Write a text of 1 to %(max)s characters.") % {"max": clarifications.MAX_TEXT_LENGTH},
            details={"fields": {field: "length"}},
        )
    return text


def _require_bidder_for(actor: User, entity_id: int) -> None:
    acts = RoleGrant.objects.filter(
        user=actor, role=Role.BIDDER, entity_id=entity_id, entity__status=EntityStatus.APPROVED
    ).exists()
    if not acts:
        raise PermissionDenied(
            gettext("You do not act as bidder for this market entity, or it is not approved yet.")
        )


def commitment(record: Objection | Complaint) -> str:
    """What the public ledger holds of who raised an objection or filed a complaint: a hash over the text,
    the entity, the person and the moment, which proves them later without naming them now."""
    fields = {
        "text": record.text,
        "entity": str(record.raised_for_id),
        "user": str(record.raised_by_id),
        "at": _utc(record.raised_at).isoformat(),
    }
    return "sha256:" + sha256_hex(canonical_json(fields))


def suspends(rules: ProcedureRules) -> bool:
    """Whether an open objection to the documents or the result suspends the procedure (条例 arts. 22 and 54,
    works track)."""
    return rules.track is Track.WORKS


def _utc(moment: datetime) -> datetime:
    """A moment as the database gives it back (UTC): records made now and rebuilt later agree."""
    return moment.astimezone(UTC)


def _when(moment: datetime) -> str:
    return workflow.when(moment)


# --- objections -------------------------------------------------------------------------------------------


def _documents_cutoff(rules: ProcedureRules, tender: Tender, actor: User) -> datetime:
    assert tender.bid_deadline is not None
    known_at = None
    if rules.track is Track.PROCUREMENT:
        # 94号令 art. 11: from obtaining the documents or from the end of their issue, whichever is later.
        first = (
            DocumentDownload.objects.filter(document__tender=tender, user=actor)
            .order_by("downloaded_at")
            .values_list("downloaded_at", flat=True)
            .first()
        )
        candidates = [moment for moment in (first, tender.documents_until, tender.documents_from) if moment]
        known_at = max(candidates) if candidates else tender.bid_deadline
    return _utc(
        objection_cutoff(
            rules, bid_deadline=tender.bid_deadline, calendar=calendar_load(), grounds_known_at=known_at
        )
    )


def objection_raise(
    *, actor: User, tender_id: int, entity_id: int, subject: str, text: str, now: datetime
) -> Objection:
    """Raise an objection for ``entity_id``; one to the documents may suspend the tender (see above)."""
    text = _text(text, "text")
    if subject not in ObjectionSubject.values:
        raise InvalidInput(
            gettext("Choose what the objection is about: %(subjects)s.")
            % {"subjects": ", ".join(ObjectionSubject.values)},
            details={"fields": {"subject": "choice"}},
        )
    access_tender_for_viewer(viewer=actor, tender_id=tender_id)
    _require_bidder_for(actor, entity_id)
    with transaction.atomic():
        tender = Tender.objects.select_for_update().select_related("project").get(pk=tender_id)
        rules = procedure_rules(tender.procedure_type)
        if tender.status not in SUBJECT_STATUSES[ObjectionSubject(subject)]:
            raise ObjectionClosed(
                gettext("Objections about %(subject)s are not taken while the tender is %(status)s.")
                % {"subject": subject, "status": tender.status}
            )
        if subject == ObjectionSubject.DOCUMENTS:
            cutoff = _documents_cutoff(rules, tender, actor)
            if not clarifications.on_issue(tender, now) or now >= cutoff:
                raise ObjectionClosed(
                    gettext("Objections to the tender documents were taken until %(cutoff)s.")
                    % {"cutoff": _when(min(cutoff, tender.bid_deadline or cutoff))},
                    details={"cutoff": cutoff.isoformat()},
                )
        calendar = calendar_load()
        objection = Objection.objects.create(
            tender=tender,
            subject=subject,
            raised_by=actor,
            raised_for_id=entity_id,
            text=text,
            raised_at=now,
            answer_due_at=_utc(objection_answer_due(rules, raised_at=now, calendar=calendar)),
        )
        suspended = False
        if (
            subject in selectors.SUSPENDING_SUBJECTS
            and suspends(rules)
            and tender.status != TenderStatus.SUSPENDED
        ):
            _suspend(actor=actor, tender=tender, objection=objection, now=now)
            suspended = True
        ledger_append(
            event_type="procedures:objection:raised",
            subjects={"objection": str(objection.pk), "tender": str(tender.pk)},
            hashes={"objection": commitment(objection)},
            actor=None,
            at=now,
            data={
                "subject": subject,
                "answer_due_at": objection.answer_due_at.isoformat(),
                "suspends": suspended,
            },
        )
        audit_record(
            actor=actor,
            action="procedures:objection:raised",
            subject_type="objection",
            subject_id=objection.pk,
            at=now,
            changes={
                "tender": [None, tender.pk],
                "subject": [None, subject],
                "entity": [None, entity_id],
                "answer_due_at": [None, objection.answer_due_at],
            },
        )
        clarifications.notify(
            clarifications.manager_user_ids(tender),
            tender=tender,
            text=f"《{tender.name}》（{tender.code}）收到异议，"
            f"请于 {_when(objection.answer_due_at)} 前答复。",
            now=now,
        )
    return objection


def _record_step(
    *,
    actor: User,
    tender: Tender,
    event: str,
    before: str,
    objection: Objection,
    now: datetime,
    changes: dict[str, Any],
) -> None:
    """The ledger leaf and audit entry of a suspension or resumption an objection caused."""
    ledger_append(
        event_type=workflow.action_name(event),
        subjects={"tender": str(tender.pk)},
        hashes={},
        actor=f"user:{actor.pk}",
        at=now,
        data={"from": before, "to": tender.status, "code": tender.code, "objection": objection.pk},
    )
    audit_record(
        actor=actor,
        action=workflow.action_name(event),
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes=changes,
    )


def _suspend(*, actor: User, tender: Tender, objection: Objection, now: datetime) -> None:
    before = tender.status
    tender.status = workflow.transition(
        selectors.tender_snapshot(tender), workflow.TenderEvent.SUSPEND, now=now
    )
    tender.suspended_from = before
    tender.next_check_at = workflow.next_check_at(selectors.tender_snapshot(tender))
    tender.save(update_fields=["status", "suspended_from", "next_check_at"])
    _record_step(
        actor=actor,
        tender=tender,
        event=workflow.TenderEvent.SUSPEND,
        before=before,
        objection=objection,
        now=now,
        changes={"status": [before, tender.status], "objection": [None, objection.pk]},
    )
    about = "招标文件" if objection.subject == ObjectionSubject.DOCUMENTS else "评标结果"
    clarifications.notify(
        clarifications.downloader_ids(tender),
        tender=tender,
        text=f"《{tender.name}》（{tender.code}）因对{about}的异议暂停招标投标活动，答复后恢复。",
        now=now,
    )


def suspended_since(tender: Tender, now: datetime) -> datetime | None:
    """When the running suspension for objections began: the start of the unbroken run of open objections to
    the documents or the result (each from raised to answered) that reaches ``now``."""
    spans = sorted(
        (raised, answered or now)
        for raised, answered in Objection.objects.filter(
            tender=tender, subject__in=selectors.SUSPENDING_SUBJECTS, raised_at__lte=now
        ).values_list("raised_at", "answered_at")
    )
    start: datetime | None = None
    end: datetime | None = None
    for raised, answered in spans:
        if start is None or end is None or raised > end:
            start, end = raised, answered
        else:
            end = max(end, answered)
    return start if end is not None and end >= now else None


def deadline_after_suspension(
    bid_deadline: datetime, *, suspended_at: datetime, resumed_at: datetime
) -> datetime:
    """The bid deadline moved by the suspended time, in whole calendar days rounded up (time of day kept)."""
    days = math.ceil((resumed_at - suspended_at) / _ONE_DAY)
    return bid_deadline + days * _ONE_DAY


def objection_answer(*, actor: User, objection_id: int, answer: str, now: datetime) -> Objection:
    """Answer an objection (the tender's managers); the last open one to the documents resumes the tender."""
    answer = _text(answer, "answer")
    found = Objection.objects.filter(pk=objection_id).values_list("tender_id", flat=True).first()
    if found is None:
        raise NotFound(gettext("No such objection."))
    with transaction.atomic():
        tender = _lock_tender(actor, found)
        objection = Objection.objects.select_for_update().get(pk=objection_id)
        if objection.status != ObjectionStatus.OPEN:
            raise ObjectionAnswered(gettext("This objection has already been answered."))
        objection.status, objection.answer = ObjectionStatus.ANSWERED, answer
        objection.answered_at, objection.answered_by = now, actor
        objection.save(update_fields=["status", "answer", "answered_at", "answered_by"])
        late = now >= objection.answer_due_at
        resumed = None
        if (
            objection.subject in selectors.SUSPENDING_SUBJECTS
            and tender.status == TenderStatus.SUSPENDED
            and suspends(procedure_rules(tender.procedure_type))
            and selectors.open_suspending_objections(tender) == 0
        ):
            resumed = _resume(actor=actor, tender=tender, objection=objection, now=now)
        ledger_append(
            event_type="procedures:objection:answered",
            subjects={"objection": str(objection.pk), "tender": str(tender.pk)},
            hashes={"answer": "sha256:" + sha256_hex(answer.encode())},
            actor=f"user:{actor.pk}",
            at=now,
            data={"late": late, **(resumed or {})},
        )
        audit_record(
            actor=actor,
            action="procedures:objection:answered",
            subject_type="objection",
            subject_id=objection.pk,
            at=now,
            changes={"status": [ObjectionStatus.OPEN, ObjectionStatus.ANSWERED], "late": [None, late]},
        )
        clarifications.notify(
            [objection.raised_by_id],
            tender=tender,
            text=f"您对《{tender.name}》（{tender.code}）提出的异议已答复：{answer}",
            now=now,
        )
    return objection


def _resume(*, actor: User, tender: Tender, objection: Objection, now: datetime) -> dict[str, str]:
    before = tender.status
    since = suspended_since(tender, now) or objection.raised_at
    tender.status = workflow.transition(
        selectors.tender_snapshot(tender), workflow.TenderEvent.RESUME, now=now
    )
    tender.suspended_from = ""
    tender.next_check_at = workflow.next_check_at(selectors.tender_snapshot(tender))
    tender.save(update_fields=["status", "suspended_from", "next_check_at"])
    _record_step(
        actor=actor,
        tender=tender,
        event=workflow.TenderEvent.RESUME,
        before=before,
        objection=objection,
        now=now,
        changes={"status": [before, tender.status]},
    )
    if objection.subject != ObjectionSubject.DOCUMENTS:  # the result: no deadline to move
        return {"suspended_at": since.isoformat()}
    deadline = tender.bid_deadline
    assert deadline is not None
    moved = deadline_after_suspension(deadline, suspended_at=since, resumed_at=now)
    days = (moved - deadline).days
    clarifications.amendment_issue(
        actor=actor,
        tender=tender,
        text=(
            f"因对招标文件的异议，招标投标活动自 {_when(since)} 起暂停，于 {_when(now)} 答复后恢复；"
            f"投标截止时间相应顺延 {days} 日。"
        ),
        affects_bids=False,
        now=now,
        deadline_at_least=moved,
    )
    return {
        "suspended_at": since.isoformat(),
        "deadline_before": deadline.isoformat(),
        "deadline_after": moved.isoformat(),
    }


def objection_list_for_viewer(*, viewer: User, tender_id: int) -> QuerySet[Objection]:
    """All of a tender's objections for its managers, tenderee and supervisors; the viewer's own entities'
    objections for anyone else."""
    tender = access_tender_for_viewer(viewer=viewer, tender_id=tender_id)
    objections = (
        Objection.objects.filter(tender=tender).select_related("raised_for").order_by("raised_at", "pk")
    )
    if (
        can_manage_project(viewer, tender.project)
        or tender.project.tenderee_id in managed_entity_ids(viewer)
        or user_supervises(viewer)
    ):
        return objections
    mine = RoleGrant.objects.filter(user=viewer, role=Role.BIDDER).values_list("entity_id", flat=True)
    return objections.filter(raised_for_id__in=mine)


# --- complaints -------------------------------------------------------------------------------------------


def _complaint_anchor(
    rules: ProcedureRules,
    tender: Tender,
    entity_id: int,
    *,
    known_at: datetime | None,
    objection_id: int | None,
    now: datetime,
) -> tuple[datetime, int]:
    """The complaint limit's anchor and the calendar days it excludes (module docstring)."""
    objection = None
    if objection_id is not None:
        objection = Objection.objects.filter(pk=objection_id, tender=tender, raised_for_id=entity_id).first()
        if objection is None:
            raise InvalidInput(
                gettext("The entity raised no such objection on this tender."),
                details={"fields": {"objection_id": "unknown"}},
            )
        if objection.status == ObjectionStatus.OPEN and now < objection.answer_due_at:
            raise ComplaintNeedsObjection(
                gettext("The objection is still within its answer period, until %(due)s.")
                % {"due": _when(objection.answer_due_at)}
            )
    if rules.limit("complaint").anchor is Event.OBJECTION_ANSWER_PERIOD_ENDED:
        if objection is None:
            raise ComplaintNeedsObjection(
                gettext(
                    "On this procedure a complaint follows a challenge: name the challenge (objection_id)."
                ),
                details={"fields": {"objection_id": "required"}},
            )
        return objection.answer_due_at, 0
    if known_at is None:
        raise InvalidInput(
            gettext("Say when you knew of the grounds of the complaint."),
            details={"fields": {"known_at": "required"}},
        )
    if known_at > now:
        raise InvalidInput(
            gettext("The moment you knew of the grounds cannot be in the future."),
            details={"fields": {"known_at": "future"}},
        )
    excluded = 0
    if objection is not None:  # 条例 art. 60: the objection's answer period is not counted
        answered = objection.answered_at or objection.answer_due_at
        if objection.raised_at >= known_at:
            excluded = (local_date(answered) - local_date(objection.raised_at)).days
    return known_at, excluded


def complaint_file(
    *,
    actor: User,
    tender_id: int,
    entity_id: int,
    text: str,
    known_at: datetime | None,
    now: datetime,
    objection_id: int | None = None,
) -> Complaint:
    """File a complaint (投诉) with the regulator for ``entity_id``, within the procedure's limit."""
    text = _text(text, "text")
    access_tender_for_viewer(viewer=actor, tender_id=tender_id)
    _require_bidder_for(actor, entity_id)
    with transaction.atomic():
        tender = Tender.objects.select_for_update().select_related("project").get(pk=tender_id)
        if tender.status == TenderStatus.DRAFT:
            raise NotFound(gettext("No such tender."))
        rules = procedure_rules(tender.procedure_type)
        calendar = calendar_load()
        anchor, excluded = _complaint_anchor(
            rules, tender, entity_id, known_at=known_at, objection_id=objection_id, now=now
        )
        deadline = _utc(complaint_deadline(rules, known_at=anchor, calendar=calendar, excluded_days=excluded))
        if now >= deadline:
            raise ComplaintLate(
                gettext("Complaints on these grounds were taken until %(deadline)s.")
                % {"deadline": _when(deadline)},
                details={"deadline": deadline.isoformat()},
            )
        acceptance = rules.find_limit("complaint_acceptance") or rules.limit("complaint_decision")
        complaint = Complaint.objects.create(
            tender=tender,
            raised_by=actor,
            raised_for_id=entity_id,
            text=text,
            raised_at=now,
            accept_due_at=_utc(limit_due(acceptance, anchor_at=now, calendar=calendar)),
        )
        ledger_append(
            event_type="procedures:complaint:filed",
            subjects={"complaint": str(complaint.pk), "tender": str(tender.pk)},
            hashes={"complaint": commitment(complaint)},
            actor=None,
            at=now,
            data={"accept_due_at": complaint.accept_due_at.isoformat()},
        )
        audit_record(
            actor=actor,
            action="procedures:complaint:filed",
            subject_type="complaint",
            subject_id=complaint.pk,
            at=now,
            changes={
                "tender": [None, tender.pk],
                "entity": [None, entity_id],
                "objection": [None, objection_id],
                "deadline": [None, deadline],
            },
        )
        regulators = sorted(
            set(RoleGrant.objects.filter(role=Role.REGULATOR).values_list("user_id", flat=True))
        )
        clarifications.notify(
            regulators,
            tender=tender,
            text=f"收到关于《{tender.name}》（{tender.code}）的投诉，"
            f"请于 {_when(complaint.accept_due_at)} 前决定是否受理。",
            now=now,
        )
    return complaint


def _lock_complaint(actor: User, complaint_id: int) -> Complaint:
    if not user_has_role(actor, Role.REGULATOR):
        raise PermissionDenied(gettext("Only the supervising regulator handles complaints."))
    complaint = Complaint.objects.select_for_update().select_related("tender").filter(pk=complaint_id).first()
    if complaint is None:
        raise NotFound(gettext("No such complaint."))
    return complaint


def _complaint_done(actor: User, complaint: Complaint, *, before: str, now: datetime, action: str) -> None:
    complaint.handled_by, complaint.handled_at = actor, now
    complaint.save(update_fields=["status", "outcome", "decision_due_at", "handled_by", "handled_at"])
    if action == "decided":
        ledger_append(
            event_type="procedures:complaint:decided",
            subjects={"complaint": str(complaint.pk), "tender": str(complaint.tender_id)},
            hashes={"outcome": "sha256:" + sha256_hex(complaint.outcome.encode())},
            actor=f"user:{actor.pk}",
            at=now,
            data={"status": complaint.status},
        )
    audit_record(
        actor=actor,
        action=f"procedures:complaint:{action}",
        subject_type="complaint",
        subject_id=complaint.pk,
        at=now,
        changes={"status": [before, complaint.status], "outcome": [None, complaint.outcome or None]},
    )
    clarifications.notify(
        [complaint.raised_by_id],
        tender=complaint.tender,
        text=f"您关于《{complaint.tender.name}》（{complaint.tender.code}）的投诉：{complaint.get_status_display()}。"
        + (complaint.outcome or ""),
        now=now,
    )


def complaint_accept(*, actor: User, complaint_id: int, now: datetime) -> Complaint:
    """Accept a complaint for handling; the decision is due by the rules' ``complaint_decision`` limit."""
    with transaction.atomic():
        complaint = _lock_complaint(actor, complaint_id)
        if complaint.status != ComplaintStatus.SUBMITTED:
            raise ComplaintNotPending(gettext("This complaint has already been accepted or rejected."))
        limit = procedure_rules(complaint.tender.procedure_type).limit("complaint_decision")
        anchor = complaint.raised_at if limit.anchor is Event.COMPLAINT_RECEIVED else now
        complaint.status = ComplaintStatus.ACCEPTED
        complaint.decision_due_at = _utc(limit_due(limit, anchor_at=anchor, calendar=calendar_load()))
        _complaint_done(actor, complaint, before=ComplaintStatus.SUBMITTED, now=now, action="accepted")
    return complaint


def complaint_reject(*, actor: User, complaint_id: int, reason: str, now: datetime) -> Complaint:
    """Refuse to accept a complaint (不予受理), with the reason."""
    reason = _text(reason, "reason")
    with transaction.atomic():
        complaint = _lock_complaint(actor, complaint_id)
        if complaint.status != ComplaintStatus.SUBMITTED:
            raise ComplaintNotPending(gettext("This complaint has already been accepted or rejected."))
        complaint.status, complaint.outcome = ComplaintStatus.REJECTED, reason
        _complaint_done(actor, complaint, before=ComplaintStatus.SUBMITTED, now=now, action="decided")
    return complaint


def complaint_decide(
    *, actor: User, complaint_id: int, upheld: bool, outcome: str, now: datetime
) -> Complaint:
    """Decide an accepted complaint: upheld (投诉成立) or dismissed (驳回), with the written decision."""
    outcome = _text(outcome, "outcome")
    with transaction.atomic():
        complaint = _lock_complaint(actor, complaint_id)
        if complaint.status != ComplaintStatus.ACCEPTED:
            raise ComplaintNotPending(gettext("Only an accepted complaint can be decided."))
        complaint.status = ComplaintStatus.UPHELD if upheld else ComplaintStatus.DISMISSED
        complaint.outcome = outcome
        _complaint_done(actor, complaint, before=ComplaintStatus.ACCEPTED, now=now, action="decided")
    return complaint


def complaint_list_for_viewer(*, viewer: User) -> QuerySet[Complaint]:
    """Every complaint for regulators and operators; otherwise those the viewer filed or that concern a
    tender the viewer runs or tenders."""
    complaints = Complaint.objects.select_related("tender", "raised_for").order_by("raised_at", "pk")
    if user_supervises(viewer):
        return complaints
    entities = managed_entity_ids(viewer)
    return complaints.filter(
        Q(raised_by=viewer)
        | Q(tender__project__agency_id__in=entities)
        | Q(tender__project__tenderee_id__in=entities)
    )


def access_complaint_for_viewer(*, viewer: User, complaint_id: int) -> Complaint:
    complaint = complaint_list_for_viewer(viewer=viewer).filter(pk=complaint_id).first()
    if complaint is None:
        raise NotFound(gettext("No such complaint."))
    return complaint


# --- ledger verify ----------------------------------------------------------------------------------------

LeafSource = Callable[[dict[str, Any]], "dict[str, Any] | list[str]"]


def objection_raised_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    objection = Objection.objects.filter(pk=event["subjects"]["objection"]).first()
    if objection is None:
        return [f"objection {event['subjects']['objection']} no longer exists"]
    due = _utc(objection.answer_due_at).isoformat()
    data = {**event.get("data", {}), "subject": objection.subject, "answer_due_at": due}
    return {**event, "hashes": {"objection": commitment(objection)}, "data": data}


def objection_answered_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    objection = Objection.objects.filter(pk=event["subjects"]["objection"]).first()
    if objection is None or objection.answered_at is None:
        return [f"objection {event['subjects']['objection']} no longer exists or has no answer"]
    data = {**event.get("data", {}), "late": objection.answered_at >= objection.answer_due_at}
    return {**event, "hashes": {"answer": "sha256:" + sha256_hex(objection.answer.encode())}, "data": data}


def complaint_filed_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    complaint = Complaint.objects.filter(pk=event["subjects"]["complaint"]).first()
    if complaint is None:
        return [f"complaint {event['subjects']['complaint']} no longer exists"]
    data = {"accept_due_at": _utc(complaint.accept_due_at).isoformat()}
    return {**event, "hashes": {"complaint": commitment(complaint)}, "data": data}


def complaint_decided_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    complaint = Complaint.objects.filter(pk=event["subjects"]["complaint"]).first()
    if complaint is None:
        return [f"complaint {event['subjects']['complaint']} no longer exists"]
    hashes = {"outcome": "sha256:" + sha256_hex(complaint.outcome.encode())}
    return {**event, "hashes": hashes, "data": {"status": complaint.status}}


def leaf_sources() -> dict[str, LeafSource]:
    """The leaf sources of this module, for ``procedures.ledger_sources.register``."""
    return {
        "procedures:objection:raised": objection_raised_source,
        "procedures:objection:answered": objection_answered_source,
        "procedures:complaint:filed": complaint_filed_source,
        "procedures:complaint:decided": complaint_decided_source,
    }
