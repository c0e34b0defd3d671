"""Evaluation API: the expert pool, the committee and its draw, the members' workspace, the report, the
candidates' publicity, the award, the contract and the bond refunds. One operation per use case, one service
or selector call each (docs/evaluation.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import File, Form, Router, Status, UploadedFile

from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import InvalidInput, NotFound
from tenderhall.evaluation import award, committees, pool, reports, selectors, ties, workspace
from tenderhall.evaluation.models import (
    Award,
    BidClarification,
    BondRefund,
    Committee,
    Contract,
    EvaluatedBid,
    Evaluation,
    Member,
    Report,
    TieDraw,
)
from tenderhall.evaluation.schemas import (
    AwardIn,
    AwardOut,
    ClarificationAnswerIn,
    ClarificationAskIn,
    ClarificationOut,
    CommitteeCreateIn,
    ContractOut,
    DeclineIn,
    DrawRecordOut,
    EvaluationOut,
    EvaluationSetupIn,
    ExpertOut,
    FindingIn,
    ImportOut,
    MarkIn,
    MemberOut,
    PublicityOut,
    RefundOut,
    ReportOut,
    RepresentativeIn,
    ScoreIn,
    SeatOut,
    TiedBidOut,
    TieDrawOut,
    WorkBidOut,
)

router = Router(tags=["evaluation"])
READ, WRITE = Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE
MAX_UPLOAD = 5 * 1024 * 1024  # a CSV of the pool or a contract document


def _signature(upload: UploadedFile) -> bytes:
    """A signature, read to one byte past its limit: the service refuses it whole (signature_too_large)."""
    data: bytes = upload.read(committees.MAX_SIGNATURE + 1)
    return data


def _read(upload: UploadedFile, field: str) -> bytes:
    data: bytes = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(
            gettext("%(field)s is larger than %(max)s bytes.") % {"field": field, "max": MAX_UPLOAD},
            details={"fields": {field: "size"}},
        )
    return data


# --- outputs ---------------------------------------------------------------------------------------------


def evaluation_out(evaluation: Evaluation, viewer: User) -> EvaluationOut:
    public = selectors.names_public(evaluation.lot.tender)
    committee = Committee.objects.filter(evaluation=evaluation).first()
    report = Report.objects.filter(evaluation=evaluation).first()
    seats = [
        SeatOut(
            position=m.position,
            kind=m.kind,
            code=m.expert.code if m.expert else None,
            status=m.status,
            name=(m.expert.full_name if m.expert else m.user.full_name)
            if public or m.user_id == viewer.pk
            else None,
        )
        for m in selectors.seats(evaluation, viewer=viewer)
    ]
    concluded = evaluation.results is not None and evaluation.concluded_at is not None
    tie = selectors.tie_draw_of(evaluation)
    return EvaluationOut(
        id=evaluation.pk,
        lot_id=evaluation.lot_id,
        lot_code=evaluation.lot.code,
        method=evaluation.method,
        config=evaluation.config,
        status=evaluation.status,
        committee_id=committee.pk if committee else None,
        seats=seats,
        results=evaluation.results if concluded else None,
        ranking=selectors.ranking_settled(evaluation, tie) if concluded else None,
        candidates=selectors.candidates_settled(evaluation, tie) if concluded else None,
        tie_pending=ties.tie_pending(tie),
        report_sha256=report.sha256 if report else None,
    )


def member_out(member: Member) -> MemberOut:
    return MemberOut(id=member.pk, position=member.position, kind=member.kind, status=member.status)


def clarification_out(c: BidClarification) -> ClarificationOut:
    return ClarificationOut(
        id=c.pk,
        bid_id=c.bid_id,
        lot_code=c.bid.evaluation.lot.code,
        kind=c.kind,
        question=c.question,
        asked_at=c.asked_at,
        answer=c.answer,
        answered_at=c.answered_at,
        accepted=c.accepted,
    )


def work_bid_out(bid: EvaluatedBid) -> WorkBidOut:
    """A bid of :func:`selectors.bid_list_for_member_work`: its marks and scores are the member's own."""
    opened = getattr(bid.bid, "opening", None)
    return WorkBidOut(
        id=bid.pk,
        bidder=bid.entity.name,
        price=bid.price,
        duration_days=bid.duration_days,
        form=opened.form if opened is not None else None,
        low_price_triggers=bid.low_price_triggers,
        my_marks={m.ground: m.reason for m in bid.marks.all()},
        my_scores={s.factor: s.value for s in bid.scores.all()},
        clarifications=[
            {"id": c.pk, "kind": c.kind, "question": c.question, "answer": c.answer, "accepted": c.accepted}
            for c in bid.clarifications.all()
        ],
    )


def report_out(report: Report) -> ReportOut:
    return ReportOut(
        evaluation_id=report.evaluation_id,
        sha256=report.sha256,
        created_at=report.created_at,
        signatures=report.signatures.count(),
        signed_at=report.signed_at,
    )


def award_out(decided: Award) -> AwardOut:
    return AwardOut(
        id=decided.pk,
        evaluation_id=decided.evaluation_id,
        winner_bid_id=decided.winner_id,
        winner=decided.winner.entity.name,
        decided_at=decided.decided_at,
        contract_due_at=decided.contract_due_at,
    )


def contract_out(contract: Contract) -> ContractOut:
    return ContractOut(
        id=contract.pk,
        amount=contract.amount,
        duration_days=contract.duration_days,
        signed_on=contract.signed_on,
        sha256=contract.sha256,
        late=contract.late,
        differences=contract.differences,
    )


def refund_out(refund: BondRefund) -> RefundOut:
    return RefundOut(
        id=refund.pk,
        bid_id=refund.bid_id,
        bidder=refund.bid.entity.name,
        amount=refund.amount,
        due_at=refund.due_at,
        refunded_at=refund.refunded_at,
    )


# --- the pool --------------------------------------------------------------------------------------------


@router.post(
    "/experts/import", response={200: ImportOut}, operation_id="expert_import_csv", auth=authenticated(WRITE)
)
def expert_import_csv(request: HttpRequest, file: File[UploadedFile]) -> ImportOut:
    """Add or update experts from a UTF-8 CSV (multipart ``file``); all or nothing, every bad row reported in
    ``details.rows`` with its line, column and message."""
    result = pool.expert_import_csv(actor=request_user(request), data=_read(file, "file"), now=clock.now())
    return ImportOut(created=result.created, updated=result.updated)


@router.get("/experts", response=list[ExpertOut], operation_id="expert_list", auth=authenticated(READ))
def expert_list(request: HttpRequest) -> list[ExpertOut]:
    """The pool (operators and regulators)."""
    return [
        ExpertOut(
            code=e.code,
            full_name=e.full_name,
            specialties=e.specialties,
            region_code=e.region_code,
            employer_name=e.employer_name,
            title=e.title,
            years=e.years,
            available=e.available,
            credit=e.credit,
            has_account=e.user_id is not None,
        )
        for e in selectors.expert_list(viewer=request_user(request))
    ]


# --- set-up, committee and draw --------------------------------------------------------------------------


@router.post(
    "/lots/{lot_id}/evaluation",
    response={201: EvaluationOut},
    operation_id="evaluation_setup",
    auth=authenticated(WRITE),
)
def evaluation_setup(request: HttpRequest, lot_id: int, payload: EvaluationSetupIn) -> Status[EvaluationOut]:
    """Set a lot's evaluation method and parameters (the tender's agency); the opened bids come with it."""
    actor = request_user(request)
    config = {
        key: (str(v) if isinstance(v, Decimal) else v) for key, v in payload.dict(exclude_none=True).items()
    }
    config["triggers"] = {k: (None if v is None else str(v)) for k, v in payload.triggers.items()}
    evaluation = committees.evaluation_setup(actor=actor, lot_id=lot_id, config=config, now=clock.now())
    return Status(201, evaluation_out(evaluation, actor))


@router.get(
    "/evaluations/{evaluation_id}",
    response=EvaluationOut,
    operation_id="evaluation_get",
    auth=authenticated(READ),
)
def evaluation_get(request: HttpRequest, evaluation_id: int) -> EvaluationOut:
    """The evaluation: method, status, seats (codes; names after the candidates' publication), results."""
    actor = request_user(request)
    return evaluation_out(
        selectors.access_evaluation_for_viewer(viewer=actor, evaluation_id=evaluation_id), actor
    )


@router.post(
    "/evaluations/{evaluation_id}/committee",
    response={201: DrawRecordOut},
    operation_id="committee_create",
    auth=authenticated(WRITE),
)
def committee_create(
    request: HttpRequest, evaluation_id: int, payload: CommitteeCreateIn
) -> Status[DrawRecordOut]:
    """Fix the committee's make-up and commit to the draw's seed (its SHA-256 is logged now)."""
    committee = committees.committee_create(
        actor=request_user(request), evaluation_id=evaluation_id, now=clock.now(), **payload.dict()
    )
    return Status(201, draw_record_out(committee))


@router.post(
    "/committees/{committee_id}/draw",
    response=DrawRecordOut,
    operation_id="committee_draw",
    auth=authenticated(WRITE),
)
def committee_draw(request: HttpRequest, committee_id: int) -> DrawRecordOut:
    """Draw the experts from the committed seed; the eligible list and the drawn codes are logged."""
    committee = committees.committee_draw(
        actor=request_user(request), committee_id=committee_id, now=clock.now()
    )
    return draw_record_out(committee)


def draw_record_out(committee: Committee) -> DrawRecordOut:
    revealed = committee.revealed_at is not None
    drawn = [
        m.expert.code
        for m in committee.members.filter(kind="expert").select_related("expert").order_by("position")
        if m.expert is not None
    ]
    return DrawRecordOut(
        committee_id=committee.pk,
        lot_code=committee.evaluation.lot.code,
        commitment=committee.commitment,
        committed_at=committee.committed_at,
        eligible_hash=committee.eligible_hash,
        eligible=committee.eligible or [],
        drawn=drawn[: committee.experts] if committee.drawn_at else [],
        replacements=selectors.draw_replacements(committee),
        seed=bytes(committee.seed).hex() if revealed else None,
        revealed_at=committee.revealed_at,
    )


@router.get("/committees/{committee_id}/draw", response=DrawRecordOut, operation_id="draw_record", auth=None)
def draw_record(request: HttpRequest, committee_id: int) -> DrawRecordOut:
    """The public draw record: commitment, eligible codes and their hash, the drawn codes, and the seed once
    revealed, so that anyone can redo the draw."""
    return draw_record_out(selectors.access_committee_public(committee_id=committee_id))


@router.post(
    "/committees/{committee_id}/representatives",
    response={201: MemberOut},
    operation_id="representative_add",
    auth=authenticated(WRITE),
)
def representative_add(
    request: HttpRequest, committee_id: int, payload: RepresentativeIn
) -> Status[MemberOut]:
    """The tenderee (or the agency) seats one of the tenderee's staff as its representative."""
    member = committees.representative_add(
        actor=request_user(request), committee_id=committee_id, user_id=payload.user_id, now=clock.now()
    )
    return Status(201, member_out(member))


@router.post(
    "/evaluations/{evaluation_id}/members/{member_id}/replace",
    response={200: MemberOut | None},
    operation_id="member_replace",
    auth=authenticated(WRITE),
)
def member_replace(
    request: HttpRequest, evaluation_id: int, member_id: int, payload: DeclineIn
) -> MemberOut | None:
    """Replace a seated member (the agency); its marks and scores become void; the answer is the new seat."""
    replacement = committees.member_replace(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        member_id=member_id,
        reason=payload.reason,
        conflict=payload.conflict,
        now=clock.now(),
    )
    return member_out(replacement) if replacement is not None else None


# --- the member's seat -----------------------------------------------------------------------------------


@router.get(
    "/evaluations/{evaluation_id}/declaration",
    response={200: None},
    operation_id="declaration_text",
    auth=authenticated(READ),
    openapi_extra={"responses": {"200": {"description": "The text to sign", "content": {"text/plain": {}}}}},
)
def declaration_text(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    """The member's no-conflict declaration, to sign with ``openssl cms -sign -binary`` exactly as served."""
    member = selectors.access_member_seat(actor=request_user(request), evaluation_id=evaluation_id)
    return HttpResponse(
        committees.declaration_text(member).encode(), content_type="text/plain; charset=utf-8"
    )


@router.post(
    "/evaluations/{evaluation_id}/declaration",
    response=MemberOut,
    operation_id="member_declare",
    auth=authenticated(WRITE),
)
def member_declare(request: HttpRequest, evaluation_id: int, signature: File[UploadedFile]) -> MemberOut:
    """Confirm the seat with the detached CMS signature (multipart ``signature``) over the declaration."""
    member = committees.member_declare(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        signature=_signature(signature),
        now=clock.now(),
    )
    return member_out(member)


@router.post(
    "/evaluations/{evaluation_id}/decline",
    response={200: MemberOut | None},
    operation_id="member_decline",
    auth=authenticated(WRITE),
)
def member_decline(request: HttpRequest, evaluation_id: int, payload: DeclineIn) -> MemberOut | None:
    """Decline the seat (before declaring); the answer is the replacement's seat, if one was drawn."""
    replacement = committees.member_decline(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        reason=payload.reason,
        conflict=payload.conflict,
        now=clock.now(),
    )
    return member_out(replacement) if replacement is not None else None


@router.get(
    "/evaluations/{evaluation_id}/bids",
    response=list[WorkBidOut],
    operation_id="workspace_bids",
    auth=authenticated(READ),
)
def workspace_bids(request: HttpRequest, evaluation_id: int) -> list[WorkBidOut]:
    """The committee's bids, for a declared member while the tender is being evaluated, with its own marks
    and scores only."""
    member = selectors.access_member_at_work(actor=request_user(request), evaluation_id=evaluation_id)
    return [work_bid_out(bid) for bid in selectors.bid_list_for_member_work(member)]


@router.get(
    "/evaluations/{evaluation_id}/bids/{bid_id}/package",
    response={200: None},
    operation_id="workspace_bid_package",
    auth=authenticated(READ),
    openapi_extra={
        "responses": {"200": {"description": "The opened bid package", "content": {"application/zip": {}}}}
    },
)
def workspace_bid_package(request: HttpRequest, evaluation_id: int, bid_id: int) -> FileResponse:
    """The decrypted bid package, for a declared member at work."""
    member = selectors.access_member_at_work(actor=request_user(request), evaluation_id=evaluation_id)
    bid = selectors.bid_list_for_member(member).filter(pk=bid_id).select_related("bid").first()
    opened = getattr(bid.bid, "opening", None) if bid is not None else None
    if bid is None or opened is None or not opened.package:
        raise NotFound(gettext("No such bid package."))
    return FileResponse(opened.package.open("rb"), as_attachment=True, filename=f"bid-{bid.pk}.zip")


@router.post(
    "/evaluations/{evaluation_id}/bids/{bid_id}/marks",
    response={201: None},
    operation_id="compliance_mark",
    auth=authenticated(WRITE),
)
def compliance_mark(request: HttpRequest, evaluation_id: int, bid_id: int, payload: MarkIn) -> Status[None]:
    """Mark a rejection ground (否决投标, 条例 art. 51) for a bid, with the reason."""
    workspace.compliance_mark(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        bid_id=bid_id,
        ground=payload.ground,
        reason=payload.reason,
        now=clock.now(),
    )
    return Status(201, None)


@router.put(
    "/evaluations/{evaluation_id}/bids/{bid_id}/scores",
    response={204: None},
    operation_id="score_set",
    auth=authenticated(WRITE),
)
def score_set(request: HttpRequest, evaluation_id: int, bid_id: int, payload: ScoreIn) -> Status[None]:
    """Set this member's score on one factor of a bid (a priced deviation for the lowest evaluated price)."""
    workspace.score_set(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        bid_id=bid_id,
        factor=payload.factor,
        value=payload.value,
        now=clock.now(),
    )
    return Status(204, None)


@router.post(
    "/evaluations/{evaluation_id}/submit",
    response=MemberOut,
    operation_id="member_submit",
    auth=authenticated(WRITE),
)
def member_submit(request: HttpRequest, evaluation_id: int) -> MemberOut:
    """Hand in this member's marks and scores; they can no longer change."""
    return member_out(
        workspace.member_submit(actor=request_user(request), evaluation_id=evaluation_id, now=clock.now())
    )


@router.post(
    "/evaluations/{evaluation_id}/bids/{bid_id}/clarifications",
    response={201: ClarificationOut},
    operation_id="clarification_ask",
    auth=authenticated(WRITE),
)
def clarification_ask(
    request: HttpRequest, evaluation_id: int, bid_id: int, payload: ClarificationAskIn
) -> Status[ClarificationOut]:
    """Ask the bidder for a written clarification (``general``) or cost justification (``low_price``)."""
    asked = workspace.clarification_ask(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        bid_id=bid_id,
        question=payload.question,
        kind=payload.kind,
        now=clock.now(),
    )
    return Status(201, clarification_out(asked))


@router.post(
    "/evaluations/{evaluation_id}/clarifications/{clarification_id}/finding",
    response=ClarificationOut,
    operation_id="clarification_decide",
    auth=authenticated(WRITE),
)
def clarification_decide(
    request: HttpRequest, evaluation_id: int, clarification_id: int, payload: FindingIn
) -> ClarificationOut:
    """Record the committee's finding on a cost justification."""
    decided = workspace.clarification_decide(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        clarification_id=clarification_id,
        accepted=payload.accepted,
        now=clock.now(),
    )
    return clarification_out(decided)


@router.get(
    "/clarifications",
    response=list[ClarificationOut],
    operation_id="clarification_list_for_bidder",
    auth=authenticated(READ),
)
def clarification_list_for_bidder(request: HttpRequest) -> list[ClarificationOut]:
    """The committee's questions to the entities this user bids for, while their tenders are evaluated."""
    return [
        clarification_out(c) for c in workspace.clarification_list_for_bidder(actor=request_user(request))
    ]


@router.post(
    "/clarifications/{clarification_id}/answer",
    response=ClarificationOut,
    operation_id="clarification_answer",
    auth=authenticated(WRITE),
)
def clarification_answer(
    request: HttpRequest, clarification_id: int, payload: ClarificationAnswerIn
) -> ClarificationOut:
    """The bidder's written answer."""
    answered = workspace.clarification_answer(
        actor=request_user(request), clarification_id=clarification_id, answer=payload.answer, now=clock.now()
    )
    return clarification_out(answered)


def tie_draw_out(tie: TieDraw) -> TieDrawOut:
    bidders = dict(
        EvaluatedBid.objects.filter(evaluation_id=tie.evaluation_id).values_list("pk", "entity__name")
    )
    revealed = tie.revealed_at is not None
    return TieDrawOut(
        evaluation_id=tie.evaluation_id,
        lot_code=tie.evaluation.lot.code,
        commitment=tie.commitment,
        committed_at=tie.committed_at,
        tied=[TiedBidOut(bid_id=t["bid"], bidder=bidders[t["bid"]], key=t["key"]) for t in tie.tied],
        order=tie.order,
        seed=bytes(tie.seed).hex() if revealed else None,
        drawn_at=tie.drawn_at,
        revealed_at=tie.revealed_at,
    )


# --- result and report -----------------------------------------------------------------------------------


@router.post(
    "/evaluations/{evaluation_id}/conclude",
    response=EvaluationOut,
    operation_id="evaluation_conclude",
    auth=authenticated(WRITE),
)
def evaluation_conclude(request: HttpRequest, evaluation_id: int) -> EvaluationOut:
    """Aggregate, rank and name the candidates once every member has handed in; the seed is revealed."""
    actor = request_user(request)
    return evaluation_out(
        workspace.evaluation_conclude(actor=actor, evaluation_id=evaluation_id, now=clock.now()), actor
    )


@router.post(
    "/evaluations/{evaluation_id}/tie-draw",
    response=TieDrawOut,
    operation_id="tie_draw",
    auth=authenticated(WRITE),
)
def tie_draw(request: HttpRequest, evaluation_id: int) -> TieDrawOut:
    """Draw the order of the bids tied for the first place (the agency): the seed committed at the set-up is
    revealed and orders them; the report, the candidates and the award follow that order."""
    tie = ties.tie_draw(actor=request_user(request), evaluation_id=evaluation_id, now=clock.now())
    return tie_draw_out(tie)


@router.get(
    "/evaluations/{evaluation_id}/tie-draw", response=TieDrawOut, operation_id="tie_draw_record", auth=None
)
def tie_draw_record(request: HttpRequest, evaluation_id: int) -> TieDrawOut:
    """The tie-break draw's record (commitment, tied bids with their keys, order, the seed once revealed): for
    those who see the evaluation, and for anyone once the candidates are published, to redo the draw."""
    viewer = optional_user(request, READ)
    return tie_draw_out(selectors.access_tie_draw(viewer=viewer, evaluation_id=evaluation_id))


@router.post(
    "/evaluations/{evaluation_id}/report",
    response={201: ReportOut},
    operation_id="report_generate",
    auth=authenticated(WRITE),
)
def report_generate(request: HttpRequest, evaluation_id: int) -> Status[ReportOut]:
    """Make the report's PDF; every member signs it next."""
    report = reports.report_generate(
        actor=request_user(request), evaluation_id=evaluation_id, now=clock.now()
    )
    return Status(201, report_out(report))


@router.get(
    "/evaluations/{evaluation_id}/report",
    response={200: None},
    operation_id="report_download",
    auth=authenticated(READ),
    openapi_extra={"responses": {"200": {"description": "The report", "content": {"application/pdf": {}}}}},
)
def report_download(request: HttpRequest, evaluation_id: int) -> FileResponse:
    """The report PDF, to read and to sign (``openssl cms -sign -binary`` over these exact bytes)."""
    evaluation = selectors.access_report_for_viewer(viewer=request_user(request), evaluation_id=evaluation_id)
    report = evaluation.report
    return FileResponse(
        report.file.open("rb"), content_type="application/pdf", filename=f"report-{evaluation.lot.code}.pdf"
    )


@router.post(
    "/evaluations/{evaluation_id}/report/signatures",
    response={201: ReportOut},
    operation_id="report_sign",
    auth=authenticated(WRITE),
)
def report_sign(
    request: HttpRequest, evaluation_id: int, signature: File[UploadedFile], dissent: Form[str] = ""
) -> Status[ReportOut]:
    """Sign the report (multipart ``signature``, optional ``dissent`` in writing)."""
    report = reports.report_sign(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        signature=_signature(signature),
        dissent=dissent,
        now=clock.now(),
    )
    return Status(201, report_out(report))


# --- publicity, award, contract, refunds -----------------------------------------------------------------


@router.post(
    "/tenders/{tender_id}/candidates",
    response={201: PublicityOut},
    operation_id="candidates_publish",
    auth=authenticated(WRITE),
)
def candidates_publish(request: HttpRequest, tender_id: int) -> Status[PublicityOut]:
    """Publish every lot's candidates for the statutory publicity (the agency)."""
    publicity = award.candidates_publish(actor=request_user(request), tender_id=tender_id, now=clock.now())
    return Status(
        201,
        PublicityOut(
            tender_id=publicity.tender_id,
            starts_at=publicity.starts_at,
            ends_at=publicity.ends_at,
            notice_id=publicity.notice_id,
        ),
    )


@router.post(
    "/evaluations/{evaluation_id}/award",
    response={201: AwardOut},
    operation_id="award_decide",
    auth=authenticated(WRITE),
)
def award_decide(request: HttpRequest, evaluation_id: int, payload: AwardIn) -> Status[AwardOut]:
    """The tenderee awards the lot to one of its candidates, after the publicity."""
    decided = award.award_decide(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        bid_id=payload.bid_id,
        reason=payload.reason,
        now=clock.now(),
    )
    return Status(201, award_out(decided))


@router.post(
    "/evaluations/{evaluation_id}/contract",
    response={201: ContractOut},
    operation_id="contract_record",
    auth=authenticated(WRITE),
)
def contract_record(
    request: HttpRequest,
    evaluation_id: int,
    document: File[UploadedFile],
    amount: Form[Decimal],
    signed_on: Form[datetime],
    duration_days: Form[int | None] = None,
) -> Status[ContractOut]:
    """Record the signed contract (multipart: ``document``, ``amount``, ``signed_on``, ``duration_days``)."""
    contract = award.contract_record(
        actor=request_user(request),
        evaluation_id=evaluation_id,
        amount=amount,
        duration_days=duration_days,
        signed_on=signed_on,
        document=_read(document, "document"),
        now=clock.now(),
    )
    return Status(201, contract_out(contract))


@router.get(
    "/tenders/{tender_id}/refunds",
    response=list[RefundOut],
    operation_id="refund_list",
    auth=authenticated(READ),
)
def refund_list(request: HttpRequest, tender_id: int) -> list[RefundOut]:
    """The bid bonds to refund, with their due dates."""
    tender = selectors.access_tender_for_award_viewer(viewer=request_user(request), tender_id=tender_id)
    return [refund_out(r) for r in selectors.refund_list(tender)]


@router.post(
    "/refunds/{refund_id}/confirm",
    response=RefundOut,
    operation_id="bond_refund_confirm",
    auth=authenticated(WRITE),
)
def bond_refund_confirm(request: HttpRequest, refund_id: int) -> RefundOut:
    """Confirm a bond was paid back."""
    refund = award.bond_refund_confirm(actor=request_user(request), refund_id=refund_id, now=clock.now())
    return refund_out(BondRefund.objects.select_related("bid__entity").get(pk=refund.pk))
