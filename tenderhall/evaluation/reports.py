"""The evaluation report (评标报告): a PDF made from the committee's result, signed by every member with a
detached CMS signature over the PDF's bytes; once the last member has signed, the PDF's SHA-256 is logged
(``evaluation:report:signed``) and ``tenderhall ledger verify`` checks the stored file against it.

A member who disagrees signs with its dissent in writing (条例 art. 53(2)); the dissent is kept with the
signature and named in the leaf's data by count.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict
from tenderhall.evaluation import methods, ties
from tenderhall.evaluation.choices import EvaluationStatus, MemberKind, MemberStatus, RejectionGround
from tenderhall.evaluation.committees import verify_detached
from tenderhall.evaluation.models import EvaluatedBid, Evaluation, Member, Report, ReportSignature
from tenderhall.evaluation.selectors import (
    access_evaluation_for_manager,
    access_member_seat,
    ranking_settled,
    tie_draw_of,
)
from tenderhall.evaluation.transitions import tender_step
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import workflow
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender

METHOD_LABELS = {
    methods.Method.COMPREHENSIVE: "综合评分法",
    methods.Method.LOWEST_EVALUATED_PRICE: "经评审的最低投标价法",
    methods.Method.BENCHMARK: "综合评估法（评标基准价）",
}


class ReportState(Conflict):
    code = "report_state"


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def report_context(evaluation: Evaluation) -> dict[str, Any]:
    results = evaluation.results or {}
    bids = {b.pk: b for b in EvaluatedBid.objects.filter(evaluation=evaluation).select_related("entity")}
    committee = evaluation.committee
    members = [
        {
            "kind_label": MemberKind(m.kind).label,
            "label": f"{m.expert.code} {m.expert.full_name}" if m.expert else m.user.full_name,
            "declared_at": _local(m.declared_at),
        }
        for m in committee.members.filter(status=MemberStatus.DECLARED).select_related("expert", "user")
    ]
    config = evaluation.config
    parameters = [("评标办法", METHOD_LABELS.get(methods.Method(evaluation.method), evaluation.method))]
    parameters += [
        (key, str(config.get(key))) for key in ("price_weight", "k", "e_above", "e_below", "trimming")
    ]
    parameters += [
        (f"{f['name']}（{f['code']}）", f"权重 {f['weight']}，满分 {f['full']}") for f in config["factors"]
    ]
    parameters.append(
        (
            "汇总方式",
            "去掉一个最高分和一个最低分后平均" if config.get("aggregation") == "trimmed" else "算术平均",
        )
    )
    rejected = [
        {
            "bidder": bids[int(key)].entity.name,
            "ground": RejectionGround(mark["ground"]).label,
            "reason": mark["reason"],
        }
        for key, marks in results.get("rejected", {}).items()
        for mark in marks
    ]
    tie = tie_draw_of(evaluation)
    ranking = []
    for entry in ranking_settled(evaluation, tie):
        row = results["bids"][str(entry["bid"])]
        ranking.append(
            {
                "rank": entry["rank"],
                "tied": entry["tied"],
                "drawn": entry["drawn"],
                "bidder": bids[entry["bid"]].entity.name,
                "price": row["price"],
                "price_score": row["price_score"],
                "figure": row["figure"],
                "outliers": "; ".join(f"{code}: {len(found)}" for code, found in row["outliers"].items()),
            }
        )
    concluded = {bids[key].entity.name for key in results.get("candidates", [])}
    candidates = [r for r in ranking if r["bidder"] in concluded]
    clarifications = [
        {
            "bidder": c.bid.entity.name,
            "question": c.question,
            "answer": c.answer,
            "finding": {True: "成本说明成立", False: "成本说明不成立", None: ""}[c.accepted],
        }
        for c in evaluation_clarifications(evaluation)
    ]
    lot = evaluation.lot
    return {
        "tender": lot.tender,
        "lot": lot,
        "method_label": parameters[0][1],
        "concluded_at": _local(evaluation.concluded_at),
        "committee": committee,
        "members": members,
        "parameters": parameters,
        "rejected": rejected,
        "ranking": ranking,
        "figure_label": "评标价（元）"
        if evaluation.method == methods.Method.LOWEST_EVALUATED_PRICE
        else "综合得分",
        "benchmark": results.get("benchmark"),
        "candidates": candidates,
        "clarifications": clarifications,
        "tie": tie_record(tie, bids) if tie is not None and tie.order else None,
    }


def tie_record(tie: Any, bids: dict[int, EvaluatedBid]) -> dict[str, Any]:
    """The tie-break draw as the report prints it: commitment, seed, and the tied bids in draw order."""
    keys = {int(t["bid"]): str(t["key"]) for t in tie.tied}
    return {
        "commitment": tie.commitment,
        "committed_at": _local(tie.committed_at),
        "seed": bytes(tie.seed).hex(),
        "drawn_at": _local(tie.drawn_at),
        "order": [{"bidder": bids[pk].entity.name, "key": keys[pk]} for pk in tie.order],
    }


def evaluation_clarifications(evaluation: Evaluation) -> list[Any]:
    from tenderhall.evaluation.models import BidClarification

    return list(BidClarification.objects.filter(bid__evaluation=evaluation).select_related("bid__entity"))


def render_pdf(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    html = render_to_string("evaluation/report.html", context)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def report_generate(*, actor: User, evaluation_id: int, now: datetime) -> Report:
    """Make the report's PDF from the committee's result; the members sign it next. The PDF is written to
    storage inside the transaction that adds its row, and removed again when that transaction fails, so that
    a failure leaves neither (called in its own transaction, as the pages and the API do)."""
    access_evaluation_for_manager(actor=actor, evaluation_id=evaluation_id)
    evaluation = Evaluation.objects.select_related("lot__tender__project__tenderee", "committee").get(
        pk=evaluation_id
    )
    if evaluation.status not in (EvaluationStatus.CONCLUDED, EvaluationStatus.FAILED):
        raise ReportState(gettext("The report is made once the committee has concluded."))
    if ties.tie_pending(tie_draw_of(evaluation)):
        raise ties.TieUnsettled(
            gettext("Bids are tied for the first place: draw their order first; the report names it.")
        )
    context = report_context(evaluation)
    pdf = render_pdf(context)
    stored = ""  # the PDF's name in storage once written: removed again if the transaction fails
    try:
        with transaction.atomic():
            locked = Evaluation.objects.select_for_update(of=("self",)).get(pk=evaluation.pk)
            if Report.objects.filter(evaluation=locked).exists():
                raise ReportState(gettext("The report has been made already."))
            report = Report(
                evaluation=locked,
                sha256=hashlib.sha256(pdf).hexdigest(),
                content={
                    "results": evaluation.results,
                    "lot": evaluation.lot.code,
                    "ranking": ranking_settled(evaluation),  # in award order, the tie for the first drawn
                },
                created_at=now,
            )
            report.file.save(f"report-{evaluation.lot.code}.pdf", ContentFile(pdf), save=False)
            stored = report.file.name or ""
            report.save()
            audit_record(
                actor=actor,
                action="evaluation:report:generated",
                subject_type="evaluation",
                subject_id=evaluation.pk,
                at=now,
                changes={"sha256": [None, report.sha256]},
            )
    except BaseException:
        if stored:  # the row is rolled back: no file without its row
            Report._meta.get_field("file").storage.delete(stored)
        raise
    return report


def _fail_when_every_lot_failed(*, actor: User, evaluation: Evaluation, now: datetime) -> None:
    """Every bid of every lot rejected (招标投标法 art. 42): the last signed report fails the tender."""
    if evaluation.status != EvaluationStatus.FAILED:
        return
    tender = Tender.objects.select_for_update(of=("self",)).get(pk=evaluation.lot.tender_id)
    lots = tender.lots.count()
    failed = Evaluation.objects.filter(
        lot__tender=tender, status=EvaluationStatus.FAILED, report__signed_at__isnull=False
    ).count()
    if failed == lots and tender.status == TenderStatus.EVALUATION:
        tender_step(actor=actor, tender=tender, event=workflow.TenderEvent.FAIL, now=now)


def report_sign(
    *, actor: User, evaluation_id: int, signature: bytes, dissent: str = "", now: datetime
) -> Report:
    """A member signs the report PDF (detached CMS over its bytes); the last signature logs its hash."""
    member = access_member_seat(actor=actor, evaluation_id=evaluation_id)
    if member.status != MemberStatus.DECLARED:
        raise ReportState(gettext("Only members who declared no conflict sign the report."))
    report = Report.objects.filter(evaluation_id=evaluation_id).first()
    if report is None:
        raise ReportState(gettext("The report has not been made yet."))
    with report.file.open("rb") as handle:
        pdf = handle.read()
    certificate_id = verify_detached(user=actor, content=pdf, signature=signature, now=now)
    with transaction.atomic():
        report = (
            Report.objects.select_for_update(of=("self",)).select_related("evaluation__lot").get(pk=report.pk)
        )
        if ReportSignature.objects.filter(member=member).exists():
            raise ReportState(gettext("You have signed the report already."))
        ReportSignature.objects.create(
            report=report,
            member=member,
            signature=signature,
            certificate_id=certificate_id,
            dissent=dissent.strip(),
            signed_at=now,
        )
        declared = Member.objects.filter(committee__evaluation_id=evaluation_id, status=MemberStatus.DECLARED)
        signed = ReportSignature.objects.filter(report=report).count()
        if signed == declared.count():
            report.signed_at = now
            report.save(update_fields=["signed_at"])
            evaluation = Evaluation.objects.select_for_update(of=("self",)).get(pk=evaluation_id)
            if evaluation.status == EvaluationStatus.CONCLUDED:
                evaluation.status = EvaluationStatus.REPORTED
                evaluation.save(update_fields=["status"])
            _fail_when_every_lot_failed(actor=actor, evaluation=evaluation, now=now)
            dissents = ReportSignature.objects.filter(report=report).exclude(dissent="").count()
            ledger_append(
                event_type="evaluation:report:signed",
                subjects={"report": str(report.pk), "lot": report.evaluation.lot.code},
                hashes={"report": f"sha256:{report.sha256}"},
                actor=None,
                at=now,
                data={"signatures": signed, "dissents": dissents},
            )
        audit_record(
            actor=actor,
            action="evaluation:report:signed",
            subject_type="report",
            subject_id=report.pk,
            at=now,
            changes={"signed_by": [None, member.pk]},
        )
    return report
