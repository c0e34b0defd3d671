"""What every page that runs a service does with its outcome."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenderhall.core.errors import DomainError, NotFound


def perform(
    request: HttpRequest, action: Callable[[], object], *, done: str, then: HttpResponse
) -> HttpResponse:
    """Run one service for a page: "not found" (missing or forbidden) shows the 404 page; any other refusal
    is shown with its message, success with ``done``; then ``then`` (a redirect back to the page)."""
    try:
        action()
    except NotFound:
        return render(request, "404.html", status=404)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return then
