"""The opening hall (开标大厅): one page per tender's opening, kept live over server-sent events. Every viewer
sees what the API would show them (``opening_out``): the public the lots and, once published, the record;
bidders the bidder list and decryption status; managers and supervisors everything. The page's actions go
through the API (static/opening/hall.js); the stream only re-renders the state fragment when it changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.opening.api_sessions import opening_out
from tenderhall.opening.models import OpeningSession
from tenderhall.opening.selectors import View, access_session_for_viewer

STREAM_SECONDS = 30.0  # one response lasts this long; EventSource reconnects (retry below) and goes on
POLL_SECONDS = 1.0


def _viewer(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _context(session: OpeningSession, viewer: User | None) -> dict[str, Any]:
    state = opening_out(session, viewer=viewer)
    record = state.record or {}
    return {
        "session": session,
        "state": state,
        "is_manager": state.view == View.MANAGER,
        "record_lots": record.get("lots", []),
    }


def hall_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        session = access_session_for_viewer(viewer=viewer, tender_id=tender_id)
    except NotFound:
        return render(request, "404.html", status=404)
    context = {"tender": session.tender, "server_now": clock.now(), **_context(session, viewer)}
    return render(request, "opening/hall.html", context)


def _fragment(tender_id: int, viewer: User | None) -> str:
    session = access_session_for_viewer(viewer=viewer, tender_id=tender_id)
    return render_to_string("opening/hall_state.html", _context(session, viewer))


def _event(html: str) -> str:
    return "event: state\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"


def hall_events(request: HttpRequest, tender_id: int) -> HttpResponse | StreamingHttpResponse:
    """``text/event-stream`` of the state fragment, sent again whenever it changes; ``?once=1`` sends the
    current fragment and ends (for scripts and checks)."""
    viewer = _viewer(request)
    try:
        first = _fragment(tender_id, viewer)
    except NotFound:
        return HttpResponse(status=404)
    once = request.GET.get("once") == "1"
    if hasattr(request, "scope"):  # ASGI: an async stream, so that nothing is buffered
        stream: Iterator[str] | AsyncIterator[str] = _async_stream(tender_id, viewer, first, once=once)
    else:
        stream = _sync_stream(tender_id, viewer, first, once=once)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _sync_stream(tender_id: int, viewer: User | None, last: str, *, once: bool) -> Iterator[str]:
    yield f"retry: {int(POLL_SECONDS * 1000)}\n\n" + _event(last)
    deadline = time.monotonic() + STREAM_SECONDS
    while not once and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        html = _fragment(tender_id, viewer)
        if html != last:
            last = html
            yield _event(html)
        else:
            yield ": still here\n\n"  # a comment: keeps proxies from closing an idle stream


async def _async_stream(tender_id: int, viewer: User | None, last: str, *, once: bool) -> AsyncIterator[str]:
    yield f"retry: {int(POLL_SECONDS * 1000)}\n\n" + _event(last)
    deadline = time.monotonic() + STREAM_SECONDS
    fragment = sync_to_async(_fragment)
    while not once and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        html = await fragment(tender_id, viewer)
        if html != last:
            last = html
            yield _event(html)
        else:
            yield ": still here\n\n"
