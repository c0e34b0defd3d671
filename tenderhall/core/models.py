from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One write on the platform: append-only, never edited."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=10)
    action = models.CharField(max_length=100, db_index=True)
    subject_type = models.CharField(max_length=50)
    subject_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ("-at", "-id")
        indexes = (models.Index(fields=("subject_type", "subject_id")),)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.subject_type}:{self.subject_id}"
