"""The exchange tests' world: the demo data (`tenderhall demo-data`, its published works tender) made at a
fixed moment, moved on by the real scheduler, with bids stored as rows (their envelopes are not what the
exports read)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.management import call_command

from tenderhall.bids.models import Bid
from tenderhall.core import clock
from tenderhall.procedures.models import Tender
from tenderhall.procedures.scheduler import procedures_tick
from tenderhall.registry.models import MarketEntity

# Monday 2 March 2026, 09:30 in Beijing (a month without holidays).
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PREFIX = "ocds-tst0001"


class Clock:
    moment = NOW


def demo_data() -> Tender:
    """`tenderhall demo-data` at :data:`NOW`: the demo tender, published."""
    call_command("demo-data", "--no-evaluations", stdout=io.StringIO())
    return Tender.objects.get(name="江城市第一实验中学教学楼改造施工")


def tick(moment: datetime) -> None:
    Clock.moment = moment
    procedures_tick(now=moment)


def add_bid(tender: Tender, entity: MarketEntity, *, at: datetime, ended_at: datetime | None = None) -> Bid:
    lot = tender.lots.get()
    return Bid.objects.create(
        lot=lot,
        entity=entity,
        submitted_by=tender.created_by,
        envelope=ContentFile(b"sealed", name="bid.p7m"),
        size=6,
        sha256="0" * 64,
        content_encryption="aes256-gcm",
        status="withdrawn" if ended_at else "submitted",
        submitted_at=at,
        ended_at=ended_at,
        bond_amount=Decimal("200000"),
        bond_payer_account="6222000000000001",
    )


def after_deadline(tender: Tender) -> datetime:
    assert tender.bid_deadline is not None
    return tender.bid_deadline + timedelta(minutes=1)


def parse(content: bytes | str) -> Any:
    return json.loads(content)


def use_clock(monkeypatch: Any) -> None:
    Clock.moment = NOW
    monkeypatch.setattr(clock, "now", lambda: Clock.moment)
