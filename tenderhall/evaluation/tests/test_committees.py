"""Setting up an evaluation, the committed-seed draw with avoidance, declines and declarations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tenderhall.core.errors import NotFound
from tenderhall.evaluation import committees, draw, workspace
from tenderhall.evaluation.choices import EvaluationStatus, MemberStatus
from tenderhall.evaluation.models import Committee, Evaluation, Expert, Member
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    add_experts,
    code_of,
    counts,
    declare_all,
    drawn_committee,
    leaf_problems,
    leaves,
    make_bid,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.procedures.documents import DigestMismatch, SignerNotAccepted

pytestmark = pytest.mark.django_db


def test_the_seed_is_committed_before_the_draw_and_the_draw_is_redone_from_the_revealed_seed():
    # given a lot under evaluation and a pool of seven eligible experts
    scene = make_scene(experts=7)
    evaluation = set_up(scene)
    # when the committee is created, the seed's commitment is logged first
    committee = committees.committee_create(
        actor=scene.agency, evaluation_id=evaluation.pk, specialty="A01", experts=5, now=EVALUATION_AT
    )
    [committed] = leaves("evaluation:draw:committed")
    assert committed["hashes"]["seed"] == committee.commitment
    assert "seed" not in committed.get("data", {})
    # when drawn
    committee = committees.committee_draw(actor=scene.agency, committee_id=committee.pk, now=EVALUATION_AT)
    [drawn] = leaves("evaluation:draw:drawn")
    # then the eligible list is the whole pool, sorted, and its hash is logged with the drawn codes
    assert committee.eligible == sorted(scene.experts)
    assert drawn["hashes"]["eligible"] == draw.list_hash(sorted(scene.experts))
    assert [code_of(m) for m in seated(committee)] == drawn["data"]["drawn"]
    assert len(drawn["data"]["drawn"]) == 5
    assert evaluation.__class__.objects.get(pk=evaluation.pk).status == EvaluationStatus.COMMITTEE
    # and once revealed (at the committee's conclusion; here straight from the row), anyone redoes it
    seed = bytes(committee.seed)
    assert draw.seed_commitment(seed) == committed["hashes"]["seed"]
    assert draw.draw(seed, committee.eligible, 5) == drawn["data"]["drawn"]
    assert leaf_problems() == []


def test_every_avoidance_rule_the_platform_knows_keeps_the_expert_out_of_the_eligible_list():
    # given experts who work for a bidder, for an affiliate of a bidder, for the tenderee, for the agency,
    # who declared a conflict with a bidder, who live in the project's city, who are unavailable, and who
    # hold another specialty
    scene = make_scene(experts=5)
    world = scene.world
    affiliate = world.other_agency  # made affiliated below: same legal representative as a bidder
    for entity in (
        world.tenderee,
        world.agency,
        world.other_agency,
        world.bidder_entity,
        world.other_bidder_entity,
        scene.third_entity,
    ):
        entity.__class__.objects.filter(pk=entity.pk).update(legal_representative=f"代表{entity.pk}")
    affiliate.__class__.objects.filter(pk=affiliate.pk).update(
        legal_representative=f"代表{world.bidder_entity.pk}"
    )
    out = {
        "bidder_employer": add_experts(scene, 1, employer_identifier=world.bidder_entity.identifier)[0],
        "bidder_affiliate": add_experts(scene, 1, employer_identifier=affiliate.identifier)[0],
        "tenderee_staff": add_experts(scene, 1, employer_identifier=world.tenderee.identifier)[0],
        "agency_staff": add_experts(scene, 1, employer_identifier=world.agency.identifier)[0],
        "declared_conflict": add_experts(scene, 1, conflicts=scene.third_entity.identifier)[0],
        "former_employer": add_experts(scene, 1, former_employers=world.other_bidder_entity.identifier)[0],
        "same_region": add_experts(scene, 1, region="420102")[0],
        "unavailable": add_experts(scene, 1, available="0")[0],
        "unqualified": add_experts(scene, 1, years="7")[0],
        "specialty": add_experts(scene, 1, specialty="B0101")[0],
    }
    set_up(scene)
    # when drawn with the same-region rule on
    committee = drawn_committee(scene, avoid_same_region=True)
    # then only the five plain experts are eligible, and each other one is out for its reason
    assert len(committee.eligible or []) == 5
    assert set(committee.eligible or []).isdisjoint(out.values())
    assert committee.excluded == {
        out["bidder_employer"]: ["bidder_employer"],
        out["bidder_affiliate"]: ["bidder_affiliate"],
        out["tenderee_staff"]: ["tenderee_staff"],
        out["agency_staff"]: ["tenderee_staff"],
        out["declared_conflict"]: ["declared_conflict"],
        out["former_employer"]: ["bidder_employer"],
        out["same_region"]: ["same_region"],
        out["unavailable"]: ["unavailable"],
        out["unqualified"]: ["unqualified"],
        out["specialty"]: ["specialty"],
    }


def test_an_expert_paired_too_often_with_the_same_agency_in_the_period_is_left_out():
    # given an expert who sat on a committee of this agency 10 days ago (recorded as a declared seat)
    scene = make_scene(experts=6)
    evaluation = set_up(scene)
    committee = drawn_committee(scene)
    busy = seated(committee)[0]
    Member.objects.filter(pk=busy.pk).update(status=MemberStatus.DECLARED)
    Committee.objects.filter(pk=committee.pk).update(drawn_at=EVALUATION_AT - timedelta(days=10))
    # when a second lot of the same agency draws with a limit of one pairing in 30 days
    second = scene.world.tender.lots.model.objects.create(
        tender=scene.tender, code=scene.lot.code[:-1] + "2", name="二标段", estimate=1_000_000
    )
    other = evaluation.__class__.objects.create(
        lot=second,
        method=evaluation.method,
        config=evaluation.config,
        created_by=scene.agency,
        created_at=EVALUATION_AT,
    )
    bid = make_bid(second, scene.world.bidder_entity, scene.world.bidder, at=EVALUATION_AT)
    committees.evaluation_bids_load(other, [(bid.pk, bid.entity_id, Decimal(100), None)])
    created = committees.committee_create(
        actor=scene.agency,
        evaluation_id=other.pk,
        specialty="A01",
        experts=5,
        pairing_limit=1,
        pairing_days=30,
        now=EVALUATION_AT,
    )
    drawn = committees.committee_draw(actor=scene.agency, committee_id=created.pk, now=EVALUATION_AT)
    # then
    assert drawn.excluded == {code_of(busy): ["agency_pairing"]}


def test_too_few_eligible_experts_refuses_the_draw_and_writes_nothing():
    scene = make_scene(experts=4)
    evaluation = set_up(scene)
    committee = committees.committee_create(
        actor=scene.agency, evaluation_id=evaluation.pk, specialty="A01", experts=5, now=EVALUATION_AT
    )
    before = counts()
    with pytest.raises(committees.TooFewExperts) as raised:
        committees.committee_draw(actor=scene.agency, committee_id=committee.pk, now=EVALUATION_AT)
    assert raised.value.details == {"eligible": 4, "seats": 5}
    assert counts() == before


def test_a_committee_the_rules_do_not_allow_is_refused():
    scene = make_scene(experts=0)
    evaluation = set_up(scene)
    with pytest.raises(committees.CommitteeInvalid, match="odd"):
        committees.committee_create(
            actor=scene.agency,
            evaluation_id=evaluation.pk,
            specialty="A01",
            experts=4,
            representatives=2,
            now=EVALUATION_AT,
        )
    with pytest.raises(committees.CommitteeInvalid, match="two thirds"):
        committees.committee_create(
            actor=scene.agency,
            evaluation_id=evaluation.pk,
            specialty="A01",
            experts=3,
            representatives=2,
            now=EVALUATION_AT,
        )


def test_a_decline_is_replaced_by_the_next_code_of_the_draw_order_and_logged():
    # given a drawn committee of five from a pool of seven
    scene = make_scene(experts=7)
    set_up(scene)
    committee = drawn_committee(scene)
    order = draw.draw_order(bytes(committee.seed), committee.eligible or [])
    first = seated(committee)[0]
    # when the first drawn expert declines for a conflict
    replacement = committees.member_decline(
        actor=first.user,
        evaluation_id=scene.ev.pk,
        reason="与投标人有亲属关系",
        conflict=True,
        now=EVALUATION_AT,
    )
    # then the sixth code of the draw order takes a seat and the leaf names both codes
    assert replacement is not None
    assert code_of(replacement) == order[5]
    assert leaves("evaluation:draw:replaced")[0]["data"] == {
        "declined": code_of(first),
        "replacement": order[5],
        "conflict": True,
    }
    assert [code_of(m) for m in seated(committee)] == [*order[1:5], order[5]]
    assert leaf_problems() == []


def test_a_member_declares_with_a_signature_over_the_canonical_text_and_the_committee_starts_scoring():
    scene = make_scene(experts=5)
    evaluation = set_up(scene)
    committee = drawn_committee(scene)
    member = seated(committee)[0]
    text = committees.declaration_text(member)
    assert f"member: {code_of(member)}\n" in text
    assert scene.world.bidder_entity.identifier in text
    # a signature over other content, or by a certificate that is not the member's, is refused
    signer = signer_for(scene, member.user)
    with pytest.raises(DigestMismatch):
        committees.member_declare(
            actor=member.user,
            evaluation_id=evaluation.pk,
            signature=signer.pkcs7(b"other text"),
            now=EVALUATION_AT,
        )
    stranger = seated(committee)[1]
    with pytest.raises(SignerNotAccepted):
        committees.member_declare(
            actor=stranger.user,
            evaluation_id=evaluation.pk,
            signature=signer.pkcs7(committees.declaration_text(stranger).encode()),
            now=EVALUATION_AT,
        )
    assert Member.objects.filter(status=MemberStatus.DECLARED).count() == 0
    # when everyone declares with their own certificate (the openssl CLI for the first)
    committees.member_declare(
        actor=member.user,
        evaluation_id=evaluation.pk,
        signature=signer.openssl(text.encode()),
        now=EVALUATION_AT,
    )
    declare_all_rest = [m for m in seated(committee) if m.status == MemberStatus.INVITED]
    for other in declare_all_rest:
        committees.member_declare(
            actor=other.user,
            evaluation_id=evaluation.pk,
            signature=signer_for(scene, other.user).pkcs7(committees.declaration_text(other).encode()),
            now=EVALUATION_AT,
        )
    # then
    assert evaluation.__class__.objects.get(pk=evaluation.pk).status == EvaluationStatus.SCORING
    assert len(leaves("evaluation:member:declared")) == 5
    assert leaf_problems() == []


def test_only_the_tenders_managers_set_up_and_draw_and_a_stranger_is_told_not_found():
    scene = make_scene(experts=5)
    with pytest.raises(NotFound):
        committees.evaluation_setup(
            actor=scene.world.other_agency_user,
            lot_id=scene.lot.pk,
            config={"method": "comprehensive"},
            now=EVALUATION_AT,
        )
    with pytest.raises(committees.MethodInvalid, match="add up to 1"):
        committees.evaluation_setup(
            actor=scene.agency,
            lot_id=scene.lot.pk,
            config={"method": "comprehensive", "price_weight": "0.3"},
            now=EVALUATION_AT,
        )
    assert Expert.objects.count() == 5
    evaluation = set_up(scene)
    with pytest.raises(NotFound):
        committees.committee_create(
            actor=scene.world.other_agency_user,
            evaluation_id=evaluation.pk,
            specialty="A01",
            experts=5,
            now=EVALUATION_AT,
        )


def test_a_stranger_cannot_declare_on_a_committee_it_was_not_drawn_for():
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    with pytest.raises(NotFound):
        committees.member_declare(
            actor=scene.world.bidder, evaluation_id=scene.ev.pk, signature=b"x", now=EVALUATION_AT
        )


def test_a_member_replaced_during_scoring_has_its_scores_voided_and_the_next_code_evaluates_afresh():
    # given a committee of five from seven, scoring, where the first member has scored every bid
    scene = make_scene(experts=7)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    order = draw.draw_order(bytes(committee.seed), committee.eligible or [])
    sick, *rest = seated(committee)
    for bid in scene.ev.bids.all():
        for factor in ("tech", "biz"):
            workspace.score_set(
                actor=sick.user,
                evaluation_id=scene.ev.pk,
                bid_id=bid.pk,
                factor=factor,
                value="1",
                now=EVALUATION_AT,
            )
    # when the agency replaces it
    replacement = committees.member_replace(
        actor=scene.agency,
        evaluation_id=scene.ev.pk,
        member_id=sick.pk,
        reason="因病不能继续评标",
        conflict=False,
        now=EVALUATION_AT,
    )
    # then the sixth code of the draw order is invited and the committee waits for its declaration
    assert replacement is not None
    assert code_of(replacement) == order[5]
    assert Evaluation.objects.get(pk=scene.ev.pk).status == EvaluationStatus.COMMITTEE
    committees.member_declare(
        actor=replacement.user,
        evaluation_id=scene.ev.pk,
        signature=signer_for(scene, replacement.user).pkcs7(
            committees.declaration_text(replacement).encode()
        ),
        now=EVALUATION_AT,
    )
    assert Evaluation.objects.get(pk=scene.ev.pk).status == EvaluationStatus.SCORING
    # and the conclusion counts the five seated members only: the void scores of 1 are gone
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    assert {row["factors"]["tech"] for row in (evaluation.results or {})["bids"].values()} == {"40.00"}
    assert [code_of(m) for m in seated(committee)] == [code_of(m) for m in rest] + [order[5]]
    assert leaf_problems() == []
    with pytest.raises(committees.CommitteeState):
        committees.member_replace(
            actor=scene.agency,
            evaluation_id=scene.ev.pk,
            member_id=rest[0].pk,
            reason="x",
            conflict=False,
            now=EVALUATION_AT,
        )
