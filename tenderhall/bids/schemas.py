from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Schema


class BidOut(Schema):
    id: int
    token: UUID
    lot_id: int
    lot_code: str
    entity_id: int
    status: str
    size: int
    sha256: str
    content_encryption: str
    submitted_at: datetime
    ended_at: datetime | None
    replaces_token: UUID | None
    bond_amount: Decimal
    receipt: dict[str, Any] | None
