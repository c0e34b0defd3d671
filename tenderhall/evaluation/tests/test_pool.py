"""The expert pool's CSV import: all or nothing, with every bad row named."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.errors import PermissionDenied
from tenderhall.evaluation import pool
from tenderhall.evaluation.models import Expert
from tenderhall.evaluation.tests.support import NOW, expert_csv
from tenderhall.registry.tests.factories import make_operator, uscc

pytestmark = pytest.mark.django_db


def test_an_import_adds_experts_grants_the_role_and_a_second_import_updates_them():
    # given an operator and an expert's account
    operator = make_operator()
    account = make_user(now=NOW)
    row = {
        "code": "E0001",
        "full_name": "李工",
        "username": account.username,
        "specialties": "A0101; A0203",
        "region_code": "420100",
        "employer_identifier": uscc(1),
        "former_employers": f"{uscc(2)};{uscc(3)}",
        "title": "高级工程师",
        "years": "15",
        "available": "1",
        "credit": "95",
    }
    # when
    result = pool.expert_import_csv(
        actor=operator, data=expert_csv([row, {**row, "code": "E0002", "username": ""}]), now=NOW
    )
    # then
    assert (result.created, result.updated) == (2, 0)
    expert = Expert.objects.get(code="E0001")
    assert (expert.user, expert.specialties, expert.former_employers, expert.credit) == (
        account,
        ["A0101", "A0203"],
        [uscc(2), uscc(3)],
        95,
    )
    assert RoleGrant.objects.filter(user=account, role=Role.EXPERT).count() == 1
    # when the same code comes again with other data
    again = pool.expert_import_csv(actor=operator, data=expert_csv([{**row, "available": "0"}]), now=NOW)
    assert (again.created, again.updated) == (0, 1)
    assert Expert.objects.get(code="E0001").available is False
    assert RoleGrant.objects.filter(user=account, role=Role.EXPERT).count() == 1


def test_bad_rows_are_all_reported_with_line_and_column_and_nothing_is_written():
    operator = make_operator()
    good = {
        "code": "E0100",
        "full_name": "王工",
        "specialties": "A01",
        "region_code": "420100",
        "title": "高工",
    }
    rows = [
        good,
        {**good, "code": "E0101", "specialties": "a-01", "region_code": "999999"},
        {**good, "code": "E0100"},
        {**good, "code": "E0102", "username": "nobody", "credit": "101", "available": "maybe"},
        {**good, "code": "", "full_name": ""},
    ]
    with pytest.raises(pool.ImportRejected) as raised:
        pool.expert_import_csv(actor=operator, data=expert_csv(rows), now=NOW)
    problems = [(p["line"], p["column"]) for p in raised.value.details["rows"]]
    assert problems == [
        (3, "specialties"),
        (3, "region_code"),
        (4, "code"),
        (5, "username"),
        (5, "available"),
        (5, "credit"),
        (6, "code"),
        (6, "full_name"),
    ]
    assert raised.value.code == "expert_import_rejected"
    assert Expert.objects.count() == 0


def test_an_unknown_column_or_a_missing_one_is_refused_before_any_row():
    operator = make_operator()
    with pytest.raises(pool.ImportRejected) as raised:
        pool.expert_import_csv(actor=operator, data=b"code,full_name,colour\nE1,x,red\n", now=NOW)
    assert raised.value.details["unknown"] == ["colour"]
    assert raised.value.details["missing"] == ["specialties", "region_code", "title"]


def test_only_operators_import():
    with pytest.raises(PermissionDenied):
        pool.expert_import_csv(actor=make_user(now=NOW), data=b"", now=NOW)
    with pytest.raises(pool.ImportRejected, match="UTF-8"):
        pool.expert_import_csv(actor=make_operator(), data=b"\xff\xfe", now=NOW)


@pytest.mark.django_db
def test_a_file_the_csv_reader_cannot_read_is_refused_with_what_to_do():
    operator = make_operator()
    header = ",".join(pool.COLUMNS).encode()
    broken = header + b'\n"' + b"x" * 200_000  # an unclosed quote: a field beyond the reader's limit
    with pytest.raises(pool.ImportRejected, match="not readable as CSV") as raised:
        pool.expert_import_csv(actor=operator, data=broken, now=NOW)
    assert raised.value.details == {"rows": []}
    assert Expert.objects.count() == 0


def role_checks(operator: User, rows: list[dict[str, str]]) -> int:
    """The reads of role grants an import makes."""
    with CaptureQueriesContext(connection) as captured:
        pool.expert_import_csv(actor=operator, data=expert_csv(rows), now=NOW)
    return sum(
        "rolegrant" in query["sql"].lower() and query["sql"].lstrip().upper().startswith("SELECT")
        for query in captured.captured_queries
    )


def test_an_import_checks_the_accounts_roles_in_one_query_whatever_the_number_of_rows():
    # given an operator and files of 2 and of 5 experts with accounts, half of which hold the role already
    operator = make_operator()
    files = []
    for size in (2, 5):
        rows = []
        for _ in range(size):
            account = make_user(now=NOW)
            code = f"E{account.pk:05d}"
            rows.append(
                {"code": code, "full_name": "李工", "username": account.username, "specialties": "A01"}
                | {"region_code": "420100", "title": "高级工程师"}
            )
        files.append(rows)
    pool.expert_import_csv(actor=operator, data=expert_csv(files[0][:1] + files[1][:2]), now=NOW)
    # when both files are imported
    checks = [role_checks(operator, rows) for rows in files]
    # then each reads the role grants twice: the operator's role, and every account's expert role at once
    assert checks == [2, 2]
    # and every account holds the expert role once
    accounts = [row["username"] for rows in files for row in rows]
    assert sorted(
        RoleGrant.objects.filter(role=Role.EXPERT, user__username__in=accounts).values_list(
            "user__username", flat=True
        )
    ) == sorted(accounts)
    assert Expert.objects.filter(user__username__in=accounts).count() == 7


def test_codes_typed_in_full_width_are_stored_as_ascii_and_digits_must_be_ascii():
    # given: one row with full-width codes (an input method left in full-width mode), one with '²' years
    operator = make_operator()
    good = {
        "code": "E0200",
        "full_name": "李工",
        "specialties": "Ａ01",
        "region_code": "４２0100",
        "title": "高工",
    }
    employer = "91420100MA4K1234XY"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in employer)
    pool.expert_import_csv(
        actor=operator, data=expert_csv([{**good, "employer_identifier": full_width}]), now=NOW
    )
    # then: stored in the form the draw's avoidance compares
    stored = Expert.objects.get()
    assert (stored.region_code, stored.specialties, stored.employer_identifier) == (
        "420100",
        ["A01"],
        employer,
    )
    # and a superscript digit is a row error, not a crash
    with pytest.raises(pool.ImportRejected) as raised:
        pool.expert_import_csv(
            actor=operator,
            data=expert_csv([{**good, "code": "E0201", "years": "²", "credit": "９"}]),
            now=NOW,
        )
    assert [(p["line"], p["column"]) for p in raised.value.details["rows"]] == [(2, "years"), (2, "credit")]
