"""Pages that need two-factor login send the user to set it up first."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from tenderhall.accounts.models import User

Handler = Callable[[HttpRequest], HttpResponse]
_OPEN_PREFIXES = ("/static/", "/i18n/", "/api/", "/ledger/", "/witness/")


def require_two_factor(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and not user.two_factor_enabled:
            from tenderhall.accounts.services import two_factor_required_for

            setup, logout = reverse("accounts:totp_setup"), reverse("accounts:logout")
            open_path = request.path in (setup, logout) or request.path.startswith(_OPEN_PREFIXES)
            if not open_path and two_factor_required_for(user):
                return redirect(setup)
        return get_response(request)

    return middleware
