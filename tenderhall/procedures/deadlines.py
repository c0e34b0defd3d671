"""The deadline engine: is a proposed timeline lawful, and when is an act due. Pure: no ORM, no clock.

Every function takes the procedure's rules (:mod:`tenderhall.procedures.rules`), a working calendar
(:mod:`tenderhall.procedures.calendar`) and aware datetimes, and counts per 民法典 arts. 201–203. How it reads
the law (``docs/procedures-rules.md`` gives the reasons; all need a legal sign-off):

* Days are Asia/Shanghai calendar dates, whatever the time zone of the datetimes passed in.
* A period is counted forward in time from the earlier of its two moments; that moment's day is not counted
  (art. 201) unless the limit says ``start_day_counts``. A period of N calendar days starting on day A has
  A + N as its last day; one of N working days has the N-th working day after A.
* The last day ends at 24:00 (art. 203), or at the limit's ``closes_at``. A due moment is returned as the
  exclusive end of the last day: 24:00 written as 00:00 of the next day. An act strictly before it is in time.
* Roll-over (art. 203): if the last day of a calendar-day period is a rest day, the period ends on the next
  day that is not; ``RollOver.REST_DAYS`` treats weekends as rest days, ``HOLIDAYS`` only published holiday
  periods, ``NONE`` does not roll over. A working-day period always ends on a working day.
* Minimum periods ("不得少于 N 日", "截止时间 N 日前") take the reading that gives bidders the longer time:
  where the period protects bidders (documents to bid deadline, issue periods, amendments) the day of the
  later moment does not count, so the period must have run in full before it, and the last day rolls over;
  where it limits bidders (objections to documents) the bid deadline's day counts and nothing rolls over, so
  objections may be raised as late as possible. Each limit carries these settings as data.
* Earliest lawful moments keep the proposed moment's time of day (Asia/Shanghai) on the earliest lawful date.
* A date in a year without calendar data raises ``CalendarDataMissing`` wherever the result depends on it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from tenderhall.core.errors import DomainError
from tenderhall.procedures.calendar import WorkingCalendar
from tenderhall.procedures.rules import Direction, Event, Kind, Limit, ProcedureRules, RollOver, Unit

LEGAL_TZ = ZoneInfo("Asia/Shanghai")
_ONE_DAY = datetime.timedelta(days=1)
_MIDNIGHT = datetime.time(0, 0)


@dataclass(frozen=True)
class Timeline:
    """The moments a tender proposes. On 竞争性谈判, 竞争性磋商, 询价 and 单一来源 the bid deadline is the
    (first-)response deadline. The prequalification moments are required exactly when the rules have
    prequalification."""

    notice_published_at: datetime.datetime
    documents_from: datetime.datetime
    documents_until: datetime.datetime
    bid_deadline: datetime.datetime
    prequalification_deadline: datetime.datetime | None = None
    prequalification_documents_from: datetime.datetime | None = None
    prequalification_documents_until: datetime.datetime | None = None


_TIMELINE_FIELDS: Mapping[Event, str] = {
    Event.NOTICE_PUBLISHED: "notice_published_at",
    Event.DOCUMENTS_FROM: "documents_from",
    Event.DOCUMENTS_UNTIL: "documents_until",
    Event.BID_DEADLINE: "bid_deadline",
    Event.PREQUALIFICATION_DOCUMENTS_FROM: "prequalification_documents_from",
    Event.PREQUALIFICATION_DOCUMENTS_UNTIL: "prequalification_documents_until",
    Event.PREQUALIFICATION_DEADLINE: "prequalification_deadline",
}
_PREQUALIFICATION_FIELDS = (
    "prequalification_documents_from",
    "prequalification_documents_until",
    "prequalification_deadline",
)
# (earlier, later, strictly): each pair must be in this order.
_ORDER = (
    ("notice_published_at", "documents_from", False),
    ("documents_from", "documents_until", True),
    ("documents_until", "bid_deadline", False),
)
_PREQUALIFICATION_ORDER = (
    ("notice_published_at", "prequalification_documents_from", False),
    ("prequalification_documents_from", "prequalification_documents_until", True),
    ("prequalification_documents_until", "prequalification_deadline", False),
    ("prequalification_deadline", "documents_from", False),
)


@dataclass(frozen=True)
class Violation:
    limit_key: str
    message: str
    short_by: int  # in the limit's unit
    earliest_legal: datetime.datetime  # earliest lawful value of the constrained moment, same time of day
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit_key": self.limit_key,
            "message": self.message,
            "short_by": self.short_by,
            "unit": self.unit,
            "earliest_legal": self.earliest_legal.isoformat(),
        }


class TimelineInvalid(DomainError):
    """The timeline is incomplete or out of order, before any limit is checked."""

    code = "timeline_invalid"
    status = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "The proposed timeline is not usable: " + " ".join(problems), details={"problems": problems}
        )
        self.problems = problems


class TimelineUnlawful(DomainError):
    """The timeline breaks statutory limits; the details say which, by how much, and what would be lawful."""

    code = "timeline_unlawful"
    status = 422

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(
            " ".join(v.message for v in violations), details={"violations": [v.as_dict() for v in violations]}
        )
        self.violations = violations


# --- counting ----------------------------------------------------------------------------------------------


def local_date(moment: datetime.datetime) -> datetime.date:
    """The Asia/Shanghai calendar date of an aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: the deadline engine needs aware datetimes")
    return moment.astimezone(LEGAL_TZ).date()


def _at(day: datetime.date, time_of_day: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, time_of_day, tzinfo=LEGAL_TZ)


def _time_of_day(moment: datetime.datetime) -> datetime.time:
    return moment.astimezone(LEGAL_TZ).time()


def _roll_over(mode: RollOver, day: datetime.date, calendar: WorkingCalendar) -> datetime.date:
    if mode is RollOver.REST_DAYS:
        while calendar.is_rest_day(day):
            day += _ONE_DAY
    elif mode is RollOver.HOLIDAYS:
        while calendar.is_holiday(day):
            day += _ONE_DAY
    return day


def period_last_day(limit: Limit, start: datetime.date, calendar: WorkingCalendar) -> datetime.date:
    """The last day of the limit's period counted from ``start``, the date of the earlier moment."""
    origin = start - _ONE_DAY if limit.start_day_counts else start
    if limit.unit is Unit.WORKING_DAYS:
        return calendar.add_working_days(origin, limit.amount)
    return _roll_over(limit.roll_over, origin + datetime.timedelta(days=limit.amount), calendar)


def _earliest_later_date(limit: Limit, earlier: datetime.date, calendar: WorkingCalendar) -> datetime.date:
    last = period_last_day(limit, earlier, calendar)
    return last if limit.end_day_counts else last + _ONE_DAY


def _minimum_met(
    limit: Limit, earlier: datetime.date, later: datetime.date, calendar: WorkingCalendar
) -> bool:
    return later >= _earliest_later_date(limit, earlier, calendar)


def _latest_earlier_date(limit: Limit, later: datetime.date, calendar: WorkingCalendar) -> datetime.date:
    """The last date on which the earlier moment still leaves the full period before ``later``.

    The period's last day never moves back when its start moves forward, so a walk from a guess finds it.
    """
    day = later - datetime.timedelta(days=limit.amount)
    while not _minimum_met(limit, day, later, calendar):
        day -= _ONE_DAY
    while _minimum_met(limit, day + _ONE_DAY, later, calendar):
        day += _ONE_DAY
    return day


def _require(limit: Limit, kind: Kind, direction: Direction) -> None:
    if limit.kind is not kind or limit.direction is not direction:
        raise ValueError(f"limit {limit.key} is {limit.kind} {limit.direction}, not {kind} {direction}")


# --- any limit ---------------------------------------------------------------------------------------------


def limit_earliest(
    limit: Limit, *, anchor_at: datetime.datetime, like: datetime.datetime, calendar: WorkingCalendar
) -> datetime.datetime:
    """MINIMUM limits after their anchor: the earliest lawful constrained moment at ``like``'s time of day."""
    _require(limit, Kind.MINIMUM, Direction.AFTER)
    return _at(_earliest_later_date(limit, local_date(anchor_at), calendar), _time_of_day(like))


def limit_cutoff(
    limit: Limit, *, anchor_at: datetime.datetime, calendar: WorkingCalendar
) -> datetime.datetime:
    """MINIMUM limits before their anchor: the exclusive end of the time in which the act is lawful."""
    _require(limit, Kind.MINIMUM, Direction.BEFORE)
    return _at(_latest_earlier_date(limit, local_date(anchor_at), calendar) + _ONE_DAY, _MIDNIGHT)


def limit_due(
    limit: Limit, *, anchor_at: datetime.datetime, calendar: WorkingCalendar, excluded_days: int = 0
) -> datetime.datetime:
    """WITHIN limits: the exclusive end of the time allowed, moved by ``excluded_days`` calendar days."""
    _require(limit, Kind.WITHIN, Direction.AFTER)
    if excluded_days < 0:
        raise ValueError("excluded_days cannot be negative")
    last = period_last_day(limit, local_date(anchor_at) + datetime.timedelta(days=excluded_days), calendar)
    if limit.closes_at is not None:
        return _at(last, limit.closes_at)
    return _at(last + _ONE_DAY, _MIDNIGHT)


def limit_met(
    limit: Limit,
    *,
    anchor_at: datetime.datetime,
    constrained_at: datetime.datetime,
    calendar: WorkingCalendar,
) -> bool:
    """Whether the constrained moment keeps the limit, given its anchor."""
    if limit.kind is Kind.WITHIN:
        return constrained_at < limit_due(limit, anchor_at=anchor_at, calendar=calendar)
    if limit.direction is Direction.AFTER:
        return _minimum_met(limit, local_date(anchor_at), local_date(constrained_at), calendar)
    return _minimum_met(limit, local_date(constrained_at), local_date(anchor_at), calendar)


def deadline_after_amendment(
    limit: Limit, *, amended_at: datetime.datetime, deadline: datetime.datetime, calendar: WorkingCalendar
) -> datetime.datetime:
    """The deadline after an amendment: unchanged if the amendment leaves the full period, else the earliest
    lawful date at the deadline's time of day."""
    _require(limit, Kind.MINIMUM, Direction.BEFORE)
    if _minimum_met(limit, local_date(amended_at), local_date(deadline), calendar):
        return deadline
    return _at(_earliest_later_date(limit, local_date(amended_at), calendar), _time_of_day(deadline))


# --- the procedure's limits --------------------------------------------------------------------------------


def timeline_violations(
    rules: ProcedureRules, timeline: Timeline, *, calendar: WorkingCalendar
) -> list[Violation]:
    """Every limit of the rules that the timeline breaks, in the rules' order; empty if it is lawful.

    Raises TimelineInvalid if the timeline is incomplete or out of order.
    """
    _check_shape(rules, timeline)
    violations = []
    for limit in rules.timeline_limits:
        _require(limit, Kind.MINIMUM, Direction.AFTER)
        anchor_at = getattr(timeline, _TIMELINE_FIELDS[limit.anchor])
        proposed_at = getattr(timeline, _TIMELINE_FIELDS[limit.constrained])
        if _minimum_met(limit, local_date(anchor_at), local_date(proposed_at), calendar):
            continue
        earliest = limit_earliest(limit, anchor_at=anchor_at, like=proposed_at, calendar=calendar)
        short_by = _short_by(
            limit, local_date(anchor_at), local_date(proposed_at), local_date(earliest), calendar
        )
        violations.append(
            Violation(
                limit_key=limit.key,
                message=(
                    f"{limit.rule} ({limit.source}): the proposed {limit.constrains} is "
                    f"{_days(short_by, limit.unit)} short; the earliest lawful {limit.constrains} is "
                    f"{earliest:%Y-%m-%d %H:%M} (Asia/Shanghai)."
                ),
                short_by=short_by,
                earliest_legal=earliest,
                unit=limit.unit.value,
            )
        )
    return violations


def timeline_check(rules: ProcedureRules, timeline: Timeline, *, calendar: WorkingCalendar) -> None:
    """Raise TimelineUnlawful (or TimelineInvalid) unless the timeline keeps every limit."""
    if violations := timeline_violations(rules, timeline, calendar=calendar):
        raise TimelineUnlawful(violations)


def amendment_effect(
    rules: ProcedureRules,
    *,
    amended_at: datetime.datetime,
    bid_deadline: datetime.datetime,
    calendar: WorkingCalendar,
) -> datetime.datetime:
    """The bid deadline after an amendment that may affect bid preparation; unchanged without a limit."""
    limit = rules.find_limit("amendment")
    if limit is None:
        return bid_deadline
    return deadline_after_amendment(limit, amended_at=amended_at, deadline=bid_deadline, calendar=calendar)


def objection_cutoff(
    rules: ProcedureRules,
    *,
    bid_deadline: datetime.datetime,
    calendar: WorkingCalendar,
    grounds_known_at: datetime.datetime | None = None,
) -> datetime.datetime:
    """The exclusive end of the time for objecting to the documents (异议, 质疑).

    On the works track it is counted back from the bid deadline. On the procurement track a challenge is due
    within its period after the supplier knew of the harm (for the documents: obtained them, or their notice
    period ended), which the caller passes as ``grounds_known_at``.
    """
    limit = rules.limit("objection")
    if limit.kind is Kind.MINIMUM:
        return limit_cutoff(limit, anchor_at=bid_deadline, calendar=calendar)
    if grounds_known_at is None:
        raise ValueError(f"{rules.key}: a challenge runs from when the harm was known; pass grounds_known_at")
    return limit_due(limit, anchor_at=grounds_known_at, calendar=calendar)


def objection_answer_due(
    rules: ProcedureRules, *, raised_at: datetime.datetime, calendar: WorkingCalendar
) -> datetime.datetime:
    """The exclusive end of the time for answering an objection (challenge) raised at ``raised_at``."""
    return limit_due(rules.limit("objection_answer"), anchor_at=raised_at, calendar=calendar)


def complaint_deadline(
    rules: ProcedureRules, *, known_at: datetime.datetime, calendar: WorkingCalendar, excluded_days: int = 0
) -> datetime.datetime:
    """The exclusive end of the time for a complaint (投诉) to the regulator.

    ``known_at`` is the limit's anchor: on the works track when the complainant knew or had to know of the
    grounds (``excluded_days``: the objection's answer period, which is not counted); on the procurement track
    the end of the challenge's answer period.
    """
    return limit_due(
        rules.limit("complaint"), anchor_at=known_at, calendar=calendar, excluded_days=excluded_days
    )


# --- helpers -----------------------------------------------------------------------------------------------


def _check_shape(rules: ProcedureRules, timeline: Timeline) -> None:
    problems = []
    for name in _TIMELINE_FIELDS.values():
        value = getattr(timeline, name)
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            problems.append(f"{name} has no time zone.")
    given = [name for name in _PREQUALIFICATION_FIELDS if getattr(timeline, name) is not None]
    if rules.prequalification and len(given) < len(_PREQUALIFICATION_FIELDS):
        missing = [name for name in _PREQUALIFICATION_FIELDS if name not in given]
        problems.append(f"{rules.key} has prequalification: set {', '.join(missing)}.")
    if not rules.prequalification and given:
        problems.append(f"{rules.key} has no prequalification: leave {', '.join(given)} empty.")
    if problems:
        raise TimelineInvalid(problems)
    order = _ORDER + (_PREQUALIFICATION_ORDER if rules.prequalification else ())
    for earlier, later, strictly in order:
        first, second = getattr(timeline, earlier), getattr(timeline, later)
        if second < first or (strictly and second == first):
            problems.append(f"{later} must be {'after' if strictly else 'no earlier than'} {earlier}.")
    if problems:
        raise TimelineInvalid(problems)


def _short_by(
    limit: Limit,
    anchor: datetime.date,
    proposed: datetime.date,
    earliest: datetime.date,
    calendar: WorkingCalendar,
) -> int:
    """How many days (in the limit's unit) the proposed date falls short.

    Calendar days: the days it must move, roll-over included. Working days: the amount less the working days
    the period actually holds before (or, if ``end_day_counts``, up to) the proposed date.
    """
    if limit.unit is Unit.CALENDAR_DAYS:
        return (earliest - proposed).days
    first = anchor if limit.start_day_counts else anchor + _ONE_DAY
    last = proposed if limit.end_day_counts else proposed - _ONE_DAY
    held = calendar.working_days_between(first - _ONE_DAY, last) if last >= first else 0
    return limit.amount - held


def _days(n: int, unit: Unit) -> str:
    words = unit.words
    return f"{n} {words[:-1] if n == 1 else words}"
