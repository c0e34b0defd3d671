"""The envelope sent as the body goes from the server straight into its file (config/asgi.py): driven through
the real ASGI application, as `tenderhall serve` runs it, with the body arriving in pieces."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import RequestAborted
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers import asgi as django_asgi
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from config.asgi import application
from tenderhall.accounts.tests.factories import bearer
from tenderhall.bids import uploads
from tenderhall.bids.models import Bid
from tenderhall.bids.tests.test_services import Scene, make_scene, seal, stored_files
from tenderhall.core import clock
from tenderhall.core.tests.asgi import asgi_call, body_messages, post_scope

pytestmark = pytest.mark.django_db(transaction=True)
PIECE = 64 * 1024  # what uvicorn hands on per message


@pytest.fixture
def spooled(monkeypatch) -> list[int]:
    """Counts the bodies Django's own handler spools."""
    calls: list[int] = []
    real = tempfile.SpooledTemporaryFile

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(django_asgi.tempfile, "SpooledTemporaryFile", counting)  # type: ignore[attr-defined]
    return calls


def asgi_post(
    path: str, body: bytes, headers: dict[str, str], *, disconnect_after: int | None = None
) -> tuple[int, dict[str, Any]]:
    """POST through the ASGI application; the body in ``PIECE`` messages, or a disconnect after that many."""
    scope = post_scope(
        path,
        [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
    )
    messages = body_messages([body[i : i + PIECE] for i in range(0, len(body), PIECE)])
    if disconnect_after is not None:
        messages = [*messages[:disconnect_after], {"type": "http.disconnect"}]
    answer = asgi_call(application, scope, messages)
    return answer.status, answer.body


def envelope_path(scene: Scene) -> str:
    return (
        f"/api/v1/bids/lots/{scene.lot.pk}/envelopes?entity_id={scene.bidder.entity.pk}"
        "&bond_amount=150000&bond_payer_account=6222020200001234567"
    )


def headers_of(scene: Scene) -> dict[str, str]:
    return {
        **bearer(scene.bidder.user, "procedures:write", now=scene.during),
        "Content-Type": "application/cms",
    }


@pytest.mark.parametrize("payload", [1000, 600 * 1024])  # whole in its kept ends; over several pieces
def test_an_envelope_body_is_stored_as_it_arrives_without_a_spooled_copy(
    tmp_path, monkeypatch, spooled, payload
):
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal(scene.bidder, tmp_path, payload=b"x" * payload)
    # when
    status, body = asgi_post(envelope_path(scene), envelope, headers_of(scene))
    # then: taken, stored as sent, and Django never spooled it
    assert status == 201, body
    bid = Bid.objects.get()
    assert (body["size"], body["sha256"]) == (len(envelope), hashlib.sha256(envelope).hexdigest())
    assert bid.envelope.read() == envelope
    assert stored_files() == [Path(bid.envelope.path)]
    assert spooled == []


def form_path(scene: Scene) -> str:
    return f"/api/v1/bids/lots/{scene.lot.pk}/bids"


def form_of(scene: Scene, envelope: bytes, **extra: Any) -> bytes:
    fields = {
        "entity_id": scene.bidder.entity.pk,
        "bond_amount": "150000",
        "bond_payer_account": "6222020200001234567",
        **extra,
    }
    return encode_multipart(BOUNDARY, {**fields, "envelope": SimpleUploadedFile("bid.p7m", envelope)})


def form_headers_of(scene: Scene) -> dict[str, str]:
    return {**headers_of(scene), "Content-Type": MULTIPART_CONTENT}


@pytest.mark.parametrize("payload", [1000, 600 * 1024])
def test_an_envelope_in_a_form_is_stored_as_it_arrives_without_a_spooled_copy(
    tmp_path, monkeypatch, spooled, payload
):
    # given: the envelope as a multipart form, the browser's and curl -F's way
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal(scene.bidder, tmp_path, payload=b"f" * payload)
    # when
    status, answer = asgi_post(form_path(scene), form_of(scene, envelope), form_headers_of(scene))
    # then: the fields read, the envelope stored as sent, and Django neither spooled nor parsed the body
    assert status == 201, answer
    bid = Bid.objects.get()
    assert (answer["size"], answer["sha256"]) == (len(envelope), hashlib.sha256(envelope).hexdigest())
    assert (bid.bond_payer_account, bid.entity_id) == ("6222020200001234567", scene.bidder.entity.pk)
    assert bid.envelope.read() == envelope
    assert stored_files() == [Path(bid.envelope.path)]
    assert spooled == []


def test_a_body_that_is_no_form_goes_to_django_as_before(tmp_path, monkeypatch, spooled):
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    headers = {**headers_of(scene), "Content-Type": "application/x-www-form-urlencoded"}
    status, answer = asgi_post(form_path(scene), b"entity_id=1&bond_amount=150000", headers)
    assert (status, answer["code"]) == (422, "invalid_input"), answer
    assert spooled == [1]
    assert (Bid.objects.count(), stored_files()) == (0, [])


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("cut short", (400, "malformed_form", "The form ended before its closing boundary line")),
        ("two files", (400, "malformed_form", "The form may carry one file, its field named envelope.")),
        ("no credentials", (401, "not_authenticated", "")),
        ("bond refused", (422, "invalid_input", "bid bond")),
        ("not an envelope", (422, "envelope_refused", "")),
    ],
)
def test_a_refused_form_leaves_nothing_behind(tmp_path, monkeypatch, spooled, case, expected):
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope, headers = seal(scene.bidder, tmp_path, payload=b"y" * (300 * 1024)), form_headers_of(scene)
    body = form_of(scene, envelope)
    if case == "cut short":
        body = body[: len(body) // 2]
    elif case == "two files":
        body = form_of(scene, envelope, other=SimpleUploadedFile("other.p7m", envelope))
    elif case == "no credentials":
        del headers["Authorization"]
    elif case == "bond refused":
        body = form_of(scene, envelope, bond_amount="1")
    else:
        body = form_of(scene, b"plain text, not sealed " * 20_000)
    # when
    answer, result = asgi_post(form_path(scene), body, headers)
    # then
    status, code, message = expected
    assert (answer, result["code"]) == (status, code), result
    assert message in result["message"]
    assert (Bid.objects.count(), stored_files(), spooled) == (0, [], [])


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("not an envelope", 422, "envelope_refused"),
        ("no credentials", 401, "not_authenticated"),
        ("wrong type", 415, "unsupported_media_type"),
        ("too large", 413, "envelope_too_large"),
    ],
)
def test_a_refused_body_leaves_nothing_behind(tmp_path, monkeypatch, case, status, code):
    # given
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope, headers = seal(scene.bidder, tmp_path, payload=b"y" * (300 * 1024)), headers_of(scene)
    if case == "not an envelope":
        envelope = b"plain text, not sealed " * 20_000
    elif case == "no credentials":
        del headers["Authorization"]
    elif case == "wrong type":
        headers["Content-Type"] = "text/plain"
    else:
        monkeypatch.setattr(uploads, "MAX_ENVELOPE_BYTES", len(envelope) - 1)
    # when
    answer, body = asgi_post(envelope_path(scene), envelope, headers)
    # then
    assert (answer, body["code"]) == (status, code), body
    assert (Bid.objects.count(), stored_files()) == (0, [])


@pytest.mark.parametrize("route", ["body", "form"])
def test_a_client_gone_mid_body_leaves_nothing_and_the_file_is_closed(tmp_path, monkeypatch, route):
    # given: the arrivals made are kept to look at afterwards
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    envelope = seal(scene.bidder, tmp_path, payload=b"z" * (300 * 1024))
    arrivals: list[uploads.EnvelopeArrival] = []
    begin = uploads.EnvelopeArrival.begin

    def kept(scope: Mapping[str, Any] | None = None) -> uploads.EnvelopeArrival | None:
        arrival = begin(scope)
        if arrival is not None:
            arrivals.append(arrival)
        return arrival

    monkeypatch.setitem(application.receivers, "api:bid_submit_envelope", kept)
    monkeypatch.setattr(uploads.EnvelopeArrival, "begin", kept)  # as the form's arrival makes its own
    if route == "form":
        path, body, headers = form_path(scene), form_of(scene, envelope), form_headers_of(scene)
    else:
        path, body, headers = envelope_path(scene), envelope, headers_of(scene)
    # when: the client goes after three pieces
    status, _ = asgi_post(path, body, headers, disconnect_after=3)
    # then: no answer, no bid, no file, and the unnamed file's descriptor closed
    assert status == 0
    assert (Bid.objects.count(), stored_files()) == (0, [])
    assert [arrival.file.closed for arrival in arrivals] == [True]
    assert 0 < arrivals[0].size <= 3 * 64 * 1024


def test_a_bond_refused_after_the_body_arrived_leaves_nothing(tmp_path, monkeypatch):
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    path = envelope_path(scene).replace("bond_amount=150000", "bond_amount=1")
    status, body = asgi_post(path, seal(scene.bidder, tmp_path), headers_of(scene))
    assert (status, body["code"]) == (422, "invalid_input")
    assert (Bid.objects.count(), stored_files()) == (0, [])


def test_an_arrival_closed_by_django_while_the_view_works_on_it_is_still_stored_whole(tmp_path, monkeypatch):
    # given: an envelope received, and Django closing its arrival (the client went away) while the view hashes
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path, payload=b"w" * (300 * 1024))
    arrival = uploads.EnvelopeArrival.begin()
    assert arrival is not None
    arrival.write(envelope)
    tally = uploads._tally_of_file

    def closed_meanwhile(file: Any, *, max_size: int) -> Any:
        arrival.close()
        return tally(file, max_size=max_size)

    monkeypatch.setattr(uploads, "_tally_of_file", closed_meanwhile)
    # when
    with uploads.envelope_received(arrival) as received:
        pass
    # then: the view's own descriptor kept the file; it is named and whole
    assert arrival.file.closed
    assert stored_files() == [Path(default_storage.path(received.name))]
    assert stored_files()[0].read_bytes() == envelope


def test_an_arrival_closed_before_the_view_claims_it_is_an_aborted_request(tmp_path):
    scene = make_scene(tmp_path)
    arrival = uploads.EnvelopeArrival.begin()
    assert arrival is not None
    arrival.write(seal(scene.bidder, tmp_path))
    arrival.close()
    with pytest.raises(RequestAborted), uploads.envelope_received(arrival):
        pass
    assert stored_files() == []


@pytest.mark.parametrize("route", ["body", "form"])
def test_an_upload_over_the_servers_request_limit_is_refused_before_the_view_and_leaves_nothing(
    tmp_path, monkeypatch, route
):
    # given: a server that takes request bodies of at most 100 KiB
    scene = make_scene(tmp_path)
    monkeypatch.setattr(clock, "now", lambda: scene.during)
    monkeypatch.setattr(application, "max_body", 100 * 1024)
    envelope = seal(scene.bidder, tmp_path, payload=b"v" * (200 * 1024))
    if route == "form":
        path, body, headers = form_path(scene), form_of(scene, envelope), form_headers_of(scene)
    else:
        path, body, headers = envelope_path(scene), envelope, headers_of(scene)
    # when
    status, answer = asgi_post(path, body, headers)
    # then
    assert (status, answer["code"], answer["details"]) == (
        413,
        "request_too_large",
        {"limit_bytes": 100 * 1024},
    )
    assert (Bid.objects.count(), stored_files()) == (0, [])
