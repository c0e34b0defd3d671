"""Public pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenderhall.registry.selectors import entity_list


def home_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/home.html", {"recent": entity_list(viewer=None).order_by("-reviewed_at")[:10]}
    )
