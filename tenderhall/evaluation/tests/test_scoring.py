"""Aggregation, outliers, ranking and tie-breaks."""

from __future__ import annotations

from decimal import Decimal as D

from tenderhall.evaluation.methods import Method
from tenderhall.evaluation.scoring import Aggregation, Entry, Ranked, aggregate, candidates, outliers, rank


def test_the_mean_of_the_members_scores():
    assert aggregate([D(80), D(85), D(90)]) == D("85.00")
    assert aggregate([D(80), D(81), D(81)]) == D("80.67")


def test_trimming_drops_one_highest_and_one_lowest_from_five_members_on():
    scores = [D(60), D(80), D(82), D(84), D(99)]
    assert aggregate(scores, rule=Aggregation.TRIMMED) == D("82.00")
    assert aggregate(scores, rule=Aggregation.MEAN) == D("81.00")
    # with four members the trimmed rule falls back to the mean
    assert aggregate(scores[:4], rule=Aggregation.TRIMMED) == D("76.50")
    assert aggregate(scores[:4], rule=Aggregation.TRIMMED, trim_from=4) == D("81.00")


def test_an_outlying_score_is_flagged_and_close_scores_are_not():
    # median 80, MAD 2: the limit is max(6, 0.2 × 100 = 20); 45 is 35 away
    assert outliers({"e1": D(78), "e2": D(80), "e3": D(82), "e4": D(79), "e5": D(45)}, full=D(100)) == {"e5"}
    assert outliers({"e1": D(70), "e2": D(80), "e3": D(89)}, full=D(100)) == set()
    assert outliers({"e1": D(0), "e2": D(100)}, full=D(100)) == set()


def test_ranking_by_score_lower_price_breaks_a_tie_and_equal_price_shares_the_rank():
    entries = [
        Entry("a", D("88.00"), D(120)),
        Entry("b", D("90.00"), D(130)),
        Entry("c", D("88.00"), D(110)),
        Entry("d", D("70.00"), D(100)),
        Entry("e", D("70.00"), D(100)),
    ]
    assert rank(entries, method=Method.COMPREHENSIVE) == [
        Ranked("b", 1, tied=False),
        Ranked("c", 2, tied=False),
        Ranked("a", 3, tied=False),
        Ranked("d", 4, tied=True),
        Ranked("e", 4, tied=True),
    ]


def test_lowest_evaluated_price_ranks_ascending_with_the_lower_tender_price_first():
    entries = [
        Entry("a", D(1000), D(990)),
        Entry("b", D(1000), D(980)),
        Entry("c", D(950), D(999)),
    ]
    assert [(r.key, r.rank) for r in rank(entries, method=Method.LOWEST_EVALUATED_PRICE)] == [
        ("c", 1),
        ("b", 2),
        ("a", 3),
    ]


def test_at_most_three_candidates_and_a_tie_across_the_cut_keeps_both():
    ranked = [
        Ranked("a", 1, tied=False),
        Ranked("b", 2, tied=False),
        Ranked("c", 3, tied=True),
        Ranked("d", 3, tied=True),
    ]
    assert candidates(ranked) == ranked
    assert candidates([*ranked[:2], Ranked("c", 3, tied=False), Ranked("d", 4, tied=False)]) == [
        *ranked[:2],
        Ranked("c", 3, tied=False),
    ]
