"""Known-answer tests of the evaluation formulas, from the worked examples of the evaluation reference."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tenderhall.evaluation import methods
from tenderhall.evaluation.methods import Factor, Method, MethodConfig, MethodError, Triggers, Trimming


def test_lowest_price_scores_match_the_worked_example_unweighted_and_at_a_30_percent_weight():
    # given bids of 100, 120 and 150, all compliant
    prices = {"a": D(100), "b": D(120), "c": D(150)}
    # when / then: the lowest is the benchmark and earns full marks
    assert methods.lowest_price_scores(prices) == {"a": D("100.00"), "b": D("83.33"), "c": D("66.67")}
    assert methods.lowest_price_scores(prices, weight=D("0.30")) == {
        "a": D("30.00"),
        "b": D("25.00"),
        "c": D("20.00"),
    }


def test_weighted_total_adds_factor_scores_scaled_to_100_and_weighted():
    factors = (
        Factor(code="tech", name="技术", weight=D("0.50"), full=D(50)),
        Factor(code="biz", name="商务", weight=D("0.20")),
    )
    total = methods.weighted_total(
        price_score=D("25.00"), factor_scores={"tech": D(40), "biz": D(90)}, factors=factors
    )
    # 25 + 40/50 × 100 × 0.5 + 90 × 0.2 = 25 + 40 + 18
    assert total == D("83.00")


def test_weighted_total_refuses_a_score_above_the_factor_full_marks():
    factor = Factor(code="tech", name="技术", weight=D("0.70"), full=D(50))
    with pytest.raises(MethodError, match="tech"):
        methods.weighted_total(price_score=D(30), factor_scores={"tech": D(51)}, factors=(factor,))


def test_evaluated_price_adds_the_priced_deviations():
    assert methods.evaluated_price(D("1000000"), [D("15000"), D("-2500.50")]) == D("1012499.50")


def test_trimmed_average_benchmark_and_deviation_scores_match_the_worked_example():
    # given seven valid bids, the highest and the lowest dropped, a 5 % down-float
    prices = [D(p) for p in (90, 95, 100, 105, 110, 115, 120)]
    benchmark = methods.benchmark_price(prices, k=D("0.05"), trimming=Trimming.BY_COUNT)
    assert benchmark == D("99.75")
    # then 0.8 points per 1 % below and 1.2 above
    below = methods.deviation_score(
        D(95), benchmark=benchmark, full=D(100), e_above=D("1.2"), e_below=D("0.8")
    )
    above = methods.deviation_score(
        D(110), benchmark=benchmark, full=D(100), e_above=D("1.2"), e_below=D("0.8")
    )
    assert (below, above) == (D("96.19"), D("87.67"))


def test_the_by_count_trimming_keeps_five_drops_the_highest_of_six_and_both_ends_from_seven():
    assert methods.trimmed([D(5), D(1), D(3), D(2), D(4)], Trimming.BY_COUNT) == [
        D(1),
        D(2),
        D(3),
        D(4),
        D(5),
    ]
    assert methods.trimmed([D(n) for n in range(1, 7)], Trimming.BY_COUNT) == [D(n) for n in range(1, 6)]
    assert methods.trimmed([D(n) for n in range(1, 8)], Trimming.BY_COUNT) == [D(n) for n in range(2, 7)]


def test_average_times_one_minus_k_without_trimming_and_the_floor_at_zero():
    assert methods.benchmark_price([D(100), D(200), D(300)], k=D("0.03")) == D("194.00")
    assert methods.deviation_score(D(300), benchmark=D(100), full=D(100), e_above=D(1), e_below=D(1)) == D(0)


def test_benchmark_scores_use_the_configured_parameters():
    config = MethodConfig(method=Method.BENCHMARK, k=D("0.05"), e_above=D(1), e_below=D("0.5"))
    benchmark, scores = methods.benchmark_scores({"x": D(95), "y": D(100), "z": D(105)}, config)
    # mean 100 × 0.95 = 95; y is 5.26 % above: 100 − 5.263… = 94.74; z 10.53 % above: 89.47
    assert benchmark == D("95.00")
    assert scores == {"x": D("100.00"), "y": D("94.74"), "z": D("89.47")}


def test_abnormally_low_triggers_match_the_worked_example():
    # given compliant bids 40, 95, 100, 105 and a ceiling of 110
    fired = methods.abnormally_low(
        {"a": D(40), "b": D(95), "c": D(100), "d": D(105)}, ceiling=D(110), triggers=Triggers()
    )
    # then the bid of 40 fires all three triggers, with their inputs, and no other bid fires any
    assert [(t.code, t.threshold, t.basis) for t in fired["a"]] == [
        ("average", D("42.500"), D(85)),
        ("second", D("47.50"), D(95)),
        ("ceiling", D("49.50"), D(110)),
    ]
    assert fired["b"] == fired["c"] == fired["d"] == []


def test_the_second_lowest_trigger_needs_two_bids_and_switched_off_triggers_never_fire():
    assert methods.abnormally_low({"a": D(10)}, ceiling=None, triggers=Triggers()) == {"a": []}
    off = Triggers(average_ratio=None, second_ratio=None, ceiling_ratio=None)
    assert methods.abnormally_low({"a": D(1), "b": D(100)}, ceiling=D(100), triggers=off) == {
        "a": [],
        "b": [],
    }


def test_configurations_whose_weights_do_not_add_up_are_refused():
    good = MethodConfig(
        method=Method.COMPREHENSIVE,
        price_weight=D("0.30"),
        factors=(Factor(code="t", name="技术", weight=D("0.70")),),
    )
    good.check()
    bad = MethodConfig(method=Method.COMPREHENSIVE, price_weight=D("0.30"), factors=())
    with pytest.raises(MethodError, match="add up to 1"):
        bad.check()
    with pytest.raises(MethodError, match="K"):
        MethodConfig(method=Method.BENCHMARK, k=D(1), price_share=D(1)).check()


def test_prices_must_be_positive():
    with pytest.raises(MethodError):
        methods.lowest_price_scores({"a": D(0)})
    with pytest.raises(MethodError):
        methods.lowest_price_scores({})
