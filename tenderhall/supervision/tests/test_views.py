"""The audit and alert pages: a filter or a form value that is not what the page offers gets an answer that
says which one and why, never a server error (dates that do not exist, digits that are not 0-9)."""

from __future__ import annotations

import pytest
from django.test import Client

from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.tests.factories import bearer, make_user
from tenderhall.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def regulator() -> Client:
    browser = Client()
    browser.force_login(make_user(role=Role.REGULATOR))
    return browser


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-02-30"}, "since"),  # no such day
        ({"until": "2026-13-01"}, "until"),
        ({"since": "２０２６-０３-０１"}, "since"),  # full-width digits
        ({"until": "2026-0٣-01"}, "until"),  # an Arabic-Indic digit
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01"}, "since"),  # its start in the server's zone is before UTC's first moment
        ({"before_id": "²"}, "before_id"),  # str.isdigit says yes, int() says no
        ({"before_id": "９"}, "before_id"),
        ({"before_id": "9" * 30}, "before_id"),
    ],
)
def test_a_filter_that_is_not_a_date_or_a_number_is_a_400_naming_it(query: dict[str, str], field: str):
    # given a regulator on the audit page
    browser = regulator()
    # when the filter holds something other than a real day (YYYY-MM-DD) or an entry number
    response = browser.get("/audit/", query)
    # then the page says which filter and what to give, and lists nothing
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="{field}"' in html
    assert 'id="audit"' not in html


def test_real_days_filter_the_audit_page_from_since_until_the_day_before_until():
    # given a regulator registered on 2026-03-02 at 17:30 in Beijing (the audit's only entries)
    browser = regulator()
    entries = AuditEntry.objects.count()
    # when filtering on that day, one-digit month and day included, and on the day after
    that_day = browser.get("/audit/", {"since": "2026-3-2", "until": "2026-03-03", "before_id": str(10**17)})
    day_after = browser.get("/audit/", {"since": "2026-03-03"})
    # then the first lists every entry, the second none
    assert (that_day.status_code, day_after.status_code) == (200, 200)
    assert that_day.content.decode().count("<tr><td>2026-03-02 17:30:00</td>") == entries > 0
    assert "<tr><td>2026" not in day_after.content.decode()


def test_acknowledging_an_alert_whose_number_is_not_ascii_digits_acknowledges_nothing():
    browser = regulator()
    before = AuditEntry.objects.count()
    for raw in ("²", "٣", "9" * 30):
        response = browser.post("/audit/alerts/", {"alert": raw})
        assert (raw, response.status_code) == (raw, 400)
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "0001-01-01T00:00:00"}, "since"),  # in the server's zone, before UTC's first moment
        ({"until": "9999-12-31T23:59:59-12:00"}, "until"),  # after its last
    ],
)
def test_the_audit_api_refuses_a_moment_utc_cannot_hold_naming_it(query: dict[str, str], field: str):
    user = make_user(role=Role.REGULATOR)
    response = Client().get("/api/v1/audit/entries", query, headers=bearer(user, Scope.AUDIT_READ))
    assert (response.status_code, response.json()["code"]) == (422, "invalid_input")
    assert list(response.json()["details"]["fields"]) == [field]


def test_the_audit_api_takes_an_entry_number_past_the_column_as_no_bound():
    user = make_user(role=Role.REGULATOR)
    response = Client().get(
        "/api/v1/audit/entries", {"before_id": "9" * 30}, headers=bearer(user, Scope.AUDIT_READ)
    )
    assert response.status_code == 200
