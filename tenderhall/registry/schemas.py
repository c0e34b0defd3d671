from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class EntityRegisterIn(Schema):
    kind: str
    name: str
    identifier: str
    role: str = "bidder"
    region_code: str = ""
    address: str = ""
    legal_representative: str = ""
    contact_phone: str = ""
    tags: list[str] = Field(default_factory=list)


class EntityUpdateIn(Schema):
    name: str | None = None
    region_code: str | None = None
    address: str | None = None
    legal_representative: str | None = None
    contact_phone: str | None = None
    tags: list[str] | None = None


class EntityRejectIn(Schema):
    reason: str


class QualificationIn(Schema):
    qualification_type: str
    grade: str = ""
    number: str
    issuer: str
    valid_from: date
    valid_until: date


class QualificationOut(QualificationIn):
    id: int


class PersonIn(Schema):
    full_name: str
    id_number: str
    position: str = ""
    title: str = ""
    certificate_number: str = ""


class PersonOut(Schema):
    id: int
    full_name: str
    id_number_masked: str
    position: str
    title: str
    certificate_number: str


class EntityOut(Schema):
    id: int
    kind: str
    name: str
    identifier: str
    org_code: str
    region_code: str
    region_name: str | None
    address: str
    legal_representative: str
    tags: list[str]
    status: str
    rejection_reason: str
    version: int
    registered_at: datetime
    reviewed_at: datetime | None
    qualifications: list[QualificationOut]
    personnel: list[PersonOut] | None  # only for the entity's people and supervisors


class EntityVersionOut(Schema):
    version: int
    change: str
    changed_at: datetime
    changed_by: str
    snapshot: dict[str, Any]


class CodeCheckIn(Schema):
    codes: list[str]


class CodeCheckOut(Schema):
    code: str
    kind: str
    valid: bool
    reason_code: str
    reason: str
    warnings: list[str]
