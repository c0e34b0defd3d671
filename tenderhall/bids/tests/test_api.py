from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.bids.models import Bid
from tenderhall.bids.tests.test_services import make_scene, seal
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
