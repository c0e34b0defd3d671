"""Aggregating the experts' scores, flagging outliers and ranking with the tie-breaks (pure).

* Aggregation per bid and factor: the arithmetic mean of the members' scores, or — where the tender says so
  and at least ``trim_from`` members scored — the mean without one highest and one lowest score
  (``(Σ s − max s − min s) / (m − 2)``). The government-procurement track never trims.
* Outliers (a platform rule): a member's score is flagged when it lies further from the median of that bid's
  scores than ``max(3 × MAD, δ × full marks)``, MAD being the median absolute deviation. A flag sends the
  score back to the committee; it never changes it.
* Ranking: by total score, descending (综合评分法 and the benchmark-price method) or by evaluated price,
  ascending (经评审的最低投标价法). Equal on the first key: the lower tender price ranks first. Equal on both:
  a tie (并列), sharing the rank (1, 1, 3 …), never broken silently by the platform.
* Candidates: at most three, ranked (条例 art. 53); a tie across the cut keeps all tied bids, marked.
* The tie that decides the award: the award goes to the first-ranked candidate (条例 art. 55; 87号令
  art. 68), so a tie for the first place is broken by the last link of the chain, a draw from a committed
  seed (ties.py), and :func:`settle` gives the ranking in award order. A tie lower down decides nobody's award
  and stays 并列: every tied bid is kept as a candidate, and a winner other than the first-ranked needs a
  written reason anyway.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import median
from typing import Generic, TypeVar

from tenderhall.evaluation.methods import Method, MethodError, rounded

K = TypeVar("K", bound=Hashable)

MAX_CANDIDATES = 3


class Aggregation(StrEnum):
    MEAN = "mean"
    TRIMMED = "trimmed"  # drop one highest and one lowest


def aggregate(
    scores: Sequence[Decimal], *, rule: Aggregation = Aggregation.MEAN, trim_from: int = 5, places: int = 2
) -> Decimal:
    """One bid's score on one factor from its members' scores."""
    if not scores:
        raise MethodError("no scores to aggregate")
    values = list(scores)
    if rule == Aggregation.TRIMMED and len(values) >= max(trim_from, 3):
        total = sum(values, Decimal(0)) - max(values) - min(values)
        return rounded(total / (len(values) - 2), places)
    return rounded(sum(values, Decimal(0)) / len(values), places)


def outliers(scores: Mapping[K, Decimal], *, full: Decimal, delta: Decimal = Decimal("0.2")) -> set[K]:
    """The members whose score is abnormally far from the others' on one bid and factor."""
    if len(scores) < 3:
        return set()
    values = list(scores.values())
    middle = median(values)
    mad = median([abs(v - middle) for v in values])
    limit = max(3 * mad, delta * full)
    return {key for key, value in scores.items() if abs(value - middle) > limit}


@dataclass(frozen=True)
class Entry(Generic[K]):
    """What ranking needs of a bid: its key, its primary figure and its tender price."""

    key: K
    figure: Decimal  # total score, or evaluated price for the lowest-evaluated-price method
    price: Decimal


@dataclass(frozen=True)
class Ranked(Generic[K]):
    key: K
    rank: int
    tied: bool  # shares its rank with another bid (并列)
    drawn: bool = False  # its rank among the bids tied for the first place was decided by the draw


def rank(entries: Sequence[Entry[K]], *, method: Method) -> list[Ranked[K]]:
    """The bids in order, with shared ranks for ties; see the module docstring."""
    descending = method != Method.LOWEST_EVALUATED_PRICE

    def order(entry: Entry[K]) -> tuple[Decimal, Decimal]:
        return (-entry.figure if descending else entry.figure, entry.price)

    ordered = sorted(entries, key=order)
    keys = [order(e) for e in ordered]
    ranked: list[Ranked[K]] = []
    for index, entry in enumerate(ordered):
        first = keys.index(keys[index])
        tied = keys.count(keys[index]) > 1
        ranked.append(Ranked(entry.key, first + 1, tied))
    return ranked


def candidates(ranked: Sequence[Ranked[K]], *, limit: int = MAX_CANDIDATES) -> list[Ranked[K]]:
    """The bids ranked within the first three (fewer when fewer bids survived). A tie across the cut keeps
    every tied bid, marked ``tied``: the tie is for the method the tender documents name to resolve."""
    return [r for r in ranked if r.rank <= limit]


def first_place_tie(ranked: Sequence[Ranked[K]]) -> list[K]:
    """The bids sharing the first place, in ranking order, when more than one does (else empty): the only
    tie that decides who is awarded, hence the only one drawn."""
    first = [r.key for r in ranked if r.rank == 1]
    return first if len(first) > 1 else []


def settle(ranked: Sequence[Ranked[K]], order: Sequence[K]) -> list[Ranked[K]]:
    """The ranking in award order once the tie for the first place is drawn: the tied bids take the ranks
    1, 2, … in ``order`` (the draw order), no longer tied; every other bid keeps its rank and its mark."""
    tie = first_place_tie(ranked)
    if len(order) != len(tie) or set(order) != set(tie):
        msg = "the draw order must name exactly the bids tied for the first place"
        raise ValueError(msg)
    drawn = [Ranked(key, index, tied=False, drawn=True) for index, key in enumerate(order, start=1)]
    return drawn + [r for r in ranked if r.key not in set(order)]
