"""Request middleware shared by every app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from tenderhall.core.audit import audit_context as _audit_context

Handler = Callable[[HttpRequest], HttpResponse]


def client_address(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, the proxy must set REMOTE_ADDR (see docs/configuration.md)."""
    return request.META.get("REMOTE_ADDR") or None


def security_headers(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response

    return middleware


def audit_context(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        with _audit_context(remote_addr=client_address(request), channel=channel):
            return get_response(request)

    return middleware


def api_language(get_response: Handler) -> Handler:
    """The API answers in English unless the client asks for a language; pages default to Chinese."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return get_response(request)

    return middleware


def answer_language(path: str, accept_language: str | None) -> str:
    """The language of an answer made before any middleware runs (core.asgi's refusals): the same choice as
    LocaleMiddleware and ``api_language`` make for a request without a language cookie."""
    request = HttpRequest()
    request.path = request.path_info = path
    if accept_language is not None:
        request.META["HTTP_ACCEPT_LANGUAGE"] = accept_language
    elif path.startswith("/api/"):
        return "en"
    return translation.get_language_from_request(request)
