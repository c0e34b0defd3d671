"""A bidder registers its entity and uploads its certificate, the operator approves it, the public sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.conf import settings

from tenderhall.accounts.choices import Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.tests.factories import PASSWORD, make_user
from tenderhall.core import clock
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import uscc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, username: str, totp_secret: str | None = None) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    if totp_secret is not None:
        page.wait_for_url("**/login/verify**")
        page.fill("#id_code", pyotp.TOTP(totp_secret).now())
        page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_bidder_registers_operator_approves_public_sees_entity_with_certificate(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    # given: a bidder account and an operator with two-factor sign-in
    base = live_server.url
    bidder = make_user(username="bidder-zhang")
    # two-factor was set up at the factories' fixed past time, so the live codes are fresh
    operator = make_user(username="operator-li", role=Role.OPERATOR)
    identifier = uscc(777)
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=clock.now())
    _key, cert_pem = ca.issue_key_and_certificate(
        common_name="江城长江建设有限公司", serial_number=identifier, usage="signing", now=clock.now()
    )
    cert_file = tmp_path / "signing.cert.pem"
    cert_file.write_bytes(cert_pem)

    bidder_page = browser.new_context(locale="zh-CN").new_page()
    sign_in(bidder_page, base, bidder.username)

    # when: the bidder first mistypes the code, then corrects it
    bidder_page.goto(f"{base}/registry/register/")
    bidder_page.select_option("#id_kind", "legal_person")
    bidder_page.fill("#id_name", "江城长江建设有限公司")
    bidder_page.fill("#id_identifier", identifier[:-1] + ("0" if identifier[-1] != "0" else "1"))
    bidder_page.fill("#id_legal_representative", "张伟")
    bidder_page.click("#entity-register button[type=submit]")
    # then: the reason stands under the identifier field and nothing was stored
    error = bidder_page.locator("#field-identifier .error[data-field=identifier]")
    assert "应为" in error.inner_text()
    assert not MarketEntity.objects.exists()

    bidder_page.fill("#id_identifier", identifier)
    bidder_page.click("#entity-register button[type=submit]")
    bidder_page.wait_for_url("**/registry/*/")
    assert bidder_page.locator("#entity-status").inner_text() == "待审核"
    entity = MarketEntity.objects.get(identifier=identifier)

    bidder_page.select_option("#id_usage", "signing")
    bidder_page.set_input_files("#id_certificate", str(cert_file))
    bidder_page.click("#upload-certificate")
    bidder_page.wait_for_selector("table.certificates td.mono")
    assert "江城长江建设有限公司" in bidder_page.locator("table.certificates").inner_text()

    # when: the operator signs in with two-factor and approves it from the review queue
    operator_page = browser.new_context(locale="zh-CN").new_page()
    sign_in(operator_page, base, operator.username, operator.totp_secret)
    operator_page.goto(f"{base}/registry/review/")
    operator_page.click("text=江城长江建设有限公司")
    operator_page.click("#approve")
    operator_page.wait_for_selector("#entity-status:has-text('已通过')")

    # then: the public sees the approved entity with its certificate
    entity.refresh_from_db()
    assert entity.status == EntityStatus.APPROVED
    public_page = browser.new_context(locale="zh-CN").new_page()
    public_page.goto(f"{base}/registry/")
    public_page.click("text=江城长江建设有限公司")
    assert public_page.locator("#entity-status").inner_text() == "已通过"
    certificates = public_page.locator("table.certificates").inner_text()
    assert "江城长江建设有限公司" in certificates
    assert "签名证书" in certificates
