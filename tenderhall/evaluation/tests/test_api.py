"""The evaluation API: every operation × eight kinds of actor with the exact status each gets (a refusal
changes nothing), then the shapes that matter: the draw redone from the public record, a member's workspace
that shows only its own scores, and errors with their stable codes.

The actors: the anonymous public; a bidder of the tender; a member of the committee (its first seat); a
stranger (an expert of the pool who was not drawn); the tenderee; the operator; the regulator; the tender's
agency.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.choices import Scope
from tenderhall.accounts.tests.factories import bearer
from tenderhall.core import clock
from tenderhall.core.tests.matrix import operation_ids, statuses_by_actor
from tenderhall.evaluation import award, committees, draw, reports, ties, workspace
from tenderhall.evaluation.api import router
from tenderhall.evaluation.models import BondRefund, Committee, EvaluatedBid, Member, Publicity
from tenderhall.evaluation.tests.support import (
    COMPREHENSIVE,
    EVALUATION_AT,
    Scene,
    counts,
    declare_all,
    drawn_committee,
    expert_csv,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.opening.models import OpenedBid, OpeningSession, Outcome
from tenderhall.procedures.models import Notification

pytestmark = pytest.mark.django_db

BASE = "/api/v1/evaluation"
ACTORS = ("anonymous", "bidder", "member", "stranger", "tenderee", "operator", "regulator", "agency")
SCORES = {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)}


class Clock:
    moment = EVALUATION_AT


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock.moment = EVALUATION_AT
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)


Ids = dict[str, Any]


def users(scene: Scene, ids: Ids) -> dict[str, Any]:
    drawn = {m.user_id for m in Member.objects.all()}
    stranger = next(u for u in scene.experts.values() if u.pk not in drawn)
    committee = Committee.objects.filter(evaluation__lot=scene.lot).first()
    sitting = seated(committee) if committee is not None else []
    # before any draw the "member" is a person with no seat at all
    member = ids.get("member") or (sitting[0].user if sitting else scene.third_bidder)
    return {
        "bidder": scene.world.bidder,
        "member": member,
        "stranger": stranger,
        "tenderee": scene.tenderee,
        "operator": scene.world.operator,
        "regulator": scene.world.regulator,
        "agency": scene.agency,
    }


def signed_in(status: int, **others: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **others}


# --- the stages an operation needs ------------------------------------------------------------------------


def fresh(scene: Scene) -> Ids:
    return {}


def with_evaluation(scene: Scene) -> Ids:
    set_up(scene)
    return {}


def committed(scene: Scene) -> Ids:
    set_up(scene)
    committee = committees.committee_create(
        actor=scene.agency, evaluation_id=scene.ev.pk, specialty="A01", experts=5, now=EVALUATION_AT
    )
    return {"committee": committee.pk, "member": None}


def drawn(scene: Scene) -> Ids:
    set_up(scene)
    committee = drawn_committee(scene)
    member = seated(committee)[0]
    text = committees.declaration_text(member).encode()
    return {
        "committee": committee.pk,
        "member": member.user,
        "signature": signer_for(scene, member.user).pkcs7(text),
    }


def with_representative_seat(scene: Scene) -> Ids:
    set_up(scene)
    committee = drawn_committee(scene, experts=4, representatives=1)
    return {"committee": committee.pk}


def scoring(scene: Scene) -> Ids:
    ids = drawn(scene)
    declare_all(scene, Committee.objects.get(pk=ids["committee"]))
    first = EvaluatedBid.objects.filter(evaluation=scene.ev).order_by("bid_id").first()
    assert first is not None
    session = OpeningSession.objects.create(
        tender=scene.tender, started_at=EVALUATION_AT, decryption_until=EVALUATION_AT, escrow_allowed=False
    )
    opened = OpenedBid(
        session=session, bid_id=first.bid_id, outcome=Outcome.OPENED, form={"price": "100"}, price=100
    )
    opened.package.save("package.zip", ContentFile(b"PK\x05\x06" + bytes(18)), save=True)
    seat = seated(Committee.objects.get(pk=ids["committee"]))[0].pk
    return {**ids, "bid": first.pk, "seat": seat}


def member_scored(scene: Scene) -> Ids:
    ids = scoring(scene)
    for bid in EvaluatedBid.objects.filter(evaluation=scene.ev):
        for factor in ("tech", "biz"):
            workspace.score_set(
                actor=ids["member"],
                evaluation_id=scene.ev.pk,
                bid_id=bid.pk,
                factor=factor,
                value="10",
                now=EVALUATION_AT,
            )
    return ids


def asked(scene: Scene, *, kind: str = "general") -> Ids:
    ids = scoring(scene)
    question = workspace.clarification_ask(
        actor=ids["member"],
        evaluation_id=scene.ev.pk,
        bid_id=ids["bid"],
        question="请说明",
        kind=kind,
        now=EVALUATION_AT,
    )
    return {**ids, "clarification": question.pk}


def answered_low_price(scene: Scene) -> Ids:
    ids = asked(scene, kind="low_price")
    workspace.clarification_answer(
        actor=scene.world.bidder,
        clarification_id=ids["clarification"],
        answer="成本构成如下",
        now=EVALUATION_AT,
    )
    return ids


def submitted(scene: Scene) -> Ids:
    ids = drawn(scene)
    committee = Committee.objects.get(pk=ids["committee"])
    declare_all(scene, committee)
    score_all(scene, committee, SCORES)
    return ids


def concluded(scene: Scene) -> Ids:
    ids = submitted(scene)
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    return ids


def reported(scene: Scene) -> Ids:
    ids = concluded(scene)
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    return {**ids, "pdf": pdf, "signature": signer_for(scene, ids["member"]).pkcs7(pdf)}


def signed(scene: Scene) -> Ids:
    ids = reported(scene)
    for member in seated(Committee.objects.get(pk=ids["committee"])):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(ids["pdf"]),
            now=EVALUATION_AT,
        )
    return ids


def publicity_over(scene: Scene) -> Ids:
    ids = signed(scene)
    award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    winner = (scene.ev.__class__.objects.get(pk=scene.ev.pk).results or {})["candidates"][0]
    return {**ids, "winner": winner}


def awarded(scene: Scene) -> Ids:
    ids = publicity_over(scene)
    after = Publicity.objects.get().ends_at + timedelta(hours=1)
    award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=ids["winner"], now=after)
    return {**ids, "after": after}


def contracted(scene: Scene) -> Ids:
    ids = awarded(scene)
    award.contract_record(
        actor=scene.tenderee,
        evaluation_id=scene.ev.pk,
        amount=Decimal(120),
        duration_days=365,
        signed_on=ids["after"],
        document=b"contract",
        now=ids["after"],
    )
    refund = BondRefund.objects.order_by("pk").first()
    assert refund is not None
    return {**ids, "refund": refund.pk}


def tied(scene: Scene) -> Ids:
    """Concluded with the first two bids tied for the first place (the same price, the same scores)."""
    set_up(scene, prices=("100", "100", "150"))
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, SCORES)
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    return {"committee": committee.pk, "member": seated(committee)[0].user}


def tie_drawn(scene: Scene) -> Ids:
    ids = tied(scene)
    ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    return ids


def after_publicity(scene: Scene) -> datetime:
    return Publicity.objects.get().ends_at + timedelta(hours=1)


# --- the matrix -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    label: str
    method: str
    path: Callable[[Scene, Ids], str]
    expected: dict[str, int]
    setup: Callable[[Scene], Ids] = fresh
    body: Callable[[Scene, Ids], dict[str, Any]] | None = None
    multipart: bool = False
    at: Callable[[Scene], datetime] | None = None


def csv_body(scene: Scene, ids: Ids) -> dict[str, Any]:
    row = {
        "code": "E9999",
        "full_name": "赵工",
        "specialties": "A01",
        "region_code": "420100",
        "title": "高工",
    }
    return {"file": SimpleUploadedFile("pool.csv", expert_csv([row]))}


def ev(path: str) -> Callable[[Scene, Ids], str]:
    return lambda s, i: f"{BASE}/evaluations/{s.ev.pk}{path}"


OPS = [
    Op("expert_import_csv", "post", lambda s, i: f"{BASE}/experts/import", signed_in(403, operator=200),
       body=csv_body, multipart=True),
    Op("expert_list", "get", lambda s, i: f"{BASE}/experts", signed_in(404, operator=200, regulator=200)),
    Op("evaluation_setup", "post", lambda s, i: f"{BASE}/lots/{s.lot.pk}/evaluation", signed_in(404,
       agency=201, operator=201),
       body=lambda s, i: COMPREHENSIVE),
    Op("evaluation_get", "get", ev(""), signed_in(200, bidder=404, stranger=404), setup=drawn),
    Op("committee_create", "post", ev("/committee"), signed_in(404, agency=201, operator=201),
       setup=with_evaluation,
       body=lambda s, i: {"specialty": "A01", "experts": 5}),
    Op("committee_draw", "post", lambda s, i: f"{BASE}/committees/{i['committee']}/draw",
       signed_in(404, agency=200, operator=200), setup=committed),
    Op("draw_record", "get", lambda s, i: f"{BASE}/committees/{i['committee']}/draw",
       dict.fromkeys(ACTORS, 200), setup=drawn),
    Op("representative_add", "post", lambda s, i: f"{BASE}/committees/{i['committee']}/representatives",
       signed_in(404, agency=201, operator=201, tenderee=201), setup=with_representative_seat,
       body=lambda s, i: {"user_id": s.tenderee.pk}),
    Op("declaration_text", "get", ev("/declaration"), signed_in(404, member=200), setup=drawn),
    Op("member_declare", "post", ev("/declaration"), signed_in(404, member=200), setup=drawn,
       body=lambda s, i: {"signature": SimpleUploadedFile("d.p7s", i["signature"])}, multipart=True),
    Op("member_decline", "post", ev("/decline"), signed_in(404, member=200), setup=drawn,
       body=lambda s, i: {"reason": "出差", "conflict": False}),
    Op("member_replace", "post", lambda s, i: ev(f"/members/{i['seat']}/replace")(s, i),
       signed_in(404, agency=200, operator=200), setup=scoring, body=lambda s, i: {"reason": "因病"}),
    Op("workspace_bids", "get", ev("/bids"), signed_in(404, member=200), setup=scoring),
    Op("workspace_bid_package", "get", lambda s, i: f"{BASE}/evaluations/{s.ev.pk}/bids/{i['bid']}/package",
       signed_in(404, member=200), setup=scoring),
    Op("compliance_mark", "post", lambda s, i: f"{BASE}/evaluations/{s.ev.pk}/bids/{i['bid']}/marks",
       signed_in(404, member=201), setup=scoring, body=lambda s, i: {"ground": "not_signed",
       "reason": "缺签字"}),
    Op("score_set", "put", lambda s, i: f"{BASE}/evaluations/{s.ev.pk}/bids/{i['bid']}/scores",
       signed_in(404, member=204), setup=scoring, body=lambda s, i: {"factor": "tech", "value": "33.5"}),
    Op("member_submit", "post", ev("/submit"), signed_in(404, member=200), setup=member_scored),
    Op("clarification_ask", "post", lambda s, i: ev(f"/bids/{i['bid']}/clarifications")(s, i),
       signed_in(404, member=201), setup=scoring, body=lambda s, i: {"question": "请澄清工期"}),
    Op("clarification_decide", "post", lambda s, i: ev(f"/clarifications/{i['clarification']}/finding")(s, i),
       signed_in(404, member=200), setup=answered_low_price, body=lambda s, i: {"accepted": True}),
    Op("clarification_list_for_bidder", "get", lambda s, i: f"{BASE}/clarifications", signed_in(200),
       setup=asked),
    Op("clarification_answer", "post", lambda s, i: f"{BASE}/clarifications/{i['clarification']}/answer",
       signed_in(404, bidder=200), setup=asked, body=lambda s, i: {"answer": "工期365日历天"}),
    Op("evaluation_conclude", "post", ev("/conclude"), signed_in(404, agency=200, operator=200),
       setup=submitted),
    Op("tie_draw", "post", ev("/tie-draw"), signed_in(404, agency=200, operator=200), setup=tied),
    Op("tie_draw_record", "get", ev("/tie-draw"),
       signed_in(200, anonymous=404, bidder=404, stranger=404), setup=tie_drawn),
    Op("report_generate", "post", ev("/report"), signed_in(404, agency=201, operator=201), setup=concluded),
    Op("report_download", "get", ev("/report"), signed_in(200, bidder=404, stranger=404), setup=reported),
    Op("report_sign", "post", ev("/report/signatures"), signed_in(404, member=201), setup=reported,
       body=lambda s, i: {"signature": SimpleUploadedFile("r.p7s", i["signature"])}, multipart=True),
    Op("candidates_publish", "post", lambda s, i: f"{BASE}/tenders/{s.tender.pk}/candidates",
       signed_in(404, agency=201, operator=201), setup=signed),
    Op("award_decide", "post", ev("/award"), signed_in(404, tenderee=201), setup=publicity_over,
       body=lambda s, i: {"bid_id": i["winner"]}, at=after_publicity),
    Op("contract_record", "post", ev("/contract"), signed_in(404, tenderee=201), setup=awarded,
       multipart=True,
       body=lambda s, i: {"document": SimpleUploadedFile("c.pdf", b"%PDF contract"), "amount": "120",
                          "signed_on": i["after"].isoformat(), "duration_days": "365"},
       at=lambda s: after_publicity(s) + timedelta(days=1)),
    Op("refund_list", "get", lambda s, i: f"{BASE}/tenders/{s.tender.pk}/refunds",
       signed_in(404, agency=200, operator=200, tenderee=200, regulator=200), setup=contracted),
    Op("bond_refund_confirm", "post", lambda s, i: f"{BASE}/refunds/{i['refund']}/confirm",
       signed_in(404, agency=200, operator=200, tenderee=200), setup=contracted,
       at=lambda s: after_publicity(s) + timedelta(days=2)),
]  # fmt: skip


def call(client: Client, op: Op, scene: Scene, ids: Ids, headers: dict[str, str]) -> Any:
    url = op.path(scene, ids)
    if op.method == "get":
        return client.get(url, headers=headers)
    body = op.body(scene, ids) if op.body else {}
    if op.multipart:
        for value in body.values():
            if hasattr(value, "seek"):
                value.seek(0)
        return client.post(url, body, headers=headers)
    return client.generic(
        op.method.upper(), url, json.dumps(body), content_type="application/json", headers=headers
    )


def state() -> dict[str, int]:
    return {**counts(), "notifications": Notification.objects.count()}


def test_the_matrix_names_every_operation_of_the_router():
    assert {op.label for op in OPS} == operation_ids(router)


@pytest.mark.parametrize("op", OPS, ids=[op.label for op in OPS])
def test_authorization_matrix(op: Op):
    # given a tender under evaluation at the stage the operation needs
    scene = make_scene(experts=7)
    ids = op.setup(scene)
    people = users(scene, ids)
    headers: dict[str, dict[str, str]] = {"anonymous": {}} | {
        actor: bearer(user, Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE, now=EVALUATION_AT)
        for actor, user in people.items()
    }
    Clock.moment = op.at(scene) if op.at else EVALUATION_AT
    client = Client()
    # when each actor calls the operation on the same state (rolled back after each call), then each gets its
    # status (a refusal changes nothing, and says why in a stable code)
    actual = statuses_by_actor(
        ACTORS, lambda actor: call(client, op, scene, ids, headers[actor]), state=state, label=op.label
    )
    assert actual == op.expected


# --- shapes -----------------------------------------------------------------------------------------------


def test_the_public_draw_record_lets_anyone_redo_the_draw_once_the_seed_is_revealed():
    scene = make_scene(experts=7)
    ids = drawn(scene)
    before = Client().get(f"{BASE}/committees/{ids['committee']}/draw").json()
    assert before["seed"] is None
    assert before["eligible_hash"] == draw.list_hash(before["eligible"])
    committee = Committee.objects.get(pk=ids["committee"])
    declare_all(scene, committee)
    score_all(scene, committee, SCORES)
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    record = Client().get(f"{BASE}/committees/{ids['committee']}/draw").json()
    seed = bytes.fromhex(record["seed"])
    assert draw.seed_commitment(seed) == record["commitment"]
    assert draw.draw(seed, record["eligible"], 5) == record["drawn"]


def test_a_member_sees_its_own_scores_only_and_names_stay_hidden_until_the_publicity():
    scene = make_scene(experts=7)
    ids = scoring(scene)
    members = seated(Committee.objects.get(pk=ids["committee"]))
    workspace.score_set(
        actor=members[1].user,
        evaluation_id=scene.ev.pk,
        bid_id=ids["bid"],
        factor="tech",
        value="44",
        now=EVALUATION_AT,
    )
    workspace.score_set(
        actor=members[0].user,
        evaluation_id=scene.ev.pk,
        bid_id=ids["bid"],
        factor="tech",
        value="12",
        now=EVALUATION_AT,
    )
    mine = (
        Client()
        .get(
            f"{BASE}/evaluations/{scene.ev.pk}/bids",
            headers=bearer(members[0].user, Scope.PROCEDURES_READ, now=EVALUATION_AT),
        )
        .json()
    )
    assert [b["my_scores"] for b in mine if b["id"] == ids["bid"]] == [{"tech": "12.0000"}]
    assert [b["form"] for b in mine if b["id"] == ids["bid"]] == [{"price": "100"}]
    view = (
        Client()
        .get(
            f"{BASE}/evaluations/{scene.ev.pk}",
            headers=bearer(scene.agency, Scope.PROCEDURES_READ, now=EVALUATION_AT),
        )
        .json()
    )
    assert {seat["name"] for seat in view["seats"]} == {None}
    assert view["results"] is None


def test_errors_come_back_with_their_stable_codes():
    scene = make_scene(experts=4)
    set_up(scene)
    agency = bearer(scene.agency, Scope.PROCEDURES_WRITE, now=EVALUATION_AT)
    response = Client().post(
        f"{BASE}/evaluations/{scene.ev.pk}/committee",
        {"specialty": "A01", "experts": 4},
        content_type="application/json",
        headers=agency,
    )
    assert (response.status_code, response.json()["code"]) == (422, "committee_invalid")
    created = Client().post(
        f"{BASE}/evaluations/{scene.ev.pk}/committee",
        {"specialty": "A01", "experts": 5},
        content_type="application/json",
        headers=agency,
    )
    assert created.status_code == 201
    response = Client().post(f"{BASE}/committees/{created.json()['committee_id']}/draw", headers=agency)
    assert (response.status_code, response.json()["code"]) == (409, "too_few_experts")
    response = Client().post(
        f"{BASE}/lots/{scene.lot.pk}/evaluation",
        {"method": "magic"},
        content_type="application/json",
        headers=agency,
    )
    assert (response.status_code, response.json()["code"]) == (422, "method_invalid")


def test_a_member_sees_the_bids_only_while_the_tender_is_being_evaluated():
    # given a member at work, who sees the committee's three bids
    scene = make_scene(experts=7)
    ids = signed(scene)
    member = ids["member"]
    headers = bearer(member, Scope.PROCEDURES_READ, now=EVALUATION_AT)
    assert len(Client().get(f"{BASE}/evaluations/{scene.ev.pk}/bids", headers=headers).json()) == 3
    # when the candidates are published, the evaluation is over
    award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    # then the same member is told "not found", like anyone else
    response = Client().get(f"{BASE}/evaluations/{scene.ev.pk}/bids", headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_tie_draw_record_is_public_once_the_candidates_are_published_and_lets_anyone_redo_it():
    # given a tie for the first place, drawn by the agency through the API
    scene = make_scene(experts=7)
    ids = tied(scene)
    agency = bearer(scene.agency, Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE, now=EVALUATION_AT)
    pending = Client().get(f"{BASE}/evaluations/{scene.ev.pk}", headers=agency).json()
    assert pending["tie_pending"] is True
    response = Client().post(f"{BASE}/evaluations/{scene.ev.pk}/report", headers=agency)
    assert (response.status_code, response.json()["code"]) == (409, "tie_unsettled")
    drawn = Client().post(f"{BASE}/evaluations/{scene.ev.pk}/tie-draw", headers=agency)
    assert drawn.status_code == 200
    again = Client().post(f"{BASE}/evaluations/{scene.ev.pk}/tie-draw", headers=agency)
    assert (again.status_code, again.json()["code"]) == (409, "tie_state")
    # the public does not see it while the result is confidential
    assert Client().get(f"{BASE}/evaluations/{scene.ev.pk}/tie-draw").status_code == 404
    # when the report is signed and the candidates published
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    for member in seated(Committee.objects.get(pk=ids["committee"])):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    # then anyone reads the record and redoes the draw with hashlib alone
    record = Client().get(f"{BASE}/evaluations/{scene.ev.pk}/tie-draw").json()
    seed = bytes.fromhex(record["seed"])
    assert "sha256:" + hashlib.sha256(seed).hexdigest() == record["commitment"]
    keys = {t["key"]: t["bid_id"] for t in record["tied"]}
    redone = sorted(keys, key=lambda key: (hashlib.sha256(seed + key.encode()).digest(), key))
    assert [keys[key] for key in redone] == record["order"] == drawn.json()["order"]
    view = Client().get(f"{BASE}/evaluations/{scene.ev.pk}", headers=agency).json()
    assert view["candidates"][:2] == record["order"]
    assert [(row["rank"], row["drawn"]) for row in view["ranking"]] == [(1, True), (2, True), (3, False)]
    assert view["tie_pending"] is False


def oversized(signature: bytes) -> bytes:
    """A valid signature followed by padding past the 1 MiB limit of a signature."""
    return signature + bytes(1024 * 1024 + 10 - len(signature))


@pytest.mark.parametrize(("setup", "path"), [(drawn, "/declaration"), (reported, "/report/signatures")])
def test_a_signature_over_the_limit_is_refused_with_its_code_and_nothing_is_stored(
    setup: Callable[[Scene], Ids], path: str
):
    # given a member with a valid signature to upload, padded past the limit
    scene = make_scene(experts=5)
    ids = setup(scene)
    member = bearer(ids["member"], Scope.PROCEDURES_WRITE, now=EVALUATION_AT)
    before = counts()  # with the declared seats and the report's signatures
    # when it is uploaded
    response = Client().post(
        f"{BASE}/evaluations/{scene.ev.pk}{path}",
        {"signature": SimpleUploadedFile("s.p7s", oversized(ids["signature"]))},
        headers=member,
    )
    # then it is refused naming the limit, and nothing changed
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "signature_too_large")
    assert "1048576" in body["message"]
    assert counts() == before
