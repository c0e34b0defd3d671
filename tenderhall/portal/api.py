"""Portal API: the public notice search and a published notice. No authentication: all of it is public."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Router

from tenderhall.core.codes import region_name
from tenderhall.portal import selectors
from tenderhall.portal.schemas import NoticeOut, NoticePageOut, NoticeSummaryOut
from tenderhall.procedures.models import Notice
from tenderhall.procedures.selectors import access_notice_published

router = Router(tags=["portal"])


def notice_summary_out(notice: Notice) -> NoticeSummaryOut:
    assert notice.published_at is not None  # only published notices reach here
    return NoticeSummaryOut(
        id=notice.pk,
        kind=notice.kind,
        title=notice.title,
        region_code=notice.region_code,
        region_name=region_name(notice.region_code),
        sector=notice.sector,
        procedure_type=notice.procedure_type,
        published_at=notice.published_at,
        tender_id=notice.tender_id,
        tender_code=notice.tender.code,
        tender_name=notice.tender.name,
        tender_status=notice.tender.status,
        corrects_id=notice.corrects_id,
    )


@router.get("/notices", response=NoticePageOut, operation_id="notice_search", auth=None)
def notice_search(
    request: HttpRequest,
    query: str = "",
    region: str = "",
    sector: str = "",
    procedure_type: str = "",
    kind: str = "",
    status: str = "",
    published_from: date | None = None,
    published_until: date | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> NoticePageOut:
    """Published notices, newest first. ``query`` is Chinese full text: each space-separated part must occur
    in the title or body as written (full-width and case ignored); ``region`` a GB/T 2260 code, a province
    (``420000``) or city (``420100``) code covering its area; ``status`` the tender's current status;
    ``published_from`` / ``published_until`` days in Beijing time, both included. Follow ``next_cursor``
    (as ``cursor``) for the next page; it is null on the last."""
    page = selectors.notice_search(
        query=query,
        region=region,
        sector=sector,
        procedure_type=procedure_type,
        kind=kind,
        status=status,
        published_from=published_from,
        published_until=published_until,
        cursor=cursor,
        limit=limit,
    )
    return NoticePageOut(items=[notice_summary_out(n) for n in page.items], next_cursor=page.next_cursor)


@router.get("/notices/{notice_id}", response=NoticeOut, operation_id="notice_get", auth=None)
def notice_get(request: HttpRequest, notice_id: int) -> NoticeOut:
    """A published notice with its text, its structured data and the corrections published since."""
    notice = access_notice_published(notice_id=notice_id)
    links = selectors.notice_links(notice)
    return NoticeOut(
        **notice_summary_out(notice).dict(),
        body=notice.body,
        data=notice.data,
        content_hash=notice.content_hash,
        correction_ids=[c.pk for c in links.corrections],
    )
