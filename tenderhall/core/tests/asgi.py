"""A POST driven through an ASGI application as `tenderhall serve` would hand it over: the body in the
messages given, then the client waiting for its answer (or gone, if the messages say so)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync


@dataclass
class Answer:
    status: int  # 0: no answer was sent
    body: dict[str, Any]  # the JSON answer, or empty
    asked: int  # how many messages the application asked for


def post_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The HTTP scope of a POST to ``path`` (with its query string, if any) from a loopback client."""
    plain, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": plain,
        "raw_path": plain.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def body_messages(pieces: list[bytes]) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1}
        for n, piece in enumerate(pieces or [b""])
    ]


def asgi_call(application: Any, scope: Mapping[str, Any], messages: list[dict[str, Any]]) -> Answer:
    """Run the application on the scope; ``receive`` hands out the messages, then waits until the answer has
    been sent, as a server does while its client waits."""
    pending, sent, asked = list(messages), [], 0

    async def run() -> None:
        answered = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal asked
            asked += 1
            if pending:
                return pending.pop(0)
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered.set()

        await application(scope, receive, send)

    async_to_sync(run)()
    if not sent:
        return Answer(0, {}, asked)
    content = b"".join(message.get("body", b"") for message in sent[1:])
    headers = {bytes(name).lower(): bytes(value) for name, value in sent[0].get("headers", ())}
    is_json = headers.get(b"content-type", b"").startswith(b"application/json")
    return Answer(sent[0]["status"], json.loads(content) if content and is_json else {}, asked)
