"""Pages: a member's seat (declaration, workspace, hand-in), the committee's result, and the tenderee's award.
As thin as the API: one service per action, the rules in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import InvalidInput, NotFound
from tenderhall.core.views import perform
from tenderhall.evaluation import award, committees, methods, reports, selectors, ties, workspace
from tenderhall.evaluation.choices import EvaluationStatus, MemberStatus, RejectionGround
from tenderhall.evaluation.models import EvaluatedBid, Evaluation, Member, Publicity
from tenderhall.procedures.choices import TenderStatus


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _back(evaluation_id: int) -> HttpResponse:
    return redirect("evaluation:evaluation", evaluation_id)


@login_required
def evaluation_list_view(request: HttpRequest) -> HttpResponse:
    """The evaluations the person takes part in: as a member, as the tenderee or as the tender's manager."""
    user = _user(request)
    seats = (
        Member.objects.filter(user=user)
        .exclude(status=MemberStatus.DECLINED)
        .select_related("committee__evaluation__lot__tender")
        .order_by("-invited_at")
    )
    others = selectors.evaluation_list_for_person(user)
    return render(request, "evaluation/list.html", {"seats": seats, "others": others})


def _work_rows(
    evaluation: Evaluation, member: Member, config: methods.MethodConfig
) -> list[dict[str, object]]:
    rows = []
    for bid in selectors.bid_list_for_member_work(member):  # marks and scores: this member's own
        scores = {s.factor: s.value for s in bid.scores.all()}
        rows.append(
            {
                "bid": bid,
                "factors": [(f, scores.get(f.code)) for f in config.factors],
                "marks": {m.ground: m.reason for m in bid.marks.all()},
            }
        )
    return rows


@login_required
def evaluation_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    user = _user(request)
    try:
        evaluation = selectors.access_evaluation_for_viewer(viewer=user, evaluation_id=evaluation_id)
    except NotFound:
        return render(request, "404.html", status=404)
    tender = evaluation.lot.tender
    config = methods.config_from_data(evaluation.config)
    member = selectors.member_of(user, evaluation)
    at_work = (
        member is not None
        and member.status == MemberStatus.DECLARED
        and member.submitted_at is None
        and tender.status == TenderStatus.EVALUATION
        and evaluation.status == EvaluationStatus.SCORING
    )
    results: dict[str, Any] | None = evaluation.results if evaluation.concluded_at else None
    bids = {b.pk: b for b in EvaluatedBid.objects.filter(evaluation=evaluation).select_related("entity")}
    tie = selectors.tie_draw_of(evaluation)
    settled = selectors.ranking_settled(evaluation, tie) if results is not None else []
    ranking = [
        {**(results or {})["bids"][str(entry["bid"])], **entry, "bidder": bids[entry["bid"]].entity.name}
        for entry in settled
    ]
    keys = {int(t["bid"]): str(t["key"]) for t in tie.tied} if tie is not None else {}
    tied = [(bids[pk].entity.name, keys[pk]) for pk in (tie.order or keys) if pk in bids] if tie else []
    publicity = Publicity.objects.filter(tender=tender).first()
    context = {
        "evaluation": evaluation,
        "tender": tender,
        "config": config,
        "member": member,
        "declaration": committees.declaration_text(member)
        if member and member.status == MemberStatus.INVITED
        else None,
        "rows": _work_rows(evaluation, member, config) if at_work and member is not None else None,
        "grounds": RejectionGround.choices,
        "ranking": ranking,
        "candidates": [bids[key] for key in selectors.candidates_settled(evaluation, tie)]
        if results is not None
        else [],
        "tie": tie if tie is not None and tie.tied else None,
        "tied": tied,
        "tie_seed": bytes(tie.seed).hex() if tie is not None and tie.revealed_at else None,
        "tie_pending": ties.tie_pending(tie),
        "seats": selectors.seats(evaluation, viewer=user),
        "names_public": selectors.names_public(tender),
        "is_manager": selectors.is_manager(user, tender),
        "can_award": selectors.is_tenderee(user, tender)
        and tender.status == TenderStatus.PUBLICITY
        and not hasattr(evaluation, "award"),
        "publicity": publicity,
        "award": getattr(evaluation, "award", None),
        "report": getattr(evaluation, "report", None),
        "can_sign_report": member is not None
        and member.status == MemberStatus.DECLARED
        and hasattr(evaluation, "report")
        and not hasattr(member, "report_signature"),
    }
    return render(request, "evaluation/evaluation.html", context)


@login_required
def declaration_download_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    try:
        member = selectors.access_member_seat(actor=_user(request), evaluation_id=evaluation_id)
    except NotFound:
        return render(request, "404.html", status=404)
    response = HttpResponse(
        committees.declaration_text(member).encode(), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="declaration.txt"'
    return response


@login_required
@require_POST
def declare_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    upload = request.FILES.get("signature")
    # one byte past the limit, which the service refuses whole (signature_too_large)
    signature = upload.read(committees.MAX_SIGNATURE + 1) if upload is not None else b""
    return perform(
        request,
        lambda: committees.member_declare(
            actor=_user(request), evaluation_id=evaluation_id, signature=signature, now=clock.now()
        ),
        done=_("承诺书已验签，席位已确认。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def decline_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: committees.member_decline(
            actor=_user(request),
            evaluation_id=evaluation_id,
            reason=request.POST.get("reason", ""),
            conflict=request.POST.get("conflict") == "on",
            now=clock.now(),
        ),
        done=_("已谢绝。"),
        then=redirect("evaluation:list"),
    )


@login_required
@require_POST
def scores_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    """Save the scores typed in for one bid (fields ``score-<factor>``), and its rejection marks."""
    user = _user(request)

    @transaction.atomic  # the scores and the mark of one form are saved together or not at all
    def save() -> None:
        try:
            bid_id = int(request.POST.get("bid", "0"))
        except ValueError as error:
            raise NotFound(_("No such bid.")) from error
        for key in request.POST:
            value = request.POST.get(key, "").strip()
            if key.startswith("score-") and value:
                try:
                    number = Decimal(value)
                except ArithmeticError as error:
                    raise InvalidInput(_("Give the score as a number.")) from error
                workspace.score_set(
                    actor=user,
                    evaluation_id=evaluation_id,
                    bid_id=bid_id,
                    factor=key[6:],
                    value=number,
                    now=clock.now(),
                )
        ground, reason = request.POST.get("ground", ""), request.POST.get("reason", "")
        if ground:
            workspace.compliance_mark(
                actor=user,
                evaluation_id=evaluation_id,
                bid_id=bid_id,
                ground=ground,
                reason=reason,
                now=clock.now(),
            )

    return perform(request, save, done=_("已保存。"), then=_back(evaluation_id))


@login_required
@require_POST
def submit_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: workspace.member_submit(actor=_user(request), evaluation_id=evaluation_id, now=clock.now()),
        done=_("评审意见已提交。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def conclude_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: workspace.evaluation_conclude(
            actor=_user(request), evaluation_id=evaluation_id, now=clock.now()
        ),
        done=_("评审结果已汇总。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def tie_draw_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: ties.tie_draw(actor=_user(request), evaluation_id=evaluation_id, now=clock.now()),
        done=_("已抽签确定并列第一的名次。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def report_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: reports.report_generate(actor=_user(request), evaluation_id=evaluation_id, now=clock.now()),
        done=_("评标报告已生成，待评标委员会成员签名。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def candidates_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    evaluation = Evaluation.objects.select_related("lot").filter(pk=evaluation_id).first()
    if evaluation is None:
        return render(request, "404.html", status=404)
    return perform(
        request,
        lambda: award.candidates_publish(
            actor=_user(request), tender_id=evaluation.lot.tender_id, now=clock.now()
        ),
        done=_("中标候选人已公示。"),
        then=_back(evaluation_id),
    )


@login_required
@require_POST
def award_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    def decide() -> None:
        try:
            bid_id = int(request.POST.get("bid", ""))
        except ValueError as error:
            raise InvalidInput(_("Choose the winner among the candidates.")) from error
        award.award_decide(
            actor=_user(request),
            evaluation_id=evaluation_id,
            bid_id=bid_id,
            reason=request.POST.get("reason", ""),
            now=clock.now(),
        )

    return perform(request, decide, done=_("已确定中标人，中标结果已公告。"), then=_back(evaluation_id))


@login_required
def report_download_view(request: HttpRequest, evaluation_id: int) -> HttpResponseBase:
    try:
        evaluation = selectors.access_report_for_viewer(viewer=_user(request), evaluation_id=evaluation_id)
    except NotFound:
        return render(request, "404.html", status=404)
    return FileResponse(
        evaluation.report.file.open("rb"),
        content_type="application/pdf",
        filename=f"report-{evaluation.lot.code}.pdf",
    )


@login_required
@require_POST
def report_sign_view(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    upload = request.FILES.get("signature")
    # one byte past the limit, which the service refuses whole (signature_too_large)
    signature = upload.read(committees.MAX_SIGNATURE + 1) if upload is not None else b""
    return perform(
        request,
        lambda: reports.report_sign(
            actor=_user(request),
            evaluation_id=evaluation_id,
            signature=signature,
            dissent=request.POST.get("dissent", ""),
            now=clock.now(),
        ),
        done=_("评标报告已签名。"),
        then=_back(evaluation_id),
    )


@login_required
def clarification_list_view(request: HttpRequest) -> HttpResponse:
    """The committee's written questions to the entities the person bids for, with an answer form each."""
    clarifications = workspace.clarification_list_for_bidder(actor=_user(request))
    return render(request, "evaluation/clarifications.html", {"clarifications": clarifications})


@login_required
@require_POST
def clarification_answer_view(request: HttpRequest, clarification_id: int) -> HttpResponse:
    return perform(
        request,
        lambda: workspace.clarification_answer(
            actor=_user(request),
            clarification_id=clarification_id,
            answer=request.POST.get("answer", ""),
            now=clock.now(),
        ),
        done=_("答复已提交。"),
        then=redirect("evaluation:clarifications"),
    )
