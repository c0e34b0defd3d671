"""The access log of API client systems: one row per request made with a client's key, with its answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenderhall.accounts.clients import Admission, access_log_record

logger = logging.getLogger(__name__)
Handler = Callable[[HttpRequest], HttpResponse]


def api_client_access_log(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = get_response(request)
        admission = getattr(request, "api_client_admission", None)
        if isinstance(admission, Admission):
            try:
                access_log_record(
                    admission,
                    method=request.method or "",
                    path=request.path,
                    status_code=response.status_code,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
            except Exception:  # the answer is already made; a lost log row is reported, not turned into a 500
                logger.exception("access log of client %s: the row could not be written", admission.client_id)
        return response

    return middleware
