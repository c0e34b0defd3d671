"""Alerts over the API, for operators and regulators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core import clock
from tenderhall.supervision.alerts import access_alerts, alert_acknowledge
from tenderhall.supervision.models import Alert

router = Router(tags=["alerts"])


class AlertOut(Schema):
    id: int
    kind: str
    key: str  # names the occurrence: one alert per key
    subject_type: str
    subject_id: str
    message: str
    data: dict[str, Any]
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.pk,
        kind=a.kind,
        key=a.key,
        subject_type=a.subject_type,
        subject_id=a.subject_id,
        message=a.message,
        data=a.data,
        raised_at=a.raised_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by.username if a.acknowledged_by else None,
    )


@router.get(
    "/alerts", response=list[AlertOut], operation_id="alert_list", auth=authenticated(Scope.AUDIT_READ)
)
def alert_list(
    request: HttpRequest, open_only: bool = False, before_id: int | None = None, limit: int = 50
) -> list[AlertOut]:
    """Alerts newest first; ``open_only``: those nobody acknowledged yet; ``before_id`` pages on."""
    alerts = access_alerts(
        viewer=request_user(request), open_only=open_only, before_id=before_id, limit=limit
    )
    return [alert_out(a) for a in alerts]


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response=AlertOut,
    operation_id="alert_acknowledge",
    auth=authenticated(Scope.AUDIT_READ),
)
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> AlertOut:
    return alert_out(alert_acknowledge(actor=request_user(request), alert_id=alert_id, now=clock.now()))
