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
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

RECEIVED_BODY = "tenderhall.received_body"
"""The key of ``request.scope`` under which a view named in ``receivers`` finds its ``BodyReceiver``."""


class BodyReceiver(Protocol):
    """Where a request body goes as it arrives; afterwards the request's body stream (read, seek, close)."""

    def write(self, piece: bytes, /) -> object: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


ReceiverFactory = Callable[[], BodyReceiver | None]
"""Makes the receiver of one request's body; None lets Django spool it as usual (e.g. storage that cannot)."""

_scope: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("tenderhall_asgi_scope")


class ReceivingASGIHandler(ASGIHandler):
    """Django's ASGI handler with ``receivers``: URL name (``namespace:name``) → factory, for POST."""

    def __init__(self, receivers: Mapping[str, ReceiverFactory]) -> None:
        super().__init__()
        self.receivers = dict(receivers)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = _scope.set(scope)  # read_body is called without the scope, in this same task
        try:
            await super().handle(scope, receive, send)
        finally:
            _scope.reset(token)

    async def read_body(self, receive: Any) -> Any:
        scope = _scope.get(None)
        factory = self._factory(scope) if scope is not None else None
        receiver = factory() if factory is not None else None
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
    return ReceivingASGIHandler(receivers={view: import_string(path) for view, path in named.items()})
