"""API authentication: personal tokens with scopes, or the browser session (with CSRF and two-factor)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as _NinjaSessionAuth

from tenderhall.accounts import clients, services
from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import DomainError
from tenderhall.core.middleware import client_address


class TokenAuth(HttpBearer):
    """``Authorization: Bearer th_...``: the token must carry the operation's scope."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = str(scope)

    def authenticate(self, request: HttpRequest, token: str) -> User:
        now = clock.now()
        record = services.token_usable_record(token=token, now=now)
        user, scopes = record.user, frozenset(record.scopes)
        # A client system's key: refused off its whitelist or over its rate limit; logged either way
        # (clients.client_admit; the access log is written by client_middleware once the answer is known).
        # A personal token is not a client's: no second read of it.
        admission = (
            clients.client_admit(token=token, remote_addr=client_address(request), now=now)
            if record.client_id is not None
            else None
        )
        if admission is not None:
            request.api_client_admission = admission  # type: ignore[attr-defined]  # read by the access log
            if admission.refusal is not None:
                raise admission.refusal
        if self.scope not in scopes:
            raise services.InsufficientScope(
                gettext("This API token lacks the scope '%(scope)s'; create a token that has it.")
                % {"scope": self.scope},
                details={"required_scope": self.scope},
            )
        request.user = user
        return user


class CsrfFailed(DomainError):
    code = "csrf_failed"
    status = 403


class SessionAuth(_NinjaSessionAuth):
    """The signed-in browser session; unsafe methods need the CSRF token. Two-factor must be complete.

    Only a signed-in session is held to the CSRF check: a request with neither a session nor a token is
    answered "not authenticated" (401), not "CSRF check failed", which told a client without credentials to
    fix the wrong thing."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        try:
            return super().__call__(request)
        except HttpError as error:  # ninja's own CSRF refusal, said so that a person can act on it
            raise CsrfFailed(
                gettext(
                    "This request comes from a signed-in session but lacks its CSRF token: send the page's "
                    "token (its csrf-token meta tag) in the X-CSRFToken header, or use an API token instead."
                )
            ) from error

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return None
        if services.two_factor_required_for(user) and not user.two_factor_enabled:
            return None
        return user


def authenticated(scope: str) -> list[Any]:
    return [TokenAuth(scope), SessionAuth()]


def request_user(request: HttpRequest) -> User:
    """The authenticated user of an operation that declared ``auth=authenticated(...)``."""
    user = request.auth  # type: ignore[attr-defined]  # set by ninja after authentication
    assert isinstance(user, User)
    return user


def optional_user(request: HttpRequest, scope: str) -> User | None:
    """For public operations: the token's or the session's user when there is one, else the public."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return TokenAuth(scope).authenticate(request, header[7:].strip())
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    if services.two_factor_required_for(user) and not user.two_factor_enabled:
        return None
    return user
