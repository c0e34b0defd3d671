"""Account rules: pure functions over values and ``now``. No ORM, no clock."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext

from tenderhall.accounts.choices import TWO_FACTOR_ROLES

TOKEN_PREFIX = "th_"  # noqa: S105  # the public prefix of every token, not a secret
_TOKEN_RE = re.compile(r"^th_([a-z0-9]{10})_([A-Za-z0-9_-]{32,64})$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    minutes: int


@dataclass(frozen=True)
class LoginState:
    failed_logins: int
    locked_until: datetime | None


def is_locked(state: LoginState, *, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failed_login(state: LoginState, policy: LockoutPolicy, *, now: datetime) -> LoginState:
    """Count a failure; the threshold-th consecutive failure locks the account for the policy's minutes."""
    if state.locked_until is not None and now >= state.locked_until:
        state = LoginState(failed_logins=0, locked_until=None)
    failures = state.failed_logins + 1
    if failures >= policy.threshold:
        return LoginState(failed_logins=failures, locked_until=now + timedelta(minutes=policy.minutes))
    return LoginState(failed_logins=failures, locked_until=state.locked_until)


def two_factor_required(roles: Iterable[str]) -> bool:
    return any(role in TWO_FACTOR_ROLES for role in roles)


def phone_problem(phone: str) -> str | None:
    """None when the phone number is usable: a mainland mobile number or an international +number."""
    compact = re.sub(r"[\s-]", "", phone)
    if _CN_MOBILE.match(compact) or _INTERNATIONAL_PHONE.match(compact):
        return None
    return gettext(
        "Enter a mainland mobile number (11 digits, starting with 1) "
        "or an international number such as +4420..."
    )


@dataclass(frozen=True)
class NewToken:
    token: str  # shown to the user once
    prefix: str
    secret_hash: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def token_new() -> NewToken:
    prefix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
    secret = secrets.token_urlsafe(32)
    return NewToken(token=f"{TOKEN_PREFIX}{prefix}_{secret}", prefix=prefix, secret_hash=token_hash(secret))


def token_parse(token: str) -> tuple[str, str] | None:
    """The (prefix, secret) of a well-formed token, or None."""
    match = _TOKEN_RE.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def token_usable(*, revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> bool:
    return revoked_at is None and (expires_at is None or now < expires_at)
