"""`tenderhall bid seal|submit|verify-receipt`, and the receipt and sealing endpoints it relies on; `submit`
runs against a live server on the loopback interface."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from ninja import NinjaAPI

import config.urls
from config import api as config_api
from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.bids.api_receipts import router as receipts_router
from tenderhall.bids.envelope import envelope_inspect
from tenderhall.bids.models import Bid
from tenderhall.bids.tests.test_services import Scene, make_scene
from tenderhall.core import clock
from tenderhall.core.errors import DomainError
from tenderhall.ledger import selectors as ledger_selectors
from tenderhall.ledger.services import ledger_integrate

# Until config/api.py mounts the receipts router, these tests serve it from an API of their own, tried first.
if any(router is receipts_router for _prefix, router in config_api.api._routers):
    urlpatterns = config.urls.urlpatterns
else:
    _api = NinjaAPI(urls_namespace="bid_receipts_test", version="test-receipts", docs_url=None)
    _api.add_router("/bids", receipts_router)

    def _domain_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return config_api._domain_error(request, exc)  # the platform's {code, message} errors

    _api.add_exception_handler(DomainError, _domain_error)
    urlpatterns = [path("api/v1/", _api.urls), *config.urls.urlpatterns]

pytestmark = pytest.mark.urls(__name__)
FORM = {"price": "8765432.10", "duration_days": 180}


@pytest.fixture(autouse=True)
def _fresh_tiles() -> Iterator[None]:
    ledger_selectors.clear_tile_cache()  # each test's database starts a new log
    yield
    ledger_selectors.clear_tile_cache()


def run(*args: str | Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("bid", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def seal_files(scene: Scene, tmp_path: Path, *extra: str | Path) -> Path:
    form = tmp_path / "bid.json"
    form.write_text(json.dumps(FORM))
    (tmp_path / "offer.pdf").write_bytes(b"%PDF-1.7 the offer")
    out = tmp_path / "bid.p7m"
    run(
        "seal", "--bid-json", form, "--document", tmp_path / "offer.pdf",
        "--signing-key", scene.bidder.signing_key, "--signing-cert", scene.bidder.signing_cert,
        "--encryption-cert", scene.bidder.encryption_cert, "--out", out, *extra,
    )  # fmt: skip
    return out


def token_of(scene: Scene) -> str:
    headers = bearer(scene.bidder.user, "procedures:write", "procedures:read", now=scene.during)
    return headers["Authorization"].removeprefix("Bearer ")


def submit_args(scene: Scene, url: str, envelope: Path, receipt: Path, **changes: str) -> list[str | Path]:
    options: dict[str, str | Path] = {
        "--url": url,
        "--token": token_of(scene),
        "--lot": str(scene.lot.pk),
        "--entity": str(scene.bidder.entity.pk),
        "--bond-amount": "150000",
        "--bond-account": "6222020200001234567",
        "--envelope": envelope,
        "--receipt-out": receipt,
        **changes,
    }
    return ["submit", *(item for pair in options.items() for item in pair)]


# --- seal ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("cipher", "content_encryption"), [("gcm", "aes-256-gcm"), ("cbc", "aes-256-cbc")])
def test_seal_writes_an_envelope_to_the_bidder_and_the_escrow_that_openssl_opens(
    tmp_path: Path, cipher: str, content_encryption: str
) -> None:
    # given: a bidder, and an escrow certificate (here another encryption certificate of the demo CA)
    scene = make_scene(tmp_path)
    # when
    out = seal_files(scene, tmp_path, "--escrow-cert", scene.bidder.encryption_cert, "--cipher", cipher)
    # then
    info = envelope_inspect(out.read_bytes())
    assert (info.content_encryption, len(info.recipients)) == (content_encryption, 2)
    signed = subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(out),
         "-recip", str(scene.bidder.encryption_cert), "-inkey", str(tmp_path / "encryption.key.pem")],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    package = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-noverify"],
        input=signed, check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert package.startswith(b"PK")
    assert b"bid.json" in package
    assert b"offer.pdf" in package


@pytest.mark.django_db
def test_seal_refuses_a_form_that_is_not_json_a_missing_document_and_an_existing_output(
    tmp_path: Path,
) -> None:
    scene = make_scene(tmp_path)
    out = seal_files(scene, tmp_path)
    with pytest.raises(CommandError, match="already exists"):
        seal_files(scene, tmp_path)
    (tmp_path / "bid.json").write_text("{not json")
    keys: list[str | Path] = [
        "--signing-key",
        scene.bidder.signing_key,
        "--signing-cert",
        scene.bidder.signing_cert,
    ]
    with pytest.raises(CommandError, match="is not JSON"):
        run("seal", "--bid-json", tmp_path / "bid.json", *keys,
            "--encryption-cert", scene.bidder.encryption_cert, "--out", out, "--force")  # fmt: skip
    (tmp_path / "bid.json").write_text("{}")
    with pytest.raises(CommandError, match="does not exist"):
        run("seal", "--bid-json", tmp_path / "bid.json", "--document", tmp_path / "missing.pdf", *keys,
            "--encryption-cert", scene.bidder.encryption_cert, "--out", out, "--force")  # fmt: skip


# --- submit and verify-receipt ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_submit_uploads_saves_a_receipt_that_verifies_offline_and_tampering_is_listed(
    tmp_path: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal_files(scene, tmp_path)
    receipt = tmp_path / "receipt.json"
    # when
    out, _ = run(*submit_args(scene, live_server.url, envelope, receipt))
    # then: the bid is in, the bundle saved and checked at once
    bid = Bid.objects.get()
    assert f"Submitted bid {bid.pk}" in out
    assert "OK: the receipt is signed by the platform key" in out
    assert "no ledger proof yet" in out
    bundle = json.loads(receipt.read_text())
    assert bundle["receipt"] == bid.receipt
    assert base64.b64decode(bundle["timestamp_token"]) == bytes(bid.timestamp_token or b"")
    assert bundle["tlog_proof"] is None
    # and verify-receipt says OK
    out, err = run("verify-receipt", "--receipt", receipt, "--envelope", envelope)
    assert out.count("OK: ") == 4
    assert err == ""
    # once the leaf is integrated, the bundle carries the proof, and verify-receipt checks it too
    ledger_integrate(now=scene.during)
    headers = {"Authorization": f"Bearer {token_of(scene)}"}
    proved = Client().get(f"/api/v1/bids/bids/{bid.pk}/receipt", headers=headers).json()
    assert proved["tlog_proof"].startswith("c2sp.org/tlog-proof@v1\n")
    receipt.write_text(json.dumps(proved))
    out, _ = run("verify-receipt", "--receipt", receipt, "--envelope", envelope)
    assert "OK: the ledger holds the submission as leaf" in out
    # another envelope: each problem listed, exit status 1
    other = tmp_path / "other.p7m"
    other.write_bytes(envelope.read_bytes() + b"\0")
    err_stream = StringIO()
    with pytest.raises(CommandError, match="3 problem") as caught:
        call_command("bid", "verify-receipt", "--receipt", str(receipt), "--envelope", str(other),
                     stdout=StringIO(), stderr=err_stream)  # fmt: skip
    assert caught.value.returncode == 1
    lines = err_stream.getvalue().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["envelope", "timestamp", "ledger"]
    # an altered receipt
    proved["receipt"]["lot"] = "another lot"
    receipt.write_text(json.dumps(proved))
    with pytest.raises(CommandError, match="1 problem"):
        run("verify-receipt", "--receipt", receipt, "--envelope", envelope)


@pytest.mark.django_db(transaction=True)
def test_submit_shows_the_platforms_code_and_message_and_an_unreachable_platform(
    tmp_path: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    not_sealed = tmp_path / "plain.p7m"
    not_sealed.write_bytes(b"plain text, not sealed")
    receipt = tmp_path / "receipt.json"
    with pytest.raises(CommandError, match=r"refused \(422 envelope_refused\): ") as caught:
        run(*submit_args(scene, live_server.url, not_sealed, receipt))
    assert "not_cms" in str(caught.value)
    assert not receipt.exists()
    envelope = seal_files(scene, tmp_path)
    with pytest.raises(CommandError, match="2%"):
        run(*submit_args(scene, live_server.url, envelope, receipt, **{"--bond-amount": "99999999"}))
    with pytest.raises(CommandError, match=r"401 "):
        run(*submit_args(scene, live_server.url, envelope, receipt, **{"--token": "th_wrong"}))
    with pytest.raises(CommandError, match="cannot reach"):
        run(*submit_args(scene, "http://127.0.0.1:9", envelope, receipt))
    assert not Bid.objects.exists()


# --- the endpoints ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_bidder_gets_a_receipt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal_files(scene, tmp_path)
    created = (
        Client()
        .post(
            f"/api/v1/bids/lots/{scene.lot.pk}/bids",
            {
                "envelope": envelope.open("rb"),
                "entity_id": scene.bidder.entity.pk,
                "bond_amount": "150000",
                "bond_payer_account": "6222020200001234567",
            },
            headers={"Authorization": f"Bearer {token_of(scene)}"},
        )
        .json()
    )
    url = f"/api/v1/bids/bids/{created['id']}/receipt"
    stranger = bearer(make_user(), "procedures:read", now=scene.during)
    assert Client().get(url).status_code == 401
    assert Client().get(url, headers=stranger).status_code == 404
    mine = Client().get(url, headers={"Authorization": f"Bearer {token_of(scene)}"})
    assert mine.status_code == 200
    assert set(mine.json()) == {
        "receipt", "timestamp_token", "tlog_proof", "log_vkey", "receipt_public_key", "tsa_root",
    }  # fmt: skip
    assert "BEGIN CERTIFICATE" in mine.json()["tsa_root"]


@pytest.mark.django_db
def test_the_sealing_info_of_a_published_tender_is_public_and_a_draft_is_nobodys(tmp_path: Path) -> None:
    scene = make_scene(tmp_path)
    answer = Client().get(f"/api/v1/bids/tenders/{scene.tender.pk}/sealing")
    assert answer.status_code == 200
    assert answer.json()["tender_code"] == scene.tender.code
    assert answer.json()["certificates"] == []  # this tender has no escrow opening key
    scene.tender.published_at = None
    scene.tender.save(update_fields=["published_at"])
    assert Client().get(f"/api/v1/bids/tenders/{scene.tender.pk}/sealing").status_code == 404
    assert Client().get("/api/v1/bids/tenders/0/sealing").status_code == 404


@pytest.mark.django_db
def test_the_sealing_info_lists_the_escrow_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = make_scene(tmp_path)
    escrow_pem = scene.bidder.encryption_cert.read_bytes()
    from tenderhall.core import hooks

    def provider(tender: Any) -> dict[str, bytes]:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        return {"escrow": x509.load_pem_x509_certificate(escrow_pem).public_bytes(serialization.Encoding.DER)}

    monkeypatch.setattr(hooks, "_sealing_recipients", [provider])
    answer = Client().get(f"/api/v1/bids/tenders/{scene.tender.pk}/sealing").json()
    assert [c["name"] for c in answer["certificates"]] == ["escrow"]
    assert answer["certificates"][0]["certificate_pem"].encode() == escrow_pem
