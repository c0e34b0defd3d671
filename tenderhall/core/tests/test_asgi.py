"""The ASGI handler refuses a request body over its limit before any view runs: at once when the
Content-Length says so, or as soon as a body sent without one passes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from tenderhall.core.asgi import ReceivingASGIHandler

LIMIT = 1000


def drive(
    handler: ReceivingASGIHandler, pieces: list[bytes], *, length: int | None
) -> tuple[int, dict[str, Any], int]:
    """POST the pieces to a path no view answers; the status, the JSON answer (if any) and how many
    messages the application asked for."""
    headers = [(b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/no/such/path",
        "raw_path": b"/no/such/path",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1}
        for n, piece in enumerate(pieces)
    ]
    asked, sent = 0, []

    async def run() -> None:
        answered = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal asked
            asked += 1
            if messages:
                return messages.pop(0)
            await answered.wait()  # as a server does: the client is there until it has the answer
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered.set()

        await handler(scope, receive, send)

    async_to_sync(run)()
    status = sent[0]["status"]
    content = b"".join(m.get("body", b"") for m in sent[1:])
    is_json = dict(sent[0]["headers"]).get(b"content-type", b"").startswith(b"application/json")
    return status, json.loads(content) if is_json else {}, asked


@pytest.fixture
def handler() -> ReceivingASGIHandler:
    return ReceivingASGIHandler(receivers={}, max_body=LIMIT)


def test_a_body_declared_too_large_is_refused_before_any_of_it_is_read(handler):
    status, answer, asked = drive(handler, [b"x" * 600, b"x" * 600], length=1200)
    assert (status, answer["code"], answer["details"]) == (413, "request_too_large", {"limit_bytes": LIMIT})
    assert asked == 0


def test_a_body_without_a_length_is_refused_once_it_passes_the_limit(handler):
    pieces = [b"x" * 400] * 10
    status, answer, asked = drive(handler, pieces, length=None)
    assert (status, answer["code"]) == (413, "request_too_large")
    assert asked == 3  # the third piece passed 1000 bytes; the rest was never read


@pytest.mark.django_db  # the 404 page is rendered as any page
@pytest.mark.parametrize("length", [LIMIT, None])
def test_a_body_within_the_limit_goes_to_django(handler, length):
    status, _answer, _asked = drive(handler, [b"x" * 500, b"x" * 500], length=length)
    assert status == 404  # no view has this path: Django answered, not the limit
