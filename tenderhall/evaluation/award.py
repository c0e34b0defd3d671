"""Candidates' publicity, the award, the notices, the contract and the bond refunds.

* ``candidates_publish`` — once every lot's report is signed, the agency publishes the candidates (中标候选人
  公示) for at least the statutory period (3 calendar days on the works track, 条例 art. 54) and the tender
  moves to ``publicity``. Objections to the result are raised with the procedures' objections (subject
  ``result``); while one is open the award is refused (the workflow's ``award`` guard).
* ``award_decide`` — the tenderee picks the winner of each lot among the candidates, after the publicity has
  run its course; a winner other than the first-ranked needs a written reason (条例 art. 55). The candidates
  are in award order: a tie for the first place has been drawn (ties.py) before the report was made. When
  every lot is decided the tender moves to ``awarded``, the result notice (中标结果公告) is published and
  every bidder gets its result notice (the winner its award notice).
* ``contract_record`` — the tenderee records the signed contract: its amount and duration are compared with
  the winning bid and any difference is listed; signing after the statutory period (30 days from the award)
  is flagged, not refused. When every lot has its contract the tender moves to ``contracted`` and the bid
  bonds are due back within the statutory period (5 days, 条例 art. 57).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.models import Bid
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, InvalidInput, NotFound
from tenderhall.evaluation.choices import EvaluationStatus, MemberStatus
from tenderhall.evaluation.models import (
    Award,
    BondRefund,
    Contract,
    EvaluatedBid,
    Evaluation,
    Member,
    Publicity,
)
from tenderhall.evaluation.selectors import candidates_settled, is_manager, is_tenderee, ranking_settled
from tenderhall.evaluation.transitions import tender_step
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import clarifications, notices, workflow
from tenderhall.procedures.calendar import calendar_load
from tenderhall.procedures.choices import NoticeKind, ObjectionStatus, ObjectionSubject, TenderStatus
from tenderhall.procedures.deadlines import limit_due, limit_earliest
from tenderhall.procedures.models import Objection, Tender
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.scheduler import notice_publish

DEFAULT_PUBLICITY = timedelta(days=3)
DEFAULT_CONTRACT = timedelta(days=30)
DEFAULT_REFUND = timedelta(days=5)


class AwardState(Conflict):
    code = "award_state"


class PublicityRunning(Conflict):
    code = "publicity_running"


class NotACandidate(InvalidInput):
    code = "not_a_candidate"


def _lock(tender_id: int) -> Tender:
    return (
        Tender.objects.select_for_update(of=("self",))
        .select_related("project", "project__tenderee", "project__agency")
        .get(pk=tender_id)
    )


def _evaluations(tender: Tender) -> list[Evaluation]:
    return list(
        Evaluation.objects.filter(lot__tender=tender).select_related("lot", "committee").order_by("lot__code")
    )


def _publish_notice(*, actor: User, tender: Tender, kind: str, extra: dict[str, Any], now: datetime) -> Any:
    notice = notices.notice_create(
        tender=tender, kind=kind, publish_at=now, actor=actor, now=now, extra=extra
    )
    notice_publish(notice.pk, now=now)
    return notice


def candidates_publish(*, actor: User, tender_id: int, now: datetime) -> Publicity:
    """Publish the candidates of every lot, with the committee's names (no longer secret)."""
    tender = Tender.objects.select_related("project").filter(pk=tender_id).first()
    if tender is None or not is_manager(actor, tender):
        raise NotFound(gettext("No such tender."))
    with transaction.atomic():
        tender = _lock(tender_id)
        evaluations = _evaluations(tender)
        lots = tender.lots.count()
        if len(evaluations) != lots or any(
            e.status not in (EvaluationStatus.REPORTED, EvaluationStatus.FAILED) or not hasattr(e, "report")
            for e in evaluations
        ):
            raise AwardState(
                gettext("Every lot's evaluation report must be signed before the candidates are published.")
            )
        if any(e.report.signed_at is None for e in evaluations):
            raise AwardState(gettext("Every member must sign the report first."))
        if all(e.status == EvaluationStatus.FAILED for e in evaluations):
            raise AwardState(
                gettext("No lot has a candidate: every bid was rejected; the tender fails instead.")
            )
        rules = procedure_rules(tender.procedure_type)
        limit = rules.find_limit("candidates_publicity")
        ends_at = (
            limit_earliest(limit, anchor_at=now, like=now, calendar=calendar_load())
            if limit is not None
            else now + DEFAULT_PUBLICITY
        )
        ends_at = max(ends_at, now + DEFAULT_PUBLICITY)
        extra = {
            "publicity": {"starts_at": now.isoformat(), "ends_at": ends_at.isoformat()},
            "candidates": [_lot_candidates(e) for e in evaluations],
        }
        tender_step(actor=actor, tender=tender, event=workflow.TenderEvent.PUBLISH_CANDIDATES, now=now)
        notice = _publish_notice(actor=actor, tender=tender, kind=NoticeKind.CANDIDATES, extra=extra, now=now)
        return Publicity.objects.create(tender=tender, starts_at=now, ends_at=ends_at, notice=notice)


def _lot_candidates(evaluation: Evaluation) -> dict[str, Any]:
    results = evaluation.results or {}
    bids = {b.pk: b for b in evaluation.bids.select_related("entity")}
    ranks = {e["bid"]: e for e in ranking_settled(evaluation)}
    members = Member.objects.filter(
        committee__evaluation=evaluation, status=MemberStatus.DECLARED
    ).select_related("expert", "user")
    return {
        "lot": evaluation.lot.code,
        "candidates": [
            {
                "rank": ranks[key]["rank"],
                "tied": ranks[key]["tied"],
                "drawn": ranks[key]["drawn"],
                "bidder": bids[key].entity.name,
                "identifier": bids[key].entity.public_identifier,
                "price": str(bids[key].price),
                "figure": results["bids"][str(key)]["figure"],
            }
            for key in candidates_settled(evaluation)
        ],
        "committee": [m.expert.full_name if m.expert else m.user.full_name for m in members],
        "report_sha256": evaluation.report.sha256,
    }


def open_result_objections(tender: Tender) -> int:
    return Objection.objects.filter(
        tender=tender, subject=ObjectionSubject.RESULT, status=ObjectionStatus.OPEN
    ).count()


def award_decide(*, actor: User, evaluation_id: int, bid_id: int, reason: str = "", now: datetime) -> Award:
    """The tenderee awards a lot to one of its candidates (see the module docstring)."""
    evaluation = Evaluation.objects.select_related("lot__tender__project").filter(pk=evaluation_id).first()
    if evaluation is None or not is_tenderee(actor, evaluation.lot.tender):
        raise NotFound(gettext("No such evaluation."))
    with transaction.atomic():
        tender = _lock(evaluation.lot.tender_id)
        evaluation = Evaluation.objects.select_for_update(of=("self",)).get(pk=evaluation_id)
        if tender.status != TenderStatus.PUBLICITY:
            raise AwardState(
                gettext("The award is decided after the candidates' publicity; the tender is %(status)s.")
                % {"status": tender.status}
            )
        publicity = Publicity.objects.get(tender=tender)
        if now < publicity.ends_at:
            raise PublicityRunning(
                gettext("The candidates' publicity runs until %(end)s; decide the award after it.")
                % {"end": workflow.when(publicity.ends_at)},
                details={"ends_at": publicity.ends_at.isoformat()},
            )
        objections = open_result_objections(tender)
        if objections:
            workflow.advance(
                workflow.TenderSnapshot.of(tender, open_objections=objections),
                workflow.TenderEvent.AWARD,
                now=now,
            )
        if Award.objects.filter(evaluation=evaluation).exists():
            raise AwardState(gettext("This lot is awarded already."))
        candidates = candidates_settled(evaluation)
        if bid_id not in candidates:
            raise NotACandidate(
                gettext("Award the lot to one of its candidates."),
                details={"fields": {"bid_id": "not_candidate"}},
            )
        first = candidates[0]
        reason = reason.strip()
        if bid_id != first and not reason:
            raise NotACandidate(
                gettext("Say in writing why the first-ranked candidate is not the winner (条例 art. 55)."),
                details={"fields": {"reason": "required"}},
            )
        rules = procedure_rules(tender.procedure_type)
        limit = rules.find_limit("contract")
        contract_due = (
            limit_due(limit, anchor_at=now, calendar=calendar_load())
            if limit is not None
            else now + DEFAULT_CONTRACT
        )
        award = Award.objects.create(
            evaluation=evaluation,
            winner_id=bid_id,
            reason=reason,
            decided_by=actor,
            decided_at=now,
            contract_due_at=contract_due,
        )
        winner = EvaluatedBid.objects.select_related("entity").get(pk=bid_id)
        ledger_append(
            event_type="evaluation:award:decided",
            subjects={"award": str(award.pk), "lot": evaluation.lot.code},
            hashes={},
            actor=f"user:{actor.pk}",
            at=now,
            data={
                "winner": winner.entity.public_identifier,
                "price": str(winner.price),
                "first_ranked": bid_id == first,
            },
        )
        audit_record(
            actor=actor,
            action="evaluation:award:decided",
            subject_type="evaluation",
            subject_id=evaluation.pk,
            at=now,
            changes={"winner": [None, bid_id], "reason": [None, reason]},
        )
        _notify_results(evaluation, winner, now=now)
        live = [e for e in _evaluations(tender) if e.status != EvaluationStatus.FAILED]
        if all(Award.objects.filter(evaluation=e).exists() for e in live):
            tender_step(actor=actor, tender=tender, event=workflow.TenderEvent.AWARD, now=now)
            _publish_notice(
                actor=actor,
                tender=tender,
                kind=NoticeKind.RESULT,
                extra={"awards": [_award_data(e) for e in live]},
                now=now,
            )
    return award


def _award_data(evaluation: Evaluation) -> dict[str, Any]:
    award = Award.objects.select_related("winner__entity").get(evaluation=evaluation)
    return {
        "lot": evaluation.lot.code,
        "winner": award.winner.entity.name,
        "identifier": award.winner.entity.public_identifier,
        "price": str(award.winner.price),
    }


def _notify_results(evaluation: Evaluation, winner: EvaluatedBid, *, now: datetime) -> None:
    """Every bidder's accounts get the result: the winner its award notice, the others the result notice.
    The accounts of every bidder are read at once (not per bid)."""
    tender = evaluation.lot.tender
    bids = list(evaluation.bids.all())
    accounts: dict[int, list[int]] = defaultdict(list)
    for entity_id, user_id in RoleGrant.objects.filter(
        role=Role.BIDDER, entity_id__in={bid.entity_id for bid in bids}
    ).values_list("entity_id", "user_id"):
        accounts[entity_id].append(user_id)
    won = next(bid for bid in bids if bid.pk == winner.pk)
    clarifications.notify(
        accounts[won.entity_id],
        tender=tender,
        text=(
            f"中标通知书：贵单位在《{tender.name}》（{evaluation.lot.code}）中标，"
            f"中标价 {won.price} 元，请按期签订合同。"
        ),
        now=now,
    )
    clarifications.notify(
        [user for bid in bids if bid.pk != winner.pk for user in accounts[bid.entity_id]],
        tender=tender,
        text=(
            f"中标结果通知：《{tender.name}》（{evaluation.lot.code}）的中标人为 "
            f"{winner.entity.name}，感谢参与。"
        ),
        now=now,
    )


def _contract_input(
    *, amount: Decimal, duration_days: int | None, signed_on: datetime, now: datetime, document: bytes
) -> Decimal:
    """The contract's figures checked before anything is locked; the amount in yuan and fen."""
    if not amount.is_finite() or not Decimal(0) < amount < Decimal(10) ** 18:
        raise InvalidInput(
            gettext("The contract amount must be a positive amount in yuan."),
            details={"fields": {"amount": "range"}},
        )
    if signed_on.tzinfo is None:
        raise InvalidInput(
            gettext("Give the signing time with its time zone (e.g. 2026-05-11T10:30:00+08:00)."),
            details={"fields": {"signed_on": "timezone"}},
        )
    if duration_days is not None and not 0 < duration_days < 100_000:
        raise InvalidInput(
            gettext("The duration is a number of days."), details={"fields": {"duration_days": "range"}}
        )
    amount = amount.quantize(Decimal("0.01"))
    if amount <= 0:
        raise InvalidInput(
            gettext("The contract amount must be positive."), details={"fields": {"amount": "positive"}}
        )
    if not document:
        raise InvalidInput(
            gettext("Attach the signed contract document."), details={"fields": {"document": "required"}}
        )
    if signed_on > now:
        raise InvalidInput(
            gettext("The signing date cannot be in the future."), details={"fields": {"signed_on": "future"}}
        )
    return amount


def contract_record(
    *,
    actor: User,
    evaluation_id: int,
    amount: Decimal,
    duration_days: int | None,
    signed_on: datetime,
    document: bytes,
    now: datetime,
) -> Contract:
    """The tenderee records the contract signed with the winner (see the module docstring)."""
    evaluation = Evaluation.objects.select_related("lot__tender__project").filter(pk=evaluation_id).first()
    if evaluation is None or not is_tenderee(actor, evaluation.lot.tender):
        raise NotFound(gettext("No such evaluation."))
    amount = _contract_input(
        amount=amount, duration_days=duration_days, signed_on=signed_on, now=now, document=document
    )
    with transaction.atomic():
        tender = _lock(evaluation.lot.tender_id)
        award = (
            Award.objects.select_for_update(of=("self",))
            .select_related("winner", "evaluation__lot")
            .filter(evaluation_id=evaluation_id)
            .first()
        )
        if award is None or tender.status != TenderStatus.AWARDED:
            raise AwardState(gettext("A contract is recorded after the award."))
        if signed_on < award.decided_at:
            raise InvalidInput(
                gettext("The contract cannot be signed before the award."),
                details={"fields": {"signed_on": "before_award"}},
            )
        if Contract.objects.filter(award=award).exists():
            raise AwardState(gettext("This lot's contract is recorded already."))
        winner = award.winner
        differences: list[dict[str, object]] = []
        if amount != winner.price:
            differences.append({"field": "amount", "bid": str(winner.price), "contract": str(amount)})
        if (
            duration_days is not None
            and winner.duration_days is not None
            and duration_days != winner.duration_days
        ):
            differences.append(
                {"field": "duration_days", "bid": winner.duration_days, "contract": duration_days}
            )
        contract = Contract.objects.create(
            award=award,
            amount=amount,
            duration_days=duration_days,
            signed_on=signed_on,
            sha256=hashlib.sha256(document).hexdigest(),
            late=signed_on >= award.contract_due_at,
            differences=differences,
            recorded_by=actor,
            recorded_at=now,
        )
        ledger_append(
            event_type="evaluation:contract:recorded",
            subjects={"contract": str(contract.pk), "lot": award.evaluation.lot.code},
            hashes={"document": f"sha256:{contract.sha256}"},
            actor=f"user:{actor.pk}",
            at=now,
            data={"amount": str(amount), "late": contract.late, "differences": len(differences)},
        )
        audit_record(
            actor=actor,
            action="evaluation:contract:recorded",
            subject_type="contract",
            subject_id=contract.pk,
            at=now,
            changes={"amount": [None, str(amount)], "late": [None, contract.late]},
        )
        live = [e for e in _evaluations(tender) if e.status != EvaluationStatus.FAILED]
        if all(Contract.objects.filter(award__evaluation=e).exists() for e in live):
            tender_step(actor=actor, tender=tender, event=workflow.TenderEvent.SIGN_CONTRACT, now=now)
            _bond_refunds(tender, signed_on=signed_on)
    return contract


def _bond_refunds(tender: Tender, *, signed_on: datetime) -> None:
    rules = procedure_rules(tender.procedure_type)
    limit = rules.find_limit("bond_refund")
    due = (
        limit_due(limit, anchor_at=signed_on, calendar=calendar_load())
        if limit is not None
        else signed_on + DEFAULT_REFUND
    )
    for bid in Bid.objects.filter(lot__tender=tender, status=BidStatus.SUBMITTED, bond_amount__gt=0):
        BondRefund.objects.get_or_create(bid=bid, defaults={"amount": bid.bond_amount, "due_at": due})


def bond_refund_confirm(*, actor: User, refund_id: int, now: datetime) -> BondRefund:
    """The agency (or the tenderee) confirms a bond has been paid back."""
    refund = BondRefund.objects.select_related("bid__lot__tender__project").filter(pk=refund_id).first()
    if refund is None or not (
        is_manager(actor, refund.bid.lot.tender) or is_tenderee(actor, refund.bid.lot.tender)
    ):
        raise NotFound(gettext("No such refund."))
    with transaction.atomic():
        refund = BondRefund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
        if refund.refunded_at is not None:
            raise AwardState(gettext("This bond is refunded already."))
        refund.refunded_at = now
        refund.refunded_by = actor
        refund.save(update_fields=["refunded_at", "refunded_by"])
        audit_record(
            actor=actor,
            action="evaluation:bond:refunded",
            subject_type="bond_refund",
            subject_id=refund.pk,
            at=now,
            changes={"refunded_at": [None, now], "late": [None, now >= refund.due_at]},
        )
    return refund
