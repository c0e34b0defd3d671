"""The platform's URLs and the deadline rush's baseline: a bare upload sink in the same Django, under the same
uvicorn, that streams the request body to the same storage and answers 201."""

from __future__ import annotations

import uuid

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as platform_urlpatterns


class _Body(File):
    DEFAULT_CHUNK_SIZE = 1024 * 1024  # the chunk the platform's upload path reads and writes


@csrf_exempt
def upload_sink(request: HttpRequest) -> JsonResponse:
    """Store the body as it comes (the platform's storage, its file naming and chunk size) and answer."""
    name = f"sink/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.bin"
    name = default_storage.save(name, _Body(request, name=name))
    return JsonResponse({"name": name, "size": default_storage.size(name)}, status=201)


urlpatterns = [path("bench/sink", upload_sink), *platform_urlpatterns]
