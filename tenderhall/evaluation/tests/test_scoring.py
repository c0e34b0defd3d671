"""Aggregation, outliers, ranking and tie-breaks."""

from __future__ import annotations

import hashlib
from decimal import Decimal as D

import pytest

from tenderhall.evaluation import draw
from tenderhall.evaluation.methods import Method
from tenderhall.evaluation.scoring import (
    Aggregation,
    Entry,
    Ranked,
    aggregate,
    candidates,
    first_place_tie,
    outliers,
    rank,
    settle,
)


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


def test_only_a_tie_for_the_first_place_is_one_to_draw():
    shared_first = [Ranked("a", 1, tied=True), Ranked("b", 1, tied=True), Ranked("c", 3, tied=False)]
    assert first_place_tie(shared_first) == ["a", "b"]
    # a tie for the second or the third place decides nobody's award: every tied bid stays a candidate
    assert (
        first_place_tie([Ranked("a", 1, tied=False), Ranked("b", 2, tied=True), Ranked("c", 2, tied=True)])
        == []
    )
    cut = [
        Ranked(k, r, tied=t) for k, r, t in (("a", 1, False), ("b", 2, False), ("c", 3, True), ("d", 3, True))
    ]
    assert first_place_tie(cut) == []
    assert [r.key for r in candidates(cut)] == ["a", "b", "c", "d"]
    assert first_place_tie([Ranked("a", 1, tied=False)]) == []


def test_settling_gives_the_tied_bids_the_ranks_of_the_draw_order_and_keeps_the_rest():
    ranked = [
        Ranked("a", 1, tied=True),
        Ranked("b", 1, tied=True),
        Ranked("c", 1, tied=True),
        Ranked("d", 4, tied=True),
        Ranked("e", 4, tied=True),
    ]
    assert settle(ranked, ["c", "a", "b"]) == [
        Ranked("c", 1, tied=False, drawn=True),
        Ranked("a", 2, tied=False, drawn=True),
        Ranked("b", 3, tied=False, drawn=True),
        Ranked("d", 4, tied=True),
        Ranked("e", 4, tied=True),
    ]
    with pytest.raises(ValueError, match="exactly the bids tied"):
        settle(ranked, ["a", "b"])
    with pytest.raises(ValueError, match="exactly the bids tied"):
        settle(ranked, ["a", "b", "d"])


def test_the_tie_draw_order_is_the_keys_sorted_by_sha256_of_seed_and_key_known_answer():
    # the keys are the sealed bids' SHA-256 in hex; the same order function as the experts' draw
    seed = bytes(range(32))
    keys = sorted(hashlib.sha256(name).hexdigest() for name in (b"bid-1", b"bid-2", b"bid-3"))
    tickets = {key: hashlib.sha256(seed + key.encode()).hexdigest() for key in keys}
    assert draw.draw_order(seed, keys) == sorted(keys, key=lambda key: tickets[key])
