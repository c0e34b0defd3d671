"""The expert pool (评标专家库): import from CSV with a report of every bad row, and availability.

The CSV (UTF-8, a header row, comma-separated) has these columns; the order is free, unknown columns are an
error so that a typo does not silently drop data:

``code, full_name, username, specialties, region_code, employer_identifier, employer_name,
former_employers, conflicts, title, years, available, credit``

* ``code`` — the expert's public pseudonym (letters, digits and ``-``, at most 20); a known code updates the
  expert, a new one adds them;
* ``username`` — the platform account the expert signs in with (optional; it gets the expert role);
* ``specialties``, ``former_employers``, ``conflicts`` — lists separated by ``;`` (category codes, and
  unified social credit codes of employers of the last three years and of entities with a declared conflict);
* ``available`` — ``1``/``0`` (also ``yes``/``no``, ``true``/``false``); ``credit`` 0–100 (default 100).

The import is all or nothing: one bad row and nothing is written; the error lists every bad row with its line
number, column and what to fix.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.accounts.selectors import user_has_role
from tenderhall.accounts.services import role_grant_unchecked
from tenderhall.core.audit import audit_record
from tenderhall.core.codes import check_region_code, normalize
from tenderhall.core.errors import InvalidInput, PermissionDenied
from tenderhall.evaluation.models import Expert

COLUMNS = (
    "code",
    "full_name",
    "username",
    "specialties",
    "region_code",
    "employer_identifier",
    "employer_name",
    "former_employers",
    "conflicts",
    "title",
    "years",
    "available",
    "credit",
)
REQUIRED = ("code", "full_name", "specialties", "region_code", "title")
CODED = ("specialties", "region_code", "employer_identifier", "former_employers", "conflicts")
MAX_ROWS = 20_000
_CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_SPECIALTY = re.compile(r"^[A-Z][0-9A-Z]{0,11}$")
_IDENTIFIER = re.compile(r"^[0-9A-Z]{15,32}$")
_TRUE = {"1", "yes", "true", "y", "是"}
_FALSE = {"0", "no", "false", "n", "否"}


class ImportRejected(InvalidInput):
    code = "expert_import_rejected"


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _row(  # noqa: PLR0912  # one branch per column check, read top to bottom
    line: int, raw: dict[str, str], users: dict[str, User]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []

    def bad(column: str, message: str) -> None:
        problems.append({"line": line, "column": column, "message": message})

    row = {key: (raw.get(key) or "").strip() for key in COLUMNS}
    for column in CODED:  # checked and stored in the one form the draw compares (full-width typing as ASCII)
        row[column] = normalize(row[column])
    for column in REQUIRED:
        if not row[column]:
            bad(column, gettext("Fill in %(column)s.") % {"column": column})
    if row["code"] and not _CODE.match(row["code"]):
        bad("code", gettext("Use 1 to 20 letters, digits or '-'."))
    specialties = _list(row["specialties"])
    for specialty in specialties:
        if not _SPECIALTY.match(specialty):
            bad("specialties", gettext("%(code)s is not a category code (e.g. A0101).") % {"code": specialty})
    if row["region_code"] and not check_region_code(row["region_code"]).valid:
        bad("region_code", gettext("%(code)s is not a region code.") % {"code": row["region_code"]})
    identifiers: dict[str, list[str]] = {
        "employer_identifier": [row["employer_identifier"]] if row["employer_identifier"] else [],
        "former_employers": _list(row["former_employers"]),
        "conflicts": _list(row["conflicts"]),
    }
    for column, listed in identifiers.items():
        for value in listed:
            if not _IDENTIFIER.match(value.upper()):
                bad(column, gettext("%(value)s is not a unified social credit code.") % {"value": value})
    user = None
    if row["username"]:
        user = users.get(row["username"])
        if user is None:
            bad("username", gettext("No account %(name)s; register it first.") % {"name": row["username"]})
    years = 0
    if row["years"]:
        if not (row["years"].isascii() and row["years"].isdigit()) or int(row["years"]) > 80:  # not "²"
            bad("years", gettext("Give the years of practice as a whole number."))
        else:
            years = int(row["years"])
    available = True
    if row["available"]:
        if row["available"].lower() in _TRUE:
            available = True
        elif row["available"].lower() in _FALSE:
            available = False
        else:
            bad("available", gettext("Write 1 or 0."))
    credit = 100
    if row["credit"]:
        if not (row["credit"].isascii() and row["credit"].isdigit()) or int(row["credit"]) > 100:
            bad("credit", gettext("Give a credit score from 0 to 100."))
        else:
            credit = int(row["credit"])
    values: dict[str, Any] = {
        "code": row["code"],
        "user": user,
        "full_name": row["full_name"],
        "specialties": specialties,
        "region_code": row["region_code"],
        "employer_identifier": row["employer_identifier"].upper(),
        "employer_name": row["employer_name"],
        "former_employers": [v.upper() for v in identifiers["former_employers"]],
        "conflicts": [v.upper() for v in identifiers["conflicts"]],
        "title": row["title"],
        "years": years,
        "available": available,
        "credit": credit,
    }
    return values, problems


def expert_import_csv(
    *, actor: User, data: bytes, now: datetime
) -> ImportResult:  # header, rows, accounts, write
    """Add or update the pool's experts from a CSV (see the module docstring); operators only."""
    if not user_has_role(actor, Role.OPERATOR):
        raise PermissionDenied(gettext("Only the trading centre's operators maintain the expert pool."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            gettext("The file is not UTF-8 text (byte %(at)s); save the CSV as UTF-8.") % {"at": error.start},
            details={"rows": []},
        ) from error
    try:
        return _import_rows(actor=actor, reader=csv.DictReader(io.StringIO(text)), now=now)
    except csv.Error as error:
        raise ImportRejected(
            gettext("The file is not readable as CSV (%(error)s); check its quotes and save it again.")
            % {"error": error},
            details={"rows": []},
        ) from error


def _import_rows(
    *, actor: User, reader: csv.DictReader[str], now: datetime
) -> ImportResult:  # header, rows, accounts, write
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = sorted(set(header) - set(COLUMNS))
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        raise ImportRejected(
            gettext(
                "The header must name the columns %(columns)s; unknown: %(unknown)s; missing: %(missing)s."
            )
            % {
                "columns": ", ".join(COLUMNS),
                "unknown": ", ".join(unknown) or "—",
                "missing": ", ".join(missing) or "—",
            },
            details={"rows": [], "unknown": unknown, "missing": missing},
        )
    reader.fieldnames = header
    raws = list(reader)
    if not raws or len(raws) > MAX_ROWS:
        raise ImportRejected(
            gettext("Send 1 to %(max)s experts in one file.") % {"max": MAX_ROWS}, details={"rows": []}
        )
    usernames = {(r.get("username") or "").strip() for r in raws} - {""}
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    rows: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raws, start=2):  # line 1 is the header
        values, row_problems = _row(index, raw, users)
        if values["code"] in seen:
            row_problems.append(
                {
                    "line": index,
                    "column": "code",
                    "message": gettext("The code is already on line %(line)s.")
                    % {"line": seen[values["code"]]},
                }
            )
        seen.setdefault(values["code"], index)
        problems.extend(row_problems)
        rows.append(values)
    taken = dict(
        Expert.objects.filter(user__in=[r["user"] for r in rows if r["user"]]).values_list("user_id", "code")
    )
    for index, values in enumerate(rows, start=2):
        user = values["user"]
        if user is not None and taken.get(user.pk, values["code"]) != values["code"]:
            problems.append(
                {
                    "line": index,
                    "column": "username",
                    "message": gettext("The account is already the expert %(code)s.")
                    % {"code": taken[user.pk]},
                }
            )
    if problems:
        raise ImportRejected(
            gettext("%(count)s problems in the file, nothing was imported; see details.")
            % {"count": len(problems)},
            details={"rows": problems},
        )
    created = updated = 0
    accounts = [values["user"] for values in rows if values["user"] is not None]
    with transaction.atomic():
        existing = {e.code: e for e in Expert.objects.select_for_update(of=("self",)).filter(code__in=seen)}
        # the accounts that hold the expert role already, read once for the whole file
        experts = set(
            RoleGrant.objects.filter(user__in=accounts, role=Role.EXPERT).values_list("user_id", flat=True)
        )
        for values in rows:
            expert = existing.get(values["code"])
            if expert is None:
                Expert.objects.create(**values, updated_at=now)
                created += 1
            else:
                for key, value in values.items():
                    setattr(expert, key, value)
                expert.updated_at = now
                expert.save()
                updated += 1
            user = values["user"]
            if user is not None and user.pk not in experts:
                role_grant_unchecked(user=user, role=Role.EXPERT, entity_id=None, granted_by=actor, now=now)
                experts.add(user.pk)
        audit_record(
            actor=actor,
            action="evaluation:expert:imported",
            subject_type="expert_pool",
            subject_id="pool",
            at=now,
            changes={"created": [None, created], "updated": [None, updated]},
        )
    return ImportResult(created=created, updated=updated)
