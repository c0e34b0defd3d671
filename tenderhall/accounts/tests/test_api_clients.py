"""API client systems: the router's authorization matrix (seven actors, a refusal changes nothing), then
registration, the whitelist, the rate limit, the access log and the volume threshold's one alert."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tenderhall.accounts.api_clients import router
from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.clients import (
    ClientFields,
    client_admit,
    client_key_create,
    client_register,
    client_windows_prune,
)
from tenderhall.accounts.models import ApiAccessLog, ApiClient, ApiClientWindow, ApiToken, User
from tenderhall.accounts.tests.factories import bearer, make_user, resident_id
from tenderhall.core import clock
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.concurrency import postgresql_only
from tenderhall.core.tests.matrix import operation_ids, statuses_by_actor
from tenderhall.ledger.models import Leaf

NOW = datetime(2026, 3, 2, 1, 30, 10, tzinfo=UTC)
BASE = "/api/v1/clients"
FEED = "/api/v1/feed/changes"
ALERTS = "/api/v1/supervision/alerts"
INSIDE, OUTSIDE = "203.0.113.9", "198.51.100.7"
ACTORS = ("anonymous", "user", "owner", "stranger", "operator", "regulator", "agency")
ALL_SCOPES = tuple(Scope.values)


class Clock:
    moment = NOW


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock.moment = NOW
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)


def register(operator: User, owner: User, **limits: Any) -> ApiClient:
    return client_register(
        actor=operator,
        fields=ClientFields(
            name=f"共享交换系统{owner.pk}", organisation="江城市大数据中心", owner_id=owner.pk,
            responsible_name="王五", responsible_id_type="resident_id", responsible_id_number=resident_id(77),
            responsible_phone="13900000000", allowed_networks=["203.0.113.0/24", "2001:db8::/32"], **limits,
        ),
        now=NOW,
    )  # fmt: skip


def key_for(client: ApiClient, *scopes: str) -> dict[str, str]:
    issued = client_key_create(
        actor=client.owner,
        client_id=client.pk,
        name="k",
        scopes=scopes or ALL_SCOPES,
        expires_at=None,
        now=NOW,
    )
    return {"Authorization": f"Bearer {issued.token}"}


def alerts_seen_by(world: World, actor: str = "operator") -> list[dict[str, Any]]:
    """The alerts over the API (accounts may not import supervision, which records them)."""
    response = Client().get(ALERTS, headers=world.headers[actor])
    assert response.status_code == 200
    return list(response.json())


# --- the authorization matrix -----------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    client: ApiClient
    key: ApiToken
    headers: dict[str, dict[str, str]]


def make_world() -> World:
    operator = make_user(role=Role.OPERATOR, now=NOW)
    users = {
        "user": make_user(now=NOW),
        "owner": make_user(now=NOW),
        "stranger": make_user(now=NOW),
        "operator": operator,
        "regulator": make_user(role=Role.REGULATOR, now=NOW),
        # accounts may not reach the registry: the agency's grant names no entity here
        "agency": make_user(role=Role.AGENCY, now=NOW),
    }
    client = register(operator, users["owner"])
    register(operator, users["stranger"])
    key = client_key_create(
        actor=users["owner"],
        client_id=client.pk,
        name="k",
        scopes=["procedures:read"],
        expires_at=None,
        now=NOW,
    ).record
    headers = {name: bearer(user, *ALL_SCOPES) for name, user in users.items()}
    return World(users=users, client=client, key=key, headers={"anonymous": {}, **headers})


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **others: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **others}


OUTSIDERS = {"user": 404, "stranger": 404, "agency": 404}


@dataclass(frozen=True)
class Op:
    label: str
    method: str
    path: Callable[[World], str]
    expected: dict[str, int]
    body: Callable[[World], dict[str, Any]] | None = None


def register_body(world: World) -> dict[str, Any]:
    return {
        "name": "新系统", "organisation": "江城市审计局", "owner_id": world.users["user"].pk,
        "responsible_name": "赵六", "responsible_id_number": resident_id(78),
        "responsible_phone": "13900000001",
        "allowed_networks": ["10.1.0.0/16"],
    }  # fmt: skip


OPS = [
    Op("api_client_register", "post", lambda w: BASE, signed_in(403, operator=201), register_body),
    Op("api_client_list", "get", lambda w: BASE, signed_in(200)),
    Op("api_client_get", "get", lambda w: f"{BASE}/{w.client.pk}", signed_in(200, **OUTSIDERS)),
    Op("api_client_update", "patch", lambda w: f"{BASE}/{w.client.pk}",
       signed_in(403, **OUTSIDERS, operator=200), lambda w: {"rate_limit_per_minute": 60}),
    Op("api_client_key_create", "post", lambda w: f"{BASE}/{w.client.pk}/keys",
       signed_in(201, **OUTSIDERS, regulator=403), lambda w: {"name": "sync", "scopes": ["procedures:read"]}),
    Op("api_client_key_revoke", "delete", lambda w: f"{BASE}/{w.client.pk}/keys/{w.key.pk}",
       signed_in(204, **OUTSIDERS, regulator=403)),
    Op("api_client_access_log", "get", lambda w: f"{BASE}/{w.client.pk}/access-log",
       signed_in(200, **OUTSIDERS)),
]  # fmt: skip


def state() -> tuple[Any, ...]:
    return (
        AuditEntry.objects.count(),
        Leaf.objects.count(),
        list(ApiClient.objects.order_by("pk").values()),
        list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
    )


def test_the_matrix_names_every_operation_of_the_router():
    assert {op.label for op in OPS} == operation_ids(router)


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPS, ids=[op.label for op in OPS])
def test_authorization_matrix(op: Op):
    # given an owner's client system with a key, a stranger's client, and every kind of actor
    world = make_world()
    client = Client()

    def call(actor: str) -> Any:
        kwargs: dict[str, Any] = {"headers": world.headers[actor]}
        if op.body is not None:
            kwargs |= {"data": op.body(world), "content_type": "application/json"}
        return getattr(client, op.method)(op.path(world), **kwargs)

    # when each actor calls the operation on the same state, then each gets its status (a refusal changes
    # nothing, and says why in a stable code)
    assert statuses_by_actor(ACTORS, call, state=state, label=op.label) == op.expected


# --- registration -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_operator_registers_a_client_and_its_responsible_persons_id_is_masked_in_every_answer():
    # given
    world = make_world()
    operator = world.headers["operator"]
    # when
    response = Client().post(BASE, register_body(world), content_type="application/json", headers=operator)
    # then
    assert response.status_code == 201
    body = response.json()
    number = resident_id(78)
    assert body["responsible_id_number_masked"] == number[:3] + "*" * 13 + number[-2:]
    assert number not in response.content.decode()
    assert (body["allowed_networks"], body["rate_limit_per_minute"], body["keys"]) == (
        ["10.1.0.0/16"],
        600,
        [],
    )
    entry = AuditEntry.objects.get(action="accounts:api_client:registered", subject_id=str(body["id"]))
    assert entry.changes["responsible_id_number"] == [None, "***"]
    assert number not in str(entry.changes)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"allowed_networks": ["10.1.0.1/16"]}, "allowed_networks"),
        ({"allowed_networks": []}, "allowed_networks"),
        ({"responsible_id_number": "420102199001011234"}, "responsible_id_number"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"volume_period_seconds": 59}, "volume_period_seconds"),
        ({"volume_threshold": 10**12}, "volume_threshold"),  # beyond the column: a 422, not a database error
        ({"owner_id": 999999}, "owner_id"),
        ({"responsible_name": " "}, "responsible_name"),
        ({"responsible_phone": "12345"}, "responsible_phone"),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field(change: dict[str, Any], field: str):
    world = make_world()
    before = ApiClient.objects.count()
    response = Client().post(
        BASE,
        {**register_body(world), **change},
        content_type="application/json",
        headers=world.headers["operator"],
    )
    assert response.status_code == 422
    assert response.json()["code"] == "api_client_invalid"
    assert list(response.json()["details"]["fields"]) == [field]
    assert ApiClient.objects.count() == before


PHONE_PROBLEM = (
    "Enter a mainland mobile number (11 digits, starting with 1) or an international number such as +4420..."
)


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["12345", "0571-8888888", "not a phone", "+0441234567"])
def test_a_responsible_phone_that_is_not_a_phone_number_is_refused_on_registration_and_change(phone: str):
    # given
    world = make_world()
    operator = world.headers["operator"]
    before = state()
    # when an operator registers a client, or changes one, with a phone number no one can call
    registered = Client().post(
        BASE,
        {**register_body(world), "responsible_phone": phone},
        content_type="application/json",
        headers=operator,
    )
    changed = Client().patch(
        f"{BASE}/{world.client.pk}",
        {"responsible_phone": phone},
        content_type="application/json",
        headers=operator,
    )
    # then both are refused naming the field with the message a user's phone gets, and nothing changed
    for response in (registered, changed):
        assert (response.status_code, response.json()["code"]) == (422, "api_client_invalid")
        assert response.json()["details"]["fields"] == {"responsible_phone": PHONE_PROBLEM}
    assert state() == before


@pytest.mark.django_db
def test_a_responsible_phone_in_either_accepted_form_is_stored_as_given():
    world = make_world()
    operator = world.headers["operator"]
    registered = Client().post(
        BASE,
        {**register_body(world), "responsible_phone": " 139 0000 0001 "},
        content_type="application/json",
        headers=operator,
    )
    changed = Client().patch(
        f"{BASE}/{world.client.pk}",
        {"responsible_phone": "+442071234567"},
        content_type="application/json",
        headers=operator,
    )
    assert (registered.status_code, changed.status_code) == (201, 200)
    assert ApiClient.objects.get(pk=registered.json()["id"]).responsible_phone == "139 0000 0001"
    assert ApiClient.objects.get(pk=world.client.pk).responsible_phone == "+442071234567"


@pytest.mark.django_db
def test_a_responsible_persons_full_width_identity_number_is_stored_in_ascii():
    # given the number typed with the input method in full-width mode, with a lower-case x
    world = make_world()
    number = "11010519491231002X"
    typed = "".join(chr(ord(c) + 0xFEE0) for c in number.lower())
    # when
    response = Client().post(
        BASE,
        {**register_body(world), "responsible_id_number": typed},
        content_type="application/json",
        headers=world.headers["operator"],
    )
    # then
    assert response.status_code == 201
    assert ApiClient.objects.get(pk=response.json()["id"]).responsible_id_number == number
    assert response.json()["responsible_id_number_masked"] == "110*************2X"


@pytest.mark.django_db
def test_text_longer_than_its_column_is_refused_per_field_on_registration_change_and_keys():
    # given (PostgreSQL raised on these; SQLite kept them whole)
    world = make_world()
    operator = world.headers["operator"]
    before = state()
    # when an operator registers a client with every text one character too long
    registered = Client().post(
        BASE,
        {
            **register_body(world),
            "name": "名" * 101,
            "organisation": "单" * 201,
            "responsible_name": "赵" * 101,
            "responsible_phone": "139 0000 000" + " " * 10 + "1",  # a mobile number once the spaces are gone
        },
        content_type="application/json",
        headers=operator,
    )
    # and changes the contact of an existing one, and names a key too long
    changed = Client().patch(
        f"{BASE}/{world.client.pk}",
        {
            "organisation": "单" * 201,
            "responsible_name": "赵" * 101,
            "responsible_phone": "139 0000 000" + " " * 10 + "2",
        },
        content_type="application/json",
        headers=operator,
    )
    keyed = Client().post(
        f"{BASE}/{world.client.pk}/keys",
        {"name": "k" * 101, "scopes": ["procedures:read"]},
        content_type="application/json",
        headers=world.headers["owner"],
    )
    # then each is a 422 naming the fields and their lengths, and nothing changed
    assert (registered.status_code, registered.json()["code"]) == (422, "api_client_invalid")
    assert registered.json()["details"]["fields"] == {
        "name": "At most 100 characters.",
        "organisation": "At most 200 characters.",
        "responsible_name": "At most 100 characters.",
        "responsible_phone": "At most 20 characters.",
    }
    assert (changed.status_code, changed.json()["code"]) == (422, "api_client_invalid")
    assert changed.json()["details"]["fields"] == {
        "organisation": "At most 200 characters.",
        "responsible_name": "At most 100 characters.",
        "responsible_phone": "At most 20 characters.",
    }
    assert (keyed.status_code, keyed.json()["details"]["fields"]) == (
        422,
        {"name": "At most 100 characters."},
    )
    assert state() == before


@pytest.mark.django_db
def test_text_as_long_as_its_column_is_stored_whole():
    world = make_world()
    response = Client().post(
        BASE,
        {**register_body(world), "name": "名" * 100, "organisation": " " + "单" * 200 + " "},
        content_type="application/json",
        headers=world.headers["operator"],
    )
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["organisation"]) == ("名" * 100, "单" * 200)


@pytest.mark.django_db
def test_a_second_client_with_the_same_name_is_a_conflict():
    world = make_world()
    body = {**register_body(world), "name": world.client.name}
    response = Client().post(BASE, body, content_type="application/json", headers=world.headers["operator"])
    assert (response.status_code, response.json()["code"]) == (409, "conflict")


# --- admission: whitelist, rate limit, access log, threshold ------------------------------------------------


@pytest.mark.django_db
def test_a_request_from_an_address_off_the_whitelist_is_refused_and_logged():
    # given a client whose networks are 203.0.113.0/24 and 2001:db8::/32
    world = make_world()
    key = key_for(world.client, Scope.PROCEDURES_READ)
    client = Client()
    # when it calls from inside, from IPv6 inside, and from outside
    inside = client.get(FEED, headers=key, REMOTE_ADDR=INSIDE)
    inside_v6 = client.get(FEED, headers=key, REMOTE_ADDR="2001:db8::5")
    outside = client.get(FEED, headers=key, REMOTE_ADDR=OUTSIDE)
    # then only the outside request is refused, saying why
    assert (inside.status_code, inside_v6.status_code, outside.status_code) == (200, 200, 403)
    assert outside.json()["code"] == "client_address_refused"
    assert OUTSIDE in outside.json()["message"]
    # and every request is in the access log, the refused one with its reason; it was not counted
    log = list(ApiAccessLog.objects.filter(client=world.client).order_by("id"))
    assert [(e.remote_addr, e.method, e.path, e.status_code, e.refusal) for e in log] == [
        (INSIDE, "GET", FEED, 200, ""),
        ("2001:db8::5", "GET", FEED, 200, ""),
        (OUTSIDE, "GET", FEED, 403, "client_address_refused"),
    ]
    assert sorted(ApiClientWindow.objects.values_list("kind", "count")) == [("rate", 2), ("volume", 2)]


@pytest.mark.django_db
def test_personal_tokens_are_not_whitelisted_or_logged_as_clients():
    world = make_world()
    response = Client().get(FEED, headers=world.headers["user"], REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 200
    assert ApiAccessLog.objects.count() == 0


@pytest.mark.django_db
def test_a_switched_off_client_and_a_revoked_key_are_refused():
    world = make_world()
    key = key_for(world.client)
    world.client.active = False
    world.client.save(update_fields=["active"])
    off = Client().get(FEED, headers=key, REMOTE_ADDR=INSIDE)
    assert (off.status_code, off.json()["code"]) == (403, "client_inactive")
    world.client.active = True
    world.client.save(update_fields=["active"])
    revoked = Client().delete(
        f"{BASE}/{world.client.pk}/keys/{world.key.pk}", headers=world.headers["owner"], REMOTE_ADDR=INSIDE
    )
    assert revoked.status_code == 204
    world.key.refresh_from_db()
    assert world.key.revoked_at == NOW


@pytest.mark.django_db
def test_the_rate_limit_refuses_the_request_after_the_limit_until_the_next_minute():
    # given a client allowed three requests a minute
    world = make_world()
    limited = register(world.users["operator"], make_user(now=NOW), rate_limit_per_minute=3)
    key = key_for(limited)
    client = Client()
    # when it makes four in one minute (at 01:30:10, 10 s into the minute)
    statuses = [client.get(FEED, headers=key, REMOTE_ADDR=INSIDE).status_code for _ in range(4)]
    refused = client.get(FEED, headers=key, REMOTE_ADDR=INSIDE)
    # then the fourth and fifth are refused with when to retry
    assert statuses == [200, 200, 200, 429]
    assert refused.json()["code"] == "client_rate_limited"
    assert refused.json()["details"] == {"retry_after": 50, "limit": 3}
    # and in the next minute it may call again
    Clock.moment = datetime(2026, 3, 2, 1, 31, tzinfo=UTC)
    assert client.get(FEED, headers=key, REMOTE_ADDR=INSIDE).status_code == 200
    log = ApiAccessLog.objects.filter(client=limited).order_by("id").values_list("status_code", "refusal")
    limited_twice = [(429, "client_rate_limited")] * 2
    assert list(log) == [(200, ""), (200, ""), (200, ""), *limited_twice, (200, "")]


@pytest.mark.django_db
def test_crossing_the_volume_threshold_raises_exactly_one_alert_per_period_seen_by_supervisors():
    # given a client with a threshold of 3 requests an hour
    world = make_world()
    watched = register(
        world.users["operator"], make_user(now=NOW), volume_threshold=3, volume_period_seconds=3600
    )
    key = key_for(watched)
    client = Client()
    # when it makes six requests in the hour
    statuses = [client.get(FEED, headers=key, REMOTE_ADDR=INSIDE).status_code for _ in range(6)]
    # then all are served (the threshold watches, it does not block) and one alert was raised, which
    # operators and regulators see over the API and the client's owner does not
    assert statuses == [200] * 6
    alerts = alerts_seen_by(world)
    assert [(a["kind"], a["key"], a["subject_type"], a["subject_id"]) for a in alerts] == [
        ("transmission_volume", f"api_client:{watched.pk}:volume:2026-03-02T01:00:00+00:00", "api_client",
         str(watched.pk)),
    ]  # fmt: skip
    assert alerts[0]["data"] == {
        "client": watched.name,
        "period_starts_at": "2026-03-02T01:00:00+00:00",
        "period_ends_at": "2026-03-02T02:00:00+00:00",
        "threshold": 3,
    }
    assert alerts[0]["raised_at"] == "2026-03-02T01:30:10Z"
    assert alerts_seen_by(world, "regulator") == alerts
    assert client.get(ALERTS, headers=world.headers["owner"]).status_code == 404
    # when the next hour's requests cross it again
    Clock.moment = NOW + timedelta(hours=1)
    for _ in range(4):
        client.get(FEED, headers=key, REMOTE_ADDR=INSIDE)
    # then that period has its own single alert
    assert [a["key"][-25:] for a in alerts_seen_by(world)] == [
        "2026-03-02T02:00:00+00:00",
        "2026-03-02T01:00:00+00:00",
    ]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_concurrent_requests_crossing_the_threshold_raise_one_alert():
    postgresql_only()
    # given a client with a threshold of 10 and twenty requests admitted at once on separate connections
    world = make_world()
    watched = register(
        world.users["operator"], make_user(now=NOW), volume_threshold=10, rate_limit_per_minute=1000
    )
    token = key_for(watched)["Authorization"].removeprefix("Bearer ")
    start, errors = threading.Barrier(20), []

    def admit() -> None:
        try:
            start.wait(10)
            admission = client_admit(token=token, remote_addr=INSIDE, now=NOW)
            assert admission is not None
            assert admission.refusal is None
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=admit) for _ in range(20)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # then every request was counted once, and the crossing raised one alert
    assert errors == []
    assert ApiClientWindow.objects.get(client=watched, kind="volume").count == 20
    assert [a["subject_id"] for a in alerts_seen_by(world)] == [str(watched.pk)]
    assert AuditEntry.objects.filter(action="supervision:alert:raised").count() == 1


@pytest.mark.django_db
def test_the_access_log_pages_newest_first_for_the_owner():
    world = make_world()
    key = key_for(world.client)
    for _ in range(3):
        Client().get(FEED, headers=key, REMOTE_ADDR=INSIDE)
    url = f"{BASE}/{world.client.pk}/access-log?limit=2"
    first = Client().get(url, headers=world.headers["owner"]).json()
    assert [e["status_code"] for e in first["entries"]] == [200, 200]
    second = Client().get(f"{url}&before_id={first['next_before_id']}", headers=world.headers["owner"]).json()
    assert len(second["entries"]) == 1
    assert second["next_before_id"] is None
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.django_db
def test_counters_of_long_past_windows_are_pruned_and_current_ones_kept():
    # given counters from a request now and from one three days ago
    world = make_world()
    key = key_for(world.client)
    Clock.moment = NOW - timedelta(days=3)
    assert Client().get(FEED, headers=key, REMOTE_ADDR=INSIDE).status_code == 200
    Clock.moment = NOW
    assert Client().get(FEED, headers=key, REMOTE_ADDR=INSIDE).status_code == 200
    # when
    deleted = client_windows_prune(NOW)
    # then the old minute's rate counter is gone; volume counters stay for a month and two days
    assert deleted == 1
    assert sorted(ApiClientWindow.objects.values_list("kind", "starts_at")) == [
        ("rate", datetime(2026, 3, 2, 1, 30, tzinfo=UTC)),
        ("volume", datetime(2026, 2, 27, 1, 0, tzinfo=UTC)),
        ("volume", datetime(2026, 3, 2, 1, 0, tzinfo=UTC)),
    ]


@pytest.mark.django_db
def test_listing_ten_clients_with_their_keys_costs_five_queries_not_one_per_client(django_assert_num_queries):
    # given
    world = make_world()
    for _ in range(8):
        key_for(register(world.users["operator"], make_user(now=NOW)))
    assert ApiClient.objects.count() == 10
    # when / then: the token (which says it is no client's key), its last use, the roles, the clients, their
    # keys
    with django_assert_num_queries(5):
        response = Client().get(BASE, headers=world.headers["operator"])
    assert len(response.json()) == 10


@pytest.mark.django_db
def test_a_client_key_is_listed_with_its_client_not_among_the_owners_personal_tokens():
    world = make_world()
    personal = Client().get("/api/v1/accounts/tokens", headers=world.headers["owner"], REMOTE_ADDR=INSIDE)
    assert personal.status_code == 200
    listed = {token["id"] for token in personal.json()}
    assert world.key.pk not in listed
    assert listed  # the owner's own personal token (the one this request used) is there
