"""The members' confidential workspace: the rejection checklist, scores, clarifications with bidders, and the
committee's result.

* Each member works alone: its marks and scores are its own until it hands them in (``member_submit``), and
  nobody else reads them before the committee's result (``evaluation_conclude``).
* A bid is rejected (否决) when more than half of the members marked at least one ground of the checklist;
  the report lists every mark with its reason.
* A price that fires an abnormally-low trigger needs the bidder's written cost justification through the
  platform and the committee's finding on it; a justification found wanting rejects the bid (条例 art. 51(5)).
* Clarifications are asked by a member in writing and answered by the bidder in writing (条例 art. 52).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.bids.selectors import bidder_entity_ids
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, InvalidInput, NotFound
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.evaluation import committees, methods, outcome, seeds, ties
from tenderhall.evaluation.choices import (
    ClarificationKind,
    EvaluationStatus,
    MemberStatus,
    RejectionGround,
)
from tenderhall.evaluation.models import (
    BidClarification,
    Committee,
    ComplianceMark,
    EvaluatedBid,
    Evaluation,
    Member,
    Score,
)
from tenderhall.evaluation.scoring import Aggregation
from tenderhall.evaluation.selectors import access_evaluation_for_manager, access_member_at_work
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import clarifications
from tenderhall.procedures.choices import TenderStatus

MAX_TEXT = 4000


class WorkspaceClosed(Conflict):
    code = "workspace_closed"


class ScoreInvalid(InvalidInput):
    code = "score_invalid"


class NotConcludable(Conflict):
    code = "evaluation_not_concludable"


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT:
        raise InvalidInput(
            gettext("Write 1 to %(max)s characters.") % {"max": MAX_TEXT},
            details={"fields": {field: "length"}},
        )
    return value


def _open_member(actor: User, evaluation_id: int) -> Member:
    member = access_member_at_work(actor=actor, evaluation_id=evaluation_id)
    if member.committee.evaluation.status != EvaluationStatus.SCORING:
        raise WorkspaceClosed(
            gettext("The committee is not scoring now: every member must have declared first.")
        )
    if member.submitted_at is not None:
        raise WorkspaceClosed(gettext("You have handed in your evaluation; it can no longer change."))
    return member


def _bid(member: Member, bid_id: int) -> EvaluatedBid:
    bid = EvaluatedBid.objects.filter(pk=bid_id, evaluation_id=member.committee.evaluation_id).first()
    if bid is None:
        raise NotFound(gettext("No such bid."))
    return bid


def compliance_mark(
    *, actor: User, evaluation_id: int, bid_id: int, ground: str, reason: str, now: datetime
) -> ComplianceMark:
    """Mark a rejection ground for a bid, with the reason (one mark per ground; a new reason replaces)."""
    if ground not in RejectionGround.values:
        raise InvalidInput(
            gettext("Choose a ground of the checklist: %(grounds)s.")
            % {"grounds": ", ".join(RejectionGround.values)},
            details={"fields": {"ground": "choice"}},
        )
    reason = _text(reason, "reason")
    member = _open_member(actor, evaluation_id)
    bid = _bid(member, bid_id)
    with transaction.atomic():
        mark, _created = ComplianceMark.objects.update_or_create(
            member=member, bid=bid, ground=ground, defaults={"reason": reason, "marked_at": now}
        )
        audit_record(
            actor=actor,
            action="evaluation:compliance:marked",
            subject_type="evaluated_bid",
            subject_id=bid.pk,
            at=now,
            changes={"ground": [None, ground]},
        )
    return mark


def compliance_unmark(*, actor: User, evaluation_id: int, bid_id: int, ground: str, now: datetime) -> None:
    member = _open_member(actor, evaluation_id)
    bid = _bid(member, bid_id)
    with transaction.atomic():
        deleted, _ = ComplianceMark.objects.filter(member=member, bid=bid, ground=ground).delete()
        if not deleted:
            raise NotFound(gettext("No such mark."))
        audit_record(
            actor=actor,
            action="evaluation:compliance:unmarked",
            subject_type="evaluated_bid",
            subject_id=bid.pk,
            at=now,
            changes={"ground": [ground, None]},
        )


def score_set(
    *, actor: User, evaluation_id: int, bid_id: int, factor: str, value: str | Decimal, now: datetime
) -> Score:
    """A member's score on one factor of one bid (or a priced deviation, lowest-evaluated-price method)."""
    member = _open_member(actor, evaluation_id)
    bid = _bid(member, bid_id)
    config = methods.config_from_data(member.committee.evaluation.config)
    found = next((f for f in config.factors if f.code == factor), None)
    if found is None:
        raise ScoreInvalid(
            gettext("Score one of the factors %(codes)s.")
            % {"codes": ", ".join(f.code for f in config.factors)},
            details={"fields": {"factor": "choice"}},
        )
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise ScoreInvalid(
            gettext("Give the score as a number."), details={"fields": {"value": "number"}}
        ) from error
    if not number.is_finite():
        raise ScoreInvalid(gettext("Give the score as a number."), details={"fields": {"value": "number"}})
    deviation = config.method == methods.Method.LOWEST_EVALUATED_PRICE
    if not deviation and not Decimal(0) <= number <= found.full:
        raise ScoreInvalid(
            gettext("The score of %(factor)s lies between 0 and %(full)s.")
            % {"factor": factor, "full": found.full},
            details={"fields": {"value": "range"}},
        )
    if number.as_tuple().exponent < -4 or abs(number) >= Decimal(10) ** 15:  # type: ignore[operator]  # finite
        raise ScoreInvalid(gettext("Use at most four decimals."), details={"fields": {"value": "precision"}})
    with transaction.atomic():
        score, _created = Score.objects.update_or_create(
            member=member, bid=bid, factor=factor, defaults={"value": number, "scored_at": now}
        )
    return score


def member_submit(*, actor: User, evaluation_id: int, now: datetime) -> Member:
    """Hand in: every valid-looking bid must carry a score for every factor from this member."""
    member = _open_member(actor, evaluation_id)
    evaluation = member.committee.evaluation
    config = methods.config_from_data(evaluation.config)
    missing = []
    marked = set(ComplianceMark.objects.filter(member=member).values_list("bid_id", flat=True))
    have = set(Score.objects.filter(member=member).values_list("bid_id", "factor"))
    for bid in evaluation.bids.all():
        if bid.pk in marked:
            continue  # a bid this member would reject needs no score from it
        missing += [f"{bid.pk}:{f.code}" for f in config.factors if (bid.pk, f.code) not in have]
    if missing:
        raise ScoreInvalid(
            gettext("Score every factor of every bid you do not reject first (%(count)s missing).")
            % {"count": len(missing)},
            details={"missing": missing},
        )
    with transaction.atomic():
        member = Member.objects.select_for_update(of=("self",)).get(pk=member.pk)
        if member.submitted_at is not None:
            raise WorkspaceClosed(gettext("You have handed in your evaluation; it can no longer change."))
        member.submitted_at = now
        member.save(update_fields=["submitted_at"])
        audit_record(
            actor=actor,
            action="evaluation:member:submitted",
            subject_type="member",
            subject_id=member.pk,
            at=now,
            changes={"submitted_at": [None, now]},
        )
    return member


# --- clarifications ----------------------------------------------------------------------------------------


def clarification_ask(
    *, actor: User, evaluation_id: int, bid_id: int, question: str, kind: str, now: datetime
) -> BidClarification:
    if kind not in ClarificationKind.values:
        raise InvalidInput(gettext("Choose general or low_price."), details={"fields": {"kind": "choice"}})
    question = _text(question, "question")
    member = access_member_at_work(actor=actor, evaluation_id=evaluation_id)
    if member.committee.evaluation.status != EvaluationStatus.SCORING:
        raise WorkspaceClosed(gettext("The committee is not scoring now."))
    bid = _bid(member, bid_id)
    with transaction.atomic():
        clarification = BidClarification.objects.create(
            bid=bid, kind=kind, question=question, asked_by=member, asked_at=now
        )
        tender = member.committee.evaluation.lot.tender
        users = list(bid.bid.entity.role_grants.filter(role="bidder").values_list("user_id", flat=True))
        clarifications.notify(
            users,
            tender=tender,
            text=f"评标委员会就《{tender.name}》（{tender.code}）的投标文件提出澄清要求，请在平台上书面答复。",
            now=now,
        )
        audit_record(
            actor=actor,
            action="evaluation:clarification:asked",
            subject_type="evaluated_bid",
            subject_id=bid.pk,
            at=now,
            changes={"kind": [None, kind]},
        )
    return clarification


def clarification_list_for_bidder(*, actor: User) -> list[BidClarification]:
    return list(
        BidClarification.objects.filter(
            bid__entity_id__in=bidder_entity_ids(actor),
            bid__evaluation__lot__tender__status=TenderStatus.EVALUATION,
        ).select_related("bid__evaluation__lot")
    )


def clarification_answer(
    *, actor: User, clarification_id: int, answer: str, now: datetime
) -> BidClarification:
    """The bidder answers in writing, within the bid's content (the committee judges that)."""
    answer = _text(answer, "answer")
    clarification = (
        BidClarification.objects.select_related("bid__evaluation__lot__tender")
        .filter(pk=clarification_id)
        .first()
    )
    if clarification is None or clarification.bid.entity_id not in bidder_entity_ids(actor):
        raise NotFound(gettext("No such clarification."))
    with transaction.atomic():
        clarification = BidClarification.objects.select_for_update(of=("self",)).get(pk=clarification.pk)
        if clarification.answered_at is not None:
            raise Conflict(gettext("This clarification is answered already."))
        if clarification.bid.evaluation.lot.tender.status != TenderStatus.EVALUATION:
            raise WorkspaceClosed(
                gettext("The evaluation is over; the clarification can no longer be answered.")
            )
        clarification.answer = answer
        clarification.answered_by = actor
        clarification.answered_at = now
        clarification.save(update_fields=["answer", "answered_by", "answered_at"])
        audit_record(
            actor=actor,
            action="evaluation:clarification:answered",
            subject_type="clarification",
            subject_id=clarification.pk,
            at=now,
            changes={"answered_at": [None, now]},
        )
    return clarification


def clarification_decide(
    *, actor: User, evaluation_id: int, clarification_id: int, accepted: bool, now: datetime
) -> BidClarification:
    """The committee's finding on a cost justification (recorded by a member)."""
    member = access_member_at_work(actor=actor, evaluation_id=evaluation_id)
    clarification = BidClarification.objects.filter(
        pk=clarification_id,
        bid__evaluation_id=member.committee.evaluation_id,
        kind=ClarificationKind.LOW_PRICE,
    ).first()
    if clarification is None:
        raise NotFound(gettext("No such clarification."))
    if clarification.answered_at is None:
        raise Conflict(gettext("Wait for the bidder's answer before deciding."))
    with transaction.atomic():
        clarification.accepted = accepted
        clarification.save(update_fields=["accepted"])
        audit_record(
            actor=actor,
            action="evaluation:clarification:decided",
            subject_type="clarification",
            subject_id=clarification.pk,
            at=now,
            changes={"accepted": [None, accepted]},
        )
    return clarification


# --- the committee's result --------------------------------------------------------------------------------


def _rejections(evaluation: Evaluation, members: list[Member]) -> dict[int, list[dict[str, Any]]]:
    marks: dict[int, list[ComplianceMark]] = defaultdict(list)
    for mark in ComplianceMark.objects.filter(member__in=members).select_related("member__expert"):
        marks[mark.bid_id].append(mark)
    rejected: dict[int, list[dict[str, Any]]] = {}
    for bid in evaluation.bids.all():
        by = {m.member_id for m in marks[bid.pk]}
        if 2 * len(by) > len(members):
            rejected[bid.pk] = [
                {"ground": m.ground, "reason": m.reason, "member": m.member.position, "kind": m.member.kind}
                for m in sorted(marks[bid.pk], key=lambda m: (m.member_id, m.ground))
            ]
    # The abnormally-low triggers count over the bids that passed the compliance review (the triggers shown
    # when the bids were loaded, over every opened price, are an early warning).
    compliant = [bid for bid in evaluation.bids.all() if bid.pk not in rejected]
    fired = committees.low_price_triggers(evaluation, {bid.pk: bid.price for bid in compliant})
    for bid in compliant:
        if bid.low_price_triggers != fired[bid.pk]:
            bid.low_price_triggers = fired[bid.pk]
            bid.save(update_fields=["low_price_triggers"])
    for bid in compliant:
        if not bid.low_price_triggers:
            continue
        finding = bid.clarifications.filter(kind=ClarificationKind.LOW_PRICE, accepted__isnull=False).last()
        if finding is None:
            raise NotConcludable(
                gettext(
                    "The price of bid %(bid)s fires an abnormally-low trigger: ask the bidder to justify its "
                    "cost and record the committee's finding first."
                )
                % {"bid": bid.pk},
                details={"bid": bid.pk},
            )
        if not finding.accepted:
            rejected[bid.pk] = [
                {
                    "ground": RejectionGround.PRICE_OUT_OF_BOUNDS,
                    "reason": "成本说明不成立",
                    "member": 0,
                    "kind": "committee",
                }
            ]
    return rejected


def results_hash(results: dict[str, Any]) -> str:
    return "sha256:" + sha256_hex(canonical_json(results))


def evaluation_conclude(*, actor: User, evaluation_id: int, now: datetime) -> Evaluation:
    """Once every member has handed in: rejections, aggregation, outlier flags, ranking and candidates; the
    results' hash is logged (``evaluation:scores:concluded``) and the experts' draw seed revealed. A tie for
    the first place is fixed for its draw (ties.py); without one the tie-break seed is revealed unused."""
    access_evaluation_for_manager(actor=actor, evaluation_id=evaluation_id)
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update(of=("self",))
            .select_related("lot__tender", "committee")
            .get(pk=evaluation_id)
        )
        if evaluation.status != EvaluationStatus.SCORING:
            raise NotConcludable(gettext("The committee is not scoring; there is nothing to conclude."))
        members = list(
            evaluation.committee.members.filter(status=MemberStatus.DECLARED).select_related("expert")
        )
        waiting = [m.position for m in members if m.submitted_at is None]
        if waiting:
            raise NotConcludable(
                gettext("%(count)s members have not handed in their evaluation yet.")
                % {"count": len(waiting)},
                details={"waiting": len(waiting)},
            )
        rejected = _rejections(evaluation, members)
        config = methods.config_from_data(evaluation.config)
        valid = {b.pk: b.price for b in evaluation.bids.all() if b.pk not in rejected}
        scores: dict[int, dict[str, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(dict))
        for score in Score.objects.filter(member__in=members, bid_id__in=valid):
            scores[score.bid_id][score.factor][score.member_id] = score.value
        result = outcome.compute(
            config,
            prices=valid,
            scores=scores,
            aggregation=Aggregation(evaluation.config.get("aggregation", "mean")),
            trim_from=int(evaluation.config.get("trim_from", 5)),
        )
        results = {
            "method": evaluation.method,
            "benchmark": str(result.benchmark) if result.benchmark is not None else None,
            "bids": {str(k): v for k, v in result.bids.items()},
            "rejected": {str(k): v for k, v in rejected.items()},
            "ranking": result.ranking,
            "candidates": result.candidates,
        }
        evaluation.results = results
        evaluation.concluded_at = now
        evaluation.status = EvaluationStatus.CONCLUDED if result.candidates else EvaluationStatus.FAILED
        evaluation.save(update_fields=["results", "concluded_at", "status"])
        ranks = {entry["bid"]: entry["rank"] for entry in result.ranking}
        for bid in evaluation.bids.all():
            bid.rank = ranks.get(bid.pk)  # type: ignore[assignment]  # an int from the ranking
            bid.save(update_fields=["rank"])
        ledger_append(
            event_type="evaluation:scores:concluded",
            subjects={"evaluation": str(evaluation.pk), "lot": evaluation.lot.code},
            hashes={"results": results_hash(results)},
            actor=f"user:{actor.pk}",
            at=now,
            data={"candidates": len(result.candidates), "rejected": len(rejected)},
        )
        committee = Committee.objects.select_for_update(of=("self",)).get(pk=evaluation.committee.pk)
        seeds.committee_seed_reveal(committee, lot_code=evaluation.lot.code, now=now)
        ties.tie_fix(actor=actor, evaluation=evaluation, ranking=result.ranking, now=now)
        audit_record(
            actor=actor,
            action="evaluation:scores:concluded",
            subject_type="evaluation",
            subject_id=evaluation.pk,
            at=now,
            changes={"status": [EvaluationStatus.SCORING, evaluation.status]},
        )
    return evaluation
