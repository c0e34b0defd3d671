"""The audit trail and alert pages for operators and regulators."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.supervision.alerts import access_alerts, alert_acknowledge
from tenderhall.supervision.selectors import AuditFilter, access_audit_entries


def _day(raw: str) -> datetime | None:
    day = parse_date(raw) if raw else None
    return datetime.combine(day, datetime.min.time()).astimezone() if day else None


@login_required
def audit_view(request: HttpRequest) -> HttpResponse:
    viewer = request.user if isinstance(request.user, User) else None
    params = {
        key: request.GET.get(key, "").strip()
        for key in ("actor", "action", "subject_type", "subject_id", "since", "until", "before_id")
    }
    filters = AuditFilter(
        actor=params["actor"],
        action=params["action"],
        subject_type=params["subject_type"],
        subject_id=params["subject_id"],
        since=_day(params["since"]),
        until=_day(params["until"]),
        before_id=int(params["before_id"]) if params["before_id"].isdigit() else None,
    )
    try:
        entries = list(access_audit_entries(viewer=viewer, filters=filters, limit=50))
    except NotFound:
        return render(request, "404.html", status=404)
    older = entries[-1].pk if len(entries) == 50 else None
    return render(request, "supervision/audit.html", {"entries": entries, "params": params, "older": older})


@login_required
def alerts_view(request: HttpRequest) -> HttpResponse:
    """Alerts for operators and regulators; a POST acknowledges one (``alert`` in the form)."""
    viewer = request.user if isinstance(request.user, User) else None
    try:
        if request.method == "POST" and viewer is not None:
            raw = request.POST.get("alert", "")
            if raw.isdigit():
                alert_acknowledge(actor=viewer, alert_id=int(raw), now=clock.now())
            return redirect("supervision:alerts")
        open_only = request.GET.get("open") == "1"
        alerts = list(access_alerts(viewer=viewer, open_only=open_only, limit=100))
    except NotFound:
        return render(request, "404.html", status=404)
    return render(request, "supervision/alerts.html", {"alerts": alerts, "open_only": open_only})
