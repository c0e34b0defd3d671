"""Every API operation × every kind of actor, with the exact status each must get.

A denied request must change nothing: no audit entry, no ledger leaf. The table must name every operation
of the OpenAPI document, so a new endpoint cannot ship without its row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.api import api
from tenderhall.accounts import services as account_services
from tenderhall.accounts.api_clients import router as clients_router
from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core import clock
from tenderhall.core.models import AuditEntry
from tenderhall.core.tests.matrix import operation_ids
from tenderhall.evaluation.api import router as evaluation_router
from tenderhall.exchange.api import router as ocds_router
from tenderhall.ledger.models import Leaf
from tenderhall.opening.api_sessions import router as opening_sessions_router
from tenderhall.procedures import notices
from tenderhall.procedures import services as procedure_services
from tenderhall.procedures.api_participation import router as participation_router
from tenderhall.procedures.choices import NoticeKind
from tenderhall.procedures.scheduler import notice_publish
from tenderhall.registry import services as registry_services
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity, uscc
from tenderhall.supervision.api_alerts import router as alerts_router
from tenderhall.supervision.api_feed import router as feed_router

ACTORS = ("anonymous", "user", "owner", "stranger", "operator", "regulator", "agency")
ALL_SCOPES = tuple(Scope.values)
_unique = itertools.count(5000)


@dataclass
class World:
    users: dict[str, User]
    entity: MarketEntity
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def certificate_pem(common_name: str, serial_number: str, usage: str = "signing") -> str:
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=clock.now())
    _key, cert = ca.issue_key_and_certificate(
        common_name=common_name, serial_number=serial_number, usage=usage, now=clock.now()
    )
    return cert.decode()


def build_world(entity_state: str) -> World:
    now = clock.now()
    users = {
        "user": make_user(now=now),
        "owner": make_user(now=now),
        "stranger": make_user(now=now),
        "operator": make_user(role=Role.OPERATOR, now=now),
        "regulator": make_user(role=Role.REGULATOR, now=now),
        "agency": make_user(now=now),
    }
    make_entity(registrant=users["stranger"], approved_by=users["operator"], now=now)
    entity = make_entity(registrant=users["owner"], now=now)
    if entity_state == "rejected":
        registry_services.entity_reject(
            actor=users["operator"], entity_id=entity.pk, reason="材料不全", now=now
        )
    world = World(users=users, entity=entity)
    agency = make_entity(registrant=users["agency"], role=Role.AGENCY, approved_by=users["operator"], now=now)
    tenderee = make_entity(role=Role.TENDEREE, approved_by=users["operator"], now=now)
    world.ids["agency_entity"], world.ids["tenderee_entity"] = agency.pk, tenderee.pk
    project = procedure_services.project_register(
        actor=users["agency"],
        name="江城市排水管网改造工程",
        sector="works",
        region_code="420100",
        tenderee_id=tenderee.pk,
        agency_id=agency.pk,
        budget=Decimal("5000000"),
        now=now,
    )
    tender = procedure_services.tender_create(
        actor=users["agency"],
        project_id=project.pk,
        name="排水管网施工",
        procedure_type="works_open",
        now=now,
    )
    procedure_services.lot_add(
        actor=users["agency"], tender_id=tender.pk, name="一标段", estimate=Decimal("4000000"), now=now
    )
    world.ids["project"], world.ids["tender"] = project.pk, tender.pk
    world.ids["lot"] = tender.lots.get().pk
    notice = notices.notice_create(
        tender=tender, kind=NoticeKind.TENDER, publish_at=now, actor=users["agency"], now=now
    )
    notice_publish(notice.pk, now=now)
    world.ids["notice"] = notice.pk
    for name, user in users.items():
        issued = account_services.token_create(
            user=user, name="matrix", scopes=ALL_SCOPES, expires_at=None, now=now
        )
        world.headers[name] = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
        world.ids[f"token:{name}"] = issued.record.pk
    world.headers["anonymous"] = {}
    world.ids["grant"] = account_services.role_grant_unchecked(
        user=users["user"], role=Role.EXPERT, entity_id=None, granted_by=None, now=now
    ).pk
    world.ids["qualification"] = registry_services.qualification_add(
        actor=users["owner"],
        entity_id=entity.pk,
        qualification_type="市政公用工程施工总承包",
        grade="二级",
        number=f"Q{next(_unique)}",
        issuer="江城市住房和城乡建设局",
        valid_from=now.date(),
        valid_until=now.date().replace(year=now.year + 3),
        now=now,
    ).pk
    world.ids["person"] = registry_services.person_add(
        actor=users["owner"],
        entity_id=entity.pk,
        full_name="李工",
        id_number="360426199101010071",
        position="项目经理",
        title="二级建造师",
        certificate_number="",
        now=now,
    ).pk
    world.ids["certificate"] = account_services.certificate_accept(
        actor=users["owner"],
        user=users["owner"],
        data=certificate_pem("李工", "360426199101010071").encode(),
        usage="signing",
        now=now,
    ).pk
    return world


def new_user_body(_: World) -> dict[str, Any]:
    n = next(_unique)
    from tenderhall.accounts.tests.factories import resident_id

    return {
        "username": f"new{n}",
        "password": "a-long-enough-passphrase",
        "full_name": "新用户",
        "id_type": "resident_id",
        "id_number": resident_id(n),
        "phone": "13912345678",
        "email": f"new{n}@example.invalid",
    }


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: dict[str, int]
    body: Callable[[World], Any] | None = None
    entity_state: str = "pending"
    multipart: bool = False
    client_arguments: bool = False  # the body function gives the client's arguments (raw body, query)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **overrides}


HIDDEN = {"user": 404, "stranger": 404}
SUPERVISORS_ONLY = {"user": 404, "owner": 404, "stranger": 404}
OWNER_OR_OPERATOR = {**HIDDEN, "regulator": 403}

MATRIX: dict[str, Row] = {
    "user_register": Row("post", "/accounts/users", everyone(201), new_user_body),
    "user_me": Row("get", "/accounts/me", signed_in(200)),
    "user_list": Row("get", "/accounts/users", signed_in(200, **SUPERVISORS_ONLY)),
    "role_grant": Row(
        "post",
        "/accounts/users/{user}/roles",
        signed_in(201, **SUPERVISORS_ONLY, regulator=403),
        lambda w: {"role": "opening_official"},
    ),
    "role_revoke": Row(
        "delete", "/accounts/users/{user}/roles/{grant}", signed_in(204, **SUPERVISORS_ONLY, regulator=403)
    ),
    "token_list": Row("get", "/accounts/tokens", signed_in(200)),
    "token_create": Row(
        "post", "/accounts/tokens", signed_in(201), lambda w: {"name": "n", "scopes": ["audit:read"]}
    ),
    "token_revoke": Row("delete", "/accounts/tokens/{owner_token}", signed_in(404, owner=204)),
    "certificate_list_mine": Row("get", "/accounts/me/certificates", signed_in(200)),
    "certificate_upload_mine": Row(
        "post",
        "/accounts/me/certificates",
        signed_in(201),
        lambda w: {"usage": "signing", "pem": certificate_pem("某人", str(next(_unique)))},
    ),
    "certificate_revoke": Row(
        "post", "/accounts/certificates/{certificate}/revoke", signed_in(404, owner=200, operator=200)
    ),
    "codes_check": Row(
        "post", "/registry/check-codes", everyone(200), lambda w: {"codes": ["91350100M000100Y43"]}
    ),
    "entity_list": Row("get", "/registry/entities", everyone(200)),
    "entity_register": Row(
        "post",
        "/registry/entities",
        signed_in(201),
        lambda w: {
            "kind": "legal_person",
            "name": "新登记有限公司",
            "identifier": uscc(next(_unique)),
            "role": "bidder",
            "legal_representative": "赵六",
        },
    ),
    "entity_get": Row("get", "/registry/entities/{entity}", {**everyone(200), "anonymous": 404, **HIDDEN}),
    "entity_update": Row(
        "patch",
        "/registry/entities/{entity}",
        signed_in(200, **OWNER_OR_OPERATOR),
        lambda w: {"contact_phone": "02766668888"},
    ),
    "entity_versions": Row("get", "/registry/entities/{entity}/versions", signed_in(200, **HIDDEN)),
    "entity_resubmit": Row(
        "post",
        "/registry/entities/{entity}/resubmit",
        signed_in(200, **OWNER_OR_OPERATOR),
        entity_state="rejected",
    ),
    "entity_review_queue": Row(
        "get", "/registry/review-queue", signed_in(200, **SUPERVISORS_ONLY, regulator=404)
    ),
    "entity_approve": Row(
        "post", "/registry/entities/{entity}/approve", signed_in(200, **HIDDEN, owner=403, regulator=403)
    ),
    "entity_reject": Row(
        "post",
        "/registry/entities/{entity}/reject",
        signed_in(200, **HIDDEN, owner=403, regulator=403),
        lambda w: {"reason": "资质证书过期"},
    ),
    "qualification_add": Row(
        "post",
        "/registry/entities/{entity}/qualifications",
        signed_in(201, **OWNER_OR_OPERATOR),
        lambda w: {
            "qualification_type": "电子与智能化工程专业承包",
            "grade": "二级",
            "number": f"Z{next(_unique)}",
            "issuer": "湖北省住房和城乡建设厅",
            "valid_from": "2025-01-01",
            "valid_until": "2030-01-01",
        },
    ),
    "qualification_remove": Row(
        "delete",
        "/registry/entities/{entity}/qualifications/{qualification}",
        signed_in(204, **OWNER_OR_OPERATOR),
    ),
    "person_add": Row(
        "post",
        "/registry/entities/{entity}/personnel",
        signed_in(201, **OWNER_OR_OPERATOR),
        lambda w: {"full_name": "王工", "id_number": "11010519491231002X"},
    ),
    "person_remove": Row(
        "delete", "/registry/entities/{entity}/personnel/{person}", signed_in(204, **OWNER_OR_OPERATOR)
    ),
    "entity_certificate_list": Row(
        "get", "/registry/entities/{entity}/certificates", {**everyone(200), "anonymous": 404, **HIDDEN}
    ),
    "entity_certificate_upload": Row(
        "post",
        "/registry/entities/{entity}/certificates",
        signed_in(201, **OWNER_OR_OPERATOR),
        lambda w: {
            "usage": "encryption",
            "pem": certificate_pem(w.entity.name, w.entity.identifier, "encryption"),
        },
    ),
    "audit_entry_list": Row("get", "/audit/entries", signed_in(200, **SUPERVISORS_ONLY)),
}
# The roles above do not involve the agency: it gets what any other user acting for an approved entity gets.
for _row in MATRIX.values():
    _row.expected["agency"] = _row.expected["stranger"]

MANAGERS = {"user": 404, "owner": 404, "stranger": 404, "regulator": 404}
PROCEDURES_MATRIX: dict[str, Row] = {
    "project_register": Row(
        "post",
        "/procedures/projects",
        signed_in(403, agency=201),
        lambda w: {
            "name": "江城市路灯改造工程",
            "sector": "works",
            "region_code": "420100",
            "tenderee_id": w.ids["tenderee_entity"],
            "agency_id": w.ids["agency_entity"],
            "budget": "800000",
        },
    ),
    "project_list_mine": Row("get", "/procedures/projects", signed_in(200)),
    "tender_create": Row(
        "post",
        "/procedures/tenders",
        signed_in(201, **MANAGERS),
        lambda w: {"project_id": w.ids["project"], "name": "二期", "procedure_type": "works_open"},
    ),
    "tender_list": Row("get", "/procedures/tenders", everyone(200)),
    "tender_get": Row(
        "get",
        "/procedures/tenders/{tender}",
        {**everyone(200), "anonymous": 404, "user": 404, "owner": 404, "stranger": 404},
    ),
    "lot_add": Row(
        "post",
        "/procedures/tenders/{tender}/lots",
        signed_in(201, **MANAGERS),
        lambda w: {"name": "二标段", "estimate": "100000", "bid_bond": "2000"},
    ),
    "tender_schedule": Row(
        "put",
        "/procedures/tenders/{tender}/timeline",
        signed_in(200, **MANAGERS),
        lambda w: {
            "notice_publish_at": (clock.now() + timedelta(days=1)).isoformat(),
            "documents_from": (clock.now() + timedelta(days=1)).isoformat(),
            "documents_until": (clock.now() + timedelta(days=20)).isoformat(),
            "bid_deadline": (clock.now() + timedelta(days=30)).isoformat(),
        },
    ),
    # The draft has no documents yet: the managers get past authorization and are refused for that.
    "tender_publish": Row("post", "/procedures/tenders/{tender}/publish", signed_in(422, **MANAGERS)),
    "tender_cancel": Row(
        "post",
        "/procedures/tenders/{tender}/cancel",
        signed_in(200, **MANAGERS),
        lambda w: {"reason": "资金未落实"},
    ),
}
MATRIX.update(PROCEDURES_MATRIX)
MATRIX.update(
    {
        "notice_search": Row("get", "/portal/notices", everyone(200)),
        "notice_get": Row("get", "/portal/notices/{notice}", everyone(200)),
        # The world's tender is a draft: its lot takes no bids, and nobody learns more than "no such lot".
        "bid_submit": Row(
            "post",
            "/bids/lots/{lot}/bids",
            signed_in(404),
            lambda w: {
                "envelope": SimpleUploadedFile("bid.p7m", b"0\x80"),
                "entity_id": w.ids["agency_entity"],
                "bond_amount": "1000",
                "bond_payer_account": "6222020200001234567",
            },
            multipart=True,
        ),
        "bid_submit_envelope": Row(
            "post",
            "/bids/lots/{lot}/envelopes",
            signed_in(404),
            lambda w: {
                "data": b"0\x80",
                "content_type": "application/cms",
                "query_params": {
                    "entity_id": w.ids["agency_entity"],
                    "bond_amount": "1000",
                    "bond_payer_account": "6222020200001234567",
                },
            },
            client_arguments=True,
        ),
        "bid_list_mine": Row("get", "/bids/bids", signed_in(200)),
        "bid_withdraw": Row("post", "/bids/bids/{bid}/withdraw", signed_in(404)),
        "bid_receipt": Row("get", "/bids/bids/{bid}/receipt", signed_in(404)),
        "tender_sealing_info": Row("get", "/bids/tenders/{tender}/sealing", everyone(404)),
        # Only the tender's managers reach the check that two officials with certificates are named.
        "escrow_plan_set": Row(
            "put",
            "/opening/tenders/{tender}/escrow-plan",
            signed_in(422, **MANAGERS),
            lambda w: {"official_ids": [w.users["user"].pk], "k": 2},
        ),
        "notice_correction_publish": Row(
            "post",
            "/procedures/notices/{notice}/corrections",
            signed_in(201, **MANAGERS),
            lambda w: {"text": "更正"},
        ),
    }
)


# Routers whose operations have a matrix of their own, in the test module next to the router:
# participation (tenderhall/procedures/tests/test_api_participation.py), the opening sessions
# (tenderhall/opening/tests/test_api_sessions.py).
OWN_MATRIX = [participation_router, ocds_router, opening_sessions_router, evaluation_router]
OWN_MATRIX.append(clients_router)  # tenderhall/accounts/tests/test_api_clients.py
OWN_MATRIX.append(feed_router)  # tenderhall/supervision/tests/test_api_feed.py
OWN_MATRIX.append(alerts_router)  # tenderhall/supervision/tests/test_api_feed.py


def openapi_operations() -> dict[str, tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {
        operation["operationId"]: (method, path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def test_the_matrix_names_every_operation_of_the_api_with_its_method_and_path():
    # The ledger is public and read-only; the routers of OWN_MATRIX have their own matrix.
    elsewhere = set().union(*(operation_ids(router) for router in OWN_MATRIX))
    operations = {
        k: v
        for k, v in openapi_operations().items()
        if not v[1].startswith("/api/v1/ledger/") and k not in elsewhere
    }
    assert set(MATRIX) == set(operations)
    for operation_id, row in MATRIX.items():
        method, path = operations[operation_id]
        assert (method, path) == (
            row.method,
            "/api/v1"
            + row.path.replace("{user}", "{user_id}")
            .replace("{grant}", "{grant_id}")
            .replace("{owner_token}", "{token_id}")
            .replace("{certificate}", "{certificate_id}")
            .replace("{entity}", "{entity_id}")
            .replace("{qualification}", "{qualification_id}")
            .replace("{person}", "{person_id}")
            .replace("{tender}", "{tender_id}")
            .replace("{notice}", "{notice_id}")
            .replace("{lot}", "{lot_id}")
            .replace("{bid}", "{bid_id}"),
        ), operation_id


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("operation_id", sorted(MATRIX))
def test_authorization(operation_id: str, actor: str) -> None:
    # given
    row = MATRIX[operation_id]
    world = build_world(row.entity_state)
    path = "/api/v1" + row.path.format(
        user=world.users["user"].pk,
        grant=world.ids["grant"],
        owner_token=world.ids["token:owner"],
        certificate=world.ids["certificate"],
        entity=world.entity.pk,
        qualification=world.ids["qualification"],
        person=world.ids["person"],
        tender=world.ids.get("tender"),
        notice=world.ids["notice"],
        lot=world.ids.get("lot"),
        bid=0,
    )
    body = row.body(world) if row.body else None
    audit_before, leaves_before = AuditEntry.objects.count(), Leaf.objects.count()
    client = Client()
    # when
    call = getattr(client, row.method)
    kwargs: dict[str, Any] = dict(world.headers[actor])
    if body is not None and row.multipart:
        kwargs |= {"data": body}
    elif body is not None and row.client_arguments:
        kwargs |= body
    elif body is not None:
        kwargs |= {"data": body, "content_type": "application/json"}
    response = call(path, **kwargs)
    # then
    expected = row.expected[actor]
    assert response.status_code == expected, (operation_id, actor, response.content[:300])
    if expected >= 400:
        assert response.json()["code"], response.content
        assert (AuditEntry.objects.count(), Leaf.objects.count()) == (audit_before, leaves_before)
