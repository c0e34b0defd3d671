"""A bidder seals a bid in the page with a PKCS#12 file and submits it; the envelope is what the Python client
would make (both recipients, a SignedData that `openssl cms -verify` accepts, bid.json with the typed price),
no request carries the bid in clear, and the receipt bundle saved from the page verifies offline.

The platform's clock is shifted to a moment while bidding is open (the tests never depend on the day they
run).
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.urls import include, path

import config.urls
from tenderhall.bids.client import receipt_bundle_read, receipt_check
from tenderhall.bids.envelope import (
    content_key_unwrap,
    envelope_decrypt,
    envelope_inspect,
    envelope_require_recipients,
)
from tenderhall.bids.models import Bid
from tenderhall.bids.tests.test_services import make_bidder
from tenderhall.core import clock
from tenderhall.core.hooks import sealing_recipients
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.opening.tests.test_services import publish_with_officials
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.procedures.tests.factories import PUBLISH_AT
from tests.browser.test_tender_journey import ShiftedClock, sign_in

# The page's URLs, whether or not config/urls.py mounts them yet (it should, at /bids/).
urlpatterns = list(config.urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "bids" for p in urlpatterns):
    urlpatterns.insert(0, path("bids/", include("tenderhall.bids.urls")))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.browser.test_browser_sealing"),
]
MARKER = "8765432.17"  # the typed price: it must never travel in clear
P12_PASSWORD = b"demo-p12"


def der(pem_path: Path) -> bytes:
    return x509.load_pem_x509_certificate(pem_path.read_bytes()).public_bytes(serialization.Encoding.DER)


def test_a_bidder_seals_in_the_page_submits_and_the_receipt_verifies_offline(
    browser: Any, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a tender in bidding with its escrow certificate, a bidder with its certificates, a PKCS#12
    ledger_selectors.clear_tile_cache()
    parties, tender, _officials = publish_with_officials(3, 2)  # 2 of 3 opening officials hold the escrow key
    procedures_tick(now=PUBLISH_AT + timedelta(minutes=1))
    tender.refresh_from_db()
    lot = tender.lots.get()
    bidder = make_bidder(parties.operator, tmp_path)
    shifted = ShiftedClock(PUBLISH_AT + timedelta(days=3))  # bidding is open
    monkeypatch.setattr(clock, "now", shifted.now)
    escrow = sealing_recipients(tender)
    assert set(escrow) == {"escrow"}
    signing_key = serialization.load_pem_private_key(bidder.signing_key.read_bytes(), password=None)
    assert isinstance(signing_key, rsa.RSAPrivateKey)
    p12 = tmp_path / "bidder.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"bidder-signing",
            signing_key,
            x509.load_pem_x509_certificate(bidder.signing_cert.read_bytes()),
            None,
            serialization.BestAvailableEncryption(P12_PASSWORD),
        )
    )
    document = tmp_path / "技术标.txt"
    document.write_bytes("施工组织设计\n".encode() * 50)

    # when: the bidder signs in, fills the page and seals
    page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    # Every request goes through a route: intercepted, Chromium hands Playwright the body of an upload made
    # from binary data too (a plain page.on("request") may see no body for it).
    bodies: list[tuple[str, bytes]] = []

    def capture(route: Any) -> None:
        bodies.append((route.request.url, route.request.post_data_buffer or b""))
        route.continue_()

    page.route("**/*", capture)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = live_server.url
    sign_in(page, base, bidder.user.username, shifted)
    page.goto(f"{base}/bids/lots/{lot.pk}/seal/")
    page.select_option("#id_entity_id", str(bidder.entity.pk))
    page.set_input_files("#id_pkcs12", str(p12))
    page.fill("#id_pkcs12_password", P12_PASSWORD.decode())
    page.set_input_files("#id_encryption_certificate", str(bidder.encryption_cert))
    page.fill("#id_price", MARKER)
    page.fill("#id_duration_days", "180")
    page.set_input_files("#id_documents", str(document))
    page.fill("#id_bond_amount", "150000")
    page.fill("#id_bond_payer_account", "6222020200001234567")
    page.click("#seal-submit")
    page.wait_for_selector("#seal-receipt:not([hidden])", timeout=30_000)
    with page.expect_download() as download:
        page.click("#receipt-download")
    bundle = json.loads(Path(download.value.path()).read_text())

    # then: one bid, its envelope sealed to the bidder and the escrow, as the page showed it
    assert errors == []
    bid = Bid.objects.get(lot=lot, entity=bidder.entity)
    envelope = bid.envelope.read()
    assert page.locator("#receipt-token").inner_text() == str(bid.token)
    assert page.locator("#receipt-sha256").inner_text() == bid.sha256
    info = envelope_inspect(envelope)
    assert (info.kind, info.content_encryption) == ("auth_enveloped", "aes-256-gcm")
    found = envelope_require_recipients(
        info, certificates={"bidder": der(bidder.encryption_cert), "escrow": escrow["escrow"]}
    )
    assert {r.key_transport for r in found.values()} == {"rsa-oaep-sha256"}

    # the bidder's encryption key opens it; the plaintext is a SignedData that openssl verifies
    encryption_key = serialization.load_pem_private_key(
        (tmp_path / "encryption.key.pem").read_bytes(), password=None
    )
    assert isinstance(encryption_key, rsa.RSAPrivateKey)
    signed = envelope_decrypt(envelope, content_key=content_key_unwrap(found["bidder"], encryption_key))
    root = Path(settings.TENDERHALL_DATA_DIR) / "demo-ca" / "root.pem"
    package = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", str(root), "-purpose", "any"],
        input=signed,
        check=True,
        capture_output=True,
    ).stdout
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.namelist() == ["bid.json", "技术标.txt"]
        form = json.loads(archive.read("bid.json"))
        assert archive.read("技术标.txt") == document.read_bytes()
    assert form == {
        "tender": tender.code,
        "lot": lot.code,
        "price": MARKER,
        "duration_days": 180,
    }

    # nothing the page sent carried the price or the document in clear: only the envelope was uploaded
    uploads = [(url, body) for url, body in bodies if body]
    endpoint = f"/api/v1/bids/lots/{lot.pk}/envelopes?"  # the envelope as the body, the fields in the query
    assert any(endpoint in url for url, _ in uploads)
    for url, body in uploads:
        assert MARKER.encode() not in body, url
        assert "施工组织设计".encode() not in body, url
        assert P12_PASSWORD not in body, url
        assert p12.read_bytes()[-64:] not in body, url
    submitted = next(body for url, body in uploads if endpoint in url)
    assert submitted == envelope

    # and the receipt bundle saved from the page verifies offline against the envelope
    read = receipt_bundle_read(bundle)
    problems = receipt_check(
        receipt=read.receipt,
        token=read.token,
        envelope=envelope,
        receipt_public_key=read.receipt_public_key,
        tsa_roots=read.tsa_roots,
        proof=read.proof,
        log_vkey=read.log_vkey,
    )
    assert problems == []
    assert read.receipt["bid"] == str(bid.token)
    ledger_selectors.clear_tile_cache()
