"""Supervision records: alerts for operators and regulators, webhook subscriptions and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    TRANSMISSION_VOLUME = "transmission_volume", _("数据传输量超过阈值")


class Alert(models.Model):
    """Something operators and regulators must see. ``key`` names the occurrence, so one occurrence is one
    alert however often it is announced (the database constraint holds across processes)."""

    kind = models.CharField(max_length=40, choices=AlertKind.choices)
    key = models.CharField(max_length=200, unique=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    message = models.TextField()
    data = models.JSONField(default=dict)
    raised_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-raised_at", "-id")

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class WebhookSubscription(models.Model):
    """A receiver of change-feed items. The secret signs every delivery (HMAC-SHA256); it is kept because
    each attempt is signed anew, and shown to its owner once, when the subscription is made."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    entity_types = models.JSONField(default=list)  # empty: every type the audience may see
    private = models.BooleanField(default=False)  # the regulators' feed, for supervisors only
    cursor = models.BigIntegerField(default=0)  # the next ledger index the feed looks at for it
    created_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待投递")
    DELIVERED = "delivered", _("已投递")
    FAILED = "failed", _("已放弃")


class WebhookDelivery(models.Model):
    """One feed item for one subscription: the exact body sent on every attempt, and where it stands."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    seq = models.BigIntegerField()
    entity_type = models.CharField(max_length=40)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("seq",)
        constraints = (
            models.UniqueConstraint(fields=("subscription", "seq"), name="webhook_delivery_once_per_item"),
        )

    def __str__(self) -> str:
        return f"delivery {self.pk} of item {self.seq} ({self.status})"


class WebhookAttempt(models.Model):
    """Every attempt at a delivery, answered or not."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("delivery", "number")
        constraints = (models.UniqueConstraint(fields=("delivery", "number"), name="webhook_attempt_once"),)

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
