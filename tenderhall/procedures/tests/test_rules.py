"""Procedure types as rules values: the table of types and limits, and the invariants every value keeps."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

import pytest

from tenderhall.core.errors import DomainError
from tenderhall.procedures.rules import (
    PROCEDURE_TYPES,
    RULES_VERSION,
    TIMELINE_EVENTS,
    Direction,
    EvaluationMethod,
    Event,
    Kind,
    Limit,
    ProcedureRules,
    RollOver,
    Track,
    Unit,
    UnknownProcedureType,
    Verification,
    procedure_rules,
)

ALL_LIMITS = [(rules.key, limit) for rules in PROCEDURE_TYPES.values() for limit in rules.limits]
CAL, WORK = Unit.CALENDAR_DAYS, Unit.WORKING_DAYS
V, U = Verification.VERIFIED, Verification.UNVERIFIED
WORKS = ("works_open", "works_open_prequalified", "works_invited", "works_invited_prequalified")
PROCUREMENT = (
    "procurement_open",
    "competitive_negotiation",
    "competitive_consultation",
    "request_for_quotation",
    "single_source",
)


def limit_id(item: tuple[str, Limit]) -> str:
    return f"{item[0]}.{item[1].key}"


def test_the_procedure_types():
    assert tuple(PROCEDURE_TYPES) == WORKS + PROCUREMENT
    assert all(key == rules.key for key, rules in PROCEDURE_TYPES.items())


@pytest.mark.parametrize(
    ("key", "track", "name_zh", "prequalification", "minimum_bids", "methods", "escrow"),
    [
        ("works_open", Track.WORKS, "公开招标（资格后审）", False, 3,
         ("lowest_evaluated_price", "comprehensive"), True),
        ("works_open_prequalified", Track.WORKS, "公开招标（资格预审）", True, 3,
         ("lowest_evaluated_price", "comprehensive"), True),
        ("works_invited", Track.WORKS, "邀请招标（资格后审）", False, 3,
         ("lowest_evaluated_price", "comprehensive"), True),
        ("works_invited_prequalified", Track.WORKS, "邀请招标（资格预审）", True, 3,
         ("lowest_evaluated_price", "comprehensive"), True),
        ("procurement_open", Track.PROCUREMENT, "公开招标", False, 3,
         ("lowest_evaluated_price", "comprehensive"), True),
        ("competitive_negotiation", Track.PROCUREMENT, "竞争性谈判", False, 3, ("lowest_price",), True),
        ("competitive_consultation", Track.PROCUREMENT, "竞争性磋商", False, 3, ("comprehensive",), True),
        ("request_for_quotation", Track.PROCUREMENT, "询价", False, 3, ("lowest_price",), True),
        ("single_source", Track.PROCUREMENT, "单一来源", False, 1, ("negotiated",), False),
    ],
)  # fmt: skip
def test_each_type_has_its_track_names_bids_methods_and_escrow(
    *, key, track, name_zh, prequalification, minimum_bids, methods, escrow
):
    # when
    rules = procedure_rules(key)

    # then
    assert rules.track is track
    assert rules.name_zh == name_zh
    assert rules.name_en
    assert rules.prequalification is prequalification
    assert rules.minimum_bids == minimum_bids
    assert tuple(rules.evaluation_methods) == methods
    assert rules.escrow_opening_allowed is escrow
    assert rules.sealed_bids is escrow
    assert rules.version == RULES_VERSION


@pytest.mark.parametrize(
    ("key", "limit_key", "kind", "direction", "amount", "unit", "source", "verification"),
    [
        ("works_open", "documents_available", "minimum", "after", 5, CAL, "招标投标法实施条例 art. 16", V),
        ("works_open", "bid_preparation", "minimum", "after", 20, CAL, "招标投标法 art. 24", V),
        ("works_open", "amendment", "minimum", "before", 15, CAL,
         "招标投标法 art. 23; 招标投标法实施条例 art. 21", V),
        ("works_open", "objection", "minimum", "before", 10, CAL, "招标投标法实施条例 art. 22", V),
        ("works_open", "objection_answer", "within", "after", 3, CAL, "招标投标法实施条例 art. 22", V),
        ("works_open", "complaint", "within", "after", 10, CAL, "招标投标法实施条例 art. 60", V),
        ("works_open", "complaint_acceptance", "within", "after", 3, WORK, "招标投标法实施条例 art. 61", V),
        ("works_open", "complaint_decision", "within", "after", 30, WORK, "招标投标法实施条例 art. 61", V),
        ("works_open", "candidates_publicity", "minimum", "after", 3, CAL, "招标投标法实施条例 art. 54", V),
        ("works_open", "contract", "within", "after", 30, CAL,
         "招标投标法 art. 46; 招标投标法实施条例 art. 57", V),
        ("works_open_prequalified", "prequalification_documents_available", "minimum", "after", 5, CAL,
         "招标投标法实施条例 art. 16", V),
        ("works_open_prequalified", "prequalification_application", "minimum", "after", 5, CAL,
         "招标投标法实施条例 art. 17", V),
        ("works_open_prequalified", "prequalification_amendment", "minimum", "before", 3, CAL,
         "招标投标法实施条例 art. 21", V),
        ("works_open_prequalified", "prequalification_objection", "minimum", "before", 2, CAL,
         "招标投标法实施条例 art. 22", V),
        ("procurement_open", "notice_period", "minimum", "after", 5, WORK,
         "政府采购货物和服务招标投标管理办法 (财政部令第87号)", U),
        ("procurement_open", "documents_available", "minimum", "after", 5, WORK,
         "政府采购法实施条例 art. 31", V),
        ("procurement_open", "bid_preparation", "minimum", "after", 20, CAL, "政府采购法 art. 35", V),
        ("procurement_open", "amendment", "minimum", "before", 15, CAL, "政府采购法实施条例 art. 31", V),
        ("procurement_open", "objection", "within", "after", 7, WORK, "政府采购法 art. 52", V),
        ("procurement_open", "objection_answer", "within", "after", 7, WORK, "政府采购法 art. 53", V),
        ("procurement_open", "complaint", "within", "after", 15, WORK, "政府采购法 art. 55", V),
        ("procurement_open", "complaint_decision", "within", "after", 30, WORK, "政府采购法 art. 56", V),
        ("competitive_negotiation", "bid_preparation", "minimum", "after", 3, WORK,
         "政府采购非招标采购方式管理办法 (财政部令第74号) art. 29", U),
        ("competitive_negotiation", "amendment", "minimum", "before", 3, WORK,
         "政府采购非招标采购方式管理办法 (财政部令第74号) art. 29", U),
        ("competitive_consultation", "documents_available", "minimum", "after", 5, WORK,
         "政府采购竞争性磋商采购方式管理暂行办法 (财库〔2014〕214号) art. 10", U),
        ("competitive_consultation", "bid_preparation", "minimum", "after", 10, CAL,
         "政府采购竞争性磋商采购方式管理暂行办法 (财库〔2014〕214号) art. 10", U),
        ("competitive_consultation", "amendment", "minimum", "before", 5, CAL,
         "政府采购竞争性磋商采购方式管理暂行办法 (财库〔2014〕214号) art. 10", U),
        ("request_for_quotation", "bid_preparation", "minimum", "after", 3, WORK,
         "政府采购非招标采购方式管理办法 (财政部令第74号) art. 45", U),
        ("request_for_quotation", "amendment", "minimum", "before", 3, WORK,
         "政府采购非招标采购方式管理办法 (财政部令第74号) art. 46", U),
        ("single_source", "single_source_publicity", "minimum", "after", 5, WORK,
         "政府采购法实施条例 art. 38", U),
    ],
)  # fmt: skip
def test_key_limits(*, key, limit_key, kind, direction, amount, unit, source, verification):
    # when
    limit = procedure_rules(key).limit(limit_key)

    # then
    assert (limit.kind, limit.direction, limit.amount, limit.unit) == (kind, direction, amount, unit)
    assert limit.source == source
    assert limit.verification is verification


def test_the_objection_limits_favour_the_objector_and_the_others_the_longer_period():
    # given
    works = procedure_rules("works_open")

    # then: the deadline's day counts and nothing rolls over for objections
    for key in ("objection", "prequalification_objection"):
        limit = procedure_rules("works_open_prequalified").limit(key)
        assert (limit.end_day_counts, limit.roll_over) == (True, RollOver.NONE)
    # every other limit: start day not counted, the later day not counted, roll-over past rest days
    others = [limit for limit in works.limits if limit.key != "objection"]
    assert {(lim.start_day_counts, lim.end_day_counts, lim.roll_over) for lim in others} == {
        (False, False, RollOver.REST_DAYS)
    }


def test_prequalified_types_add_exactly_the_four_prequalification_limits():
    for base in ("works_open", "works_invited"):
        plain = {limit.key for limit in procedure_rules(base).limits}
        prequalified = {limit.key for limit in procedure_rules(f"{base}_prequalified").limits}
        assert prequalified - plain == {
            "prequalification_documents_available",
            "prequalification_application",
            "prequalification_amendment",
            "prequalification_objection",
        }
        assert plain <= prequalified


@pytest.mark.parametrize("key", WORKS + PROCUREMENT)
def test_every_type_has_objection_answer_and_complaint_limits(key):
    rules = procedure_rules(key)
    assert {"objection", "objection_answer", "complaint", "complaint_decision"} <= {
        limit.key for limit in rules.limits
    }


@pytest.mark.parametrize("key", WORKS + PROCUREMENT)
def test_every_type_has_an_amendment_limit_and_a_deadline_limit_except_single_source(key):
    rules = procedure_rules(key)
    assert (rules.find_limit("amendment") is None) is (key == "single_source")
    assert {limit.constrained for limit in rules.timeline_limits} >= {Event.BID_DEADLINE}


def test_timeline_limits_of_each_type():
    assert {
        key: [limit.key for limit in rules.timeline_limits] for key, rules in PROCEDURE_TYPES.items()
    } == {
        "works_open": ["documents_available", "bid_preparation"],
        "works_open_prequalified": [
            "prequalification_documents_available",
            "prequalification_application",
            "documents_available",
            "bid_preparation",
        ],
        "works_invited": ["documents_available", "bid_preparation"],
        "works_invited_prequalified": [
            "prequalification_documents_available",
            "prequalification_application",
            "documents_available",
            "bid_preparation",
        ],
        "procurement_open": ["documents_available", "bid_preparation"],
        "competitive_negotiation": ["bid_preparation"],
        "competitive_consultation": ["documents_available", "bid_preparation"],
        "request_for_quotation": ["bid_preparation"],
        "single_source": ["single_source_publicity"],
    }


@pytest.mark.parametrize("item", ALL_LIMITS, ids=limit_id)
def test_every_limit_states_its_amount_and_unit_in_words(item):
    # given
    _, limit = item

    # then
    assert f"{limit.amount} {limit.unit.words}" in limit.rule
    assert limit.title_zh
    assert limit.constrains
    assert limit.source


@pytest.mark.parametrize("item", ALL_LIMITS, ids=limit_id)
def test_every_limit_has_a_consistent_shape(item):
    # given
    _, limit = item

    # then
    assert limit.amount >= 1
    assert limit.anchor != limit.constrained
    if limit.kind is Kind.WITHIN:
        assert limit.direction is Direction.AFTER
    if limit.on_timeline:
        assert (limit.kind, limit.direction) == (Kind.MINIMUM, Direction.AFTER)
        assert {limit.anchor, limit.constrained} <= TIMELINE_EVENTS


@pytest.mark.parametrize("item", ALL_LIMITS, ids=limit_id)
def test_limits_missing_from_the_reference_are_unverified(item):
    # given
    _, limit = item

    # then
    if not limit.ref:
        assert limit.verification is Verification.UNVERIFIED
        assert "Not in shared/reference/statutory-rules.md" in limit.note
    else:
        assert limit.ref[0] in "TG"


def test_unknown_procedure_type_is_a_domain_error_naming_the_choices():
    # when
    with pytest.raises(UnknownProcedureType) as raised:
        procedure_rules("dutch_auction")

    # then
    error = raised.value
    assert isinstance(error, DomainError)
    assert error.code == "unknown_procedure_type"
    assert error.status == 422
    assert error.message.startswith("Unknown procedure type 'dutch_auction': choose one of works_open, ")
    assert error.details == {"procedure_type": "dutch_auction", "choices": list(WORKS + PROCUREMENT)}


def test_rules_values_are_frozen_and_the_mapping_read_only():
    rules = procedure_rules("works_open")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.minimum_bids = 2  # type: ignore[misc]  # the point of the test
    with pytest.raises(TypeError):
        PROCEDURE_TYPES["mine"] = rules  # type: ignore[index]  # the point of the test


def test_limit_lookup():
    rules = procedure_rules("single_source")
    assert rules.find_limit("amendment") is None
    assert rules.limit("complaint").amount == 15
    with pytest.raises(KeyError, match="single_source has no limit 'amendment'"):
        rules.limit("amendment")


BASE_LIMIT = Limit(
    key="k",
    ref="",
    title_zh="期限",
    rule="x",
    constrains="y",
    kind=Kind.MINIMUM,
    direction=Direction.AFTER,
    amount=1,
    unit=CAL,
    anchor=Event.DOCUMENTS_FROM,
    constrained=Event.BID_DEADLINE,
    source="s",
    verification=Verification.DESIGN,
)


def make_limit(**changes: Any) -> Limit:
    return dataclasses.replace(BASE_LIMIT, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": 0}, "amount must be at least 1"),
        ({"kind": Kind.WITHIN, "direction": Direction.BEFORE}, "runs after its anchor"),
        ({"kind": Kind.WITHIN, "end_day_counts": True}, "only applies to MINIMUM"),
        ({"closes_at": datetime.time(17)}, "only applies to WITHIN"),
    ],
)
def test_inconsistent_limits_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        make_limit(**changes)


def test_duplicate_limit_keys_are_refused():
    with pytest.raises(ValueError, match="duplicate limit keys"):
        dataclasses.replace(procedure_rules("works_open"), limits=(make_limit(), make_limit()))


def test_evaluation_methods_and_procedure_rules_types():
    assert [method.value for method in EvaluationMethod] == [
        "lowest_evaluated_price",
        "comprehensive",
        "lowest_price",
        "negotiated",
    ]
    assert all(isinstance(rules, ProcedureRules) for rules in PROCEDURE_TYPES.values())


# --- the limits table of docs/procedures-rules.md is this rendering of the rules ----------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs" / "procedures-rules.md"
WORKS_PREQUALIFIED = {"works_open_prequalified", "works_invited_prequalified"}


def types_label(keys: set[str]) -> str:
    if keys == set(WORKS):
        return "all works"
    if keys == WORKS_PREQUALIFIED:
        return "works with prequalification"
    if keys == set(PROCUREMENT):
        return "all procurement"
    return ", ".join(key for key in PROCEDURE_TYPES if key in keys)


def counting_label(limit: Limit) -> str:
    parts = ["start day counts" if limit.start_day_counts else "start day not counted"]
    if limit.kind is Kind.MINIMUM:
        parts.append("later day counts" if limit.end_day_counts else "later day not counted")
    if limit.unit is CAL:
        parts.append(f"roll-over: {limit.roll_over.value}")
    return "; ".join(parts)


def render_limits_table() -> str:
    rows: dict[Limit, set[str]] = {}
    for key, rules in PROCEDURE_TYPES.items():
        for limit in rules.limits:
            rows.setdefault(limit, set()).add(key)
    lines = [
        "| types | key | ref | limit | amount | anchor → constrained | counting | source | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for limit, keys in rows.items():
        sign, unit = "≥" if limit.kind is Kind.MINIMUM else "≤", "日" if limit.unit is CAL else "工作日"
        amount = f"{sign} {limit.amount} {unit}"
        moments = f"{limit.anchor.value} → {limit.constrained.value}"
        if limit.direction is Direction.BEFORE:
            moments = f"{limit.constrained.value} before {limit.anchor.value}"
        lines.append(
            f"| {types_label(keys)} | `{limit.key}` | {limit.ref or '—'} | {limit.title_zh} | {amount} | "
            f"{moments} | {counting_label(limit)} | {limit.source} | {limit.verification.value} |"
        )
    return "\n".join(lines)


def test_the_docs_limits_table_matches_the_rules():
    # given
    text = DOCS.read_text(encoding="utf-8")

    # when
    documented = text.split("<!-- limits:start -->\n", 1)[1].split("\n<!-- limits:end -->", 1)[0]

    # then
    assert documented == render_limits_table()
