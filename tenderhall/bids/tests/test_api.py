from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.bids.models import Bid
from tenderhall.bids.tests.test_services import make_scene, seal, stored_files
from tenderhall.bids.uploads import body_arrived
from tenderhall.core import clock

pytestmark = pytest.mark.django_db


def test_a_bidder_submits_over_the_api_sees_only_its_own_bids_and_others_learn_nothing(tmp_path, monkeypatch):
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal(scene.bidder, tmp_path)
    headers = bearer(scene.bidder.user, "procedures:write", "procedures:read", now=scene.during)
    # when
    response = Client().post(
        f"/api/v1/bids/lots/{scene.lot.pk}/bids",
        {
            "envelope": SimpleUploadedFile("bid.p7m", envelope),
            "entity_id": scene.bidder.entity.pk,
            "bond_amount": "150000",
            "bond_payer_account": "6222020200001234567",
        },
        headers=headers,
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["size"]) == ("submitted", len(envelope))
    assert Decimal(body["bond_amount"]) == Decimal("150000")
    assert body["receipt"]["envelope_sha256"] == Bid.objects.get().sha256
    assert [b["token"] for b in Client().get("/api/v1/bids/bids", headers=headers).json()] == [body["token"]]
    stranger = bearer(make_user(), "procedures:write", "procedures:read", now=scene.during)
    assert Client().get("/api/v1/bids/bids", headers=stranger).json() == []
    refused = Client().post(f"/api/v1/bids/bids/{body['id']}/withdraw", headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert Bid.objects.get().status == "submitted"


def test_a_malformed_upload_gets_a_clear_4xx(tmp_path, monkeypatch):
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    headers = bearer(scene.bidder.user, "procedures:write", now=scene.during)
    response = Client().post(
        f"/api/v1/bids/lots/{scene.lot.pk}/bids",
        {
            "envelope": SimpleUploadedFile("bid.p7m", b"plain text, not sealed"),
            "entity_id": scene.bidder.entity.pk,
            "bond_amount": "150000",
            "bond_payer_account": "6222020200001234567",
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "envelope_refused"
    assert not Bid.objects.exists()


def test_an_envelope_sent_as_the_body_is_taken_like_the_form_and_named_in_the_receipt(tmp_path, monkeypatch):
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal(scene.bidder, tmp_path)
    headers = bearer(scene.bidder.user, "procedures:write", now=scene.during)
    # when: the envelope is the body, the bid's fields are the query
    response = Client().post(
        f"/api/v1/bids/lots/{scene.lot.pk}/envelopes",
        envelope,
        content_type="application/cms",
        query_params={
            "entity_id": scene.bidder.entity.pk,
            "bond_amount": "150000",
            "bond_guarantee_reference": "BH-2026-0001",
        },
        headers=headers,
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    bid = Bid.objects.get()
    assert (body["token"], body["size"], body["sha256"]) == (str(bid.token), len(envelope), bid.sha256)
    assert bid.sha256 == hashlib.sha256(envelope).hexdigest()
    assert (bid.bond_guarantee_reference, bid.submitted_at) == ("BH-2026-0001", scene.during)
    assert body["receipt"]["envelope_size"] == len(envelope)


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=x", "text/plain", "application/json"]
)
def test_a_body_sent_as_another_type_is_refused_before_it_is_read(tmp_path, monkeypatch, content_type):
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    headers = bearer(scene.bidder.user, "procedures:write", now=scene.during)
    response = Client().post(
        f"/api/v1/bids/lots/{scene.lot.pk}/envelopes?entity_id={scene.bidder.entity.pk}&bond_amount=150000"
        "&bond_payer_account=6222020200001234567",
        seal(scene.bidder, tmp_path),
        content_type=content_type,
        headers=headers,
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    assert response.json()["details"] == {
        "accepted": ["application/cms", "application/pkcs7-mime", "application/octet-stream"]
    }
    assert (Bid.objects.count(), stored_files()) == (0, [])


def test_a_streamed_wsgi_body_has_wholly_arrived_before_the_clock_is_read():
    # given: a WSGI request whose body is still a stream
    body = b"0" * (3 * 1024 * 1024)
    request = RequestFactory().post("/", body, content_type="application/cms")
    # when
    arrived = body_arrived(request)
    # then: all of it is on the server, read from a spool and no longer from the request
    assert request.read() == b""
    assert arrived.read() == body
