"""The one place that reads the system clock. Rules take ``now``; services get it from their caller."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(tz=UTC)
