"""The pages: a member declares, scores and hands in; the tenderee awards; strangers get the 404 page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import enable_two_factor
from tenderhall.core import clock
from tenderhall.evaluation import award, committees, reports, workspace
from tenderhall.evaluation.choices import MemberStatus
from tenderhall.evaluation.models import (
    Award,
    EvaluatedBid,
    Member,
    Publicity,
    ReportSignature,
    Score,
    TieDraw,
)
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    declare_all,
    drawn_committee,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: EVALUATION_AT)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_member_declares_scores_and_hands_in_through_the_pages():
    # given a drawn committee
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    member, *others = seated(committee)
    page = client_for(member.user)
    # when the member opens the page, the declaration is shown and can be downloaded
    text = committees.declaration_text(member)
    assert text.splitlines()[1] in page.get(f"/evaluation/{scene.ev.pk}/").content.decode()
    assert page.get(f"/evaluation/{scene.ev.pk}/declaration.txt").content == text.encode()
    # and its signature is uploaded
    signature = signer_for(scene, member.user).pkcs7(text.encode())
    page.post(f"/evaluation/{scene.ev.pk}/declare", {"signature": SimpleUploadedFile("d.p7s", signature)})
    assert Member.objects.get(pk=member.pk).status == MemberStatus.DECLARED
    for other in others:
        committees.member_declare(
            actor=other.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, other.user).pkcs7(committees.declaration_text(other).encode()),
            now=EVALUATION_AT,
        )
    # then the workspace shows the three bids; the member scores each and hands in
    body = page.get(f"/evaluation/{scene.ev.pk}/").content.decode()
    assert body.count('class="bid"') == 3
    for bid in EvaluatedBid.objects.filter(evaluation=scene.ev):
        page.post(
            f"/evaluation/{scene.ev.pk}/scores", {"bid": bid.pk, "score-tech": "41.5", "score-biz": "12"}
        )
    assert sorted(Score.objects.filter(member=member).values_list("factor", "value")) == sorted(
        [("tech", Decimal("41.5")), ("biz", Decimal(12))] * 3
    )
    # an out-of-range score is refused with its message and changes nothing
    first = EvaluatedBid.objects.filter(evaluation=scene.ev).first()
    assert first is not None
    response = page.post(
        f"/evaluation/{scene.ev.pk}/scores", {"bid": first.pk, "score-tech": "99"}, follow=True
    )
    assert "tech 的分值应在 0 至 50 之间。" in response.content.decode()  # the page is Chinese
    assert Score.objects.get(member=member, bid=first, factor="tech").value == Decimal("41.5")
    # a form whose rejection ground lacks its reason saves nothing of it, not even its scores
    page.post(
        f"/evaluation/{scene.ev.pk}/scores", {"bid": first.pk, "score-tech": "7", "ground": "not_signed"}
    )
    assert Score.objects.get(member=member, bid=first, factor="tech").value == Decimal("41.5")
    page.post(f"/evaluation/{scene.ev.pk}/submit")
    assert Member.objects.get(pk=member.pk).submitted_at == EVALUATION_AT
    # a bidder or an expert of no seat gets the 404 page
    assert client_for(scene.world.bidder).get(f"/evaluation/{scene.ev.pk}/").status_code == 404


def test_the_tenderee_awards_on_the_page_after_the_publicity(monkeypatch: pytest.MonkeyPatch):
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, {i: {"tech": [str(30 + 5 * i)] * 5, "biz": ["10"] * 5} for i in range(3)})
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    for member in seated(committee):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    after = Publicity.objects.get().ends_at + timedelta(hours=1)
    page = client_for(scene.tenderee)
    body = page.get(f"/evaluation/{scene.ev.pk}/").content.decode()
    assert 'id="award-form"' in body
    # names are public now
    assert seated(committee)[0].expert.full_name in body  # type: ignore[union-attr]
    first = (scene.ev.__class__.objects.get(pk=scene.ev.pk).results or {})["candidates"][0]
    monkeypatch.setattr(clock, "now", lambda: after)  # the publicity is over
    page.post(f"/evaluation/{scene.ev.pk}/award", {"bid": first})
    assert Award.objects.get().winner_id == first
    assert Tender.objects.get(pk=scene.tender.pk).status == TenderStatus.AWARDED


def test_a_bidder_answers_a_clarification_and_members_sign_the_report_on_the_page():
    # given a committee at work that asks the first bidder a question
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    member = seated(committee)[0]
    bid = EvaluatedBid.objects.filter(evaluation=scene.ev, entity=scene.world.bidder_entity).get()
    question = workspace.clarification_ask(
        actor=member.user,
        evaluation_id=scene.ev.pk,
        bid_id=bid.pk,
        question="请说明工期安排",
        kind="general",
        now=EVALUATION_AT,
    )
    # when the bidder answers on its page
    page = client_for(scene.world.bidder)
    assert "请说明工期安排" in page.get("/evaluation/clarifications/").content.decode()
    assert (
        "请说明工期安排"
        not in client_for(scene.world.other_bidder).get("/evaluation/clarifications/").content.decode()
    )
    page.post(f"/evaluation/clarifications/{question.pk}/answer", {"answer": "工期180日历天，分三阶段。"})
    question.refresh_from_db()
    assert (question.answer, question.answered_by) == ("工期180日历天，分三阶段。", scene.world.bidder)
    # and once concluded and reported, a member downloads the PDF and signs it on the page
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    seat = client_for(member.user)
    pdf = b"".join(seat.get(f"/evaluation/{scene.ev.pk}/report.pdf").streaming_content)  # type: ignore[attr-defined]
    assert pdf.startswith(b"%PDF-")
    seat.post(
        f"/evaluation/{scene.ev.pk}/report/sign",
        {
            "signature": SimpleUploadedFile("r.p7s", signer_for(scene, member.user).openssl(pdf)),
            "dissent": "",
        },
    )
    assert member.report_signature.signed_at == EVALUATION_AT
    assert client_for(scene.world.bidder).get(f"/evaluation/{scene.ev.pk}/report.pdf").status_code == 404


def test_the_agency_draws_a_tie_for_the_first_place_on_the_page_and_others_cannot():
    # given bids 1 and 2 tied for the first place
    scene = make_scene(experts=5)
    set_up(scene, prices=("100", "100", "150"))
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    tie = TieDraw.objects.get(evaluation=scene.ev)
    # the tenderee sees the tie waiting, without the button; a bidder gets the 404 page and draws nothing
    body = client_for(scene.tenderee).get(f"/evaluation/{scene.ev.pk}/").content.decode()
    assert 'id="tie-draw"' in body
    assert tie.commitment in body
    assert 'id="draw-tie"' not in body
    assert client_for(scene.world.bidder).post(f"/evaluation/{scene.ev.pk}/tie-draw").status_code == 404
    assert client_for(scene.tenderee).post(f"/evaluation/{scene.ev.pk}/tie-draw").status_code == 404
    assert TieDraw.objects.get(pk=tie.pk).drawn_at is None
    # when the agency (which signs in with a second factor) presses the button
    enable_two_factor(scene.agency)
    page = client_for(scene.agency)
    assert 'id="draw-tie"' in page.get(f"/evaluation/{scene.ev.pk}/").content.decode()
    assert 'id="make-report"' not in page.get(f"/evaluation/{scene.ev.pk}/").content.decode()
    body = page.post(f"/evaluation/{scene.ev.pk}/tie-draw", follow=True).content.decode()
    # then the order is drawn, the seed shown, and the report can be made
    tie = TieDraw.objects.get(pk=tie.pk)
    assert tie.drawn_at == EVALUATION_AT
    assert bytes(tie.seed).hex() in body
    assert "抽签确定" in body
    assert 'id="make-report"' in body


def test_a_signature_over_the_limit_is_refused_on_the_pages_naming_it_and_nothing_is_stored():
    # given a member invited to a committee, with a valid signature of its declaration padded past 1 MiB
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    member = seated(committee)[0]
    page = client_for(member.user)
    signature = signer_for(scene, member.user).pkcs7(committees.declaration_text(member).encode())
    padding = bytes(1024 * 1024 + 10 - len(signature))
    # when it uploads it
    response = page.post(
        f"/evaluation/{scene.ev.pk}/declare",
        {"signature": SimpleUploadedFile("d.p7s", signature + padding)},
        follow=True,
    )
    # then the page names the limit and the seat is not confirmed
    assert "1048576" in response.content.decode()
    seat = Member.objects.get(pk=member.pk)
    assert (seat.status, seat.declaration_signature) == (MemberStatus.INVITED, None)
    # given the committee's report to sign
    declare_all(scene, committee)
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    signature = signer_for(scene, member.user).pkcs7(report.file.open("rb").read())
    # when the member signs it with a signature padded past the limit
    response = page.post(
        f"/evaluation/{scene.ev.pk}/report/sign",
        {"signature": SimpleUploadedFile("r.p7s", signature + bytes(1024 * 1024 + 10 - len(signature)))},
        follow=True,
    )
    # then the page names the limit and no signature is stored
    assert "1048576" in response.content.decode()
    assert ReportSignature.objects.count() == 0
