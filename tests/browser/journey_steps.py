"""Steps of a tender's life as people take them in the browser, for the full-journey test: the agency uploads
the tender documents it signed and publishes the tender from its management page, a bidder seals and
submits in the sealing page with its PKCS#12 file (every request the page sends meanwhile is kept, to show
that nothing but the envelope leaves the machine), a bidder opens its bid in the opening hall with the content
key it unwrapped on its own machine, the agency publishes the opening record from the hall.

The browser contexts are kept by ``People`` so the test's fixture can close them, and wait for the hall's
event streams to end, before the database is emptied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509 import load_pem_x509_certificate
from playwright.sync_api import expect

from tenderhall.accounts.models import User
from tenderhall.bids.models import Bid
from tenderhall.core import clock
from tenderhall.opening.tests.scene import Bidder
from tenderhall.procedures.models import Lot, Tender
from tenderhall.procedures.tests.factories import Parties
from tenderhall.procedures.tests.support import accept_for_entity, make_signer
from tests.browser.test_tender_journey import ShiftedClock, sign_in

LIVE = 20_000  # ms: the hall's stream looks for changes every second; a busy machine may take longer
SEALING = 60_000  # ms: the page signs and encrypts in JavaScript, then the server stamps the receipt
BOND_ACCOUNT = "6222020200001234567"


class People:
    """One browser context per person, all signed in against the same live server and shifted clock; every
    page error is kept so the test can say none happened."""

    def __init__(self, browser: Any, base: str, shifted: ShiftedClock) -> None:
        self.browser, self.base, self.shifted = browser, base, shifted
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def page(self, user: User | None = None, *, totp_secret: str | None = None) -> Any:
        context = self.browser.new_context(locale="zh-CN", accept_downloads=True)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        if user is not None:
            sign_in(page, self.base, user.username, self.shifted, totp_secret or None)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts = []


def publish_in_page(page: Any, base: str, *, parties: Parties, tender: Tender, home: Path) -> None:
    """The agency signs the tender documents on its machine with its accepted certificate (a detached CMS
    signature), uploads both in the tender's management page and publishes."""
    now = clock.now()
    signer = make_signer(common_name=parties.agency.name, serial_number=parties.agency.identifier, now=now)
    accept_for_entity(signer, actor=parties.agency_user, entity=parties.agency, now=now)
    content = f"{tender}\n第一章 招标公告\n第二章 投标人须知\n".encode() * 40
    key = serialization.load_pem_private_key(signer.key_pem, password=None)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(load_pem_x509_certificate(signer.cert_pem), key, hashes.SHA256())  # type: ignore[arg-type]  # RSA
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "招标文件.txt").write_bytes(content)
    (home / "招标文件.p7s").write_bytes(signature)
    page.goto(f"{base}/procedures/tenders/{tender.pk}/manage/")
    page.fill("#document-upload #id_name", "招标文件")
    page.set_input_files("#document-upload #id_file", str(home / "招标文件.txt"))
    page.set_input_files("#document-upload #id_signature", str(home / "招标文件.p7s"))
    page.click("#document-upload button[type=submit]")
    page.wait_for_selector("text=招标文件已验签并上传。")
    page.click("#publish")
    page.wait_for_selector("#tender-status:has-text('已发布')")


def pkcs12_for(bidder: Bidder, password: bytes) -> Path:
    """The bidder's signing key and certificate as the PKCS#12 file its CA would hand out."""
    path = bidder.home / "signing.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            bidder.entity.name.encode(),
            bidder.signing_key,
            bidder.signing_cert,
            None,
            serialization.BestAvailableEncryption(password),
        )
    )
    return path


@dataclass
class Sealed:
    """What a bidder holds once it sealed in the page: the bid the platform stored, the receipt bundle and
    the envelope saved from the page, every request body the page sent while sealing (with its URL), and what
    must stay on the bidder's machine."""

    bid: Bid
    receipt: Path
    envelope: Path
    sent: list[tuple[str, bytes]]
    secrets: dict[str, bytes] = field(default_factory=dict)

    @property
    def uploads(self) -> list[bytes]:
        """The bodies sent to the envelope endpoint (the envelope itself, the bond fields in the query)."""
        endpoint = f"/api/v1/bids/lots/{self.bid.lot_id}/envelopes?"
        return [body for url, body in self.sent if endpoint in url]

    def in_clear(self, **more: bytes) -> list[tuple[str, str]]:
        """(what, url) for every secret, of the bidder's or these, found in a body the page sent."""
        secrets = self.secrets | more
        return [(what, url) for url, body in self.sent for what, secret in secrets.items() if secret in body]


def seal_in_page(
    page: Any, base: str, *, lot: Lot, bidder: Bidder, price: str, duration_days: int, password: bytes
) -> Sealed:
    """Fill the sealing page (the escrow certificate is fetched by the page itself), seal, submit, wait for
    the receipt and save it with the envelope; the bid the platform stored is the bidder's from then on.

    Every request goes through a route while the page seals: intercepted, Chromium hands Playwright the body
    of an upload made from binary data too (a plain ``request`` event may see no body for it)."""
    p12 = pkcs12_for(bidder, password)
    document = bidder.home / "技术标.txt"
    text = f"{bidder.entity.name} 施工组织设计\n"
    document.write_bytes(text.encode() * 20)  # small: the page's JavaScript seals it quickly
    sent: list[tuple[str, bytes]] = []

    def capture(route: Any) -> None:
        sent.append((route.request.url, route.request.post_data_buffer or b""))
        route.continue_()

    page.route("**/*", capture)
    try:
        page.goto(f"{base}/bids/lots/{lot.pk}/seal/")
        page.select_option("#id_entity_id", str(bidder.entity.pk))
        page.set_input_files("#id_pkcs12", str(p12))
        page.fill("#id_pkcs12_password", password.decode())
        page.set_input_files("#id_encryption_certificate", str(bidder.home / "encryption.cert.pem"))
        page.fill("#id_price", price)
        page.fill("#id_duration_days", str(duration_days))
        page.set_input_files("#id_documents", str(document))
        page.fill("#id_bond_amount", str(lot.bid_bond))
        page.fill("#id_bond_payer_account", BOND_ACCOUNT)
        page.click("#seal-submit")
        page.wait_for_selector("#seal-receipt:not([hidden])", timeout=SEALING)
        saved = {}
        for link in ("receipt", "envelope"):
            with page.expect_download() as download:
                page.click(f"#{link}-download")
            saved[link] = bidder.home / download.value.suggested_filename
            download.value.save_as(saved[link])
    finally:
        page.unroute("**/*", capture)
    bid = Bid.objects.get(lot=lot, entity=bidder.entity)
    assert page.locator("#receipt-token").inner_text() == str(bid.token)
    assert page.locator("#receipt-sha256").inner_text() == bid.sha256
    bidder.submitted = bid
    keys = {
        f"{usage} key": key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )[-64:]  # the end of the private key's DER: its CRT coefficient
        for usage, key in (("signing", bidder.signing_key), ("encryption", bidder.encryption_key))
    }
    secrets = keys | {
        "price": price.encode(),
        "document": text.encode(),
        "pkcs12 password": password,
        "pkcs12 file": p12.read_bytes()[-64:],
        "a PEM private key": b"PRIVATE KEY",
    }
    return Sealed(bid, saved["receipt"], saved["envelope"], sent, secrets)


def submit_action(page: Any, form: str, path_end: str) -> Any:
    """Submit one of the hall's action forms and wait for the API's answer to reach the page."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(path_end)) as answer:
        page.click(f"{form} button[type=submit]")
    return answer.value


def hall_row(page: Any, bidder: Bidder) -> Any:
    return page.locator(f'#hall-state tr.hall-bid[data-bid-token="{bidder.bid.token}"]')


def open_in_hall(page: Any, hall: str, bidder: Bidder) -> None:
    """The bidder pastes the content key `tenderhall bid unwrap-key` printed on its machine; its bid opens."""
    page.goto(hall)
    expect(page.locator("#hall-view")).to_have_text("bidder")
    page.fill(f"#content-key-{bidder.bid.pk}", bidder.content_key().hex())
    answer = submit_action(page, f"#key-form-{bidder.bid.pk}", f"/bids/{bidder.bid.pk}/content-key")
    assert answer.status == 200, answer.text()
    expect(page.locator("#hall-status")).to_have_attribute("data-code", "ok")
    expect(hall_row(page, bidder)).to_have_attribute("data-outcome", "opened", timeout=LIVE)
