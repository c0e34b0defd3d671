"""The opening API: every operation × eight kinds of actor with the exact status each gets (a refusal changes
nothing), then a whole opening over HTTP with a key unwrapped by `openssl pkeyutl`, and the errors' codes."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.core import clock
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.matrix import operation_ids, statuses_by_actor
from tenderhall.ledger.models import Leaf
from tenderhall.opening import sessions
from tenderhall.opening.api_sessions import router
from tenderhall.opening.models import OpenedBid, SubmittedShare
from tenderhall.opening.tests.scene import DEADLINE, Opening, open_at_deadline
from tenderhall.procedures.models import Notice
from tenderhall.registry.tests.factories import make_operator

pytestmark = pytest.mark.django_db

BASE = "/api/v1/opening"
AT_OPENING = DEADLINE + timedelta(minutes=5)
AFTER_WINDOW = DEADLINE + timedelta(minutes=61)
ACTORS = ("anonymous", "user", "bidder", "other_bidder", "official", "operator", "regulator", "agency")


class Clock:
    moment = AT_OPENING


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock.moment = AT_OPENING
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)


def headers_for(opening: Opening) -> dict[str, dict[str, str]]:

    users = {
        "user": make_user(),
        "bidder": opening.bidders[0].user,
        "other_bidder": opening.bidders[1].user,
        "official": opening.officials[0].user,
        "operator": make_operator(),
        "regulator": make_user(role=Role.REGULATOR),
        "agency": opening.parties.agency_user,
    }
    headers = {
        actor: bearer(user, Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE) for actor, user in users.items()
    }
    return {"anonymous": {}, **headers}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **others: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **others}


def no_setup(opening: Opening) -> None:
    return None


def window_closed(opening: Opening) -> None:
    sessions.opening_windows_close_due(now=AFTER_WINDOW)


def no_fault(opening: Opening) -> None:
    window_closed(opening)
    sessions.bid_fault_decide(
        actor=opening.parties.agency_user,
        bid_id=opening.bidders[1].bid.pk,
        bidder_at_fault=False,
        reason="平台故障",
        now=AFTER_WINDOW,
    )


def recorded(opening: Opening) -> None:
    window_closed(opening)
    sessions.record_publish(actor=opening.parties.agency_user, tender_id=opening.tender.pk, now=AFTER_WINDOW)


@dataclass(frozen=True)
class Op:
    operation: str
    method: str
    path: Callable[[Opening], str]
    expected: dict[str, int]
    body: Callable[[Opening], dict[str, Any]] | None = None
    setup: Callable[[Opening], None] = no_setup
    now: datetime = AT_OPENING


def tender(o: Opening) -> int:
    return o.tender.pk


def bid(o: Opening) -> int:
    return o.bidders[0].bid.pk


OPS = [
    Op("opening_get", "get", lambda o: f"{BASE}/tenders/{tender(o)}/session", everyone(200)),
    Op("opening_wrapped_key", "get", lambda o: f"{BASE}/bids/{bid(o)}/wrapped-key",
       signed_in(404, bidder=200)),
    Op("opening_content_key", "post", lambda o: f"{BASE}/bids/{bid(o)}/content-key",
       signed_in(404, bidder=200), body=lambda o: {"content_key": o.bidders[0].content_key().hex()}),
    Op("opening_fault_decide", "post", lambda o: f"{BASE}/bids/{bid(o)}/fault", signed_in(404, agency=200),
       body=lambda o: {"bidder_at_fault": False, "reason": "平台故障"}, setup=window_closed,
       now=AFTER_WINDOW),
    Op("opening_sealed_share", "get", lambda o: f"{BASE}/tenders/{tender(o)}/sealed-share",
       signed_in(404, official=200)),
    Op("opening_share_submit", "post", lambda o: f"{BASE}/tenders/{tender(o)}/shares",
       signed_in(404, official=200), body=lambda o: {"share": o.officials[0].share(o.tender)}, setup=no_fault,
       now=AFTER_WINDOW),
    Op("opening_record_publish", "post", lambda o: f"{BASE}/tenders/{tender(o)}/record",
       signed_in(404, agency=200), setup=window_closed, now=AFTER_WINDOW),
    Op("opening_record_confirm", "post", lambda o: f"{BASE}/bids/{bid(o)}/confirm",
       signed_in(404, bidder=200), setup=recorded, now=AFTER_WINDOW),
]  # fmt: skip


def state() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (AuditEntry, Leaf, Notice, SubmittedShare)} | {
        "opened": OpenedBid.objects.filter(outcome="opened").count()
    }


def call(client: Client, op: Op, opening: Opening, headers: dict[str, str]) -> Any:
    url = op.path(opening)
    if op.method == "get":
        return client.get(url, headers=headers)
    body = op.body(opening) if op.body else {}
    return client.post(url, body, content_type="application/json", headers=headers)


def test_the_matrix_names_every_operation_of_the_router():
    assert {op.operation for op in OPS} == operation_ids(router)


@pytest.mark.parametrize("op", OPS, ids=[op.operation for op in OPS])
def test_authorization_matrix(op: Op, tmp_path: Path):
    # given an opening of three bids, and the operation's moment
    opening = open_at_deadline(tmp_path)
    op.setup(opening)
    headers = headers_for(opening)
    Clock.moment = op.now
    client = Client()
    # when each actor calls the operation on the same state (rolled back after each call), then each gets its
    # status (a refusal changes nothing and says why in a stable code)
    actual = statuses_by_actor(
        ACTORS, lambda actor: call(client, op, opening, headers[actor]), state=state, label=op.operation
    )
    assert actual == op.expected


# --- over HTTP ---------------------------------------------------------------------------------------------


def test_a_bidder_unwraps_its_key_with_openssl_pkeyutl_and_opens_its_bid_over_the_api(tmp_path: Path):
    # given
    opening = open_at_deadline(tmp_path, sealers=("openssl", "client", "client"))
    bidder = opening.bidders[0]
    headers = bearer(bidder.user, Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE)
    client = Client()
    # when: the bidder fetches its wrapped key and unwraps it on its own machine with openssl alone
    wrapped = client.get(f"{BASE}/bids/{bidder.bid.pk}/wrapped-key", headers=headers).json()
    assert (wrapped["key_transport"], wrapped["content_encryption"]) == ("rsa-pkcs1v15", "aes-256-cbc")
    (tmp_path / "wrapped.bin").write_bytes(base64.b64decode(wrapped["encrypted_key"]))
    unwrapped = subprocess.run(
        ["openssl", "pkeyutl", "-decrypt", "-inkey", str(bidder.home / "encryption.key.pem"),
         "-in", str(tmp_path / "wrapped.bin")],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    response = client.post(
        f"{BASE}/bids/{bidder.bid.pk}/content-key",
        {"content_key": unwrapped.hex()},
        content_type="application/json",
        headers=headers,
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["outcome"], body["price"], body["duration_days"]) == ("opened", "9350000.00", 180)
    # a bid sealed by the client uses RSA-OAEP-SHA256: openssl pkeyutl unwraps it with the options the README
    # gives
    client_sealed = opening.bidders[1]
    wrapped = client.get(
        f"{BASE}/bids/{client_sealed.bid.pk}/wrapped-key",
        headers=bearer(client_sealed.user, Scope.PROCEDURES_READ),
    ).json()
    assert wrapped["key_transport"] == "rsa-oaep-sha256"
    (tmp_path / "wrapped-oaep.bin").write_bytes(base64.b64decode(wrapped["encrypted_key"]))
    oaep = subprocess.run(
        ["openssl", "pkeyutl", "-decrypt", "-inkey", str(client_sealed.home / "encryption.key.pem"),
         "-in", str(tmp_path / "wrapped-oaep.bin"), "-pkeyopt", "rsa_padding_mode:oaep",
         "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert oaep == client_sealed.content_key()
    # the public sees no bid before the record; the other bidders see this one's result live
    public = client.get(f"{BASE}/tenders/{opening.tender.pk}/session").json()
    assert (public["view"], public["bids"], public["record"]) == ("public", [], None)
    other = client.get(
        f"{BASE}/tenders/{opening.tender.pk}/session",
        headers=bearer(opening.bidders[1].user, Scope.PROCEDURES_READ),
    ).json()
    assert other["view"] == "bidder"
    mine, theirs = other["bids"][0], other["bids"][1]
    assert (mine["bid_id"], mine["price"], mine["form"], mine["attempts"]) == (None, "9350000.00", None, None)
    assert (theirs["bid_id"], theirs["outcome"]) == (opening.bidders[1].bid.pk, "pending")


@pytest.mark.parametrize(
    ("content_key", "status", "code"),
    [
        ("not hex", 422, "invalid_input"),
        ("00" * 7, 422, "invalid_input"),
        ("00" * 32, 422, "bid_unseal_failed"),
    ],
)
def test_a_bad_content_key_gets_a_clear_error_and_the_bid_stays_pending(tmp_path, content_key, status, code):
    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    response = Client().post(
        f"{BASE}/bids/{bidder.bid.pk}/content-key",
        {"content_key": content_key},
        content_type="application/json",
        headers=bearer(bidder.user, Scope.PROCEDURES_WRITE),
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert OpenedBid.objects.get(bid=bidder.bid).outcome == "pending"


def test_after_the_window_a_key_is_refused_with_the_window_named(tmp_path):
    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    Clock.moment = DEADLINE + timedelta(minutes=60)
    response = Client().post(
        f"{BASE}/bids/{bidder.bid.pk}/content-key",
        {"content_key": bidder.content_key().hex()},
        content_type="application/json",
        headers=bearer(bidder.user, Scope.PROCEDURES_WRITE),
    )
    assert (response.status_code, response.json()["code"]) == (409, "opening_window_closed")
    assert response.json()["details"] == {"decryption_until": (DEADLINE + timedelta(minutes=60)).isoformat()}


def test_the_client_unwraps_the_key_the_api_hands_out_and_the_worker_command_closes_the_window(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    opening = open_at_deadline(tmp_path)
    bidder = opening.bidders[0]
    wrapped = Client().get(
        f"{BASE}/bids/{bidder.bid.pk}/wrapped-key", headers=bearer(bidder.user, Scope.PROCEDURES_READ)
    )
    (tmp_path / "wrapped.json").write_bytes(wrapped.content)
    out = StringIO()
    call_command(
        "bid",
        "unwrap-key",
        "--wrapped-key",
        str(tmp_path / "wrapped.json"),
        "--key",
        str(bidder.home / "encryption.key.pem"),
        stdout=out,
    )
    assert out.getvalue().strip() == bidder.content_key().hex()
    # the platform's worker command closes the window once it has ended, not before
    Clock.moment = DEADLINE + timedelta(minutes=59)
    call_command("opening", "close-windows", stdout=StringIO())
    assert OpenedBid.objects.filter(outcome="pending").count() == 3
    Clock.moment = DEADLINE + timedelta(minutes=60)
    out = StringIO()
    call_command("opening", "close-windows", stdout=out)
    assert out.getvalue().strip() == "closed 1 decryption window(s)"
    assert OpenedBid.objects.filter(outcome="revoked").count() == 3
