from __future__ import annotations

from django.db import models


class LogHead(models.Model):
    """A single row whose lock serialises appends, so leaf indexes are dense and never reused."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"log head at {self.size}"


class Leaf(models.Model):
    """One appended event: RFC 8785 canonical JSON, numbered from 0 without gaps."""

    index = models.BigIntegerField(primary_key=True)
    event_type = models.CharField(max_length=100, db_index=True)
    data = models.BinaryField()
    record_key = models.CharField(max_length=120, db_index=True)
    appended_at = models.DateTimeField()

    class Meta:
        ordering = ("index",)

    def __str__(self) -> str:
        return f"leaf {self.index} {self.event_type}"
