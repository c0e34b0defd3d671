from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class NoticeSummaryOut(Schema):
    id: int
    kind: str
    title: str
    region_code: str
    region_name: str | None
    sector: str
    procedure_type: str
    published_at: datetime
    tender_id: int
    tender_code: str
    tender_name: str
    tender_status: str
    corrects_id: int | None


class NoticePageOut(Schema):
    items: list[NoticeSummaryOut]
    next_cursor: str | None


class NoticeOut(NoticeSummaryOut):
    body: str
    data: dict[str, Any]
    content_hash: str
    correction_ids: list[int]
