"""Query-count guards: a member's workspace (API and page) and the evaluation list cost the same number of
queries whatever the number of bids or evaluations in them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import bearer, enable_two_factor, make_user
from tenderhall.core import clock
from tenderhall.evaluation import award, reports, workspace
from tenderhall.evaluation.models import EvaluatedBid, Evaluation
from tenderhall.evaluation.selectors import candidates_settled
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    NOW,
    Scene,
    declare_all,
    drawn_committee,
    make_bid,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.opening.models import OpenedBid, OpeningSession, Outcome
from tenderhall.procedures.models import Lot, Notification
from tenderhall.registry.tests.factories import make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: EVALUATION_AT)


def with_bids(bids: int) -> Scene:
    """A lot under evaluation with ``bids`` opened bids, each from its own bidder."""
    scene = make_scene(experts=5)
    lot = scene.lot
    while len(scene.bids) < bids:
        user = make_user(now=NOW)
        entity = make_entity(registrant=user, role=Role.BIDDER, approved_by=scene.world.operator, now=NOW)
        scene.bids.append(make_bid(lot, entity, user, at=EVALUATION_AT))
    scene.bids = scene.bids[:bids]
    set_up(scene, prices=tuple(str(100 + 10 * i) for i in range(bids)))
    return scene


def at_work(bids: int) -> tuple[Scene, User]:
    """A committee scoring ``bids`` opened bids; its first member has marked, scored and asked about each."""
    scene = with_bids(bids)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    member = seated(committee)[0].user
    session = OpeningSession.objects.create(
        tender=scene.tender, started_at=EVALUATION_AT, decryption_until=EVALUATION_AT, escrow_allowed=False
    )
    for bid in EvaluatedBid.objects.filter(evaluation=scene.ev):
        opened = OpenedBid(session=session, bid_id=bid.bid_id, outcome=Outcome.OPENED, form={"p": 1}, price=1)
        opened.package.save("package.zip", ContentFile(b"PK\x05\x06" + bytes(18)), save=True)
        workspace.score_set(
            actor=member,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="tech",
            value="40",
            now=EVALUATION_AT,
        )
        workspace.compliance_mark(
            actor=member,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            ground="not_qualified",
            reason="资质不符",
            now=EVALUATION_AT,
        )
        workspace.clarification_ask(
            actor=member,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            question="请说明",
            kind="general",
            now=EVALUATION_AT,
        )
    return scene, member


def queries(call: Callable[[], object]) -> int:
    call()  # once to warm the caches that do not depend on the bids (content types, sessions)
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_the_workspace_api_costs_the_same_queries_for_two_bids_and_for_five():
    # given two committees at work, one with 2 bids and one with 5
    counted = []
    for bids in (2, 5):
        scene, member = at_work(bids)
        headers = bearer(member, Scope.PROCEDURES_READ)
        client = Client()

        # when the member lists the bids
        def listing(scene: Scene = scene, headers: dict[str, str] = headers, client: Client = client) -> Any:
            response = client.get(f"/api/v1/evaluation/evaluations/{scene.ev.pk}/bids", headers=headers)
            assert response.status_code == 200
            return response

        counted.append(queries(listing))
        body = listing().json()
        # then each bid carries the member's own mark, score and the clarification
        assert len(body) == bids
        assert {(b["my_scores"]["tech"], len(b["my_marks"]), len(b["clarifications"])) for b in body} == {
            ("40.0000", 1, 1)
        }
        assert {b["form"]["p"] for b in body} == {1}
    # then the number of queries does not grow with the bids
    assert counted[0] == counted[1]


def test_the_workspace_page_costs_the_same_queries_for_two_bids_and_for_five():
    counted = []
    for bids in (2, 5):
        # given a member at work on a committee with this many bids
        scene, member = at_work(bids)
        client = Client()
        client.force_login(member)

        # when it opens the evaluation page
        def page(scene: Scene = scene, client: Client = client) -> Any:
            response = client.get(f"/evaluation/{scene.ev.pk}/")
            assert response.status_code == 200
            return response

        counted.append(queries(page))
        # then every bid is shown with the member's own score
        body = page().content.decode()
        assert body.count('class="bid"') == bids
        assert body.count('value="40.0000"') == bids
    # and the number of queries does not grow with the bids
    assert counted[0] == counted[1]


def evaluations_of_one_tender(count: int) -> Scene:
    """A tender with ``count`` lots under evaluation."""
    scene = make_scene(experts=0)
    set_up(scene)
    first = scene.lot
    for index in range(1, count):
        lot = Lot.objects.get(pk=first.pk)
        lot.pk = None
        lot.code = f"{first.code[:-3]}{index + 1:03d}"  # the next lot numbers of the tender
        lot.save()
        Evaluation.objects.create(
            lot=lot,
            method=scene.ev.method,
            config=scene.ev.config,
            created_by=scene.agency,
            created_at=EVALUATION_AT,
        )
    return scene


def test_the_evaluation_list_costs_the_same_queries_for_two_evaluations_and_for_five():
    counted: dict[str, list[int]] = {"agency": [], "tenderee": [], "operator": []}
    scenes = []
    for count in (2, 5):
        # given a tender with this many lots under evaluation
        scene = evaluations_of_one_tender(count)
        scenes.append(scene)
        viewers = {"agency": scene.agency, "tenderee": scene.tenderee, "operator": scene.world.operator}
        for name, viewer in viewers.items():
            if not viewer.two_factor_enabled:
                enable_two_factor(viewer)
            client = Client()
            client.force_login(viewer)

            # when its agency, its tenderee or an operator opens the list
            def page(client: Client = client) -> Any:
                response = client.get("/evaluation/")
                assert response.status_code == 200
                return response

            counted[name].append(queries(page))
            # then the agency and the tenderee see this tender's evaluations only
            body = page().content.decode()
            if name != "operator":
                assert body.count(f"/evaluation/{scene.ev.pk}/") == 1
                assert body.count(scene.tender.name) == count
    # and the number of queries does not grow with the evaluations
    assert counted["agency"][0] == counted["agency"][1]
    assert counted["tenderee"][0] == counted["tenderee"][1]
    assert counted["operator"][0] == counted["operator"][1]
    # and an operator sees both tenders' evaluations
    client = Client()
    client.force_login(scenes[1].world.operator)
    body = client.get("/evaluation/").content.decode()
    assert [body.count(f"/evaluation/{s.ev.pk}/") for s in scenes] == [1, 1]


def test_telling_the_bidders_the_result_costs_the_same_queries_for_two_bids_and_for_five():
    counted = []
    for bids in (2, 5):
        # given a lot with this many bids whose candidates' publicity is over
        scene = with_bids(bids)
        committee = drawn_committee(scene)
        declare_all(scene, committee)
        score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(bids)})
        workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
        report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
        pdf = report.file.open("rb").read()
        for member in seated(committee):
            reports.report_sign(
                actor=member.user,
                evaluation_id=scene.ev.pk,
                signature=signer_for(scene, member.user).pkcs7(pdf),
                now=EVALUATION_AT,
            )
        publicity = award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
        winner = candidates_settled(Evaluation.objects.get(pk=scene.ev.pk))[0]
        before = Notification.objects.count()
        # when the tenderee awards the lot
        with CaptureQueriesContext(connection) as captured:
            award.award_decide(
                actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=winner, now=publicity.ends_at
            )
        counted.append(len(captured))
        # then every bidder's account got one notice: the winner its award, the others the result
        told = list(Notification.objects.order_by("pk")[before:].values_list("user_id", "text"))
        bidders = {
            bid.pk: set(bid.entity.role_grants.filter(role="bidder").values_list("user_id", flat=True))
            for bid in EvaluatedBid.objects.filter(evaluation=scene.ev).select_related("entity")
        }
        assert sorted(user for user, _text in told) == sorted(u for users in bidders.values() for u in users)
        assert {user for user, text in told if text.startswith("中标通知书")} == bidders[winner]
        assert sum(text.startswith("中标结果通知") for _user, text in told) == len(told) - len(
            bidders[winner]
        )
    # and the queries do not grow with the bids
    assert counted[0] == counted[1]
