"""The signed report, the candidates' publicity with objections, the award, the contract and the refunds."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError

from tenderhall.bids.models import Bid
from tenderhall.core.errors import InvalidInput, NotFound
from tenderhall.evaluation import award, reports, workspace
from tenderhall.evaluation.choices import EvaluationStatus
from tenderhall.evaluation.models import BondRefund, Committee, EvaluatedBid, Evaluation, Report
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    Scene,
    concluded,
    counts,
    declare_all,
    drawn_committee,
    leaf_problems,
    leaves,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.procedures import objections
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.models import Notice, Notification, Tender

pytestmark = pytest.mark.django_db


SCORES = {
    0: {"tech": ["30"] * 5, "biz": ["10"] * 5},
    1: {"tech": ["45"] * 5, "biz": ["20"] * 5},
    2: {"tech": ["40"] * 5, "biz": ["15"] * 5},
}


def signed_report(scene: Scene, committee: Committee) -> Report:
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    for member in seated(committee):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    return Report.objects.get(pk=report.pk)


def test_the_report_is_a_pdf_signed_by_every_member_and_its_hash_is_logged_after_the_last_signature():
    scene = make_scene(experts=5)
    committee = concluded(scene, SCORES)
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    assert pdf.startswith(b"%PDF-")
    assert report.sha256 == hashlib.sha256(pdf).hexdigest()
    members = seated(committee)
    # a signature over something else is refused
    with pytest.raises(Exception, match="digest") as raised:
        reports.report_sign(
            actor=members[0].user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, members[0].user).pkcs7(b"x"),
            now=EVALUATION_AT,
        )
    assert raised.value.code == "digest_mismatch"  # type: ignore[attr-defined]
    for member in members[:4]:
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    assert leaves("evaluation:report:signed") == []
    reports.report_sign(
        actor=members[4].user,
        evaluation_id=scene.ev.pk,
        signature=signer_for(scene, members[4].user).openssl(pdf),
        dissent="第二名技术方案评分偏高",
        now=EVALUATION_AT,
    )
    [leaf] = leaves("evaluation:report:signed")
    assert leaf["hashes"]["report"] == f"sha256:{report.sha256}"
    assert leaf["data"] == {"signatures": 5, "dissents": 1}
    assert Evaluation.objects.get(pk=scene.ev.pk).status == EvaluationStatus.REPORTED
    assert leaf_problems() == []
    # a changed PDF is found by the ledger check
    with Path(report.file.path).open("ab") as handle:
        handle.write(b"%tampered")
    assert leaf_problems() == [
        f"leaf {Leaf_index('evaluation:report:signed')} (evaluation:report:signed) differs from the live data"
    ]


def Leaf_index(event_type: str) -> int:  # reads as the leaf's name
    from tenderhall.ledger.models import Leaf

    return Leaf.objects.get(event_type=event_type).index


def test_publicity_award_contract_and_refunds():
    # given a signed report
    scene = make_scene(experts=5)
    committee = concluded(scene, SCORES)
    signed_report(scene, committee)
    first, second, third = EvaluatedBid.objects.filter(evaluation=scene.ev).order_by("bid_id")
    # when the agency publishes the candidates
    publicity = award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    tender = Tender.objects.get(pk=scene.tender.pk)
    assert tender.status == TenderStatus.PUBLICITY
    assert publicity.ends_at - EVALUATION_AT >= timedelta(days=3)
    notice = Notice.objects.get(kind=NoticeKind.CANDIDATES)
    assert notice.published_at == EVALUATION_AT
    lot = notice.data["candidates"][0]
    assert [c["bidder"] for c in lot["candidates"]] == [
        second.entity.name,
        third.entity.name,
        first.entity.name,
    ]
    assert sorted(lot["committee"]) == sorted(m.expert.full_name for m in seated(committee))  # type: ignore[union-attr]
    # the notice's text lists them as its data does
    body = Notice.objects.get(kind=NoticeKind.CANDIDATES).body
    assert f"第1名：{second.entity.name}，投标报价 {lot['candidates'][0]['price']} 元" in body
    assert "公示期：" in body
    # the tenderee cannot award during the publicity
    with pytest.raises(award.PublicityRunning):
        award.award_decide(
            actor=scene.tenderee,
            evaluation_id=scene.ev.pk,
            bid_id=second.pk,
            now=EVALUATION_AT + timedelta(days=1),
        )
    # an objection to the result, raised during the publicity, suspends the works tender and blocks the
    # award while open (条例 art. 54)
    objection = objections.objection_raise(
        actor=scene.world.bidder,
        tender_id=tender.pk,
        entity_id=scene.world.bidder_entity.pk,
        subject="result",
        text="评分有误",
        now=EVALUATION_AT + timedelta(days=1),
    )
    after = publicity.ends_at + timedelta(hours=1)
    assert Tender.objects.get(pk=tender.pk).status == TenderStatus.SUSPENDED
    with pytest.raises(award.AwardState, match="suspended"):
        award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=second.pk, now=after)
    objections.objection_answer(
        actor=scene.agency, objection_id=objection.pk, answer="经复核，评分无误", now=after
    )
    assert Tender.objects.get(pk=tender.pk).status == TenderStatus.PUBLICITY
    # a winner other than the first needs a reason; someone else is not the tenderee
    with pytest.raises(award.NotACandidate, match="first-ranked"):
        award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=third.pk, now=after)
    with pytest.raises(NotFound):
        award.award_decide(actor=scene.agency, evaluation_id=scene.ev.pk, bid_id=second.pk, now=after)
    decided = award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=second.pk, now=after)
    # then the tender is awarded, the result notice published and every bidder told its result
    assert Tender.objects.get(pk=tender.pk).status == TenderStatus.AWARDED
    result = Notice.objects.get(kind=NoticeKind.RESULT)
    assert result.data["awards"][0]["winner"] == second.entity.name
    assert f"中标人 {second.entity.name}（统一社会信用代码 {second.entity.identifier}）" in result.body
    assert (
        Notification.objects.filter(user=scene.world.other_bidder, text__startswith="中标通知书").count() == 1
    )
    assert Notification.objects.filter(user=scene.world.bidder, text__startswith="中标结果通知").count() == 1
    assert decided.contract_due_at > after + timedelta(days=29)
    # when the contract is recorded 40 days later for another amount
    signed_on = after + timedelta(days=40)
    contract = award.contract_record(
        actor=scene.tenderee,
        evaluation_id=scene.ev.pk,
        amount=Decimal("118"),
        duration_days=365,
        signed_on=signed_on,
        document=b"contract text",
        now=signed_on,
    )
    # then it is late and its difference from the bid listed; the bonds are due back within 5 days
    assert contract.late is True
    assert contract.differences == [{"field": "amount", "bid": "120.00", "contract": "118.00"}]
    assert Tender.objects.get(pk=tender.pk).status == TenderStatus.CONTRACTED
    refunds = list(BondRefund.objects.order_by("bid_id"))
    assert [r.bid_id for r in refunds] == sorted(Bid.objects.values_list("pk", flat=True))
    # signed Monday 11 May 2026 (Beijing): five days end Saturday 16 May, which rolls over to Monday 18 May;
    # due before midnight that day
    assert {r.due_at for r in refunds} == {datetime(2026, 5, 18, 16, 0, tzinfo=UTC)}
    confirmed = award.bond_refund_confirm(actor=scene.agency, refund_id=refunds[0].pk, now=signed_on)
    assert confirmed.refunded_at == signed_on
    with pytest.raises(award.AwardState):
        award.bond_refund_confirm(actor=scene.agency, refund_id=refunds[0].pk, now=signed_on)
    assert leaf_problems() == []
    assert len(leaves("evaluation:award:decided")) == len(leaves("evaluation:contract:recorded")) == 1


def test_candidates_wait_for_the_signed_report():
    scene = make_scene(experts=5)
    concluded(scene, SCORES)
    with pytest.raises(award.AwardState, match="signed"):
        award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    assert Tender.objects.get(pk=scene.tender.pk).status == TenderStatus.EVALUATION


def test_when_every_bid_is_rejected_the_signed_report_fails_the_tender():
    # given a committee whose majority rejects all three bids
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    members = seated(committee)
    for bid in EvaluatedBid.objects.filter(evaluation=scene.ev):
        for member in members[:3]:
            workspace.compliance_mark(
                actor=member.user,
                evaluation_id=scene.ev.pk,
                bid_id=bid.pk,
                ground="not_responsive",
                reason="未响应工期要求",
                now=EVALUATION_AT,
            )
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    assert (evaluation.status, (evaluation.results or {})["candidates"]) == (EvaluationStatus.FAILED, [])
    # when every member signs the report
    signed_report(scene, committee)
    # then the tender has failed, with its workflow leaf, and no candidates can be published
    assert Tender.objects.get(pk=scene.tender.pk).status == TenderStatus.FAILED
    assert leaves("procedures:tender:failed")[0]["data"]["from"] == "evaluation"
    with pytest.raises(award.AwardState):
        award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    assert leaf_problems() == []


BAD_CONTRACTS: list[tuple[dict[str, Any], str]] = [
    ({"amount": Decimal(0)}, "amount"),
    ({"amount": Decimal("1e19")}, "amount"),
    ({"amount": Decimal("NaN")}, "amount"),
    ({"signed_on": datetime(2026, 5, 1, 10, 0)}, "signed_on"),  # noqa: DTZ001  # a naive time, refused
    ({"duration_days": 0}, "duration_days"),
    ({"document": b""}, "document"),
]


def test_a_contract_with_bad_figures_is_refused_before_anything_is_written():
    # given an awarded lot
    scene = make_scene(experts=5)
    committee = concluded(scene, SCORES)
    signed_report(scene, committee)
    publicity = award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    after = publicity.ends_at + timedelta(hours=1)
    winner = (Evaluation.objects.get(pk=scene.ev.pk).results or {})["candidates"][0]
    award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=winner, now=after)
    before = counts()
    for change, field in BAD_CONTRACTS:
        values: dict[str, Any] = {
            "amount": Decimal(100),
            "duration_days": 30,
            "signed_on": after,
            "document": b"x",
        }
        with pytest.raises(InvalidInput) as raised:
            award.contract_record(
                actor=scene.tenderee, evaluation_id=scene.ev.pk, now=after, **{**values, **change}
            )
        assert list(raised.value.details["fields"]) == [field], change
    assert counts() == before


@pytest.mark.parametrize("failing", ["row", "audit"])
def test_a_report_whose_transaction_fails_leaves_no_pdf_behind(
    monkeypatch: pytest.MonkeyPatch, settings: Any, failing: str
):
    # given a concluded committee
    scene = make_scene(experts=5)
    concluded(scene, SCORES)
    files = Path(settings.TENDERHALL_DATA_DIR) / "files" / "evaluation-reports"

    def fail(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("the disk is full")

    # when the report's row (or the audit entry after it) cannot be written
    if failing == "row":
        monkeypatch.setattr(Report, "save", fail)
    else:
        monkeypatch.setattr(reports, "audit_record", fail)
    with pytest.raises(DatabaseError):
        reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    # then there is no report, and no PDF in storage
    assert Report.objects.count() == 0
    assert sorted(files.rglob("*.pdf")) == []
    # and once the fault is gone the report is made, its file in storage
    monkeypatch.undo()
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert sorted(files.rglob("*.pdf")) == [Path(report.file.path)]
