"""The platform's URLs and the deadline rush's baselines, in the same Django under the same uvicorn: two bare
upload sinks that store the request body in the same storage and answer 201, and do nothing else.

* ``bench/sink``: a plain Django view; Django's handler has spooled the body before the view runs, and the
  view streams it to storage in the platform's 1 MB pieces (what a Django view that stores an upload costs).
* ``bench/raw-sink``: the body goes from the server straight into a file in storage as it arrives, the way
  the platform's envelope route receives it (tenderhall.core.asgi), with nothing else done: no hash, no
  check, no unnamed file to name afterwards. The cheapest upload this stack can take.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as platform_urlpatterns
from tenderhall.core.asgi import RECEIVED_BODY


class _Body(File):
    DEFAULT_CHUNK_SIZE = 1024 * 1024  # the chunk the platform's upload path reads and writes


@csrf_exempt
def upload_sink(request: HttpRequest) -> JsonResponse:
    """Store the body as it comes (the platform's storage, its file naming and chunk size) and answer."""
    name = f"sink/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.bin"
    name = default_storage.save(name, _Body(request, name=name))
    return JsonResponse({"name": name, "size": default_storage.size(name)}, status=201)


class RawSinkFile:
    """The raw sink's receiver: a new file in storage, written piece by piece as the body arrives."""

    def __init__(self) -> None:
        self.name = f"sink/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.bin"
        target = Path(default_storage.path(self.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.file = target.open("w+b")
        self.size = 0

    def write(self, piece: bytes) -> None:
        self.size += self.file.write(piece)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def close(self) -> None:
        self.file.close()


def raw_sink_begin(scope: Mapping[str, Any]) -> RawSinkFile:  # a receiver factory: the scope is not needed
    return RawSinkFile()


@csrf_exempt
def upload_raw_sink(request: HttpRequest) -> JsonResponse:
    """Answer for the body the server has already stored."""
    received = request.scope[RECEIVED_BODY]  # type: ignore[attr-defined]  # an ASGIRequest
    return JsonResponse({"name": received.name, "size": received.size}, status=201)


urlpatterns = [
    path("bench/sink", upload_sink),
    path("bench/raw-sink", upload_raw_sink, name="raw_sink"),
    *platform_urlpatterns,
]
