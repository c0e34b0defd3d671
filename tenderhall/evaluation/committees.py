"""Setting up a lot's evaluation and its committee: the method, the committed-seed draw, declines and
replacements, representatives, and the members' signed no-conflict declarations.

Ledger leaves (all name the committee by id and the lot by code, never a person):

* ``evaluation:draw:committed`` — the seed's commitment, before anything about the draw is fixed;
* ``evaluation:draw:drawn`` — the eligible list's hash and the drawn codes in draw order;
* ``evaluation:draw:replaced`` — the code that declined and the code that replaces it;
* ``evaluation:draw:revealed`` — the seed, once the committee's work is concluded (so that nobody can predict
  a replacement while the committee may still change);
* ``evaluation:member:declared`` — the SHA-256 of the declaration text and of its signature.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, Role
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound
from tenderhall.core.hashing import sha256_hex
from tenderhall.evaluation import draw, methods, seeds, ties
from tenderhall.evaluation.choices import EvaluationStatus, MemberKind, MemberStatus
from tenderhall.evaluation.models import Committee, EvaluatedBid, Evaluation, Expert, Member
from tenderhall.evaluation.selectors import (
    access_evaluation_for_manager,
    access_lot_for_manager,
    access_member_seat,
    is_manager,
)
from tenderhall.evaluation.transitions import tender_step
from tenderhall.ledger.services import ledger_append
from tenderhall.opening.models import OpeningSession, SessionStatus
from tenderhall.opening.selectors import opened_bids
from tenderhall.procedures import clarifications, workflow
from tenderhall.procedures.choices import Sector, TenderStatus
from tenderhall.procedures.documents import (
    MAX_SIGNATURE_BYTES,
    CandidateCertificate,
    FileDigests,
    signature_parse,
    signature_verify,
)
from tenderhall.procedures.models import Lot, Tender
from tenderhall.procedures.rules import Track, procedure_rules
from tenderhall.registry.models import MarketEntity

LARGE_PROCUREMENT = Decimal(10_000_000)  # 87号令 art. 47: 7 members or more from this budget on
WORKS_MIN_YEARS = 8  # 招标投标法 art. 37(3): eight years in the field (and a senior title)
# a detached CMS signature (declaration, report), in bytes: the tender documents' limit (1 MiB)
MAX_SIGNATURE = MAX_SIGNATURE_BYTES


class EvaluationExists(Conflict):
    code = "evaluation_exists"


class EvaluationNotReady(Conflict):
    code = "evaluation_not_ready"


class MethodInvalid(InvalidInput):
    code = "method_invalid"


class CommitteeInvalid(InvalidInput):
    code = "committee_invalid"


class CommitteeState(Conflict):
    code = "committee_state"


class SignatureTooLarge(InvalidInput):
    code = "signature_too_large"


class TooFewExperts(DomainError):
    code = "too_few_experts"
    status = 409


# --- the method and the bids -------------------------------------------------------------------------------


def opened_bid_values(lot: Lot) -> list[tuple[int, int, Decimal, int | None]]:
    """(bid id, entity id, price, duration) of the lot's opened bids, from the opening record."""
    return [
        (opened.bid_id, opened.bid.entity_id, opened.price, opened.duration_days)
        for opened in opened_bids(lot.pk)
        if opened.price is not None
    ]


def low_price_triggers(evaluation: Evaluation, prices: dict[int, Decimal]) -> dict[int, list[dict[str, str]]]:
    config = methods.config_from_data(evaluation.config)
    lot = evaluation.lot
    ceiling = lot.control_price or lot.tender.control_price
    fired = methods.abnormally_low(prices, ceiling=ceiling, triggers=config.triggers)
    return {
        key: [{"code": t.code, "threshold": str(t.threshold), "basis": str(t.basis)} for t in found]
        for key, found in fired.items()
    }


def evaluation_bids_load(
    evaluation: Evaluation, values: list[tuple[int, int, Decimal, int | None]]
) -> list[EvaluatedBid]:
    """Record the opened bids under evaluation, with the abnormally-low triggers their prices fire."""
    rows = [
        EvaluatedBid.objects.create(
            evaluation=evaluation, bid_id=bid_id, entity_id=entity_id, price=price, duration_days=duration
        )
        for bid_id, entity_id, price, duration in values
    ]
    triggers = low_price_triggers(evaluation, {row.pk: row.price for row in rows}) if rows else {}
    for row in rows:
        row.low_price_triggers = triggers.get(row.pk, [])
        row.save(update_fields=["low_price_triggers"])
    return rows


def evaluation_setup(*, actor: User, lot_id: int, config: dict[str, Any], now: datetime) -> Evaluation:
    """The agency sets the lot's evaluation method and parameters, once the tender is being evaluated; the
    opened bids are taken from the opening record."""
    lot = access_lot_for_manager(actor=actor, lot_id=lot_id)
    try:
        parsed = methods.config_from_data(config)
    except methods.MethodError as error:
        raise MethodInvalid(
            gettext("The evaluation method's parameters are not valid: %(error)s.") % {"error": error},
            details={"fields": {"config": str(error)}},
        ) from error
    aggregation = str(config.get("aggregation", "mean"))
    if aggregation not in ("mean", "trimmed"):
        raise MethodInvalid(
            gettext("Aggregate by 'mean' or 'trimmed'."), details={"fields": {"aggregation": "choice"}}
        )
    rules = procedure_rules(lot.tender.procedure_type)
    if aggregation == "trimmed" and rules.track == Track.PROCUREMENT:
        raise MethodInvalid(
            gettext("On the government procurement track scores are averaged without trimming."),
            details={"fields": {"aggregation": "procurement"}},
        )
    try:
        trim_from = int(str(config.get("trim_from", 5)))
    except ValueError as error:
        raise MethodInvalid(
            gettext("trim_from is a number of members."), details={"fields": {"trim_from": "number"}}
        ) from error
    if not 3 <= trim_from <= 99:
        raise MethodInvalid(
            gettext("trim_from is 3 to 99 members."), details={"fields": {"trim_from": "range"}}
        )
    stored = {
        **methods.config_to_data(parsed),
        "aggregation": aggregation,
        "trim_from": trim_from,
    }
    with transaction.atomic():
        tender = (
            Tender.objects.select_for_update(of=("self",)).select_related("project").get(pk=lot.tender_id)
        )
        if tender.status == TenderStatus.OPENING:
            # The first lot set up after the opening record is published starts the tender's evaluation.
            recorded = OpeningSession.objects.filter(tender=tender, status=SessionStatus.RECORDED).exists()
            if not recorded:
                raise EvaluationNotReady(
                    gettext("The evaluation starts once the opening record is published.")
                )
            tender_step(actor=actor, tender=tender, event=workflow.TenderEvent.START_EVALUATION, now=now)
        if tender.status != TenderStatus.EVALUATION:
            raise EvaluationNotReady(
                gettext("The evaluation is set up once the tender is being evaluated; it is %(status)s.")
                % {"status": tender.status}
            )
        if Evaluation.objects.filter(lot=lot).exists():
            raise EvaluationExists(gettext("This lot's evaluation is already set up."))
        evaluation = Evaluation.objects.create(
            lot=lot, method=str(parsed.method), config=stored, created_by=actor, created_at=now
        )
        evaluation_bids_load(evaluation, opened_bid_values(lot))
        ties.tie_commit(actor=actor, evaluation=evaluation, now=now)  # before any score exists
        audit_record(
            actor=actor,
            action="evaluation:evaluation:set_up",
            subject_type="evaluation",
            subject_id=evaluation.pk,
            at=now,
            changes={"lot": [None, lot.code], "method": [None, evaluation.method]},
        )
    return evaluation


# --- the committee and its draw ----------------------------------------------------------------------------


def _lock_evaluation(evaluation_id: int) -> Evaluation:
    return (
        Evaluation.objects.select_for_update(of=("self",))
        .select_related("lot", "lot__tender", "lot__tender__project")
        .get(pk=evaluation_id)
    )


def committee_create(
    *,
    actor: User,
    evaluation_id: int,
    specialty: str,
    experts: int,
    representatives: int = 0,
    avoid_same_region: bool = False,
    pairing_limit: int | None = None,
    pairing_days: int = 365,
    now: datetime,
) -> Committee:
    """Fix the committee's make-up and commit to a fresh random seed (logged before the draw)."""
    evaluation = access_evaluation_for_manager(actor=actor, evaluation_id=evaluation_id)
    tender = evaluation.lot.tender
    rules = procedure_rules(tender.procedure_type)
    track = draw.Track.PROCUREMENT if rules.track == Track.PROCUREMENT else draw.Track.WORKS
    large = tender.project.sector == Sector.PROCUREMENT and tender.project.budget >= LARGE_PROCUREMENT
    specialty = specialty.strip()
    if not specialty:
        raise CommitteeInvalid(
            gettext("Name the experts' specialty (a category code)."),
            details={"fields": {"specialty": "required"}},
        )
    if (pairing_limit is not None and pairing_limit < 1) or not 1 <= pairing_days <= 3650:
        raise CommitteeInvalid(
            gettext("The pairing limit is at least 1 and its period 1 to 3650 days."),
            details={"fields": {"pairing_limit": "range"}},
        )
    try:
        draw.check_make_up(track=track, experts=experts, representatives=representatives, large=large)
    except draw.MakeUpError as error:
        raise CommitteeInvalid(str(error), details={"fields": {"experts": str(error)}}) from error
    seed, commitment = seeds.seed_new()
    with transaction.atomic():
        evaluation = _lock_evaluation(evaluation.pk)
        if Committee.objects.filter(evaluation=evaluation).exists():
            raise CommitteeState(gettext("This evaluation already has its committee."))
        if not evaluation.bids.exists():
            raise EvaluationNotReady(gettext("No opened bid is recorded for this lot yet."))
        committee = Committee.objects.create(
            evaluation=evaluation,
            specialty=specialty,
            experts=experts,
            representatives=representatives,
            avoid_same_region=avoid_same_region,
            pairing_limit=pairing_limit,
            pairing_days=pairing_days,
            seed=seed,
            commitment=commitment,
            committed_at=now,
            created_by=actor,
        )
        seeds.seed_committed(
            event_type="evaluation:draw:committed",
            subjects={"committee": str(committee.pk), "lot": evaluation.lot.code},
            commitment=commitment,
            actor=f"user:{actor.pk}",
            now=now,
            data={"specialty": specialty, "experts": experts, "representatives": representatives},
        )
        audit_record(
            actor=actor,
            action="evaluation:draw:committed",
            subject_type="committee",
            subject_id=committee.pk,
            at=now,
            changes={"experts": [None, experts], "representatives": [None, representatives]},
        )
    return committee


def _affiliates(identifiers: set[str]) -> frozenset[str]:
    """Entities with the same legal representative as a bidder (条例 art. 34(2))."""
    representatives = set(
        MarketEntity.objects.filter(identifier__in=identifiers)
        .exclude(legal_representative="")
        .values_list("legal_representative", flat=True)
    )
    return frozenset(
        MarketEntity.objects.filter(legal_representative__in=representatives).values_list(
            "identifier", flat=True
        )
    ) | frozenset(identifiers)


def draw_context(committee: Committee, *, now: datetime) -> draw.DrawContext:
    evaluation = committee.evaluation
    tender = evaluation.lot.tender
    project = tender.project
    rules = procedure_rules(tender.procedure_type)
    bidders = set(evaluation.bids.values_list("entity__identifier", flat=True))
    side = {project.tenderee.identifier}
    if project.agency is not None:
        side.add(project.agency.identifier)
    pairing: dict[str, int] = {}
    if committee.pairing_limit is not None and project.agency_id is not None:
        since = now - timedelta(days=committee.pairing_days)
        for code in Member.objects.filter(
            kind=MemberKind.EXPERT,
            status=MemberStatus.DECLARED,
            committee__evaluation__lot__tender__project__agency_id=project.agency_id,
            committee__drawn_at__gte=since,
        ).values_list("expert__code", flat=True):
            pairing[code] = pairing.get(code, 0) + 1
    refused = frozenset(
        committee.members.filter(decline_conflict=True).values_list("expert__code", flat=True)
    )
    return draw.DrawContext(
        specialty=committee.specialty,
        bidders=frozenset(bidders),
        bidder_affiliates=_affiliates(bidders),
        tenderee_side=frozenset(side),
        project_region=project.region_code,
        avoid_same_region=committee.avoid_same_region,
        pairing_counts=pairing,
        pairing_limit=committee.pairing_limit,
        refused=refused,
        min_years=WORKS_MIN_YEARS if rules.track == Track.WORKS else 0,
    )


def expert_facts(expert: Expert) -> draw.ExpertFacts:
    employers = {expert.employer_identifier} if expert.employer_identifier else set()
    return draw.ExpertFacts(
        code=expert.code,
        specialties=tuple(expert.specialties),
        region_code=expert.region_code,
        employers=frozenset(employers | set(expert.former_employers)),
        conflicts=frozenset(expert.conflicts),
        available=expert.available and expert.user_id is not None,
        credit=expert.credit,
        years=expert.years,
    )


def _invite(committee: Committee, expert: Expert, position: int, now: datetime) -> Member:
    assert expert.user is not None  # only experts with an account are eligible
    member = Member.objects.create(
        committee=committee,
        kind=MemberKind.EXPERT,
        expert=expert,
        user=expert.user,
        position=position,
        invited_at=now,
    )
    tender = committee.evaluation.lot.tender
    clarifications.notify(
        [expert.user.pk],
        tender=tender,
        text=f"您被抽取为《{tender.name}》（{tender.code}）的评标专家，请确认并签署无利害关系承诺。",
        now=now,
    )
    return member


def committee_draw(*, actor: User, committee_id: int, now: datetime) -> Committee:
    """Fix the eligible list and draw the experts from the committed seed (see draw.py)."""
    committee = (
        Committee.objects.select_related("evaluation__lot__tender__project").filter(pk=committee_id).first()
    )
    if committee is None or not is_manager(actor, committee.evaluation.lot.tender):
        raise NotFound(gettext("No such committee."))
    with transaction.atomic():
        evaluation = _lock_evaluation(committee.evaluation_id)
        committee = Committee.objects.select_for_update(of=("self",)).get(pk=committee.pk)
        if committee.drawn_at is not None:
            raise CommitteeState(gettext("The committee has been drawn already."))
        context = draw_context(committee, now=now)
        experts = {e.code: e for e in Expert.objects.select_related("user").all()}
        eligible, excluded = draw.eligible_list((expert_facts(e) for e in experts.values()), context)
        seed = bytes(committee.seed)
        try:
            drawn = draw.draw(seed, eligible, committee.experts)
        except draw.MakeUpError as error:
            raise TooFewExperts(
                gettext(
                    "Only %(count)s experts of the pool are eligible for %(seats)s seats; widen the "
                    "specialty or the avoidance settings, or add experts to the pool."
                )
                % {"count": len(eligible), "seats": committee.experts},
                details={"eligible": len(eligible), "seats": committee.experts},
            ) from error
        committee.eligible = eligible
        committee.eligible_hash = draw.list_hash(eligible)
        committee.excluded = {code: [str(r) for r in reasons] for code, reasons in excluded.items()}
        committee.drawn_at = now
        committee.save(update_fields=["eligible", "eligible_hash", "excluded", "drawn_at"])
        for position, code in enumerate(drawn, start=1):
            _invite(committee, experts[code], position, now)
        evaluation.status = EvaluationStatus.COMMITTEE
        evaluation.save(update_fields=["status"])
        ledger_append(
            event_type="evaluation:draw:drawn",
            subjects={"committee": str(committee.pk), "lot": evaluation.lot.code},
            hashes={"seed": committee.commitment, "eligible": committee.eligible_hash},
            actor=f"user:{actor.pk}",
            at=now,
            data={"drawn": drawn, "eligible_count": len(eligible)},
        )
        audit_record(
            actor=actor,
            action="evaluation:draw:drawn",
            subject_type="committee",
            subject_id=committee.pk,
            at=now,
            changes={"drawn": [None, drawn]},
        )
    return committee


def representative_add(*, actor: User, committee_id: int, user_id: int, now: datetime) -> Member:
    """The tenderee appoints one of its staff to a representative's seat."""
    committee = (
        Committee.objects.select_related("evaluation__lot__tender__project").filter(pk=committee_id).first()
    )
    if committee is None:
        raise NotFound(gettext("No such committee."))
    tender = committee.evaluation.lot.tender
    tenderee_id = tender.project.tenderee_id
    if not (
        is_manager(actor, tender)
        or RoleGrant.objects.filter(user=actor, role=Role.TENDEREE, entity_id=tenderee_id).exists()
    ):
        raise NotFound(gettext("No such committee."))
    user = User.objects.filter(pk=user_id).first()
    if (
        user is None
        or not RoleGrant.objects.filter(user=user, role=Role.TENDEREE, entity_id=tenderee_id).exists()
    ):
        raise CommitteeInvalid(
            gettext("A representative is a person acting for the tenderee."),
            details={"fields": {"user_id": "not_tenderee"}},
        )
    with transaction.atomic():
        committee = Committee.objects.select_for_update(of=("self",)).get(pk=committee.pk)
        seats = committee.members.filter(kind=MemberKind.REPRESENTATIVE).exclude(status=MemberStatus.DECLINED)
        if seats.count() >= committee.representatives:
            raise CommitteeState(gettext("Every representative's seat is taken."))
        if committee.members.filter(user=user).exists():
            raise CommitteeState(gettext("This person already sits on the committee."))
        member = Member.objects.create(
            committee=committee,
            kind=MemberKind.REPRESENTATIVE,
            user=user,
            position=committee.members.filter(kind=MemberKind.REPRESENTATIVE).count() + 1,
            invited_at=now,
        )
        audit_record(
            actor=actor,
            action="evaluation:member:appointed",
            subject_type="committee",
            subject_id=committee.pk,
            at=now,
            changes={"member": [None, member.pk]},
        )
    return member


def _vacate(
    *, actor: User, member: Member, reason: str, conflict: bool, action: str, now: datetime
) -> Member | None:
    """Free a seat (the member's marks and scores no longer count: they are of declared members only) and,
    for an expert, invite the next code of the draw order; the replacement's seat, if any."""
    committee = (
        Committee.objects.select_for_update(of=("self",))
        .select_related("evaluation__lot")
        .get(pk=member.committee_id)
    )
    before = member.status
    member.status = MemberStatus.DECLINED
    member.declined_at = now
    member.decline_reason = reason
    member.decline_conflict = conflict
    member.save(update_fields=["status", "declined_at", "decline_reason", "decline_conflict"])
    replacement = None
    if member.kind == MemberKind.EXPERT:
        assert member.expert is not None
        assert committee.eligible is not None
        drawn = list(committee.members.filter(kind=MemberKind.EXPERT).values_list("expert__code", flat=True))
        code = draw.replacement(bytes(committee.seed), committee.eligible, drawn)
        if code is not None:
            expert = Expert.objects.select_related("user").get(code=code)
            position = committee.members.filter(kind=MemberKind.EXPERT).count() + 1
            replacement = _invite(committee, expert, position, now)
        ledger_append(
            event_type="evaluation:draw:replaced",
            subjects={"committee": str(committee.pk), "lot": committee.evaluation.lot.code},
            hashes={"seed": committee.commitment},
            actor=None,
            at=now,
            data={"declined": member.expert.code, "replacement": code, "conflict": conflict},
        )
    evaluation = Evaluation.objects.select_for_update(of=("self",)).get(pk=committee.evaluation_id)
    if evaluation.status == EvaluationStatus.SCORING:
        evaluation.status = EvaluationStatus.COMMITTEE  # the new member declares before anyone scores on
        evaluation.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=action,
        subject_type="member",
        subject_id=member.pk,
        at=now,
        changes={"status": [before, MemberStatus.DECLINED], "conflict": [None, conflict]},
    )
    return replacement


def member_decline(
    *, actor: User, evaluation_id: int, reason: str, conflict: bool, now: datetime
) -> Member | None:
    """A drawn expert (or a representative) declines before declaring; an expert is replaced by the next
    eligible code in the draw order. Returns the replacement's seat, if any."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(gettext("Say why you decline."), details={"fields": {"reason": "required"}})
    member = access_member_seat(actor=actor, evaluation_id=evaluation_id)
    with transaction.atomic():
        member = (
            Member.objects.select_for_update(of=("self",))
            .select_related("committee", "expert")
            .get(pk=member.pk)
        )
        if member.status != MemberStatus.INVITED:
            raise CommitteeState(gettext("Only an invitation not yet confirmed can be declined."))
        return _vacate(
            actor=actor,
            member=member,
            reason=reason,
            conflict=conflict,
            action="evaluation:member:declined",
            now=now,
        )


def member_replace(
    *, actor: User, evaluation_id: int, member_id: int, reason: str, conflict: bool, now: datetime
) -> Member | None:
    """The agency replaces a member who can no longer sit (a ground for avoidance found late, illness, leaving
    the post: 条例 art. 46(2)) while the committee has not concluded. The member's marks and scores become
    void and the replacement, drawn the same way, evaluates afresh (条例 art. 48(3))."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            gettext("Say why the member is replaced."), details={"fields": {"reason": "required"}}
        )
    access_evaluation_for_manager(actor=actor, evaluation_id=evaluation_id)
    with transaction.atomic():
        member = (
            Member.objects.select_for_update(of=("self",))
            .select_related("committee__evaluation", "expert")
            .filter(pk=member_id, committee__evaluation_id=evaluation_id)
            .first()
        )
        if member is None:
            raise NotFound(gettext("No such member."))
        if member.status == MemberStatus.DECLINED or member.committee.evaluation.status not in (
            EvaluationStatus.COMMITTEE,
            EvaluationStatus.SCORING,
        ):
            raise CommitteeState(
                gettext("Only a seated member of a committee still at work can be replaced.")
            )
        return _vacate(
            actor=actor,
            member=member,
            reason=reason,
            conflict=conflict,
            action="evaluation:member:replaced",
            now=now,
        )


# --- the no-conflict declaration ---------------------------------------------------------------------------


def declaration_text(member: Member) -> str:
    """The canonical text a member signs (UTF-8, ``\\n`` line ends, a final newline)."""
    evaluation = member.committee.evaluation
    tender = evaluation.lot.tender
    bidders = sorted(evaluation.bids.values_list("entity__name", "entity__identifier"))
    who = member.expert.code if member.expert is not None else f"representative-{member.position}"
    lines = [
        "tenderhall 评标委员会成员无利害关系承诺书 / no-conflict declaration",
        f"tender: {tender.code}",
        f"lot: {evaluation.lot.code}",
        f"committee: {member.committee_id}",
        f"member: {who}",
        "bidders:",
        *(f"  {identifier} {name}" for name, identifier in bidders),
        "本人承诺：与上列投标人不存在利害关系，不存在法律法规规定的应当回避的情形；"
        "独立、客观、公正地履行评标职责，对评标情况保密。",
    ]
    return "\n".join(lines) + "\n"


def _candidates(user: User, now: datetime) -> list[CandidateCertificate]:
    rows = Certificate.objects.filter(Q(user=user), usage=CertificateUsage.SIGNING).order_by("-accepted_at")
    found = []
    for row in rows:
        problem = None
        if row.status != CertificateStatus.ACCEPTED:
            problem = "revoked"
        elif now >= row.not_after:
            problem = "expired"
        elif now < row.not_before:
            problem = "not_yet_valid"
        found.append(CandidateCertificate(id=row.pk, der=bytes(row.der), problem=problem))
    return sorted(found, key=lambda c: c.problem is not None)


def verify_detached(*, user: User, content: bytes, signature: bytes, now: datetime) -> int:
    """Check a detached CMS signature over ``content`` by one of the user's accepted signing certificates;
    the certificate's id. Raises :class:`SignatureTooLarge` past :data:`MAX_SIGNATURE` bytes, and the
    documents' signature errors (4xx, with their codes)."""
    import hashlib

    from cryptography.hazmat.primitives import hashes

    if len(signature) > MAX_SIGNATURE:  # refused whole, never cut: callers read at most one byte more
        raise SignatureTooLarge(
            gettext(
                "The signature is larger than %(max)s bytes; upload the detached signature alone "
                "(openssl cms -sign -binary -outform DER, without the signed content)."
            )
            % {"max": MAX_SIGNATURE},
            details={"fields": {"signature": "size"}, "max_bytes": MAX_SIGNATURE},
        )
    sm3 = hashes.Hash(hashes.SM3())
    sm3.update(content)
    digests = FileDigests(size=len(content), sha256=hashlib.sha256(content).digest(), sm3=sm3.finalize())
    signed = signature_parse(signature)
    return signature_verify(signed, digests=digests, candidates=_candidates(user, now)).id


def member_declare(*, actor: User, evaluation_id: int, signature: bytes, now: datetime) -> Member:
    """The member confirms its seat with a detached CMS signature over :func:`declaration_text`, made with
    its accepted signing certificate (``openssl cms -sign -binary``)."""
    member = access_member_seat(actor=actor, evaluation_id=evaluation_id)
    if member.status != MemberStatus.INVITED:
        raise CommitteeState(gettext("This seat is already confirmed."))
    text = declaration_text(member)
    # A bad signature raises the documents' errors (signature_not_cms, signature_invalid, digest_mismatch,
    # signer_not_accepted), each a 422 with what to fix.
    certificate_id = verify_detached(user=actor, content=text.encode(), signature=signature, now=now)
    with transaction.atomic():
        member = (
            Member.objects.select_for_update(of=("self",))
            .select_related("committee__evaluation__lot", "expert")
            .get(pk=member.pk)
        )
        if member.status != MemberStatus.INVITED:
            raise CommitteeState(gettext("This seat is already confirmed."))
        member.status = MemberStatus.DECLARED
        member.declaration = text
        member.declaration_signature = signature
        member.declaration_certificate_id = certificate_id
        member.declared_at = now
        member.save(
            update_fields=[
                "status",
                "declaration",
                "declaration_signature",
                "declaration_certificate",
                "declared_at",
            ]
        )
        evaluation = Evaluation.objects.select_for_update(of=("self",)).get(pk=member.committee.evaluation_id)
        committee = member.committee
        declared = committee.members.filter(status=MemberStatus.DECLARED)
        if (
            declared.filter(kind=MemberKind.EXPERT).count() == committee.experts
            and declared.filter(kind=MemberKind.REPRESENTATIVE).count() == committee.representatives
            and evaluation.status == EvaluationStatus.COMMITTEE
        ):
            evaluation.status = EvaluationStatus.SCORING
            evaluation.save(update_fields=["status"])
        ledger_append(
            event_type="evaluation:member:declared",
            subjects={"member": str(member.pk), "committee": str(committee.pk)},
            hashes={
                "declaration": "sha256:" + sha256_hex(text.encode()),
                "signature": "sha256:" + sha256_hex(signature),
            },
            actor=None,
            at=now,
        )
        audit_record(
            actor=actor,
            action="evaluation:member:declared",
            subject_type="member",
            subject_id=member.pk,
            at=now,
            changes={"status": [MemberStatus.INVITED, MemberStatus.DECLARED]},
        )
    return member
