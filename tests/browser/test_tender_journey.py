"""The agency publishes a tender with signed documents; a bidder finds it by a Chinese search, downloads the
documents and asks a question; the agency answers with a late amendment that moves the deadline; the bidder
sees the answer and the new deadline.

The platform's clock is shifted into March 2026 (the tests never depend on the day they run): the live
server and the test read the same shifted clock, and two-factor codes are made for that moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import load_pem_x509_certificate

from tenderhall.accounts.tests.factories import PASSWORD, make_user
from tenderhall.core import clock
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import make_draft_tender, make_parties
from tenderhall.procedures.tests.support import accept_for_entity, make_signer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 2 March 2026, 18:00 in Beijing


class ShiftedClock:
    """Real time passing, from a chosen moment; ``jump`` moves it forward."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(tz=UTC)

    def now(self) -> datetime:
        return datetime.now(tz=UTC) + self.offset

    def jump(self, delta: timedelta) -> None:
        self.offset += delta


def sign_in(
    page: Any, base: str, username: str, clock_: ShiftedClock, totp_secret: str | None = None
) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    if totp_secret is not None:
        page.wait_for_url("**/login/verify**")
        page.fill("#id_code", pyotp.TOTP(totp_secret).at(clock_.now()))
        page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_publish_find_download_ask_answer_and_a_late_amendment_moves_the_deadline(
    browser: Any, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a draft works tender with a lawful timeline, and the agency's signed documents on disk
    shifted = ShiftedClock(START)
    monkeypatch.setattr(clock, "now", shifted.now)
    base = live_server.url
    parties = make_parties()
    tender = make_draft_tender(parties, now=START)
    signer = make_signer(common_name=parties.agency.name, serial_number=parties.agency.identifier, now=START)
    accept_for_entity(signer, actor=parties.agency_user, entity=parties.agency, now=START)
    content = "江城市第一实验中学教学楼改造施工招标文件\n第一章 招标公告\n".encode() * 40
    key = serialization.load_pem_private_key(signer.key_pem, password=None)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(load_pem_x509_certificate(signer.cert_pem), key, hashes.SHA256())  # type: ignore[arg-type]  # RSA
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    (tmp_path / "招标文件.txt").write_bytes(content)
    (tmp_path / "招标文件.p7s").write_bytes(signature)
    # the agency's two-factor was set up at the factories' fixed time (09:30 UTC), before START
    agency = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    sign_in(agency, base, parties.agency_user.username, shifted, parties.agency_user.totp_secret)

    # when: the agency uploads the signed documents and publishes
    agency.goto(f"{base}/procedures/tenders/{tender.pk}/manage/")
    agency.fill("#document-upload #id_name", "招标文件")
    agency.set_input_files("#document-upload #id_file", str(tmp_path / "招标文件.txt"))
    agency.set_input_files("#document-upload #id_signature", str(tmp_path / "招标文件.p7s"))
    agency.click("#document-upload button[type=submit]")
    agency.wait_for_selector("text=招标文件已验签并上传。")
    agency.click("#publish")
    agency.wait_for_selector("#tender-status:has-text('已发布')")
    procedures_tick(now=shifted.now())  # the worker opens the documents at their time
    tender.refresh_from_db()
    deadline_before = tender.bid_deadline
    assert deadline_before is not None

    # then: a bidder finds it by a Chinese search, downloads the documents and asks
    bidder_user = make_user(username="bidder-wang")
    bidder = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    sign_in(bidder, base, bidder_user.username, shifted)
    bidder.goto(f"{base}/notices/")
    bidder.fill("#notice-search input[name=q]", "教学楼改造")
    bidder.click("#notice-search button[type=submit]")
    bidder.click("#notices a:has-text('教学楼改造施工')")
    bidder.click("#tender-link")  # from the notice to the tender page
    bidder.wait_for_url(f"**/tenders/{tender.pk}/")
    with bidder.expect_download() as download:
        bidder.click("#documents a:has-text('下载')")
    assert Path(download.value.path()).read_bytes() == content
    bidder.reload()
    bidder.fill("#ask #id_text", "工期能否调整为200日历天？")
    bidder.click("#ask button[type=submit]")
    bidder.wait_for_selector("#my-questions:has-text('工期能否调整为200日历天？')")

    # when: eight days before the deadline, the agency answers with an amendment that affects the bids
    shifted.jump(deadline_before - timedelta(days=8) - shifted.now())
    agency.goto(f"{base}/procedures/tenders/{tender.pk}/manage/")
    assert "bidder-wang" not in agency.content()
    agency.fill("#clarification #id_text", "工期调整为200日历天，工程量清单第三章相应修改。")
    agency.check("#clarification input[name=affects_bids]")
    agency.check("#clarification input[name=question_ids]")
    agency.click("#clarification button[type=submit]")
    agency.wait_for_selector("text=澄清已发布。")

    # then: the bidder sees the answer, and the deadline has moved (15 days after the amendment at least)
    tender.refresh_from_db()
    assert tender.bid_deadline is not None
    assert tender.bid_deadline >= shifted.now() + timedelta(days=15)
    bidder.goto(f"{base}/tenders/{tender.pk}/")
    assert "工期调整为200日历天" in bidder.locator("#my-questions .answer").inner_text()
    new_deadline = tender.bid_deadline.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert bidder.locator("#bid-deadline").inner_text() == new_deadline
    bidder.goto(f"{base}/procedures/notifications/")
    assert "教学楼改造施工" in bidder.locator("#notifications").inner_text()
    assert Tender.objects.get(pk=tender.pk).status == "bidding"
