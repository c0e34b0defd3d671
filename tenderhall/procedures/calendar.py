"""The working-day calendar of mainland China, kept as data. Pure: no ORM, no clock.

Working days (工作日) depend on the State Council's yearly holiday arrangement: public holidays take
weekdays off and make-up working days (调休上班) turn some Saturdays and Sundays into working days. No rule
can predict an arrangement before the State Council publishes it (usually in November of the year before),
so the arrangements are data in ``data/calendar.json``, edited by the operator when a notice appears. A
date in a year without data raises :class:`CalendarDataMissing`: a working-day count is never guessed.

The last days of a year are final only once the next year's notice is loaded: a 元旦 break can reach back into
them (it did in 2018), so load each notice as soon as it appears.

A date is a working day if it is a make-up working day, or a Monday to Friday outside every holiday period.
Every other date is a rest day. Holiday periods are kept as published (with the weekend days they include), so
that :meth:`WorkingCalendar.is_holiday` can tell a statutory holiday from an ordinary weekend.

Counting follows 民法典 art. 201: the day a period starts on is not counted. Rules and the data format:
``docs/procedures-rules.md``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tenderhall.core.errors import DomainError

DATA_FILE = Path(__file__).parent / "data" / "calendar.json"
_ONE_DAY = datetime.timedelta(days=1)
_SATURDAY = 5


class CalendarDataMissing(DomainError):
    code = "calendar_data_missing"
    status = 422

    def __init__(self, year: int, *, version: str) -> None:
        super().__init__(
            f"There is no working-day calendar for {year}: the operator must load the State Council holiday "
            f"arrangement for {year} (holidays and make-up working days) before dates in {year} can be "
            "counted.",
            details={"year": year, "calendar_version": version},
        )
        self.year = year


@dataclass(frozen=True)
class WorkingCalendar:
    """Holidays and make-up working days of the years in ``years``; any other year is unknown."""

    version: str
    years: frozenset[int]
    holidays: frozenset[datetime.date]
    make_up_working_days: frozenset[datetime.date]

    def _require(self, day: datetime.date) -> None:
        if day.year not in self.years:
            raise CalendarDataMissing(day.year, version=self.version)

    def is_working_day(self, day: datetime.date) -> bool:
        self._require(day)
        if day in self.make_up_working_days:
            return True
        return day.weekday() < _SATURDAY and day not in self.holidays

    def is_rest_day(self, day: datetime.date) -> bool:
        return not self.is_working_day(day)

    def is_holiday(self, day: datetime.date) -> bool:
        """Whether the day lies in a published public-holiday period (法定节假日), weekend days included."""
        self._require(day)
        return day in self.holidays

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date:
        """The n-th working day after ``start`` (before it if n < 0); ``start`` itself is not counted.

        ``add_working_days(d, 0)`` is ``d``, working day or not.
        """
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        day, remaining = start, abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: datetime.date, b: datetime.date) -> int:
        """Working days after ``a`` up to and including ``b``; if b < a, minus those in ``b`` .. ``a`` - 1.

        The inverse of :meth:`add_working_days`: ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        if b < a:
            return -sum(1 for day in _days(b, a) if self.is_working_day(day))
        return sum(1 for day in _days(a + _ONE_DAY, b + _ONE_DAY) if self.is_working_day(day))

    def next_working_day(self, day: datetime.date) -> datetime.date:
        """The first working day after ``day`` (never ``day`` itself)."""
        return self.add_working_days(day, 1)


def _days(first: datetime.date, end: datetime.date) -> Iterable[datetime.date]:
    """Dates from ``first`` up to but not including ``end``."""
    day = first
    while day < end:
        yield day
        day += _ONE_DAY


def calendar_from_data(data: Mapping[str, Any]) -> WorkingCalendar:
    """Build a calendar from the structure of ``data/calendar.json``; a ValueError names what is wrong."""
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("calendar data needs a non-empty 'version' string")
    years: set[int] = set()
    holidays: set[datetime.date] = set()
    make_up: set[datetime.date] = set()
    for year_text, year_data in dict(data.get("years", {})).items():
        year = int(year_text)
        years.add(year)
        for period in year_data.get("holidays", []):
            first, last = _date(period["first"], year), _date(period["last"], year)
            if last < first:
                raise ValueError(f"holiday {period.get('name', '')!r} of {year} ends before it starts")
            holidays.update(_days(first, last + _ONE_DAY))
        for text in year_data.get("make_up_working_days", []):
            day = _date(text, year)
            if day.weekday() < _SATURDAY:
                raise ValueError(f"make-up working day {day} of {year} is not a Saturday or Sunday")
            make_up.add(day)
    if overlap := sorted(holidays & make_up):
        raise ValueError(f"dates both holiday and make-up working day: {', '.join(map(str, overlap))}")
    return WorkingCalendar(
        version=version,
        years=frozenset(years),
        holidays=frozenset(holidays),
        make_up_working_days=frozenset(make_up),
    )


def _date(text: str, year: int) -> datetime.date:
    day = datetime.date.fromisoformat(text)
    # A year's notice may reach back into the last days of the year before (the 元旦 break), never further.
    if day.year not in {year - 1, year}:
        raise ValueError(f"{day} cannot be part of the arrangement for {year}")
    return day


@cache
def calendar_load() -> WorkingCalendar:
    """The platform's calendar from ``data/calendar.json``, read once per process."""
    return calendar_from_data(json.loads(DATA_FILE.read_text(encoding="utf-8")))
