"""The OCDS API: public and read-only. Every operation × seven kinds of actor gets the same answer (open data
is the same for everyone, the regulator included, and never more), a write is refused and changes nothing,
and the period's releases page through ``links.next`` to exactly every release."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import bearer
from tenderhall.core.models import AuditEntry
from tenderhall.exchange import validation
from tenderhall.exchange.models import ImportedPackage
from tenderhall.exchange.selectors import all_releases
from tenderhall.exchange.tests.support import NOW, PREFIX, Clock, add_bid, demo_data, tick, use_clock
from tenderhall.ledger.models import Leaf
from tenderhall.procedures.models import Tender
from tenderhall.registry.models import MarketEntity

pytestmark = pytest.mark.django_db

# who each actor is among the demo users: "bidder" has a bid on the tender, "other_bidder" has none
ACTORS = {
    "anonymous": None,
    "bidder": "bidder1",
    "other_bidder": "bidder2",
    "tenderee": "tenderee",
    "agency": "agency",
    "operator": "operator",
    "regulator": "regulator",
}


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    use_clock(monkeypatch)
    settings.TENDERHALL_OCID_PREFIX = PREFIX
    settings.TENDERHALL_PUBLIC_URL = "https://ggzy.example.org"


def headers(actor: str) -> dict[str, str]:
    username = ACTORS[actor]
    if username is None:
        return {}
    return bearer(User.objects.get(username=username), *Scope.values, now=NOW)


def state() -> tuple[int, int, int]:
    return Leaf.objects.count(), AuditEntry.objects.count(), ImportedPackage.objects.count()


@pytest.fixture
def world() -> dict[str, str]:
    """The demo tender in bidding, with one bid from bidder1's entity, and a draft of the same agency."""
    tender = demo_data()
    assert tender.documents_from is not None
    assert tender.bid_deadline is not None
    tick(tender.documents_from + timedelta(seconds=1))
    add_bid(
        tender,
        MarketEntity.objects.get(name="江城建工集团有限公司"),
        at=tender.documents_from + timedelta(hours=1),
    )
    draft = Tender.objects.create(
        project=tender.project,
        code=tender.code[:-3] + "999",
        name="草稿",
        procedure_type="works_open",
        created_by=User.objects.get(username="agency"),
        created_at=NOW,
    )
    Clock.moment = tender.bid_deadline - timedelta(minutes=5)
    return {"published": f"{PREFIX}-{tender.code}", "draft": f"{PREFIX}-{draft.code}"}


OPERATIONS = {
    # operation id: (path, expected status for every actor)
    "ocds_releases_in_period": ("/api/v1/ocds/releases", 200),
    "ocds_releases_for_ocid": ("/api/v1/ocds/releases/{published}", 200),
    "ocds_releases_for_ocid (draft)": ("/api/v1/ocds/releases/{draft}", 404),
    "ocds_record_for_ocid": ("/api/v1/ocds/records/{published}", 200),
    "ocds_record_for_ocid (draft)": ("/api/v1/ocds/records/{draft}", 404),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_actor_gets_the_same_answer_and_a_write_is_refused_changing_nothing(
    world: dict[str, str], operation: str
) -> None:
    path, expected = OPERATIONS[operation]
    path = path.format(**world)
    bodies = {}
    for actor in ACTORS:
        # given any actor, signed in with every scope or not at all
        sent = headers(actor)
        before = state()
        # when it reads
        response = Client().get(path, headers=sent)
        # then it gets the public answer, the same for all, and nothing is written
        assert response.status_code == expected, actor
        bodies[actor] = response.content
        assert state() == before
        # and a write to the same path is refused and changes nothing
        for method in ("post", "put", "delete"):
            refused = getattr(Client(), method)(path, headers=sent)
            assert refused.status_code == 405, (actor, method)
            assert state() == before
    assert len(set(bodies.values())) == 1
    body = json.loads(bodies["anonymous"])
    if expected == 200:
        assert validation.package_errors(body) == []
        # the bid on the tender in bidding is not public before its deadline, not even to the regulator
        items = body.get("releases") or body["records"]
        mine = [r for r in items if r["ocid"] == world["published"]]
        assert mine
        assert "江城建工集团有限公司" not in json.dumps(mine, ensure_ascii=False)
        assert '"bids"' not in json.dumps(mine)
    else:
        assert body["code"] == "not_found"


def test_the_router_has_exactly_these_operations() -> None:
    from tenderhall.exchange.api import router

    operations = {op.operation_id for view in router.path_operations.values() for op in view.operations}
    assert operations == {name.split(" ")[0] for name in OPERATIONS}


def test_the_period_pages_through_links_next_to_every_release_once(world: dict[str, str]) -> None:
    # given more releases than a page holds
    everything = sorted(all_releases(), key=lambda r: int(r["id"].rsplit("-", 1)[1]))
    assert len(everything) >= 3
    # when a client follows links.next from the first page
    seen, path, pages = [], "/api/v1/ocds/releases?limit=2", 0
    while path:
        response = Client().get(path)
        assert response.status_code == 200
        package = json.loads(response.content)
        assert validation.package_errors(package) == []
        seen.extend(package["releases"])
        pages += 1
        following = package.get("links", {}).get("next")
        path = following.removeprefix("https://ggzy.example.org") if following else ""
    # then it has read every release once, in ledger order, two at a time
    assert pages == (len(everything) + 1) // 2
    assert [r["id"] for r in seen] == [r["id"] for r in everything]


def test_the_period_is_half_open_and_bad_parameters_are_refused_with_a_stable_code(
    world: dict[str, str],
) -> None:
    publication = "2026-03-02T01:30:00Z"
    status, body = _get(f"/api/v1/ocds/releases?since={publication}&until=2026-03-02T01:30:01Z")
    assert status == 200
    mine = [r["id"] for r in body["releases"] if r["ocid"] == world["published"]]
    _, whole = _get(f"/api/v1/ocds/releases/{world['published']}")
    at_publication = [r["id"] for r in whole["releases"] if r["date"] == "2026-03-02T09:30:00+08:00"]
    assert len(at_publication) >= 2
    assert mine == at_publication
    status, body = _get(f"/api/v1/ocds/releases?until={publication}")  # the end is excluded
    assert world["published"] not in {r["ocid"] for r in body.get("releases", [])}
    status, body = _get("/api/v1/ocds/releases?until=2000-01-01T00:00:00Z")
    assert (status, body["code"]) == (404, "no_releases")
    for query, field in (
        ("cursor=abc", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        (f"since={publication}&until={publication}", "since"),
        ("since=2026-03-02T09:30:00", "since"),
        ("until=2026-03-02T09:30:00", "until"),
    ):
        status, body = _get(f"/api/v1/ocds/releases?{query}")
        assert (status, body["code"]) == (422, "invalid_input"), query
        assert field in body["details"]["fields"], query
    status, body = _get("/api/v1/ocds/releases?since=yesterday")
    assert (status, body["code"]) == (422, "invalid_input")


def _get(path: str) -> tuple[int, Any]:
    response = Client().get(path.replace("+", "%2B"))
    return response.status_code, json.loads(response.content)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/api/v1/ocds/releases/{PREFIX}-%00", 404, "not_found"),
        (f"/api/v1/ocds/records/{PREFIX}-{'9' * 5000}", 404, "not_found"),
        ("/api/v1/ocds/releases?cursor=%C2%B2", 422, "invalid_input"),
        (f"/api/v1/ocds/releases?cursor={2**63}", 422, "invalid_input"),
        (f"/api/v1/ocds/releases?limit={10**30}", 422, "invalid_input"),
        ("/api/v1/ocds/releases?since=99999-01-01T00:00:00Z", 422, "invalid_input"),
    ],
)
def test_malformed_requests_get_a_4xx_with_a_stable_code(path: str, status: int, code: str) -> None:
    response = Client().get(path)
    assert (response.status_code, json.loads(response.content)["code"]) == (status, code)
