"""Test data made through the services, so it is shaped exactly like real data (audit entries included)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pyotp

from tenderhall.accounts import services
from tenderhall.accounts.choices import IdType
from tenderhall.accounts.models import User
from tenderhall.core.codes import resident_id_check_char

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PASSWORD = "correct-horse-battery-9"
_sequence = itertools.count(1)


def resident_id(n: int) -> str:
    body = f"420102199001{(n % 28) + 1:02d}{n % 1000:03d}"
    return body + resident_id_check_char(body)


def make_user(
    *,
    username: str | None = None,
    role: str | None = None,
    entity_id: int | None = None,
    two_factor: bool | None = None,
    password: str = PASSWORD,
    now: datetime = NOW,
) -> User:
    """A registered user, optionally holding a role; two-factor is set up when the role needs it."""
    n = next(_sequence)
    user = services.user_register(
        username=username or f"user{n}",
        password=password,
        full_name=f"测试用户{n}",
        id_type=IdType.RESIDENT_ID,
        id_number=resident_id(n),
        phone=f"139{n:08d}",
        email=f"user{n}@example.invalid",
        now=now,
    )
    if role is not None:
        services.role_grant_unchecked(user=user, role=role, entity_id=entity_id, granted_by=None, now=now)
    if two_factor or (two_factor is None and services.two_factor_required_for(user)):
        enable_two_factor(user, now=now)
    return user


def enable_two_factor(user: User, *, now: datetime = NOW) -> str:
    secret = services.totp_enrol_start(user=user, now=now)
    services.totp_verify(user=user, code=pyotp.TOTP(secret).at(now), now=now)
    return secret


def bearer(user: User, *scopes: str, now: datetime = NOW) -> dict[str, str]:
    """Headers for the test client carrying a fresh token with these scopes."""
    issued = services.token_create(user=user, name="test", scopes=scopes, expires_at=None, now=now)
    return {"Authorization": f"Bearer {issued.token}"}
