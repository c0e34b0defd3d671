"""Scoring alone, the rejection checklist, abnormally low prices, clarifications, the committee's result."""

from __future__ import annotations

from typing import Any

import pytest

from tenderhall.core.errors import NotFound
from tenderhall.evaluation import workspace
from tenderhall.evaluation.choices import EvaluationStatus
from tenderhall.evaluation.models import EvaluatedBid, Evaluation
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    Scene,
    declare_all,
    drawn_committee,
    leaf_problems,
    leaves,
    make_scene,
    score_all,
    seated,
    set_up,
)

pytestmark = pytest.mark.django_db


def res(evaluation: Evaluation) -> dict[str, Any]:
    results: dict[str, Any] = evaluation.results or {}
    return results


def bids(scene: Scene) -> list[EvaluatedBid]:
    return list(EvaluatedBid.objects.filter(evaluation=scene.ev).order_by("bid_id"))


def test_comprehensive_scoring_from_five_members_ranks_by_total_and_names_three_candidates():
    # given bids of 100, 120 and 150 and a committee of five that has declared
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    # when each member scores technology (of 50) and business (of 20) and hands in
    score_all(
        scene,
        committee,
        {
            0: {"tech": ["30", "32", "34", "36", "38"], "biz": ["10", "10", "10", "10", "10"]},
            1: {"tech": ["45", "45", "45", "45", "45"], "biz": ["20", "20", "20", "20", "20"]},
            2: {"tech": ["40", "40", "40", "40", "40"], "biz": ["15", "15", "15", "15", "15"]},
        },
    )
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    # then: price scores 30, 25, 20; tech mean 34 → 34/50×100×0.5 = 34; biz 10/20×100×0.2 = 10 → 74.00
    # bid 2: 25 + 45 + 20 = 90.00; bid 3: 20 + 40 + 15 = 75.00
    first, second, third = bids(scene)
    results = res(evaluation)
    assert results["bids"][str(first.pk)] == {
        "price": "100.00",
        "price_score": "30.00",
        "factors": {"tech": "34.00", "biz": "10.00"},
        "figure": "74.00",
        "outliers": {},
    }
    assert [(r["bid"], r["rank"], r["tied"]) for r in results["ranking"]] == [
        (second.pk, 1, False),
        (third.pk, 2, False),
        (first.pk, 3, False),
    ]
    assert results["candidates"] == [second.pk, third.pk, first.pk]
    assert evaluation.status == EvaluationStatus.CONCLUDED
    assert [b.rank for b in bids(scene)] == [3, 1, 2]
    # and the results' hash and the revealed seed are logged; the seed matches the commitment
    assert leaves("evaluation:scores:concluded")[0]["hashes"]["results"] == workspace.results_hash(results)
    assert leaves("evaluation:draw:revealed")[0]["data"]["seed"] == bytes(committee.seed).hex()
    assert leaf_problems() == []


def test_an_outlying_score_is_flagged_in_the_results_without_changing_it():
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(
        scene,
        committee,
        {i: {"tech": ["40", "41", "39", "40", "5"], "biz": ["10"] * 5} for i in range(3)},
    )
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    odd = seated(committee)[4].pk
    for row in res(evaluation)["bids"].values():
        assert row["outliers"] == {"tech": [odd]}
        assert row["factors"]["tech"] == "33.00"  # (40+41+39+40+5)/5


def test_trimmed_aggregation_drops_the_highest_and_lowest_score():
    scene = make_scene(experts=5)
    set_up(scene, {**_config(), "aggregation": "trimmed"})
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(
        scene, committee, {i: {"tech": ["20", "40", "41", "42", "50"], "biz": ["10"] * 5} for i in range(3)}
    )
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    assert {row["factors"]["tech"] for row in res(evaluation)["bids"].values()} == {"41.00"}


def _config() -> dict[str, Any]:
    from tenderhall.evaluation.tests.support import COMPREHENSIVE

    return dict(COMPREHENSIVE)


def test_a_majority_of_rejection_marks_rejects_a_bid_and_a_minority_does_not():
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    members = seated(committee)
    first, second, third = bids(scene)
    for member in members[:3]:  # three of five reject the first bid
        workspace.compliance_mark(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=first.pk,
            ground="not_responsive",
            reason="工期不满足",
            now=EVALUATION_AT,
        )
    workspace.compliance_mark(  # one of five would reject the second
        actor=members[0].user,
        evaluation_id=scene.ev.pk,
        bid_id=second.pk,
        ground="not_signed",
        reason="缺签字",
        now=EVALUATION_AT,
    )
    for member in members[3:]:  # the two who would not reject it score it
        for factor, value in (("tech", "40"), ("biz", "10")):
            workspace.score_set(
                actor=member.user,
                evaluation_id=scene.ev.pk,
                bid_id=first.pk,
                factor=factor,
                value=value,
                now=EVALUATION_AT,
            )
    score_all(
        scene,
        committee,
        {1: {"tech": ["40"] * 5, "biz": ["10"] * 5}, 2: {"tech": ["40"] * 5, "biz": ["10"] * 5}},
    )
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    assert list(res(evaluation)["rejected"]) == [str(first.pk)]
    assert [m["ground"] for m in res(evaluation)["rejected"][str(first.pk)]] == ["not_responsive"] * 3
    # the benchmark is now the lowest valid price, 120: 120 scores 30 and 150 scores 24
    assert res(evaluation)["bids"][str(second.pk)]["price_score"] == "30.00"
    assert res(evaluation)["bids"][str(third.pk)]["price_score"] == "24.00"
    assert res(evaluation)["candidates"] == [second.pk, third.pk]
    assert [b.rank for b in bids(scene)] == [None, 1, 2]


def test_an_abnormally_low_price_needs_the_bidders_justification_and_the_committees_finding():
    # given bids of 30, 95 and 100 against a ceiling of 110: 30 fires every trigger
    scene = make_scene(experts=5)
    scene.lot.__class__.objects.filter(pk=scene.lot.pk).update(control_price=110)
    set_up(scene, prices=("30", "95", "100"))
    low = bids(scene)[0]
    assert [t["code"] for t in low.low_price_triggers] == ["average", "second", "ceiling"]
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    # when concluding without the procedure, it is refused
    with pytest.raises(workspace.NotConcludable, match="abnormally-low"):
        workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    # a member's question reaches the bidder, who answers; the committee finds the answer wanting
    member = seated(committee)[0]
    # (the members handed in already; asking stays open while the committee is scoring)
    question = workspace.clarification_ask(
        actor=member.user,
        evaluation_id=scene.ev.pk,
        bid_id=low.pk,
        question="请说明报价构成与成本",
        kind="low_price",
        now=EVALUATION_AT,
    )
    assert [c.pk for c in workspace.clarification_list_for_bidder(actor=scene.world.bidder)] == [question.pk]
    with pytest.raises(NotFound):
        workspace.clarification_answer(
            actor=scene.world.other_bidder, clarification_id=question.pk, answer="x", now=EVALUATION_AT
        )
    workspace.clarification_answer(
        actor=scene.world.bidder,
        clarification_id=question.pk,
        answer="材料自有，人工成本低",
        now=EVALUATION_AT,
    )
    workspace.clarification_decide(
        actor=member.user,
        evaluation_id=scene.ev.pk,
        clarification_id=question.pk,
        accepted=False,
        now=EVALUATION_AT,
    )
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    # then the low bid is rejected as below cost
    assert res(evaluation)["rejected"][str(low.pk)][0]["ground"] == "price_out_of_bounds"
    assert low.pk not in res(evaluation)["candidates"]


def test_the_lowest_evaluated_price_method_adds_the_mean_priced_deviations():
    scene = make_scene(experts=5)
    config = {"method": "lowest_evaluated_price", "factors": [{"code": "pay", "name": "付款条件偏差"}]}
    set_up(scene, config, prices=("100", "105", "150"))
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, {0: {"pay": ["10"] * 5}, 1: {"pay": ["0"] * 5}, 2: {"pay": ["0"] * 5}})
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    first, second, third = bids(scene)
    assert res(evaluation)["bids"][str(first.pk)]["figure"] == "110.00"
    assert res(evaluation)["candidates"] == [second.pk, first.pk, third.pk]


def test_scores_are_the_members_own_out_of_range_scores_are_refused_and_handing_in_closes_the_workspace():
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    member = seated(committee)[0]
    bid = bids(scene)[0]
    # before every member has declared, nobody scores
    with pytest.raises(NotFound):
        workspace.score_set(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="tech",
            value="30",
            now=EVALUATION_AT,
        )
    declare_all(scene, committee)
    with pytest.raises(workspace.ScoreInvalid, match="between 0 and 50"):
        workspace.score_set(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="tech",
            value="51",
            now=EVALUATION_AT,
        )
    with pytest.raises(workspace.ScoreInvalid, match="factors"):
        workspace.score_set(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="colour",
            value="1",
            now=EVALUATION_AT,
        )
    with pytest.raises(workspace.ScoreInvalid, match="missing"):
        workspace.member_submit(actor=member.user, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    with pytest.raises(NotFound):  # a bidder is no member
        workspace.score_set(
            actor=scene.world.bidder,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="tech",
            value="1",
            now=EVALUATION_AT,
        )
    with pytest.raises(workspace.NotConcludable, match="5 members"):
        workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    with pytest.raises(workspace.WorkspaceClosed):
        workspace.score_set(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=bid.pk,
            factor="tech",
            value="1",
            now=EVALUATION_AT,
        )
    assert Evaluation.objects.get(pk=scene.ev.pk).status == EvaluationStatus.SCORING


def test_the_low_price_triggers_that_decide_count_only_the_bids_that_passed_the_compliance_review():
    # given bids of 55, 100 and 200: over all three, 55 is below half the average (59.17) and is flagged
    scene = make_scene(experts=5)
    set_up(scene, prices=("55", "100", "200"))
    low, _, high = bids(scene)
    assert [t["code"] for t in low.low_price_triggers] == ["average"]
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    # when the committee rejects the bid of 200, the average of the compliant bids is 77.50 (half: 38.75)
    for member in seated(committee)[:3]:
        workspace.compliance_mark(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            bid_id=high.pk,
            ground="price_out_of_bounds",
            reason="超过最高限价",
            now=EVALUATION_AT,
        )
    score_all(scene, committee, {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)})
    evaluation = workspace.evaluation_conclude(
        actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT
    )
    # then 55 fires nothing any more and needs no justification; it ranks with the other compliant bid
    assert EvaluatedBid.objects.get(pk=low.pk).low_price_triggers == []
    assert res(evaluation)["candidates"] == [low.pk, bids(scene)[1].pk]


def test_a_bid_under_evaluation_keeps_what_the_opening_read_and_no_copy_of_the_results():
    """The committee's totals and rejections are in ``Evaluation.results`` (whose hash is logged) and nowhere
    else; a bid keeps only its settled ``rank``, which other code looks bids up by."""
    assert sorted(f.name for f in EvaluatedBid._meta.concrete_fields) == [
        "bid",
        "duration_days",
        "entity",
        "evaluation",
        "id",
        "low_price_triggers",
        "price",
        "rank",
    ]
