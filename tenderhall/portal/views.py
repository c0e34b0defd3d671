"""Public pages: the home page, the notice list with its search, a notice, a tender's public page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenderhall.accounts.models import User
from tenderhall.core.codes import region_name
from tenderhall.core.errors import NotFound
from tenderhall.portal import selectors
from tenderhall.portal.forms import NoticeSearchForm, procedure_type_name
from tenderhall.portal.selectors import SearchInvalid
from tenderhall.procedures.documents import document_list_for_viewer
from tenderhall.procedures.participation import participation_context
from tenderhall.procedures.selectors import access_notice_published, access_tender_for_viewer
from tenderhall.registry.selectors import entity_list

HOME_NOTICES = 10


def _viewer(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "404.html", status=404)


def home_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {
            "rows": [(n, region_name(n.region_code)) for n in selectors.notice_latest(limit=HOME_NOTICES)],
            "recent": entity_list(viewer=None).order_by("-reviewed_at")[:10],
        },
    )


def notice_list_view(request: HttpRequest) -> HttpResponse:
    """The notice list: every filter is a GET parameter, so a search is a link; "more" follows the cursor
    (htmx swaps the next rows in place; without script it is an ordinary link)."""
    form = NoticeSearchForm(request.GET)
    page = None
    if form.is_valid():
        try:
            page = selectors.notice_search(**form.search_arguments())
        except SearchInvalid as error:
            form.add_domain_error(error)
    more = None
    if page is not None and page.next_cursor:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        more = query.urlencode()
    rows = [(notice, region_name(notice.region_code)) for notice in page.items] if page is not None else []
    context = {"form": form, "rows": rows, "searched": page is not None, "more": more}
    template = (
        "portal/notice_list.html#rows"
        if request.headers.get("HX-Request") == "true" and request.GET.get("cursor")
        else "portal/notice_list.html"
    )
    return render(request, template, context)


def notice_detail_view(request: HttpRequest, notice_id: int) -> HttpResponse:
    try:
        notice = access_notice_published(notice_id=notice_id)
    except NotFound:
        return _not_found(request)
    links = selectors.notice_links(notice)
    return render(
        request,
        "portal/notice_detail.html",
        {
            "notice": notice,
            "region_name": region_name(notice.region_code),
            "procedure_type_name": procedure_type_name(notice.procedure_type),
            "corrects": links.corrects,
            "corrections": links.corrections,
        },
    )


def tender_public_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        tender = access_tender_for_viewer(viewer=viewer, tender_id=tender_id)
        documents = list(document_list_for_viewer(viewer=viewer, tender_id=tender_id))
    except NotFound:
        return _not_found(request)
    return render(
        request,
        "portal/tender_detail.html",
        {
            "tender": tender,
            "project": tender.project,
            "region_name": region_name(tender.project.region_code),
            "procedure_type_name": procedure_type_name(tender.procedure_type),
            "lots": list(tender.lots.all()),
            "documents": documents,
            "notices": selectors.tender_notices_published(tender),
            **participation_context(viewer, tender),
        },
    )
