"""A bidder seals a bid in the page with a PKCS#12 file and submits it; the envelope is what the Python client
would make (both recipients, a SignedData that `openssl cms -verify` accepts, bid.json with the typed price),
no request carries the bid in clear, and the receipt bundle saved from the page verifies offline.

The page is driven by ``seal_in_page``, the step the full journey takes for its three bidders; this test looks
inside the one envelope it makes. The platform's clock is shifted to a moment while bidding is open (the tests
never depend on the day they run).
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from tenderhall.bids.client import receipt_bundle_read, receipt_check
from tenderhall.bids.envelope import (
    content_key_unwrap,
    envelope_decrypt,
    envelope_inspect,
    envelope_require_recipients,
)
from tenderhall.core import clock
from tenderhall.core.hooks import sealing_recipients
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.opening.tests.scene import DURING, make_opening, read_envelope
from tests.browser.journey_steps import People, seal_in_page
from tests.browser.test_tender_journey import ShiftedClock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MARKER = "8765432.17"  # the typed price: it must never travel in clear
P12_PASSWORD = b"demo-p12"


@pytest.fixture
def people(
    browser: Any, live_server: Any, transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[People]:
    ledger_selectors.clear_tile_cache()
    shifted = ShiftedClock(DURING)  # bidding is open
    monkeypatch.setattr(clock, "now", shifted.now)
    made = People(browser, live_server.url, shifted)
    yield made
    made.close()
    ledger_selectors.clear_tile_cache()


def test_a_bidder_seals_in_the_page_submits_and_the_receipt_verifies_offline(
    people: People, tmp_path: Path
) -> None:
    # given: a tender in bidding with its escrow certificate (2 of 3 opening officials hold its key), a bidder
    # with its certificates
    opening = make_opening(tmp_path, bidders=1)
    (bidder,) = opening.bidders
    lot = opening.tender.lots.get()
    escrow = sealing_recipients(opening.tender)
    assert set(escrow) == {"escrow"}

    # when: the bidder signs in, fills the page with its PKCS#12 file and seals
    sealed = seal_in_page(
        people.page(bidder.user),
        people.base,
        lot=lot,
        bidder=bidder,
        price=MARKER,
        duration_days=180,
        password=P12_PASSWORD,
    )

    # then: one bid, its envelope sealed to the bidder and the escrow, as the page showed and saved it
    assert people.errors == []
    envelope = read_envelope(sealed.bid)
    assert sealed.envelope.read_bytes() == envelope
    info = envelope_inspect(envelope)
    assert (info.kind, info.content_encryption) == ("auth_enveloped", "aes-256-gcm")
    bidder_der = bidder.encryption_cert.public_bytes(serialization.Encoding.DER)
    found = envelope_require_recipients(info, certificates={"bidder": bidder_der, "escrow": escrow["escrow"]})
    assert {r.key_transport for r in found.values()} == {"rsa-oaep-sha256"}

    # the bidder's encryption key opens it; the plaintext is a SignedData that openssl verifies
    content_key = content_key_unwrap(found["bidder"], bidder.encryption_key)
    signed = envelope_decrypt(envelope, content_key=content_key)
    root = Path(settings.TENDERHALL_DATA_DIR) / "demo-ca" / "root.pem"
    package = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", str(root), "-purpose", "any"],
        input=signed,
        check=True,
        capture_output=True,
    ).stdout
    document = bidder.home / "技术标.txt"
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.namelist() == ["bid.json", "技术标.txt"]
        form = json.loads(archive.read("bid.json"))
        assert archive.read("技术标.txt") == document.read_bytes()
    assert form == {
        "tender": opening.tender.code,
        "lot": lot.code,
        "price": MARKER,
        "duration_days": 180,
    }

    # nothing the page sent carried the price, the document, the PKCS#12, its password, the signing key or the
    # content key in clear: the only upload was the envelope
    assert sealed.uploads == [envelope]
    assert sealed.in_clear(content_key=content_key, content_key_hex=content_key.hex().encode()) == []

    # and the receipt bundle saved from the page verifies offline against the envelope
    read = receipt_bundle_read(json.loads(sealed.receipt.read_text()))
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
    assert read.receipt["bid"] == str(sealed.bid.token)
