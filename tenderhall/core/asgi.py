"""The ASGI entry point's handler: Django's, except that named views take their request body straight from
the server.

Django's ASGI handler receives the whole body into a ``SpooledTemporaryFile`` before any view runs (in memory
up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then a temporary file), and a view that stores the body copies it
again. For the views named in ``receivers`` the body is handed, piece by piece as the server receives it, to
an object the view's app provides (``BodyReceiver``), which writes it where it belongs; that object is then
the request's body stream, and the view finds it in ``request.scope[RECEIVED_BODY]``. Everything else
about the request — middleware, authentication, the view's own checks, the response — is Django's,
unchanged: a view that refuses the request simply never uses what was received, and closing the receiver
(Django closes the body stream when the response is done) discards it.

Django's handler also takes a body of any size (to a temporary file). This one refuses a request whose body
is larger than ``max_body`` (the setting ``TENDERHALL_MAX_REQUEST_BYTES``) with ``413 request_too_large``: at
once when its Content-Length says so, before reading any of it, or as soon as a body sent without one
(chunked) passes the limit; what was received is discarded and no view runs.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from tenderhall.core.errors import DomainError
from tenderhall.core.middleware import answer_language

RECEIVED_BODY = "tenderhall.received_body"
"""The key of ``request.scope`` under which a view named in ``receivers`` finds its ``BodyReceiver``."""


class BodyReceiver(Protocol):
    """Where a request body goes as it arrives; afterwards the request's body stream (read, seek, close).

    A receiver that reads a form as it arrives also has ``form()``, which returns the request's ``POST`` and
    ``FILES`` (a ``QueryDict`` and a ``MultiValueDict``) or raises what to answer instead (a 4xx); Django's
    own form parser is then never run for that request (``ReceivingASGIRequest``)."""

    def write(self, piece: bytes, /) -> object: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


ReceiverFactory = Callable[[Mapping[str, Any]], BodyReceiver | None]
"""Makes the receiver of one request's body from its ASGI scope (the headers say, e.g., a form's boundary);
None lets Django spool it as usual (e.g. storage that cannot, or a body of another type)."""

_scope: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("tenderhall_asgi_scope")


class ReceivingASGIRequest(ASGIRequest):
    """Django's ASGI request, whose ``POST`` and ``FILES`` come from a receiver that read the form as it
    arrived (``BodyReceiver.form``)."""

    def _load_post_and_files(self) -> None:
        form = getattr(self.scope.get(RECEIVED_BODY), "form", None)
        if self.method != "POST" or form is None:
            super()._load_post_and_files()
            return
        self._post, self._files = form()


class RequestTooLarge(DomainError):
    code = "request_too_large"
    status = 413


class _BodyTooLarge(Exception):
    """The body came in past the limit (answered by ``ReceivingASGIHandler._refuse``)."""


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        gettext("A request body may be at most %(limit)s bytes; this one is larger.") % {"limit": limit},
        details={"limit_bytes": limit},
    )


def _declared_length(scope: Mapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length itself
    return None


class ReceivingASGIHandler(ASGIHandler):
    """Django's ASGI handler with ``receivers``: URL name (``namespace:name``) → factory, for POST; and a
    body of at most ``max_body`` bytes for every request."""

    request_class = ReceivingASGIRequest

    def __init__(self, receivers: Mapping[str, ReceiverFactory], *, max_body: int) -> None:
        super().__init__()
        self.receivers = dict(receivers)
        self.max_body = max_body

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body:
            await self._refuse(scope, send)
            return
        token = _scope.set(scope)  # read_body is called without the scope, in this same task
        try:
            await super().handle(scope, self._counted(receive), send)
        except _BodyTooLarge:  # raised while the body came in: nothing was answered yet
            await self._refuse(scope, send)
        finally:
            _scope.reset(token)

    def _counted(self, receive: Any) -> Any:
        """``receive``, raising ``_BodyTooLarge`` once the body's pieces pass ``max_body``."""
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _BodyTooLarge
            return message

        return counted

    async def _refuse(self, scope: Mapping[str, Any], send: Any) -> None:
        """Answer 413, in the language the request would have been answered in."""
        headers = dict(scope.get("headers", ()))
        accept = headers.get(b"accept-language")
        language = answer_language(scope.get("path", ""), accept.decode("latin-1") if accept else None)
        with translation.override(language):
            refusal = _too_large(self.max_body)
        body = json.dumps(refusal.as_dict(), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": refusal.status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def read_body(self, receive: Any) -> Any:
        scope = _scope.get(None)
        factory = self._factory(scope) if scope is not None else None
        receiver = factory(scope) if factory is not None and scope is not None else None
        if receiver is None or scope is None:
            return await super().read_body(receive)
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()
                if message.get("body"):
                    receiver.write(message["body"])
                if not message.get("more_body", False):
                    break
        except BaseException:
            receiver.close()
            raise
        receiver.seek(0)
        scope[RECEIVED_BODY] = receiver
        return receiver

    def _factory(self, scope: dict[str, Any]) -> ReceiverFactory | None:
        if scope.get("method") != "POST" or not self.receivers:
            return None
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        try:
            view_name = resolve(path).view_name
        except Resolver404:
            return None
        return self.receivers.get(view_name)


def receiving_application() -> ReceivingASGIHandler:
    """The handler with the receivers the setting ``TENDERHALL_BODY_RECEIVERS`` names (URL name → the
    dotted path of a factory); call it once Django is set up."""
    named = getattr(settings, "TENDERHALL_BODY_RECEIVERS", {})
    return ReceivingASGIHandler(
        receivers={view: import_string(path) for view, path in named.items()},
        max_body=settings.TENDERHALL_MAX_REQUEST_BYTES,
    )
