"""The feed, webhook and alert routers: each operation × seven kinds of actor with the exact status each gets
(a refusal changes nothing), then the shapes and error codes a client relies on, and the alerts page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.clients import ClientFields, client_register
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import PASSWORD, bearer, make_user, resident_id
from tenderhall.core import clock
from tenderhall.core.hooks import AlertRaised
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.matrix import operation_ids, statuses_by_actor
from tenderhall.ledger.models import Leaf
from tenderhall.registry.tests.factories import make_entity
from tenderhall.supervision.alerts import alert_record
from tenderhall.supervision.api_alerts import router as alerts_router
from tenderhall.supervision.api_feed import router as feed_router
from tenderhall.supervision.models import Alert, WebhookSubscription
from tenderhall.supervision.webhooks import webhook_subscribe

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ACTORS = ("anonymous", "user", "owner", "stranger", "operator", "regulator", "agency")


class Clock:
    moment = NOW + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock.moment = NOW + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)


@dataclass
class World:
    users: dict[str, User]
    subscription: WebhookSubscription
    alert: Alert
    headers: dict[str, dict[str, str]]


def make_world() -> World:
    operator = make_user(role=Role.OPERATOR, now=NOW)
    users = {
        "user": make_user(now=NOW),
        "owner": make_user(now=NOW),
        "stranger": make_user(now=NOW),
        "operator": operator,
        "regulator": make_user(role=Role.REGULATOR, now=NOW),
        "agency": make_user(now=NOW),
    }
    make_entity(registrant=users["agency"], role=Role.AGENCY, approved_by=operator, now=NOW)
    for n, name in enumerate(("owner", "stranger")):
        client_register(
            actor=operator,
            fields=ClientFields(
                name=f"交换系统{n}", organisation="江城市大数据中心", owner_id=users[name].pk,
                responsible_name="王五", responsible_id_type="resident_id",
                responsible_id_number=resident_id(n + 70),
                responsible_phone="13900000000", allowed_networks=["127.0.0.1/32"],
            ),
            now=NOW,
        )  # fmt: skip
    subscription = webhook_subscribe(
        actor=users["owner"], url="https://hooks.example.invalid/t", entity_types=[], private=False,
        start_cursor=None, now=NOW,
    ).subscription  # fmt: skip
    with transaction.atomic():
        alert = alert_record(
            AlertRaised(
                kind="transmission_volume", key="api_client:1:volume:2026-03-02T01:00:00+00:00",
                subject_type="api_client", subject_id="1", message="阈值", data={}, at=NOW,
            )
        )  # fmt: skip
    assert alert is not None
    headers = {name: bearer(user, *Scope.values) for name, user in users.items()}
    return World(users=users, subscription=subscription, alert=alert, headers={"anonymous": {}, **headers})


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **others: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **others}


SUPERVISORS_ONLY = {"user": 404, "owner": 404, "stranger": 404, "agency": 404}


@dataclass(frozen=True)
class Op:
    label: str
    method: str
    path: Callable[[World], str]
    expected: dict[str, int]
    body: Callable[[World], dict[str, Any]] | None = None


FEED_OPS = [
    Op("feed_changes", "get", lambda w: "/api/v1/feed/changes", everyone(200)),
    Op("feed_private_changes", "get", lambda w: "/api/v1/feed/private/changes",
       signed_in(200, **SUPERVISORS_ONLY)),
    Op("feed_checkpoints", "get", lambda w: "/api/v1/feed/checkpoints", everyone(200)),
    Op("webhook_subscribe", "post", lambda w: "/api/v1/feed/webhooks", signed_in(201, user=403, agency=403),
       lambda w: {"url": "https://hooks.example.invalid/new", "entity_types": ["notice"]}),
    Op("webhook_list", "get", lambda w: "/api/v1/feed/webhooks", signed_in(200)),
    Op("webhook_deactivate", "delete", lambda w: f"/api/v1/feed/webhooks/{w.subscription.pk}",
       signed_in(404, owner=200, operator=200)),
    Op("webhook_deliveries", "get", lambda w: f"/api/v1/feed/webhooks/{w.subscription.pk}/deliveries",
       signed_in(404, owner=200, operator=200)),
]  # fmt: skip
ALERT_OPS = [
    Op("alert_list", "get", lambda w: "/api/v1/supervision/alerts", signed_in(200, **SUPERVISORS_ONLY)),
    Op("alert_acknowledge", "post", lambda w: f"/api/v1/supervision/alerts/{w.alert.pk}/acknowledge",
       signed_in(200, **SUPERVISORS_ONLY)),
]  # fmt: skip


def state() -> tuple[Any, ...]:
    return (
        AuditEntry.objects.count(),
        Leaf.objects.count(),
        list(WebhookSubscription.objects.order_by("pk").values()),
        list(Alert.objects.order_by("pk").values()),
    )


@pytest.mark.parametrize(("router", "ops"), [(feed_router, FEED_OPS), (alerts_router, ALERT_OPS)])
def test_the_matrices_name_every_operation_of_their_router(router: Any, ops: list[Op]):
    assert {op.label for op in ops} == operation_ids(router)


@pytest.mark.parametrize("op", FEED_OPS + ALERT_OPS, ids=[op.label for op in FEED_OPS + ALERT_OPS])
def test_authorization_matrix(op: Op):
    # given an owner of a client system with a webhook, a stranger with another client, an alert
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


# --- shapes -----------------------------------------------------------------------------------------------


def test_the_public_feed_over_http_is_a_get_with_a_cursor_returning_items_and_the_next_cursor():
    # given an approved entity (its leaf at NOW)
    operator = make_user(role=Role.OPERATOR, now=NOW)
    entity = make_entity(approved_by=operator, now=NOW)
    # when
    response = Client().get("/api/v1/feed/changes?cursor=0&limit=10")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] == 1
    assert body["watermark"] == "2026-03-02T01:30:58Z"
    assert body["items"] == [
        {
            "seq": 0, "entity_type": "entity", "entity_id": str(entity.pk),
            "event": "registry:entity:approved",
            "at": "2026-03-02T01:30:00Z",
            "data": {
                "kind": "legal_person", "name": entity.name, "identifier": entity.identifier,
                "region_code": entity.region_code, "tags": [], "status": "approved",
                "version": entity.version,
            },
        }
    ]  # fmt: skip
    again = Client().get("/api/v1/feed/changes?cursor=1").json()
    assert (again["items"], again["next_cursor"]) == ([], 1)


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("cursor=-5", "feed_invalid", "cursor"),
        ("limit=0", "feed_invalid", "limit"),
        ("types=bid", "feed_invalid", "types"),
        ("cursor=abc", "invalid_input", "query.cursor"),
    ],
)
def test_a_bad_feed_request_gets_a_422_with_a_stable_code_naming_the_field(query: str, code: str, field: str):
    response = Client().get(f"/api/v1/feed/changes?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code
    fields = body["details"]["fields"] if code == "feed_invalid" else {f["field"]: 1 for f in body["details"]}
    assert list(fields) == [field]


def test_a_new_webhook_shows_its_secret_once():
    world = make_world()
    created = Client().post(
        "/api/v1/feed/webhooks", {"url": "https://hooks.example.invalid/r", "private": True},
        content_type="application/json", headers=world.headers["regulator"],
    )  # fmt: skip
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    listed = Client().get("/api/v1/feed/webhooks", headers=world.headers["regulator"])
    assert secret not in listed.content.decode()
    assert [(s["private"], s["cursor"]) for s in listed.json()] == [(True, Leaf.objects.count())]


def test_the_alerts_page_lists_alerts_for_supervisors_and_acknowledges_one():
    # given
    world = make_world()
    browser = Client()
    browser.force_login(world.users["regulator"])  # two-factor is set up for regulators by make_user
    # when
    page = browser.get("/audit/alerts/")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert "阈值" in html
    assert f'name="alert" value="{world.alert.pk}"' in html
    assert 'href="/audit/"' in html
    # when the regulator acknowledges it
    done = browser.post("/audit/alerts/", {"alert": world.alert.pk})
    # then
    assert done.status_code == 302
    world.alert.refresh_from_db()
    assert world.alert.acknowledged_by == world.users["regulator"]
    # and a user who supervises nothing is told there is no such page
    other = Client()
    assert other.login(username=world.users["user"].username, password=PASSWORD)
    assert other.get("/audit/alerts/").status_code == 404
