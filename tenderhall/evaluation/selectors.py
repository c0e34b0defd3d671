"""Evaluation reads and the ``access_*`` fetchers (each answers "not found" for forbidden objects too).

Who sees what:

* the tender's managers (its agency, or the tenderee tendering by itself) and operators run the evaluation:
  they see the committee as codes and statuses, never the members' scores before the result;
* a member sees its own committee's bids, and only while the tender is being evaluated, once it has
  signed its no-conflict declaration; it sees its own scores only;
* regulators see everything, read-only;
* the tenderee decides the award and records the contract;
* the public sees the draw record (commitment, eligible-list hash, drawn codes, then the seed), and the
  tie-break draw's record once the candidates are published (before, it would tell the result).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.core.errors import NotFound
from tenderhall.evaluation.choices import MemberStatus
from tenderhall.evaluation.models import (
    BondRefund,
    Committee,
    ComplianceMark,
    EvaluatedBid,
    Evaluation,
    Expert,
    Member,
    Score,
    TieDraw,
)
from tenderhall.evaluation.scoring import Ranked, settle
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Lot, Tender
from tenderhall.procedures.selectors import can_manage_project


def is_manager(user: User, tender: Tender) -> bool:
    return can_manage_project(user, tender.project) or user_has_role(user, Role.OPERATOR)


def is_tenderee(user: User, tender: Tender) -> bool:
    return RoleGrant.objects.filter(
        user=user, role=Role.TENDEREE, entity_id=tender.project.tenderee_id
    ).exists()


def evaluation_list_for_person(user: User, *, limit: int = 200) -> list[Evaluation]:
    """The evaluations the person runs or awards, newest first: those of the projects its entities manage
    (as :func:`is_manager` decides), those its entities are the tenderee of (:func:`is_tenderee`), and all of
    them for an operator. Two queries whatever their number."""
    grants = list(
        RoleGrant.objects.filter(user=user, role__in=(Role.OPERATOR, Role.TENDEREE, Role.AGENCY)).values_list(
            "role", "entity_id"
        )
    )
    evaluations = Evaluation.objects.select_related("lot__tender__project").order_by("-created_at")
    if not any(role == Role.OPERATOR for role, _entity in grants):
        managed = {entity for role, entity in grants if entity is not None}
        tenderee = {entity for role, entity in grants if role == Role.TENDEREE and entity is not None}
        project = "lot__tender__project__"
        evaluations = evaluations.filter(
            Q(**{f"{project}agency__in": managed})
            | Q(**{f"{project}agency__isnull": True, f"{project}tenderee__in": managed})
            | Q(**{f"{project}tenderee__in": tenderee})
        )
    return list(evaluations[:limit])


def access_lot_for_manager(*, actor: User, lot_id: int) -> Lot:
    lot = Lot.objects.select_related("tender", "tender__project").filter(pk=lot_id).first()
    if lot is None or not is_manager(actor, lot.tender):
        raise NotFound(gettext("No such lot."))
    return lot


def _evaluation(evaluation_id: int) -> Evaluation | None:
    return (
        Evaluation.objects.select_related("lot", "lot__tender", "lot__tender__project")
        .filter(pk=evaluation_id)
        .first()
    )


def member_of(user: User, evaluation: Evaluation) -> Member | None:
    return (
        Member.objects.select_related("expert", "committee")
        .filter(committee__evaluation=evaluation, user=user)
        .exclude(status=MemberStatus.DECLINED)
        .first()
    )


def access_evaluation_for_viewer(*, viewer: User, evaluation_id: int) -> Evaluation:
    """Managers, supervisors, the tenderee and the committee's members (declined ones not)."""
    evaluation = _evaluation(evaluation_id)
    if evaluation is None or not (
        is_manager(viewer, evaluation.lot.tender)
        or user_supervises(viewer)
        or is_tenderee(viewer, evaluation.lot.tender)
        or member_of(viewer, evaluation) is not None
    ):
        raise NotFound(gettext("No such evaluation."))
    return evaluation


def access_evaluation_for_manager(*, actor: User, evaluation_id: int) -> Evaluation:
    evaluation = _evaluation(evaluation_id)
    if evaluation is None or not is_manager(actor, evaluation.lot.tender):
        raise NotFound(gettext("No such evaluation."))
    return evaluation


def access_member_seat(*, actor: User, evaluation_id: int) -> Member:
    """The actor's own seat on the committee (invited or declared)."""
    evaluation = _evaluation(evaluation_id)
    member = member_of(actor, evaluation) if evaluation is not None else None
    if member is None:
        raise NotFound(gettext("No such evaluation."))
    return member


def access_member_at_work(*, actor: User, evaluation_id: int) -> Member:
    """The actor's declared seat, while the tender is being evaluated: what gives access to the bids."""
    member = access_member_seat(actor=actor, evaluation_id=evaluation_id)
    tender = member.committee.evaluation.lot.tender
    if member.status != MemberStatus.DECLARED or tender.status != TenderStatus.EVALUATION:
        raise NotFound(gettext("No such evaluation."))
    return member


def bid_list_for_member(member: Member) -> QuerySet[EvaluatedBid]:
    return EvaluatedBid.objects.filter(evaluation_id=member.committee.evaluation_id).select_related("entity")


def bid_list_for_member_work(member: Member) -> QuerySet[EvaluatedBid]:
    """The committee's bids as the member's workspace shows them, in a fixed number of queries whatever the
    number of bids: with the opening record, the clarifications, and in ``marks.all()`` and ``scores.all()``
    this member's own marks and scores only (never the others')."""
    return (
        bid_list_for_member(member)
        .select_related("bid__opening")
        .prefetch_related(
            Prefetch("marks", queryset=ComplianceMark.objects.filter(member=member)),
            Prefetch("scores", queryset=Score.objects.filter(member=member)),
            "clarifications",
        )
    )


def access_committee_public(*, committee_id: int) -> Committee:
    committee = Committee.objects.select_related("evaluation__lot__tender").filter(pk=committee_id).first()
    if committee is None:
        raise NotFound(gettext("No such committee."))
    return committee


def expert_list(*, viewer: User) -> QuerySet[Expert]:
    """The pool, for operators and regulators only (names are personal data)."""
    if not user_supervises(viewer):
        raise NotFound(gettext("No such list."))
    return Expert.objects.order_by("code")


def names_public(tender: Tender) -> bool:
    """Members' names stay secret until the result is published (the candidates' publicity)."""
    return tender.status in (
        TenderStatus.PUBLICITY,
        TenderStatus.AWARDED,
        TenderStatus.CONTRACTED,
        TenderStatus.CLOSED,
    ) or (tender.status == TenderStatus.SUSPENDED and tender.suspended_from == TenderStatus.PUBLICITY)


def seats(evaluation: Evaluation, *, viewer: User) -> list[Member]:
    """The committee's seats in order; the caller shows names only when :func:`names_public`."""
    committee = Committee.objects.filter(evaluation=evaluation).first()
    if committee is None:
        return []
    return list(committee.members.select_related("expert", "user").order_by("kind", "position"))


def draw_replacements(committee: Committee) -> list[dict[str, object]]:
    declined = committee.members.filter(status=MemberStatus.DECLINED, expert__isnull=False).order_by(
        "declined_at", "pk"
    )
    return [
        {"declined": m.expert.code if m.expert else None, "at": m.declined_at, "conflict": m.decline_conflict}
        for m in declined
    ]


def access_report_for_viewer(*, viewer: User, evaluation_id: int) -> Evaluation:
    """The report PDF: the committee, the tender's managers and tenderee, supervisors."""
    evaluation = access_evaluation_for_viewer(viewer=viewer, evaluation_id=evaluation_id)
    if not hasattr(evaluation, "report"):
        raise NotFound(gettext("No report yet."))
    return evaluation


def access_tender_for_award_viewer(*, viewer: User, tender_id: int) -> Tender:
    tender = Tender.objects.select_related("project").filter(pk=tender_id).first()
    if tender is None or not (
        is_manager(viewer, tender) or is_tenderee(viewer, tender) or user_supervises(viewer)
    ):
        raise NotFound(gettext("No such tender."))
    return tender


def refund_list(tender: Tender) -> QuerySet[BondRefund]:
    return (
        BondRefund.objects.filter(bid__lot__tender=tender)
        .select_related("bid__entity")
        .order_by("due_at", "pk")
    )


# --- the ranking in award order ----------------------------------------------------------------------------


def tie_draw_of(evaluation: Evaluation) -> TieDraw | None:
    return TieDraw.objects.filter(evaluation=evaluation).first()


def ranking_settled(evaluation: Evaluation, tie: TieDraw | None = None) -> list[dict[str, Any]]:
    """The committee's ranking with the tie for the first place ordered by its draw, once drawn: rows of
    ``bid``, ``rank``, ``tied`` (still 并列) and ``drawn`` (rank decided by the draw). Before the conclusion,
    empty."""
    tie = tie if tie is not None else tie_draw_of(evaluation)
    ranked = [
        Ranked(int(e["bid"]), int(e["rank"]), bool(e["tied"]))
        for e in (evaluation.results or {}).get("ranking", [])
    ]
    if tie is not None and tie.order:
        ranked = settle(ranked, [int(key) for key in tie.order])
    return [{"bid": r.key, "rank": r.rank, "tied": r.tied, "drawn": r.drawn} for r in ranked]


def candidates_settled(evaluation: Evaluation, tie: TieDraw | None = None) -> list[int]:
    """The committee's candidates in award order (the first is the first-ranked candidate)."""
    concluded = set((evaluation.results or {}).get("candidates", []))
    return [row["bid"] for row in ranking_settled(evaluation, tie) if row["bid"] in concluded]


def access_tie_draw(*, viewer: User | None, evaluation_id: int) -> TieDraw:
    """The tie-break draw's record: for those who see the evaluation, and for anyone once the candidates are
    published."""
    tie = (
        TieDraw.objects.select_related("evaluation__lot__tender__project")
        .filter(evaluation_id=evaluation_id)
        .first()
    )
    if tie is None:
        raise NotFound(gettext("No such tie draw."))
    if not names_public(tie.evaluation.lot.tender):
        if viewer is None:
            raise NotFound(gettext("No such tie draw."))
        try:
            access_evaluation_for_viewer(viewer=viewer, evaluation_id=evaluation_id)
        except NotFound as error:
            raise NotFound(gettext("No such tie draw.")) from error
    return tie
