"""The deadline engine: every timeline limit at its boundary, holidays and make-up days, amendments,
objections, complaints, the counting settings, and properties of earliest lawful moments."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.procedures.calendar import CalendarDataMissing, WorkingCalendar, calendar_load
from tenderhall.procedures.deadlines import (
    LEGAL_TZ,
    Timeline,
    TimelineInvalid,
    TimelineUnlawful,
    Violation,
    amendment_effect,
    complaint_deadline,
    deadline_after_amendment,
    limit_cutoff,
    limit_due,
    limit_earliest,
    limit_met,
    local_date,
    objection_answer_due,
    objection_cutoff,
    period_last_day,
    timeline_check,
    timeline_violations,
)
from tenderhall.procedures.rules import PROCEDURE_TYPES, Direction, Kind, RollOver, procedure_rules

D = datetime.date
UTC = datetime.UTC
ONE_DAY = datetime.timedelta(days=1)
ONE_MICROSECOND = datetime.timedelta(microseconds=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LEGAL_TZ)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return calendar_load()


def timeline(**fields: Any) -> Timeline:
    """A lawful timeline for every type without prequalification, documents issued Wednesday 2026-03-04."""
    defaults = {
        "notice_published_at": at(2026, 3, 4, 8),
        "documents_from": at(2026, 3, 4, 9),
        "documents_until": at(2026, 3, 20, 17),
        "bid_deadline": at(2026, 4, 15, 9),
    }
    return Timeline(**(defaults | fields))


def prequalified_timeline(**fields: Any) -> Timeline:
    defaults = {
        "notice_published_at": at(2026, 3, 4, 8),
        "prequalification_documents_from": at(2026, 3, 4, 9),
        "prequalification_documents_until": at(2026, 3, 10, 17),
        "prequalification_deadline": at(2026, 3, 17, 9),
        "documents_from": at(2026, 3, 18, 9),
        "documents_until": at(2026, 3, 30, 17),
        "bid_deadline": at(2026, 4, 15, 9),
    }
    return Timeline(**(defaults | fields))


# --- every timeline limit at its boundary ------------------------------------------------------------------

SHORT_DOCUMENTS = {"documents_until": at(2026, 3, 6, 17)}
BOUNDARIES = [
    # procedure type, limit, constrained field, earliest lawful date, other fields
    ("works_open", "documents_available", "documents_until", D(2026, 3, 10), {}),  # 03-09 Mon is day 5
    ("works_open", "bid_preparation", "bid_deadline", D(2026, 3, 25), {}),  # 03-24 Tue is day 20
    ("works_invited", "documents_available", "documents_until", D(2026, 3, 10), {}),
    ("works_invited", "bid_preparation", "bid_deadline", D(2026, 3, 25), {}),
    ("procurement_open", "documents_available", "documents_until", D(2026, 3, 12), {}),  # 5th: 03-11
    ("procurement_open", "bid_preparation", "bid_deadline", D(2026, 3, 25), {}),
    ("competitive_negotiation", "bid_preparation", "bid_deadline", D(2026, 3, 10), SHORT_DOCUMENTS),
    ("competitive_consultation", "documents_available", "documents_until", D(2026, 3, 12), {}),
    # day 10 is Saturday 03-14: the period rolls over to Monday 03-16
    ("competitive_consultation", "bid_preparation", "bid_deadline", D(2026, 3, 17),
     {"documents_until": at(2026, 3, 12, 17)}),
    ("request_for_quotation", "bid_preparation", "bid_deadline", D(2026, 3, 10), SHORT_DOCUMENTS),
    ("single_source", "single_source_publicity", "bid_deadline", D(2026, 3, 12), SHORT_DOCUMENTS),
]  # fmt: skip
PREQUALIFIED_BOUNDARIES = [
    ("prequalification_documents_available", "prequalification_documents_until", D(2026, 3, 10)),
    # day 5 after 03-10 is Sunday 03-15: rolls over to Monday 03-16
    ("prequalification_application", "prequalification_deadline", D(2026, 3, 17)),
    ("documents_available", "documents_until", D(2026, 3, 24)),
    ("bid_preparation", "bid_deadline", D(2026, 4, 8)),
]


def assert_boundary(
    calendar: WorkingCalendar, *, key: str, limit_key: str, field: str, earliest: datetime.date, make: Any
) -> None:
    rules = procedure_rules(key)
    time_of_day = getattr(make(), field).timetz()
    exactly = make(**{field: datetime.datetime.combine(earliest, time_of_day)})
    one_day_short = make(**{field: datetime.datetime.combine(earliest - ONE_DAY, time_of_day)})

    # when
    at_the_limit = timeline_violations(rules, exactly, calendar=calendar)
    short = timeline_violations(rules, one_day_short, calendar=calendar)

    # then
    assert at_the_limit == []
    assert [(v.limit_key, v.short_by, v.earliest_legal, v.unit) for v in short] == [
        (limit_key, 1, getattr(exactly, field), rules.limit(limit_key).unit.value)
    ]


@pytest.mark.parametrize(("key", "limit_key", "field", "earliest", "fields"), BOUNDARIES)
def test_timeline_limit_boundary(calendar, *, key, limit_key, field, earliest, fields):
    def make(**more: Any) -> Timeline:
        return timeline(**(fields | more))

    assert_boundary(calendar, key=key, limit_key=limit_key, field=field, earliest=earliest, make=make)


@pytest.mark.parametrize("key", ["works_open_prequalified", "works_invited_prequalified"])
@pytest.mark.parametrize(("limit_key", "field", "earliest"), PREQUALIFIED_BOUNDARIES)
def test_prequalified_timeline_limit_boundary(calendar, *, key, limit_key, field, earliest):
    assert_boundary(
        calendar, key=key, limit_key=limit_key, field=field, earliest=earliest, make=prequalified_timeline
    )


def test_every_timeline_limit_has_a_boundary_test():
    tested = {(key, limit_key) for key, limit_key, *_ in BOUNDARIES} | {
        (key, limit_key)
        for key in ("works_open_prequalified", "works_invited_prequalified")
        for limit_key, *_ in PREQUALIFIED_BOUNDARIES
    }
    assert tested == {
        (key, limit.key) for key, rules in PROCEDURE_TYPES.items() for limit in rules.timeline_limits
    }


def test_the_lawful_base_timelines_are_lawful(calendar):
    for key, rules in PROCEDURE_TYPES.items():
        proposed = prequalified_timeline() if rules.prequalification else timeline(**SHORT_DOCUMENTS)
        if key in {"works_open", "works_invited", "procurement_open", "competitive_consultation"}:
            proposed = timeline()
        assert timeline_violations(rules, proposed, calendar=calendar) == []


def test_a_violation_names_the_limit_its_source_the_shortfall_and_the_earliest_date(calendar):
    # given documents issued 2026-03-04 and a bid deadline on day 19
    proposed = timeline(bid_deadline=at(2026, 3, 23, 9, 30))

    # when
    violations = timeline_violations(procedure_rules("works_open"), proposed, calendar=calendar)

    # then
    assert violations == [
        Violation(
            limit_key="bid_preparation",
            message="The bid deadline must be at least 20 calendar days after the tender documents are first "
            "issued (招标投标法 art. 24): the proposed bid deadline is 2 calendar days short; the earliest "
            "lawful bid deadline is 2026-03-25 09:30 (Asia/Shanghai).",
            short_by=2,
            earliest_legal=at(2026, 3, 25, 9, 30),
            unit="calendar_days",
        )
    ]
    assert violations[0].as_dict() == {
        "limit_key": "bid_preparation",
        "message": violations[0].message,
        "short_by": 2,
        "unit": "calendar_days",
        "earliest_legal": "2026-03-25T09:30:00+08:00",
    }


def test_several_violations_come_in_the_rules_order(calendar):
    # when
    violations = timeline_violations(
        procedure_rules("works_open"),
        timeline(documents_until=at(2026, 3, 5, 17), bid_deadline=at(2026, 3, 6, 9)),
        calendar=calendar,
    )

    # then
    assert [(v.limit_key, v.short_by, v.earliest_legal) for v in violations] == [
        ("documents_available", 5, at(2026, 3, 10, 17)),
        ("bid_preparation", 19, at(2026, 3, 25, 9)),
    ]


def test_timeline_check_raises_timeline_unlawful_with_the_violations(calendar):
    # when
    with pytest.raises(TimelineUnlawful) as raised:
        timeline_check(
            procedure_rules("works_open"), timeline(bid_deadline=at(2026, 3, 24, 9)), calendar=calendar
        )

    # then
    error = raised.value
    assert error.code == "timeline_unlawful"
    assert error.status == 422
    assert [v["limit_key"] for v in error.details["violations"]] == ["bid_preparation"]
    assert error.details["violations"][0]["earliest_legal"] == "2026-03-25T09:00:00+08:00"
    timeline_check(
        procedure_rules("works_open"), timeline(bid_deadline=at(2026, 3, 25, 9)), calendar=calendar
    )


# --- holidays and make-up working days ---------------------------------------------------------------------


def test_bid_deadline_rolls_over_the_2026_national_day_break(calendar):
    # given documents from 2026-09-11: day 20 is 10-01, inside the break 10-01..10-07
    rules = procedure_rules("works_open")
    base = timeline(
        notice_published_at=at(2026, 9, 11, 8),
        documents_from=at(2026, 9, 11, 9),
        documents_until=at(2026, 9, 18, 17),
    )

    # when
    on_the_holiday = timeline_violations(
        rules, dataclasses.replace(base, bid_deadline=at(2026, 10, 1, 9)), calendar=calendar
    )
    after_the_break = timeline_violations(
        rules, dataclasses.replace(base, bid_deadline=at(2026, 10, 8, 9)), calendar=calendar
    )
    lawful = timeline_violations(
        rules, dataclasses.replace(base, bid_deadline=at(2026, 10, 9, 9)), calendar=calendar
    )

    # then: the period ends with 10-08, the first working day after the break
    assert [(v.short_by, v.earliest_legal) for v in on_the_holiday] == [(8, at(2026, 10, 9, 9))]
    assert [(v.short_by, v.earliest_legal) for v in after_the_break] == [(1, at(2026, 10, 9, 9))]
    assert lawful == []


def test_working_days_skip_national_day_and_count_the_make_up_saturday(calendar):
    # given procurement documents issued 2026-09-30: working days 10-08, 10-09, 10-10 (Sat), 10-12, 10-13
    rules = procedure_rules("procurement_open")
    base = timeline(
        notice_published_at=at(2026, 9, 30, 8),
        documents_from=at(2026, 9, 30, 9),
        bid_deadline=at(2026, 10, 21, 9),
    )

    # when
    last_working_day = timeline_violations(
        rules, dataclasses.replace(base, documents_until=at(2026, 10, 13, 17)), calendar=calendar
    )
    holiday_week = timeline_violations(
        rules, dataclasses.replace(base, documents_until=at(2026, 10, 9, 17)), calendar=calendar
    )
    lawful = timeline_violations(
        rules, dataclasses.replace(base, documents_until=at(2026, 10, 14, 0)), calendar=calendar
    )

    # then
    assert [(v.limit_key, v.short_by, v.earliest_legal) for v in last_working_day] == [
        ("documents_available", 1, at(2026, 10, 14, 17))
    ]
    assert [(v.short_by, v.earliest_legal) for v in holiday_week] == [(4, at(2026, 10, 14, 17))]
    assert lawful == []


def test_negotiation_across_the_2026_spring_festival(calendar):
    # given documents issued Thursday 02-12: working days 02-13, 02-14 (make-up Saturday), then 02-24
    rules = procedure_rules("competitive_negotiation")
    base = timeline(
        notice_published_at=at(2026, 2, 12, 8),
        documents_from=at(2026, 2, 12, 9),
        documents_until=at(2026, 2, 13, 17),
    )

    # when
    last_day_of_the_break = timeline_violations(
        rules, dataclasses.replace(base, bid_deadline=at(2026, 2, 23, 9)), calendar=calendar
    )
    third_working_day = timeline_violations(
        rules, dataclasses.replace(base, bid_deadline=at(2026, 2, 24, 9)), calendar=calendar
    )

    # then: two working days held either way, so one short, and the earliest lawful day is 02-25
    assert [(v.short_by, v.earliest_legal) for v in last_day_of_the_break] == [(1, at(2026, 2, 25, 9))]
    assert [(v.short_by, v.earliest_legal) for v in third_working_day] == [(1, at(2026, 2, 25, 9))]
    assert (
        timeline_violations(
            rules, dataclasses.replace(base, bid_deadline=at(2026, 2, 25, 9)), calendar=calendar
        )
        == []
    )


def test_the_reference_example_five_working_days_from_2026_09_30(calendar):
    # given
    limit = procedure_rules("single_source").limit("single_source_publicity")

    # then
    assert period_last_day(limit, D(2026, 9, 30), calendar) == D(2026, 10, 13)
    assert limit_earliest(
        limit, anchor_at=at(2026, 9, 30, 10), like=at(2026, 10, 1, 9), calendar=calendar
    ) == at(2026, 10, 14, 9)


def test_a_date_in_2027_raises_calendar_data_missing(calendar):
    # given documents from 2026-12-20: day 20 is 2027-01-09, and whether it is a rest day is unknown
    proposed = timeline(
        notice_published_at=at(2026, 12, 20, 8),
        documents_from=at(2026, 12, 20, 9),
        documents_until=at(2026, 12, 28, 17),
        bid_deadline=at(2027, 1, 12, 9),
    )

    # when
    with pytest.raises(CalendarDataMissing) as raised:
        timeline_violations(procedure_rules("works_open"), proposed, calendar=calendar)

    # then
    assert raised.value.year == 2027
    with pytest.raises(CalendarDataMissing):
        complaint_deadline(procedure_rules("procurement_open"), known_at=at(2026, 12, 25), calendar=calendar)


def test_calendar_days_without_roll_over_need_no_calendar_data(calendar):
    # given the works objection limit, which never rolls over
    rules = procedure_rules("works_open")

    # then
    assert objection_cutoff(rules, bid_deadline=at(2027, 3, 1, 9), calendar=calendar) == at(2027, 2, 20)


# --- amendments --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "amended_at", "bid_deadline", "expected"),
    [
        # works and procurement tenders: 15 calendar days, the deadline's day not counted
        ("works_open", at(2026, 3, 9, 23, 59), at(2026, 3, 25, 9), at(2026, 3, 25, 9)),
        ("works_open", at(2026, 3, 10, 0, 0), at(2026, 3, 25, 9), at(2026, 3, 26, 9)),
        ("procurement_open", at(2026, 3, 9, 16), at(2026, 3, 25, 9), at(2026, 3, 25, 9)),
        ("procurement_open", at(2026, 3, 10, 16), at(2026, 3, 25, 9), at(2026, 3, 26, 9)),
        # day 15 after 09-16 is 10-01: rolls over the National Day break to 10-08
        ("works_open", at(2026, 9, 16, 10), at(2026, 10, 5, 9), at(2026, 10, 9, 9)),
        # negotiation and RFQ: 3 working days; after 10-08 they are 10-09, 10-10 (make-up Saturday), 10-12
        ("competitive_negotiation", at(2026, 10, 8, 10), at(2026, 10, 13, 9), at(2026, 10, 13, 9)),
        ("competitive_negotiation", at(2026, 10, 9, 10), at(2026, 10, 13, 9), at(2026, 10, 14, 9)),
        ("request_for_quotation", at(2026, 10, 8, 10), at(2026, 10, 13, 9), at(2026, 10, 13, 9)),
        ("request_for_quotation", at(2026, 10, 9, 10), at(2026, 10, 13, 9), at(2026, 10, 14, 9)),
        # consultation: 5 calendar days
        ("competitive_consultation", at(2026, 3, 19, 10), at(2026, 3, 25, 9), at(2026, 3, 25, 9)),
        ("competitive_consultation", at(2026, 3, 20, 10), at(2026, 3, 25, 9), at(2026, 3, 26, 9)),
        # single source: no statutory amendment limit
        ("single_source", at(2026, 3, 24, 10), at(2026, 3, 25, 9), at(2026, 3, 25, 9)),
    ],
)
def test_amendment_effect(calendar, *, key, amended_at, bid_deadline, expected):
    assert (
        amendment_effect(
            procedure_rules(key), amended_at=amended_at, bid_deadline=bid_deadline, calendar=calendar
        )
        == expected
    )


def test_prequalification_amendment_moves_the_application_deadline(calendar):
    # given 3 calendar days before the application deadline of 03-17
    limit = procedure_rules("works_open_prequalified").limit("prequalification_amendment")

    # then
    assert deadline_after_amendment(
        limit, amended_at=at(2026, 3, 13, 12), deadline=at(2026, 3, 17, 9), calendar=calendar
    ) == at(2026, 3, 17, 9)
    assert deadline_after_amendment(
        limit, amended_at=at(2026, 3, 14, 12), deadline=at(2026, 3, 17, 9), calendar=calendar
    ) == at(2026, 3, 18, 9)


# --- objections and complaints -----------------------------------------------------------------------------


def test_works_objection_cutoff_is_the_end_of_the_tenth_day_before_the_deadline(calendar):
    # given
    rules = procedure_rules("works_open")
    limit = rules.limit("objection")
    deadline = at(2026, 3, 25, 9)

    # when
    cutoff = objection_cutoff(rules, bid_deadline=deadline, calendar=calendar)

    # then
    assert cutoff == at(2026, 3, 16)
    assert limit_met(limit, anchor_at=deadline, constrained_at=cutoff - ONE_MICROSECOND, calendar=calendar)
    assert not limit_met(limit, anchor_at=deadline, constrained_at=cutoff, calendar=calendar)


def test_works_objection_cutoff_does_not_roll_over_holidays(calendar):
    # given a deadline of 10-12: the 10th day before is 10-02, inside the National Day break
    assert objection_cutoff(
        procedure_rules("works_open"), bid_deadline=at(2026, 10, 12, 9), calendar=calendar
    ) == at(2026, 10, 3)


def test_prequalification_objection_cutoff(calendar):
    limit = procedure_rules("works_open_prequalified").limit("prequalification_objection")
    assert limit_cutoff(limit, anchor_at=at(2026, 3, 17, 9), calendar=calendar) == at(2026, 3, 16)


def test_procurement_challenge_to_the_documents_runs_seven_working_days_from_the_grounds(calendar):
    # given documents obtained 2026-09-28: 09-29, 09-30, 10-08, 10-09, 10-10 (make-up), 10-12, 10-13
    rules = procedure_rules("procurement_open")

    # when
    cutoff = objection_cutoff(
        rules, bid_deadline=at(2026, 10, 30, 9), grounds_known_at=at(2026, 9, 28, 10), calendar=calendar
    )

    # then
    assert cutoff == at(2026, 10, 14)


def test_procurement_challenge_needs_the_moment_the_grounds_were_known(calendar):
    with pytest.raises(ValueError, match="pass grounds_known_at"):
        objection_cutoff(
            procedure_rules("competitive_negotiation"), bid_deadline=at(2026, 10, 30, 9), calendar=calendar
        )


@pytest.mark.parametrize(
    ("key", "raised_at", "due"),
    [
        ("works_open", at(2026, 3, 6, 15), at(2026, 3, 10)),  # Friday + 3 = Monday
        ("works_open", at(2026, 3, 4, 15), at(2026, 3, 10)),  # day 3 is Saturday: rolls over to Monday
        ("works_open", at(2026, 9, 28, 15), at(2026, 10, 9)),  # day 3 is 10-01: rolls over to 10-08
        ("procurement_open", at(2026, 9, 28, 15), at(2026, 10, 14)),  # 7 working days
        ("single_source", at(2026, 2, 12, 15), at(2026, 3, 1)),  # 02-13, 02-14, 02-24..02-27, 02-28 (make-up)
    ],
)
def test_objection_answer_due(calendar, *, key, raised_at, due):
    assert objection_answer_due(procedure_rules(key), raised_at=raised_at, calendar=calendar) == due


@pytest.mark.parametrize(
    ("key", "known_at", "excluded_days", "due"),
    [
        ("works_open", at(2026, 3, 2, 10), 0, at(2026, 3, 13)),  # day 10 is Thursday 03-12
        ("works_open", at(2026, 9, 21, 10), 0, at(2026, 10, 9)),  # day 10 is 10-01: rolls over to 10-08
        ("works_open", at(2026, 3, 2, 10), 3, at(2026, 3, 17)),  # 3 days not counted: day 10 is Sunday 03-15
        # 15 working days from 02-10, through the Spring Festival and two make-up Saturdays: 03-09
        ("procurement_open", at(2026, 2, 10, 10), 0, at(2026, 3, 10)),
    ],
)
def test_complaint_deadline(calendar, *, key, known_at, excluded_days, due):
    assert (
        complaint_deadline(
            procedure_rules(key), known_at=known_at, excluded_days=excluded_days, calendar=calendar
        )
        == due
    )


def test_complaint_deadline_refuses_negative_excluded_days(calendar):
    with pytest.raises(ValueError, match="cannot be negative"):
        complaint_deadline(
            procedure_rules("works_open"), known_at=at(2026, 3, 2), excluded_days=-1, calendar=calendar
        )


# --- counting settings -------------------------------------------------------------------------------------


def test_start_day_counts_shortens_the_period_by_the_start_day(calendar):
    # given documents issued Thursday 03-05
    limit = procedure_rules("works_open").limit("documents_available")
    working = procedure_rules("procurement_open").limit("documents_available")
    like = at(2026, 3, 1, 17)

    # then
    assert limit_earliest(limit, anchor_at=at(2026, 3, 5, 9), like=like, calendar=calendar) == at(
        2026, 3, 11, 17
    )
    counted = dataclasses.replace(limit, start_day_counts=True)
    assert limit_earliest(counted, anchor_at=at(2026, 3, 5, 9), like=like, calendar=calendar) == at(
        2026, 3, 10, 17
    )
    assert limit_earliest(working, anchor_at=at(2026, 3, 4, 9), like=like, calendar=calendar) == at(
        2026, 3, 12, 17
    )
    working_counted = dataclasses.replace(working, start_day_counts=True)
    assert limit_earliest(working_counted, anchor_at=at(2026, 3, 4, 9), like=like, calendar=calendar) == at(
        2026, 3, 11, 17
    )


def test_end_day_counts_allows_the_last_day_itself(calendar):
    # given
    limit = dataclasses.replace(procedure_rules("works_open").limit("bid_preparation"), end_day_counts=True)
    proposed = timeline(bid_deadline=at(2026, 3, 23, 9))

    # when
    violations = timeline_violations(
        dataclasses.replace(procedure_rules("works_open"), limits=(limit,)), proposed, calendar=calendar
    )

    # then: the earliest deadline is on day 20 itself, 03-24
    assert [(v.short_by, v.earliest_legal) for v in violations] == [(1, at(2026, 3, 24, 9))]


def test_end_day_counts_in_working_days_counts_the_shortfall_in_working_days(calendar):
    # given 3 working days after Thursday 03-05 (03-06, 03-09, 03-10), the deadline's day counting
    rules = procedure_rules("request_for_quotation")
    limit = dataclasses.replace(rules.limit("bid_preparation"), end_day_counts=True)
    base = timeline(
        notice_published_at=at(2026, 3, 5, 8),
        documents_from=at(2026, 3, 5, 9),
        documents_until=at(2026, 3, 6, 9),
    )

    # when
    saturday = timeline_violations(
        dataclasses.replace(rules, limits=(limit,)),
        dataclasses.replace(base, bid_deadline=at(2026, 3, 7, 9)),
        calendar=calendar,
    )

    # then: 03-06 is held, so 2 short, and the earliest is 03-10
    assert [(v.short_by, v.earliest_legal) for v in saturday] == [(2, at(2026, 3, 10, 9))]


@pytest.mark.parametrize(
    ("roll_over", "raised_at", "due"),
    [
        (RollOver.REST_DAYS, at(2026, 3, 4, 10), at(2026, 3, 10)),  # day 3 Saturday -> Monday
        (RollOver.HOLIDAYS, at(2026, 3, 4, 10), at(2026, 3, 8)),  # an ordinary Saturday is not a holiday
        (RollOver.NONE, at(2026, 3, 4, 10), at(2026, 3, 8)),
        (RollOver.REST_DAYS, at(2026, 9, 28, 10), at(2026, 10, 9)),  # day 3 is 10-01 -> 10-08
        (RollOver.HOLIDAYS, at(2026, 9, 28, 10), at(2026, 10, 9)),
        (RollOver.HOLIDAYS, at(2026, 9, 24, 10), at(2026, 9, 29)),  # day 3 ends Mid-Autumn: to 09-28
        (RollOver.NONE, at(2026, 9, 28, 10), at(2026, 10, 2)),
    ],
)
def test_roll_over_settings(calendar, *, roll_over, raised_at, due):
    limit = dataclasses.replace(procedure_rules("works_open").limit("objection_answer"), roll_over=roll_over)
    assert limit_due(limit, anchor_at=raised_at, calendar=calendar) == due


def test_close_of_business_ends_the_last_day_early(calendar):
    # given
    limit = dataclasses.replace(
        procedure_rules("works_open").limit("objection_answer"), closes_at=datetime.time(17)
    )

    # then
    assert limit_due(limit, anchor_at=at(2026, 3, 6, 10), calendar=calendar) == at(2026, 3, 9, 17)
    assert limit_met(
        limit, anchor_at=at(2026, 3, 6, 10), constrained_at=at(2026, 3, 9, 16, 59), calendar=calendar
    )
    assert not limit_met(
        limit, anchor_at=at(2026, 3, 6, 10), constrained_at=at(2026, 3, 9, 17), calendar=calendar
    )


def test_days_are_counted_on_shanghai_dates_whatever_the_time_zone(calendar):
    # given documents issued 2026-03-03 17:00 UTC, which is 03-04 01:00 in Shanghai
    rules = procedure_rules("works_open")
    proposed = Timeline(
        notice_published_at=datetime.datetime(2026, 3, 3, 16, tzinfo=UTC),
        documents_from=datetime.datetime(2026, 3, 3, 17, tzinfo=UTC),
        documents_until=datetime.datetime(2026, 3, 20, 9, tzinfo=UTC),
        bid_deadline=datetime.datetime(2026, 3, 24, 1, tzinfo=UTC),  # 03-24 09:00 in Shanghai: day 20
    )

    # when
    violations = timeline_violations(rules, proposed, calendar=calendar)

    # then: the earliest deadline keeps the Shanghai time of day
    assert [(v.short_by, v.earliest_legal) for v in violations] == [
        (1, datetime.datetime(2026, 3, 25, 1, tzinfo=UTC))
    ]
    assert local_date(datetime.datetime(2026, 3, 3, 16, 0, tzinfo=UTC)) == D(2026, 3, 4)
    assert local_date(datetime.datetime(2026, 3, 3, 15, 59, tzinfo=UTC)) == D(2026, 3, 3)
    assert ZoneInfo("Asia/Shanghai") == LEGAL_TZ


def test_naive_datetimes_are_refused(calendar):
    with pytest.raises(ValueError, match="no time zone"):
        local_date(datetime.datetime(2026, 3, 4, 9))  # noqa: DTZ001  # the naive value under test
    with pytest.raises(TimelineInvalid) as raised:
        timeline_violations(
            procedure_rules("works_open"),
            timeline(bid_deadline=datetime.datetime(2026, 4, 15, 9)),  # noqa: DTZ001  # the naive value under test
            calendar=calendar,
        )
    assert raised.value.problems == ["bid_deadline has no time zone."]


def test_limit_functions_refuse_limits_of_the_wrong_shape(calendar):
    rules = procedure_rules("works_open")
    with pytest.raises(ValueError, match="is within after, not minimum after"):
        limit_earliest(
            rules.limit("complaint"), anchor_at=at(2026, 3, 2), like=at(2026, 3, 2), calendar=calendar
        )
    with pytest.raises(ValueError, match="is minimum after, not minimum before"):
        limit_cutoff(rules.limit("bid_preparation"), anchor_at=at(2026, 3, 2), calendar=calendar)
    with pytest.raises(ValueError, match="is minimum before, not within after"):
        limit_due(rules.limit("amendment"), anchor_at=at(2026, 3, 2), calendar=calendar)


# --- timelines that cannot be checked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "proposed", "problems"),
    [
        ("works_open", timeline(documents_until=at(2026, 3, 4, 9)),
         ["documents_until must be after documents_from."]),
        ("works_open", timeline(documents_from=at(2026, 3, 4, 7)),
         ["documents_from must be no earlier than notice_published_at."]),
        ("works_open", timeline(bid_deadline=at(2026, 3, 20, 16)),
         ["bid_deadline must be no earlier than documents_until."]),
        ("works_open", timeline(prequalification_deadline=at(2026, 3, 17, 9)),
         ["works_open has no prequalification: leave prequalification_deadline empty."]),
        ("works_open_prequalified", timeline(prequalification_deadline=at(2026, 3, 17, 9)),
         ["works_open_prequalified has prequalification: set prequalification_documents_from, "
          "prequalification_documents_until."]),
        ("works_open_prequalified", prequalified_timeline(prequalification_deadline=at(2026, 3, 18, 10)),
         ["documents_from must be no earlier than prequalification_deadline."]),
    ],
)  # fmt: skip
def test_incomplete_or_unordered_timelines_are_invalid(calendar, *, key, proposed, problems):
    # when
    with pytest.raises(TimelineInvalid) as raised:
        timeline_violations(procedure_rules(key), proposed, calendar=calendar)

    # then
    assert raised.value.problems == problems
    assert raised.value.code == "timeline_invalid"
    assert raised.value.details == {"problems": problems}


# --- properties --------------------------------------------------------------------------------------------

TIMELINE_LIMITS = [limit for rules in PROCEDURE_TYPES.values() for limit in rules.timeline_limits]
BEFORE_LIMITS = [
    limit
    for rules in PROCEDURE_TYPES.values()
    for limit in rules.limits
    if (limit.kind, limit.direction) == (Kind.MINIMUM, Direction.BEFORE)
]
WITHIN_LIMITS = [
    limit for rules in PROCEDURE_TYPES.values() for limit in rules.limits if limit.kind is Kind.WITHIN
]
moments = st.datetimes(
    min_value=datetime.datetime(2024, 1, 1),  # noqa: DTZ001  # hypothesis bounds are naive by design
    max_value=datetime.datetime(2026, 10, 1),  # noqa: DTZ001
    timezones=st.just(LEGAL_TZ),
)
late_moments = st.datetimes(
    min_value=datetime.datetime(2024, 3, 1),  # noqa: DTZ001
    max_value=datetime.datetime(2026, 12, 31, 23, 59),  # noqa: DTZ001
    timezones=st.just(LEGAL_TZ),
)


@given(limit=st.sampled_from(TIMELINE_LIMITS), anchor=moments, like=moments)
def test_earliest_is_lawful_and_one_day_earlier_is_not(limit, anchor, like):
    # given
    calendar = calendar_load()

    # when
    earliest = limit_earliest(limit, anchor_at=anchor, like=like, calendar=calendar)

    # then
    assert earliest.time() == like.time()
    assert limit_met(limit, anchor_at=anchor, constrained_at=earliest, calendar=calendar)
    assert not limit_met(limit, anchor_at=anchor, constrained_at=earliest - ONE_DAY, calendar=calendar)


@given(
    key=st.sampled_from(
        ["works_open", "procurement_open", "competitive_negotiation", "competitive_consultation"]
    ),
    documents_from=moments,
    issue_days=st.integers(min_value=1, max_value=12),
    bid_days=st.integers(min_value=0, max_value=30),
)
def test_every_violation_gives_a_lawful_earliest_value(key, documents_from, issue_days, bid_days):
    # given
    calendar = calendar_load()
    rules = procedure_rules(key)
    until = documents_from + datetime.timedelta(days=issue_days)
    proposed = Timeline(documents_from, documents_from, until, until + datetime.timedelta(days=bid_days))

    # when
    violations = timeline_violations(rules, proposed, calendar=calendar)

    # then
    for violation in violations:
        limit = rules.limit(violation.limit_key)
        anchor = proposed.documents_from
        assert violation.short_by >= 1
        assert limit_met(limit, anchor_at=anchor, constrained_at=violation.earliest_legal, calendar=calendar)
        assert not limit_met(
            limit, anchor_at=anchor, constrained_at=violation.earliest_legal - ONE_DAY, calendar=calendar
        )
        field = "documents_until" if limit.key == "documents_available" else "bid_deadline"
        fixed = dataclasses.replace(proposed, **{field: violation.earliest_legal})
        try:
            still = timeline_violations(rules, fixed, calendar=calendar)
        except TimelineInvalid:  # moving the documents' end past the deadline: fix the deadline first
            continue
        assert violation.limit_key not in {v.limit_key for v in still}


@given(limit=st.sampled_from(BEFORE_LIMITS), deadline=late_moments)
def test_cutoff_is_the_exclusive_end_of_the_lawful_time(limit, deadline):
    # when
    cutoff = limit_cutoff(limit, anchor_at=deadline, calendar=calendar_load())

    # then
    assert cutoff.time() == datetime.time(0)
    assert cutoff < deadline
    assert limit_met(
        limit, anchor_at=deadline, constrained_at=cutoff - ONE_MICROSECOND, calendar=calendar_load()
    )
    assert not limit_met(limit, anchor_at=deadline, constrained_at=cutoff, calendar=calendar_load())


@given(
    key=st.sampled_from(sorted(PROCEDURE_TYPES)),
    amended_at=moments,
    days=st.integers(min_value=0, max_value=40),
)
def test_amendment_effect_never_moves_the_deadline_earlier_and_leaves_the_full_period(key, amended_at, days):
    # given
    calendar = calendar_load()
    rules = procedure_rules(key)
    deadline = amended_at + datetime.timedelta(days=days, hours=3)

    # when
    after = amendment_effect(rules, amended_at=amended_at, bid_deadline=deadline, calendar=calendar)

    # then
    assert after >= deadline
    assert after.astimezone(LEGAL_TZ).time() == deadline.astimezone(LEGAL_TZ).time()
    if (limit := rules.find_limit("amendment")) is not None:
        assert limit_met(limit, anchor_at=after, constrained_at=amended_at, calendar=calendar)
        if after != deadline:
            assert not limit_met(
                limit, anchor_at=after - ONE_DAY, constrained_at=amended_at, calendar=calendar
            )


@given(limit=st.sampled_from(WITHIN_LIMITS), anchor=moments)
def test_due_moment_ends_a_working_day_at_least_the_amount_after_the_anchor(limit, anchor):
    # given
    calendar = calendar_load()

    # when
    due = limit_due(limit, anchor_at=anchor, calendar=calendar)

    # then
    last_day = due.date() - ONE_DAY
    assert due.time() == datetime.time(0)
    assert (last_day - anchor.date()).days >= limit.amount
    assert calendar.is_working_day(last_day)  # every WITHIN limit rolls over rest days or counts working days
    assert limit_met(limit, anchor_at=anchor, constrained_at=due - ONE_MICROSECOND, calendar=calendar)
    assert not limit_met(limit, anchor_at=anchor, constrained_at=due, calendar=calendar)
