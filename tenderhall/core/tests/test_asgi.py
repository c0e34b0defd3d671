"""The ASGI handler refuses a request body over its limit before any view runs: at once when the
Content-Length says so, or as soon as a body sent without one passes it."""

from __future__ import annotations

from typing import Any

import pytest

from tenderhall.core.asgi import ReceivingASGIHandler
from tenderhall.core.tests.asgi import asgi_call, body_messages, post_scope

LIMIT = 1000


def drive(
    handler: ReceivingASGIHandler,
    pieces: list[bytes],
    *,
    length: int | None,
    path: str = "/no/such/path",
    language: str | None = None,
) -> tuple[int, dict[str, Any], int]:
    """POST the pieces to a path no view answers; the status, the JSON answer (if any) and how many
    messages the application asked for."""
    headers = [(b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    if language is not None:
        headers.append((b"accept-language", language.encode()))
    answer = asgi_call(handler, post_scope(path, headers), body_messages(pieces))
    return answer.status, answer.body, answer.asked


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


@pytest.mark.parametrize(
    ("path", "language", "message"),
    [
        ("/api/v1/no/such/path", None, "A request body may be at most 1000 bytes; this one is larger."),
        ("/api/v1/no/such/path", "zh-CN,zh;q=0.9", "请求正文最多1000字节，本请求超过了这一限制。"),
        ("/no/such/page", None, "请求正文最多1000字节，本请求超过了这一限制。"),
        ("/no/such/page", "en-GB,en;q=0.8", "A request body may be at most 1000 bytes; this one is larger."),
    ],
)
def test_the_refusal_speaks_the_language_the_answer_would_have(handler, path, language, message):
    # the API answers in English unless asked otherwise, pages in Chinese (core.middleware.api_language)
    status, answer, _asked = drive(handler, [b"x" * 1200], length=1200, path=path, language=language)
    assert (status, answer["message"]) == (413, message)
