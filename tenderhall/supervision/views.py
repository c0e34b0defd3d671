"""The audit trail and alert pages for operators and regulators."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.supervision.alerts import access_alerts, alert_acknowledge
from tenderhall.supervision.selectors import AuditFilter, access_audit_entries

# What the date input and the pages' own links send. Only ASCII digits: str.isdigit and the regex \d also
# take '²', '２' or '٣', which int() refuses or reads as another number.
_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}")  # within a bigint column


def _day(raw: str) -> datetime | None:
    """The start of the day ``raw`` names (YYYY-MM-DD) in the server's time zone; None for none; ValueError
    for anything else, a day that does not exist (2026-02-30) included."""
    if not raw:
        return None
    match = _DAY.fullmatch(raw)
    if match is None:
        raise ValueError(raw)
    year, month, day = (int(part) for part in match.groups())
    start = datetime.combine(date(year, month, day), time.min).astimezone()  # ValueError: no such day
    try:
        start.astimezone(UTC)  # the query compares in UTC: 0001-01-01 east of Greenwich is not a moment
    except OverflowError as error:
        raise ValueError(raw) from error
    return start


def _row_id(raw: str) -> int | None:
    """The row number ``raw`` names; None for none; ValueError for anything else."""
    if not raw:
        return None
    if not _ROW_ID.fullmatch(raw):
        raise ValueError(raw)
    return int(raw)


@login_required
def audit_view(request: HttpRequest) -> HttpResponse:
    viewer = request.user if isinstance(request.user, User) else None
    params = {
        key: request.GET.get(key, "").strip()
        for key in ("actor", "action", "subject_type", "subject_id", "since", "until", "before_id")
    }
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {}
    for key in ("since", "until"):
        try:
            bounds[key] = _day(params[key])
        except ValueError:
            errors[key] = gettext("Give a day that exists, as YYYY-MM-DD, such as 2026-03-01.")
    try:
        before_id = _row_id(params["before_id"])
    except ValueError:
        before_id = None
        errors["before_id"] = gettext("Follow the link to older entries; it gives an entry number.")
    filters = AuditFilter(
        actor=params["actor"],
        action=params["action"],
        subject_type=params["subject_type"],
        subject_id=params["subject_id"],
        since=bounds.get("since"),
        until=bounds.get("until"),
        before_id=before_id,
    )
    try:
        entries = access_audit_entries(viewer=viewer, filters=filters, limit=50)
        listed = [] if errors else list(entries)
    except NotFound:
        return render(request, "404.html", status=404)
    older = listed[-1].pk if len(listed) == 50 else None
    return render(
        request,
        "supervision/audit.html",
        {"entries": listed, "params": params, "older": older, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
def alerts_view(request: HttpRequest) -> HttpResponse:
    """Alerts for operators and regulators; a POST acknowledges one (``alert`` in the form)."""
    viewer = request.user if isinstance(request.user, User) else None
    error = ""
    try:
        if request.method == "POST" and viewer is not None:
            try:
                alert_id = _row_id(request.POST.get("alert", ""))
            except ValueError:
                alert_id = None
                error = gettext("Acknowledge an alert with its button in the list.")
            if alert_id is not None:
                alert_acknowledge(actor=viewer, alert_id=alert_id, now=clock.now())
            if not error:
                return redirect("supervision:alerts")
        open_only = request.GET.get("open") == "1"
        alerts = list(access_alerts(viewer=viewer, open_only=open_only, limit=100))
    except NotFound:
        return render(request, "404.html", status=404)
    return render(
        request,
        "supervision/alerts.html",
        {"alerts": alerts, "open_only": open_only, "error": error},
        status=400 if error else 200,
    )
