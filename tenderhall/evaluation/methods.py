"""Evaluation formulas (pure: plain values in, ``Decimal`` out; no ORM, no clock).

Every formula follows the platform's reference on evaluation methods; the tender fixes its parameters
(weights, float coefficient K, points lost per 1 % E1/E2, trigger ratios, decimals) as data in its
:class:`MethodConfig`. Arithmetic is exact ``Decimal`` arithmetic; a result is rounded once, at the end,
to the tender's number of decimals with ROUND_HALF_UP.

* 综合评分法 (comprehensive scoring, 87号令 art. 55): the lowest valid price is the benchmark and earns full
  price marks; ``price score = benchmark / price × 100 × price weight``; the total is the price score plus the
  weighted technical and commercial factor scores. No trimming of prices on this track.
* 经评审的最低投标价法 (lowest evaluated price, 招标投标法 art. 41): ``evaluated price = price + Σ priced
  deviations``; the lowest evaluated price among responsive bids wins.
* Works benchmark-price method (综合评估法 with 评标基准价, 标准施工招标文件):
  ``benchmark = mean(valid prices, optionally trimmed) × (1 − K)``;
  ``deviation = (price − benchmark) / benchmark``; ``score = F − |deviation| × 100 × E`` with E = E1 above
  the benchmark and E2 at or below it, floored at 0.
* Abnormally low price triggers (异常低价): a price below a ratio of the compliant bids' average, of the
  second-lowest compliant price (only for the lowest bid), or of the ceiling price starts the written
  explanation procedure; it never rejects by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K")

HUNDRED = Decimal(100)


class Method(StrEnum):
    COMPREHENSIVE = "comprehensive"  # 综合评分法
    LOWEST_EVALUATED_PRICE = "lowest_evaluated_price"  # 经评审的最低投标价法
    BENCHMARK = "benchmark"  # 综合评估法（评标基准价）, works


class Trimming(StrEnum):
    """How many prices leave the benchmark's average (the works benchmark-price method only)."""

    NONE = "none"
    # A common local rule: none when n ≤ 5, the highest when n = 6, the highest and the lowest when n ≥ 7.
    BY_COUNT = "by_count"


class MethodError(ValueError):
    """A configuration or an input that the formulas cannot take (the services turn it into a 4xx)."""


@dataclass(frozen=True, kw_only=True)
class Factor:
    """A scored factor (technical or commercial) and its weight; experts score it from 0 to ``full``."""

    code: str
    name: str
    weight: Decimal
    full: Decimal = HUNDRED
    objective: bool = False


@dataclass(frozen=True, kw_only=True)
class Triggers:
    """Abnormally-low ratios; ``None`` switches a trigger off."""

    average_ratio: Decimal | None = Decimal("0.50")
    second_ratio: Decimal | None = Decimal("0.50")
    ceiling_ratio: Decimal | None = Decimal("0.45")


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    method: Method
    places: int = 2
    price_weight: Decimal = Decimal("0.30")  # comprehensive: the share of the total given to price
    factors: tuple[Factor, ...] = ()
    k: Decimal = Decimal(0)  # benchmark: the down-float coefficient
    e_above: Decimal = Decimal(1)  # benchmark: points lost per 1 % above the benchmark (E1)
    e_below: Decimal = Decimal("0.5")  # benchmark: points lost per 1 % at or below it (E2)
    full_price_marks: Decimal = HUNDRED  # benchmark: F
    price_share: Decimal = Decimal("0.60")  # benchmark: the share of the total given to the price score
    trimming: Trimming = Trimming.NONE
    triggers: Triggers = field(default_factory=Triggers)

    def check(self) -> None:
        """Refuse a configuration whose weights do not add up or whose numbers are out of range."""
        if not 0 <= self.places <= 6:
            raise MethodError("places must be 0 to 6")
        weights = sum((f.weight for f in self.factors), Decimal(0))
        if self.method == Method.COMPREHENSIVE:
            if not Decimal(0) < self.price_weight < 1:
                raise MethodError("the price weight must lie between 0 and 1")
            if self.price_weight + weights != 1:
                raise MethodError("the price weight and the factor weights must add up to 1")
        if self.method == Method.BENCHMARK:
            if not Decimal(0) <= self.k < 1:
                raise MethodError("K must lie in [0, 1)")
            if self.e_above < 0 or self.e_below < 0 or self.full_price_marks <= 0:
                raise MethodError("E1, E2 must not be negative and F must be positive")
            if not Decimal(0) < self.price_share <= 1 or self.price_share + weights != 1:
                raise MethodError("the price share and the factor weights must add up to 1")
        if any(f.weight < 0 or f.full <= 0 for f in self.factors):
            raise MethodError("factor weights must not be negative and full marks must be positive")
        if len({f.code for f in self.factors}) != len(self.factors):
            raise MethodError("factor codes must be unique")


def rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _positive(prices: Mapping[K, Decimal]) -> None:
    if not prices:
        raise MethodError("no valid prices")
    if any(p <= 0 for p in prices.values()):
        raise MethodError("prices must be positive")


# --- 综合评分法 ---------------------------------------------------------------------------------------------


def lowest_price_scores(
    prices: Mapping[K, Decimal], *, weight: Decimal = Decimal(1), places: int = 2
) -> dict[K, Decimal]:
    """``min(prices) / price × 100 × weight`` for each valid bid (低价优先法)."""
    _positive(prices)
    benchmark = min(prices.values())
    return {key: rounded(benchmark / price * HUNDRED * weight, places) for key, price in prices.items()}


def weighted_total(
    *,
    price_score: Decimal,
    factor_scores: Mapping[str, Decimal],
    factors: Sequence[Factor],
    places: int = 2,
) -> Decimal:
    """The price score (already weighted) plus each factor's score scaled to 100 and weighted."""
    total = price_score
    for factor in factors:
        score = factor_scores[factor.code]
        if not 0 <= score <= factor.full:
            raise MethodError(f"the score of {factor.code} must lie in [0, {factor.full}]")
        total += score / factor.full * HUNDRED * factor.weight
    return rounded(total, places)


# --- 经评审的最低投标价法 -----------------------------------------------------------------------------------


def evaluated_price(price: Decimal, deviations: Sequence[Decimal], *, places: int = 2) -> Decimal:
    """The tender price plus its priced deviations (payment terms, delivery, minor deviations ...)."""
    if price <= 0:
        raise MethodError("prices must be positive")
    return rounded(price + sum(deviations, Decimal(0)), places)


# --- works benchmark price --------------------------------------------------------------------------------


def trimmed(prices: Sequence[Decimal], trimming: Trimming) -> list[Decimal]:
    ordered = sorted(prices)
    if trimming == Trimming.NONE or len(ordered) <= 5:
        return ordered
    if len(ordered) == 6:
        return ordered[:-1]
    return ordered[1:-1]


def benchmark_price(
    prices: Sequence[Decimal], *, k: Decimal, trimming: Trimming = Trimming.NONE, places: int = 2
) -> Decimal:
    """``mean(valid prices, trimmed by the rule) × (1 − K)``."""
    if not prices:
        raise MethodError("no valid prices")
    kept = trimmed(prices, trimming)
    return rounded(sum(kept, Decimal(0)) / len(kept) * (1 - k), places)


def deviation_score(
    price: Decimal,
    *,
    benchmark: Decimal,
    full: Decimal,
    e_above: Decimal,
    e_below: Decimal,
    places: int = 2,
) -> Decimal:
    """``F − |price − B| / B × 100 × E`` (E1 above B, E2 at or below it), never below 0."""
    if benchmark <= 0:
        raise MethodError("the benchmark must be positive")
    rate = abs(price - benchmark) / benchmark * HUNDRED
    points = e_above if price > benchmark else e_below
    return rounded(max(full - rate * points, Decimal(0)), places)


def benchmark_scores(prices: Mapping[K, Decimal], config: MethodConfig) -> tuple[Decimal, dict[K, Decimal]]:
    """The benchmark of the valid prices and each bid's price score (out of ``full_price_marks``)."""
    _positive(prices)
    benchmark = benchmark_price(
        list(prices.values()), k=config.k, trimming=config.trimming, places=config.places
    )
    return benchmark, {
        key: deviation_score(
            price,
            benchmark=benchmark,
            full=config.full_price_marks,
            e_above=config.e_above,
            e_below=config.e_below,
            places=config.places,
        )
        for key, price in prices.items()
    }


# --- abnormally low prices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """A fired trigger with its inputs, so that the committee sees why."""

    code: str  # "average" | "second" | "ceiling"
    threshold: Decimal  # the price the bid is below
    basis: Decimal  # the average, the second-lowest price or the ceiling


def abnormally_low(
    prices: Mapping[K, Decimal], *, ceiling: Decimal | None, triggers: Triggers
) -> dict[K, list[Trigger]]:
    """The triggers each compliant price fires (empty list: none). Only the lowest bid is compared with the
    second-lowest, and only when there are at least two compliant bids."""
    if not prices:
        return {}
    values = list(prices.values())
    average = sum(values, Decimal(0)) / len(values)
    ordered = sorted(values)
    fired: dict[K, list[Trigger]] = {key: [] for key in prices}
    for key, price in prices.items():
        if triggers.average_ratio is not None and price < triggers.average_ratio * average:
            fired[key].append(Trigger("average", triggers.average_ratio * average, average))
        if (
            triggers.second_ratio is not None
            and len(ordered) >= 2
            and price == ordered[0]
            and price < triggers.second_ratio * ordered[1]
        ):
            fired[key].append(Trigger("second", triggers.second_ratio * ordered[1], ordered[1]))
        if (
            triggers.ceiling_ratio is not None
            and ceiling is not None
            and price < triggers.ceiling_ratio * ceiling
        ):
            fired[key].append(Trigger("ceiling", triggers.ceiling_ratio * ceiling, ceiling))
    return fired


# --- the configuration as data (stored per lot, shown in the report) -------------------------------------


def _decimal(data: Mapping[str, object], key: str, default: Decimal | None) -> Decimal | None:
    value = data.get(key)
    if value is None:
        return default
    try:
        return Decimal(str(value))
    except ArithmeticError as error:
        raise MethodError(f"{key} must be a number") from error


def config_from_data(data: Mapping[str, object]) -> MethodConfig:
    """A :class:`MethodConfig` from its stored (JSON) form; checked."""
    try:
        method = Method(str(data.get("method")))
        trimming = Trimming(str(data.get("trimming", Trimming.NONE)))
    except ValueError as error:
        raise MethodError(str(error)) from error
    raw_factors = data.get("factors") or []
    if not isinstance(raw_factors, list):
        raise MethodError("factors must be a list")
    factors = []
    for raw in raw_factors:
        if not isinstance(raw, dict) or not str(raw.get("code", "")).strip():
            raise MethodError("each factor needs a code")
        factors.append(
            Factor(
                code=str(raw["code"]).strip(),
                name=str(raw.get("name", raw["code"])),
                weight=_decimal(raw, "weight", Decimal(0)) or Decimal(0),
                full=_decimal(raw, "full", HUNDRED) or HUNDRED,
                objective=bool(raw.get("objective", False)),
            )
        )
    raw_triggers = data.get("triggers") or {}
    if not isinstance(raw_triggers, dict):
        raise MethodError("triggers must be an object")
    defaults = Triggers()
    triggers = Triggers(
        average_ratio=_decimal(raw_triggers, "average_ratio", defaults.average_ratio)
        if raw_triggers.get("average_ratio", 0) is not None
        else None,
        second_ratio=_decimal(raw_triggers, "second_ratio", defaults.second_ratio)
        if raw_triggers.get("second_ratio", 0) is not None
        else None,
        ceiling_ratio=_decimal(raw_triggers, "ceiling_ratio", defaults.ceiling_ratio)
        if raw_triggers.get("ceiling_ratio", 0) is not None
        else None,
    )
    places = data.get("places", 2)
    if not isinstance(places, int):
        raise MethodError("places must be a whole number")
    config = MethodConfig(
        method=method,
        places=places,
        price_weight=_decimal(data, "price_weight", Decimal("0.30")) or Decimal(0),
        factors=tuple(factors),
        k=_decimal(data, "k", Decimal(0)) or Decimal(0),
        e_above=_decimal(data, "e_above", Decimal(1)) or Decimal(0),
        e_below=_decimal(data, "e_below", Decimal("0.5")) or Decimal(0),
        full_price_marks=_decimal(data, "full_price_marks", HUNDRED) or HUNDRED,
        price_share=_decimal(data, "price_share", Decimal("0.60")) or Decimal(0),
        trimming=trimming,
        triggers=triggers,
    )
    config.check()
    return config


def config_to_data(config: MethodConfig) -> dict[str, object]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "method": str(config.method),
        "places": config.places,
        "price_weight": text(config.price_weight),
        "factors": [
            {
                "code": f.code,
                "name": f.name,
                "weight": str(f.weight),
                "full": str(f.full),
                "objective": f.objective,
            }
            for f in config.factors
        ],
        "k": text(config.k),
        "e_above": text(config.e_above),
        "e_below": text(config.e_below),
        "full_price_marks": text(config.full_price_marks),
        "price_share": text(config.price_share),
        "trimming": str(config.trimming),
        "triggers": {
            "average_ratio": text(config.triggers.average_ratio),
            "second_ratio": text(config.triggers.second_ratio),
            "ceiling_ratio": text(config.triggers.ceiling_ratio),
        },
    }
