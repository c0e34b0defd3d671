from __future__ import annotations

from datetime import datetime

from ninja import Schema


class UserRegisterIn(Schema):
    username: str
    password: str
    full_name: str
    id_type: str
    id_number: str
    id_country: str = "CHN"
    phone: str
    email: str


class RoleGrantOut(Schema):
    id: int
    role: str
    entity_id: int | None
    entity_name: str | None
    granted_at: datetime


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    id_type: str
    id_number_masked: str
    phone: str
    email: str
    two_factor_enabled: bool
    two_factor_required: bool
    roles: list[RoleGrantOut]


class RoleGrantIn(Schema):
    role: str
    entity_id: int | None = None


class TokenCreateIn(Schema):
    name: str
    scopes: list[str]
    expires_at: datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str


class CertificateUploadIn(Schema):
    usage: str
    pem: str


class CertificateOut(Schema):
    id: int
    usage: str
    status: str
    subject: str
    issuer: str
    serial: str
    fingerprint: str
    not_before: datetime
    not_after: datetime
    accepted_at: datetime
    user_id: int | None
    entity_id: int | None
