"""The working-day calendar: our data against chinesecalendar (the test oracle), counting, a missing year."""

from __future__ import annotations

import datetime
import json

import chinese_calendar  # type: ignore[import-untyped]  # ships no type hints; the oracle, tests only
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core.errors import DomainError
from tenderhall.procedures.calendar import (
    DATA_FILE,
    CalendarDataMissing,
    WorkingCalendar,
    calendar_from_data,
    calendar_load,
)

D = datetime.date
FIRST, LAST = D(2024, 1, 1), D(2026, 12, 31)
# Far enough inside the data that 40 working days either way stay in it.
dates_inside = st.dates(min_value=D(2024, 3, 1), max_value=D(2026, 10, 31))
counts = st.integers(min_value=-40, max_value=40)


def all_dates(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return calendar_load()


def test_every_date_of_2024_to_2026_agrees_with_chinesecalendar(calendar):
    # given every date of the three years
    dates = all_dates(FIRST, LAST)

    # when
    disagreements = [d for d in dates if calendar.is_working_day(d) != chinese_calendar.is_workday(d)]

    # then
    assert len(dates) == 1096
    assert disagreements == []


def test_make_up_working_days_are_exactly_the_weekend_days_chinesecalendar_calls_workdays(calendar):
    # when
    oracle = {d for d in all_dates(FIRST, LAST) if d.weekday() >= 5 and chinese_calendar.is_workday(d)}

    # then
    assert calendar.make_up_working_days == oracle
    assert len(oracle) == 19


def test_the_data_file_holds_a_version_and_the_three_years(calendar):
    # when
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))

    # then
    assert calendar.version == raw["version"] == "2026.1"
    assert calendar.years == frozenset({2024, 2025, 2026})
    assert sorted(raw["years"]) == ["2024", "2025", "2026"]


def test_calendar_load_reads_the_file_once(calendar):
    assert calendar_load() is calendar


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 10, 1), False),  # National Day, Thursday
        (D(2026, 10, 7), False),  # last day of the National Day break, Wednesday
        (D(2026, 10, 8), True),  # Thursday after the break
        (D(2026, 10, 10), True),  # Saturday make-up working day
        (D(2026, 10, 11), False),  # ordinary Sunday
        (D(2026, 2, 14), True),  # Saturday make-up working day before the Spring Festival
        (D(2026, 2, 16), False),  # 除夕, Monday
        (D(2026, 2, 23), False),  # last day of the Spring Festival break, Monday
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # Saturday make-up working day
        (D(2026, 1, 4), True),  # Sunday make-up working day after 元旦
        (D(2025, 10, 8), False),  # 2025: National Day and Mid-Autumn together, 8 days
        (D(2024, 2, 9), True),  # 2024: 除夕 was a working day
    ],
)
def test_known_days(calendar, day, working):
    assert calendar.is_working_day(day) is working
    assert calendar.is_rest_day(day) is not working


def test_holiday_periods_include_their_weekend_days_but_not_ordinary_weekends(calendar):
    assert calendar.is_holiday(D(2026, 10, 3)) is True  # Saturday inside National Day
    assert calendar.is_holiday(D(2026, 10, 11)) is False  # ordinary Sunday
    assert calendar.is_holiday(D(2026, 10, 10)) is False  # make-up working day


def test_five_working_days_from_2026_09_30_end_on_2026_10_13(calendar):
    # given the reference's worked example: 10-01..10-07 off, 10-10 a make-up Saturday, 10-11 a Sunday

    # when
    end = calendar.add_working_days(D(2026, 9, 30), 5)

    # then
    assert end == D(2026, 10, 13)
    assert end == chinese_calendar.find_workday(5, D(2026, 9, 30))
    assert calendar.working_days_between(D(2026, 9, 30), end) == 5


def test_counting_does_not_count_the_start_day(calendar):
    # given a working Monday
    monday = D(2026, 3, 2)

    # then
    assert calendar.add_working_days(monday, 1) == D(2026, 3, 3)
    assert calendar.add_working_days(monday, 0) == monday
    assert calendar.add_working_days(D(2026, 3, 7), 0) == D(2026, 3, 7)  # a Saturday stays itself
    assert calendar.next_working_day(D(2026, 3, 6)) == D(2026, 3, 9)  # Friday -> Monday


def test_counting_backwards(calendar):
    assert calendar.add_working_days(D(2026, 10, 13), -5) == D(2026, 9, 30)
    assert calendar.add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert calendar.working_days_between(D(2026, 10, 13), D(2026, 9, 30)) == -5


def test_spring_festival_2026_holds_four_working_days_in_two_weeks(calendar):
    # given 02-15..02-23 off, 02-14 a make-up Saturday
    # when
    held = calendar.working_days_between(D(2026, 2, 12), D(2026, 2, 26))

    # then: 02-13, 02-14, 02-24, 02-25, 02-26
    assert held == 5
    assert calendar.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_a_date_in_2027_raises_calendar_data_missing(calendar):
    # when
    with pytest.raises(CalendarDataMissing) as raised:
        calendar.is_working_day(D(2027, 1, 4))

    # then
    error = raised.value
    assert isinstance(error, DomainError)
    assert error.code == "calendar_data_missing"
    assert error.status == 422
    assert error.year == 2027
    assert "2027" in error.message
    assert "State Council holiday arrangement" in error.message
    assert error.details == {"year": 2027, "calendar_version": "2026.1"}


def test_counting_into_2027_raises_instead_of_guessing(calendar):
    with pytest.raises(CalendarDataMissing):
        calendar.add_working_days(D(2026, 12, 28), 5)
    with pytest.raises(CalendarDataMissing):
        calendar.is_holiday(D(2023, 12, 31))


def test_calendar_from_data_reads_a_minimal_year():
    # given
    data = {
        "version": "test.1",
        "years": {
            "2030": {
                "holidays": [{"name": "元旦", "first": "2030-01-01", "last": "2030-01-01"}],
                "make_up_working_days": ["2030-01-05"],
            }
        },
    }

    # when
    calendar = calendar_from_data(data)

    # then
    assert calendar.version == "test.1"
    assert calendar.years == frozenset({2030})
    assert calendar.is_working_day(D(2030, 1, 1)) is False  # Tuesday holiday
    assert calendar.is_working_day(D(2030, 1, 5)) is True  # Saturday make-up
    assert calendar.is_working_day(D(2030, 1, 6)) is False  # Sunday


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"years": {}}, "version"),
        ({"version": "x", "years": {"2030": {"make_up_working_days": ["2030-01-07"]}}}, "not a Saturday"),
        (
            {
                "version": "x",
                "years": {"2030": {"holidays": [{"first": "2030-01-03", "last": "2030-01-01"}]}},
            },
            "ends before it starts",
        ),
        ({"version": "x", "years": {"2030": {"make_up_working_days": ["2028-01-01"]}}}, "cannot be part"),
        (
            {
                "version": "x",
                "years": {
                    "2030": {
                        "holidays": [{"first": "2030-01-05", "last": "2030-01-06"}],
                        "make_up_working_days": ["2030-01-05"],
                    }
                },
            },
            "both holiday and make-up",
        ),
    ],
)
def test_calendar_from_data_refuses_inconsistent_data(data, message):
    with pytest.raises(ValueError, match=message):
        calendar_from_data(data)


@given(start=dates_inside, n=counts)
def test_add_working_days_lands_on_a_working_day_and_counts_back_to_n(start, n):
    # given
    calendar = calendar_load()

    # when
    end = calendar.add_working_days(start, n)

    # then
    assert calendar.working_days_between(start, end) == n
    if n != 0:
        assert calendar.is_working_day(end)
        assert (end > start) is (n > 0)


@given(start=dates_inside, n=st.integers(min_value=1, max_value=40))
def test_add_working_days_agrees_with_chinesecalendar_find_workday_from_a_working_day(start, n):
    # given a working day (from a rest day find_workday takes the next working day as its 0th)
    calendar = calendar_load()
    if calendar.is_rest_day(start):
        start = calendar.next_working_day(start)

    # then
    assert calendar.add_working_days(start, n) == chinese_calendar.find_workday(n, start)


@given(a=dates_inside, b=dates_inside)
def test_working_days_between_counts_the_days_after_a_up_to_b(a, b):
    # when
    between = calendar_load().working_days_between(a, b)

    # then
    if a <= b:
        expected = len(chinese_calendar.get_workdays(a + datetime.timedelta(days=1), b)) if a < b else 0
    else:
        expected = -len(chinese_calendar.get_workdays(b, a - datetime.timedelta(days=1)))
    assert between == expected


@given(day=dates_inside)
def test_next_working_day_is_the_first_working_day_after(day):
    calendar = calendar_load()
    following = calendar.next_working_day(day)
    assert following > day
    assert calendar.is_working_day(following)
    assert all(calendar.is_rest_day(d) for d in all_dates(day + datetime.timedelta(days=1), following)[:-1])
