"""The participation API: every operation × seven kinds of actor with the exact status each gets (a refusal
changes nothing), then the shapes that matter: the upload, the streamed download and its signature checked by
``openssl cms -verify``, errors with their stable codes, and questions that never name their asker."""

from __future__ import annotations

import subprocess
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.choices import Scope
from tenderhall.accounts.tests.factories import bearer
from tenderhall.core import clock
from tenderhall.core.tests.matrix import operation_ids, statuses_by_actor
from tenderhall.procedures import documents
from tenderhall.procedures.api_participation import router
from tenderhall.procedures.choices import ObjectionSubject
from tenderhall.procedures.clarifications import question_ask
from tenderhall.procedures.models import Notification, TenderDocument
from tenderhall.procedures.objections import complaint_accept, complaint_file, objection_raise
from tenderhall.procedures.tests.support import DEADLINE, DOCUMENT, NOW, World, download, make_world, state

pytestmark = pytest.mark.django_db

BASE = "/api/v1/procedures"
BILL = "补充文件 supplementary\n".encode() * 100
ACTORS = ("anonymous", "downloader", "bidder", "agency", "other_agency", "operator", "regulator")
# Who each actor is in the world: "downloader" downloaded the documents, "bidder" did not.
USERS = {
    "downloader": "bidder", "bidder": "other_bidder", "agency": "agency", "other_agency": "other_agency",
    "operator": "operator", "regulator": "regulator",
}  # fmt: skip


class Clock:
    moment = NOW


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock.moment = NOW
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)


def headers_for(world: World) -> dict[str, dict[str, str]]:
    headers = {
        actor: bearer(world.users[user], Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE)
        for actor, user in USERS.items()
    }
    return {"anonymous": {}, **headers}


# --- the authorization matrix -----------------------------------------------------------------------------


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **others: int) -> dict[str, int]:
    """``status`` for every signed-in actor unless named in ``others``; 401 for the anonymous."""
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **others}


Ids = dict[str, int]


def no_setup(world: World) -> Ids:
    return {}


def notification_setup(world: World) -> Ids:
    mine = Notification.objects.create(user=world.bidder, tender=world.tender, text="x", created_at=NOW)
    return {"notification": mine.pk}


def objection_setup(world: World) -> Ids:
    objection = objection_raise(
        actor=world.bidder, tender_id=world.tender.pk, entity_id=world.bidder_entity.pk,
        subject=ObjectionSubject.DOCUMENTS, text="异议", now=NOW,
    )  # fmt: skip
    return {"objection": objection.pk}


def complaint_setup(world: World) -> Ids:
    complaint = complaint_file(
        actor=world.bidder, tender_id=world.tender.pk, entity_id=world.bidder_entity.pk, text="投诉",
        known_at=NOW - timedelta(days=1), now=NOW,
    )  # fmt: skip
    return {"complaint": complaint.pk}


def accepted_complaint_setup(world: World) -> Ids:
    ids = complaint_setup(world)
    complaint_accept(actor=world.regulator, complaint_id=ids["complaint"], now=NOW)
    return ids


@dataclass(frozen=True)
class Op:
    label: str  # the operation id, with a suffix when it appears twice
    method: str
    path: Callable[[World, Ids], str]
    expected: dict[str, int]
    body: Callable[[World], dict[str, Any]] | None = None
    setup: Callable[[World], Ids] = no_setup
    now: datetime = NOW


def upload_body(world: World) -> dict[str, Any]:
    return {
        "name": "补充文件.pdf",
        "file": SimpleUploadedFile("补充文件.pdf", BILL),
        "signature": SimpleUploadedFile("s.p7s", world.signer.openssl(BILL)),
    }


def entity_body(world: World) -> dict[str, Any]:
    return {"entity_id": world.bidder_entity.pk, "subject": "documents", "text": "评分办法不合理。"}


OPS = [
    Op("document_upload", "post", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/documents",
       signed_in(403, agency=201, operator=201), body=upload_body),
    Op("document_list", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/documents", everyone(200)),
    Op("document_download", "get", lambda w, i: f"{BASE}/documents/{w.document.pk}/file", signed_in(200)),
    Op("document_signature", "get", lambda w, i: f"{BASE}/documents/{w.document.pk}/signature",
       everyone(200)),
    Op("download_list", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/downloads",
       signed_in(404, operator=200)),
    Op("download_list after the deadline", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/downloads",
       signed_in(404, agency=200, operator=200, regulator=200), now=DEADLINE + timedelta(hours=1)),
    Op("question_ask", "post", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/questions",
       signed_in(403, downloader=201), body=lambda w: {"text": "工期？"}),
    Op("question_list_for_manager", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/questions",
       signed_in(404, agency=200, operator=200)),
    Op("question_list_for_asker", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/questions/mine",
       signed_in(200)),
    Op("clarification_publish", "post", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/clarifications",
       signed_in(403, agency=201, operator=201), body=lambda w: {"text": "澄清", "affects_bids": True}),
    Op("clarification_list", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/clarifications",
       everyone(200)),
    Op("notifications_for", "get", lambda w, i: f"{BASE}/notifications", signed_in(200)),
    Op("notification_mark_read", "post", lambda w, i: f"{BASE}/notifications/{i['notification']}/read",
       signed_in(404, downloader=200), setup=notification_setup),
    Op("objection_raise", "post", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/objections",
       signed_in(403, downloader=201), body=entity_body),
    Op("objection_list", "get", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/objections", signed_in(200)),
    Op("objection_answer", "post", lambda w, i: f"{BASE}/objections/{i['objection']}/answer",
       signed_in(403, agency=200, operator=200), body=lambda w: {"answer": "答复"}, setup=objection_setup),
    Op("complaint_file", "post", lambda w, i: f"{BASE}/tenders/{w.tender.pk}/complaints",
       signed_in(403, downloader=201),
       body=lambda w: {"entity_id": w.bidder_entity.pk, "text": "投诉", "known_at": NOW.isoformat()}),
    Op("complaint_list", "get", lambda w, i: f"{BASE}/complaints", signed_in(200)),
    Op("complaint_get", "get", lambda w, i: f"{BASE}/complaints/{i['complaint']}",
       signed_in(200, bidder=404, other_agency=404), setup=complaint_setup),
    Op("complaint_accept", "post", lambda w, i: f"{BASE}/complaints/{i['complaint']}/accept",
       signed_in(403, regulator=200), setup=complaint_setup),
    Op("complaint_reject", "post", lambda w, i: f"{BASE}/complaints/{i['complaint']}/reject",
       signed_in(403, regulator=200), body=lambda w: {"reason": "不属于受理范围。"}, setup=complaint_setup),
    Op("complaint_decide", "post", lambda w, i: f"{BASE}/complaints/{i['complaint']}/decide",
       signed_in(403, regulator=200), body=lambda w: {"upheld": False, "outcome": "驳回。"},
       setup=accepted_complaint_setup),
]  # fmt: skip


def call(client: Client, op: Op, world: World, ids: Ids, headers: dict[str, str]) -> Any:
    url = op.path(world, ids)
    if op.method == "get":
        return client.get(url, headers=headers)
    body = op.body(world) if op.body else {}
    if op.label == "document_upload":
        return client.post(url, body, headers=headers)
    return client.post(url, body, content_type="application/json", headers=headers)


def test_the_matrix_names_every_operation_of_the_router():
    assert {op.label.split(" ")[0] for op in OPS} == operation_ids(router)


@pytest.mark.parametrize("op", OPS, ids=[op.label for op in OPS])
def test_authorization_matrix(op: Op):
    # given a published tender whose documents one bidder downloaded, and the operation's subject
    world = make_world()
    download(world, world.bidder)
    ids = op.setup(world)
    headers = headers_for(world)
    Clock.moment = op.now
    client = Client()
    # when each actor calls the operation on the same state (rolled back after each call), then each gets its
    # status (a refusal changes nothing, and says why in a stable code)
    actual = statuses_by_actor(
        ACTORS, lambda actor: call(client, op, world, ids, headers[actor]), state=state, label=op.label
    )
    assert actual == op.expected


# --- shapes -----------------------------------------------------------------------------------------------


def test_an_upload_over_the_api_is_stored_and_its_signature_verifies_with_openssl(tmp_path: Path):
    # given
    world = make_world()
    agency = bearer(world.agency_user, Scope.PROCEDURES_WRITE)
    # when the agency uploads a supplementary document
    response = Client().post(
        f"{BASE}/tenders/{world.tender.pk}/documents", upload_body(world), headers=agency
    )
    # then
    assert response.status_code == 201
    body = response.json()
    document = TenderDocument.objects.get(pk=body["id"])
    assert body["name"] == "补充文件.pdf"
    assert (body["size"], body["sha256"], body["sm3"]) == (len(BILL), document.sha256, document.sm3)
    assert body["signer_fingerprint"] == document.signer_certificate.fingerprint
    # and anyone can check the stored signature over the downloaded file with openssl alone
    signature = Client().get(f"{BASE}/documents/{document.pk}/signature")
    assert signature["Content-Type"] == "application/pkcs7-signature"
    (tmp_path / "sig.der").write_bytes(signature.content)
    (tmp_path / "file").write_bytes(BILL)
    root = Path(settings.TENDERHALL_DATA_DIR) / "demo-ca" / "root.pem"
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
         "-content", str(tmp_path / "file"), "-CAfile", str(root), "-out", "/dev/null",
         "-attime", str(int(NOW.timestamp()))],
        capture_output=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr.decode()


def test_a_download_streams_the_file_with_its_name_and_digest():
    world = make_world()
    response = Client().get(
        f"{BASE}/documents/{world.document.pk}/file",
        headers=bearer(world.other_bidder, Scope.PROCEDURES_READ),
    )
    assert response.status_code == 200
    assert response.getvalue() == DOCUMENT
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{urllib.parse.quote('招标文件.pdf')}" in disposition
    assert response["Repr-Digest"].startswith("sha-256=:")
    assert response["Content-Length"] == str(len(DOCUMENT))


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("tamper", 422, "digest_mismatch"),
        ("garbage", 422, "signature_not_cms"),
        ("large", 413, "document_too_large"),
    ],
)
def test_upload_refusals_come_back_as_json_with_their_code(monkeypatch, change, status, code):
    world = make_world()
    monkeypatch.setattr(
        documents, "MAX_DOCUMENT_BYTES", 1000 if change == "large" else documents.MAX_DOCUMENT_BYTES
    )
    body = upload_body(world)
    if change == "tamper":
        body["file"] = SimpleUploadedFile("补充文件.pdf", BILL + b"x")
    if change == "garbage":
        body["signature"] = SimpleUploadedFile("s.p7s", b"not a signature")
    agency = bearer(world.agency_user, Scope.PROCEDURES_WRITE)
    before = state()
    response = Client().post(f"{BASE}/tenders/{world.tender.pk}/documents", body, headers=agency)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert state() == before


def test_the_managers_question_list_carries_no_asker():
    world = make_world()
    download(world, world.bidder)
    question_ask(actor=world.bidder, tender_id=world.tender.pk, text="工期？", now=NOW)
    response = Client().get(
        f"{BASE}/tenders/{world.tender.pk}/questions",
        headers=bearer(world.agency_user, Scope.PROCEDURES_READ),
    )
    [question] = response.json()
    assert set(question) == {"id", "text", "asked_at", "clarification_id"}
    assert question["text"] == "工期？"


def test_the_download_list_after_the_deadline_names_who_downloaded_what():
    world = make_world()
    download(world, world.bidder)
    Clock.moment = DEADLINE
    response = Client().get(
        f"{BASE}/tenders/{world.tender.pk}/downloads",
        headers=bearer(world.agency_user, Scope.PROCEDURES_READ),
    )
    [row] = response.json()
    assert (row["user_id"], row["user_full_name"], row["document_name"], row["remote_addr"]) == (
        world.bidder.pk, world.bidder.full_name, "招标文件.pdf", "203.0.113.7"
    )  # fmt: skip


def test_a_token_without_the_procedures_scope_is_refused():
    world = make_world()
    response = Client().get(f"{BASE}/notifications", headers=bearer(world.bidder, Scope.REGISTRY_READ))
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
