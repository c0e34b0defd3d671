"""Alerts for operators and regulators: recorded once per occurrence, listed, acknowledged."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_supervises
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import NotFound
from tenderhall.core.hooks import AlertRaised
from tenderhall.supervision.models import Alert


def alert_record(alert: AlertRaised) -> Alert | None:
    """Record ``alert`` in the caller's transaction, unless its key is already recorded (then None). The
    unique key, not the caller's care, is what makes one occurrence one alert across processes."""
    try:
        with transaction.atomic():
            record = Alert.objects.create(
                kind=alert.kind,
                key=alert.key,
                subject_type=alert.subject_type,
                subject_id=alert.subject_id,
                message=alert.message,
                data=alert.data,
                raised_at=alert.at,
            )
            audit_record(
                actor=None,
                action="supervision:alert:raised",
                subject_type="alert",
                subject_id=record.pk,
                at=alert.at,
                changes={"kind": [None, alert.kind], "key": [None, alert.key]},
            )
    except IntegrityError:
        return None
    return record


def access_alerts(
    *, viewer: User | None, open_only: bool = False, before_id: int | None = None, limit: int = 50
) -> QuerySet[Alert]:
    """Newest first, for operators and regulators; everyone else is told there is no such thing."""
    if viewer is None or not user_supervises(viewer):
        raise NotFound(gettext("No such resource."))
    alerts = Alert.objects.select_related("acknowledged_by").order_by("-id")
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    if before_id is not None:
        alerts = alerts.filter(id__lt=before_id)
    return alerts[: max(1, min(limit, 200))]


def alert_acknowledge(*, actor: User, alert_id: int, now: datetime) -> Alert:
    """An operator or regulator marks the alert as seen; the first acknowledgement stands."""
    if not user_supervises(actor):
        raise NotFound(gettext("No such alert."))
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(gettext("No such alert."))
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, actor
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(
                actor=actor,
                action="supervision:alert:acknowledged",
                subject_type="alert",
                subject_id=alert.pk,
                at=now,
            )
    return alert
