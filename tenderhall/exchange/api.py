"""OCDS API under /api/v1/ocds/: public and read-only. Release packages of one contracting process (by ocid)
or of a period (paginated in ledger order), and the record package of one process with its compiled
release. Every package is OCDS 1.1.5 and validates against the official schema."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Router

from tenderhall.core import clock
from tenderhall.exchange import conf, selectors
from tenderhall.exchange.packaging import package_head, record_package_chunks, release_package_chunks

router = Router(tags=["ocds"])
CONTENT_TYPE = "application/json; charset=utf-8"


def _head(
    request: HttpRequest, dates: Iterable[str], links: Mapping[str, str] | None = None
) -> dict[str, Any]:
    latest = max((datetime.fromisoformat(d) for d in dates), default=clock.now())
    return package_head(
        uri=conf.public_url() + request.get_full_path(),
        published_at=latest,
        publisher_name=conf.publisher_name(),
        publisher_uscc=conf.publisher_uscc(),
        license_url=conf.data_license(),
        links=links,
    )


def _json(chunks: Iterable[str]) -> HttpResponse:
    return HttpResponse("".join(chunks), content_type=CONTENT_TYPE)


@router.get("/releases", operation_id="ocds_releases_in_period", auth=None)
def ocds_releases_in_period(
    request: HttpRequest,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> HttpResponse:
    """A release package of the releases whose change happened in [``since``, ``until``) (RFC 3339 times;
    either may be left out), oldest first. When more follow, ``links.next`` is the URL of the next page."""
    page = selectors.releases_in_period(since=since, until=until, cursor=cursor, limit=limit)
    if not page.releases:
        raise selectors.NoReleases(gettext("No release in this period."))
    links = None
    if page.next_cursor is not None:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        links = {"next": f"{conf.public_url()}{request.path}?{urllib.parse.urlencode(sorted(query.items()))}"}
    head = _head(request, (r["date"] for r in page.releases), links)
    return _json(release_package_chunks(head, page.releases))


@router.get("/releases/{ocid}", operation_id="ocds_releases_for_ocid", auth=None)
def ocds_releases_for_ocid(request: HttpRequest, ocid: str) -> HttpResponse:
    """A release package of every release of one contracting process, oldest first."""
    releases = selectors.releases_for_ocid(ocid=ocid)
    return _json(release_package_chunks(_head(request, (r["date"] for r in releases)), releases))


@router.get("/records/{ocid}", operation_id="ocds_record_for_ocid", auth=None)
def ocds_record_for_ocid(request: HttpRequest, ocid: str) -> HttpResponse:
    """A record package with the one record of a contracting process: its releases and compiled release."""
    record = selectors.record_for_ocid(ocid=ocid)
    head = _head(request, (r["date"] for r in record["releases"]))
    return _json(record_package_chunks(head, [record]))
