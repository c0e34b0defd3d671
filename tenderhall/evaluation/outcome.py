"""The committee's result from the members' scores (pure): aggregated factor scores, price scores, totals or
evaluated prices, outlier flags, ranks and candidates. One function, so that the report, the API and the
ledger leaf all say the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tenderhall.evaluation.methods import (
    HUNDRED,
    Method,
    MethodConfig,
    benchmark_scores,
    evaluated_price,
    lowest_price_scores,
    rounded,
)
from tenderhall.evaluation.scoring import Aggregation, Entry, aggregate, candidates, outliers, rank

# bid key → factor code → member key → score
Scores = Mapping[int, Mapping[str, Mapping[int, Decimal]]]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    benchmark: Decimal | None
    bids: dict[int, dict[str, object]]  # per bid: price_score, factors, figure, outliers
    ranking: list[dict[str, object]]  # bid, rank, tied
    candidates: list[int]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def compute(
    config: MethodConfig,
    *,
    prices: Mapping[int, Decimal],
    scores: Scores,
    aggregation: Aggregation = Aggregation.MEAN,
    trim_from: int = 5,
    outlier_delta: Decimal = Decimal("0.2"),
) -> Outcome:
    """``prices`` are the valid (not rejected) bids' prices; ``scores`` every member's scores for them."""
    places = config.places
    benchmark: Decimal | None = None
    price_scores: dict[int, Decimal] = {}
    if prices and config.method == Method.COMPREHENSIVE:
        price_scores = lowest_price_scores(prices, weight=config.price_weight, places=places)
        benchmark = min(prices.values())
    elif prices and config.method == Method.BENCHMARK:
        benchmark, raw = benchmark_scores(prices, config)
        price_scores = {
            key: rounded(score / config.full_price_marks * HUNDRED * config.price_share, places)
            for key, score in raw.items()
        }
    bids: dict[int, dict[str, object]] = {}
    entries: list[Entry[int]] = []
    for key, price in prices.items():
        factor_values: dict[str, Decimal] = {}
        flagged: dict[str, list[int]] = {}
        for factor in config.factors:
            by_member = scores.get(key, {}).get(factor.code, {})
            factor_values[factor.code] = aggregate(
                list(by_member.values()), rule=aggregation, trim_from=trim_from, places=places
            )
            if config.method != Method.LOWEST_EVALUATED_PRICE:
                found = outliers(by_member, full=factor.full, delta=outlier_delta)
                if found:
                    flagged[factor.code] = sorted(found)
        if config.method == Method.LOWEST_EVALUATED_PRICE:
            figure = evaluated_price(price, list(factor_values.values()), places=places)
        else:
            total = price_scores[key]
            for factor in config.factors:
                total += factor_values[factor.code] / factor.full * HUNDRED * factor.weight
            figure = rounded(total, places)
        bids[key] = {
            "price": str(price),
            "price_score": _text(price_scores.get(key)),
            "factors": {code: str(value) for code, value in factor_values.items()},
            "figure": str(figure),
            "outliers": flagged,
        }
        entries.append(Entry(key, figure, price))
    ranked = rank(entries, method=config.method)
    return Outcome(
        benchmark=benchmark,
        bids=bids,
        ranking=[{"bid": r.key, "rank": r.rank, "tied": r.tied} for r in ranked],
        candidates=[r.key for r in candidates(ranked)],
    )
