"""An expert drawn for a committee signs in, downloads its no-conflict declaration, signs it with openssl and
uploads the signature, then scores the three bids alone and hands in; the tenderee, after the candidates'
publicity, awards the lot on its page.

The platform's clock is shifted to the evaluation (late March 2026); the live server and the test read the
same shifted clock, and two-factor codes are made for that moment.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tenderhall.core import clock
from tenderhall.evaluation import award, committees, reports, workspace
from tenderhall.evaluation.choices import MemberStatus
from tenderhall.evaluation.models import Award, EvaluatedBid, Member, Publicity, Score
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
from tenderhall.procedures.models import Tender
from tests.browser.test_tender_journey import ShiftedClock, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_expert_declares_scores_alone_and_hands_in(
    browser: Any, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a lot under evaluation with a drawn committee of five
    shifted = ShiftedClock(EVALUATION_AT)
    monkeypatch.setattr(clock, "now", shifted.now)
    base = live_server.url
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    member, *others = seated(committee)
    signer = signer_for(scene, member.user)
    page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    sign_in(page, base, member.user.username, shifted, member.user.totp_secret)

    # when the expert downloads the declaration, signs it with openssl and uploads the signature
    page.goto(f"{base}/evaluation/")
    page.click(f"#seats a[href='/evaluation/{scene.ev.pk}/']")
    with page.expect_download() as download:
        page.click("#declaration a:has-text('下载承诺书')")
    text = Path(download.value.path()).read_bytes()
    assert text == committees.declaration_text(member).encode()
    (tmp_path / "d.p7s").write_bytes(signer.openssl(text))
    page.set_input_files("#declaration #id_signature", str(tmp_path / "d.p7s"))
    page.click("#declaration button:has-text('签署并确认参加')")
    page.wait_for_selector("text=承诺书已验签，席位已确认。")
    assert Member.objects.get(pk=member.pk).status == MemberStatus.DECLARED
    for other in others:  # the rest of the committee declares too
        committees.member_declare(
            actor=other.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, other.user).pkcs7(committees.declaration_text(other).encode()),
            now=shifted.now(),
        )

    # then the workspace shows the three bids; the expert scores each and hands in
    page.reload()
    bids = list(EvaluatedBid.objects.filter(evaluation=scene.ev).order_by("pk"))
    assert page.locator("#workspace form.bid").count() == 3
    for n, bid in enumerate(bids):
        form = f"#bid-{bid.pk}"
        page.fill(f"{form} input[name=score-tech]", str(40 + n))
        page.fill(f"{form} input[name=score-biz]", "15.5")
        page.click(f"{form} button:has-text('保存')")
        page.wait_for_selector("text=已保存。")
    page.click("#submit button")
    page.wait_for_selector("#submitted")
    assert sorted(Score.objects.filter(member=member).values_list("bid_id", "factor", "value")) == sorted(
        [(b.pk, "tech", Decimal(40 + n)) for n, b in enumerate(bids)]
        + [(b.pk, "biz", Decimal("15.5")) for b in bids]
    )
    assert Member.objects.get(pk=member.pk).submitted_at is not None
    # and another member's page shows none of this member's scores
    other_page = browser.new_context(locale="zh-CN").new_page()
    sign_in(other_page, base, others[0].user.username, shifted, others[0].user.totp_secret)
    other_page.goto(f"{base}/evaluation/{scene.ev.pk}/")
    assert other_page.locator(f"#bid-{bids[0].pk} input[name=score-tech]").input_value() == ""


def test_the_tenderee_awards_after_the_publicity(
    browser: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given candidates published after a signed report
    shifted = ShiftedClock(EVALUATION_AT)
    monkeypatch.setattr(clock, "now", shifted.now)
    base = live_server.url
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
    # when the publicity is over, the tenderee opens the evaluation and awards the first candidate
    shifted.jump(Publicity.objects.get().ends_at + timedelta(hours=1) - shifted.now())
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in(page, base, scene.tenderee.username, shifted)
    page.goto(f"{base}/evaluation/")
    page.click(f"#managed a[href='/evaluation/{scene.ev.pk}/']")
    first = (scene.ev.__class__.objects.get(pk=scene.ev.pk).results or {})["candidates"][0]
    assert page.locator("#award-form input[name=bid]:checked").get_attribute("value") == str(first)
    page.click("#award-form button")
    page.wait_for_selector("text=已确定中标人，中标结果已公告。")
    # then
    assert page.locator("#tender-status").inner_text() == "已定标"
    assert Award.objects.get().winner_id == first
    assert Tender.objects.get(pk=scene.tender.pk).status == "awarded"
