"""URLs for the portal API tests: the portal router on an API with the platform's error handlers, at the
path config/api.py mounts it on (/api/v1/portal), so the tests do not depend on that mount; then the
platform's other URLs (the middleware reverses some)."""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from config import urls as platform_urls
from config.api import api as platform_api
from tenderhall.portal.api import router

api = NinjaAPI(title="portal API tests", urls_namespace="portal-api-tests")
api.add_router("/portal", router)
for exception, handler in platform_api._exception_handlers.items():
    api.add_exception_handler(exception, handler)

urlpatterns = [path("api/v1/", api.urls), *platform_urls.urlpatterns]
