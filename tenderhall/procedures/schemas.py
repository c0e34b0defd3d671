from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema


class ProjectRegisterIn(Schema):
    name: str
    sector: str
    region_code: str
    tenderee_id: int
    agency_id: int | None = None
    budget: Decimal
    funding_source: str = ""


class ProjectOut(Schema):
    id: int
    code: str
    name: str
    sector: str
    region_code: str
    tenderee_id: int
    agency_id: int | None
    budget: Decimal
    funding_source: str
    registered_at: datetime


class TenderCreateIn(Schema):
    project_id: int
    name: str
    procedure_type: str
    control_price: Decimal | None = None
    description: str = ""


class LotIn(Schema):
    name: str
    estimate: Decimal
    control_price: Decimal | None = None
    bid_bond: Decimal = Decimal(0)
    duration_days: int | None = None


class LotOut(LotIn):
    id: int
    code: str


class TimelineIn(Schema):
    notice_publish_at: datetime
    documents_from: datetime
    documents_until: datetime
    bid_deadline: datetime
    prequalification_deadline: datetime | None = None
    decryption_minutes: int = Field(60, ge=15, le=480)


class TenderCancelIn(Schema):
    reason: str


class TenderOut(Schema):
    id: int
    code: str
    name: str
    project_id: int
    project_code: str
    procedure_type: str
    prequalification: bool  # implied by the procedure type
    status: str
    control_price: Decimal | None
    description: str
    notice_publish_at: datetime | None
    documents_from: datetime | None
    documents_until: datetime | None
    bid_deadline: datetime | None
    published_at: datetime | None
    lots: list[LotOut]


class NoticeCorrectionIn(Schema):
    text: str


class NoticeOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    publish_at: datetime
    published_at: datetime | None
    content_hash: str
    corrects_id: int | None
