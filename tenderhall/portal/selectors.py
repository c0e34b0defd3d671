"""Portal reads: the public notice search and a tender's public page. Everything here is public."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext

from tenderhall.core.errors import InvalidInput
from tenderhall.portal import search, tokens
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus
from tenderhall.procedures.models import Notice, Tender, TenderDocument
from tenderhall.procedures.rules import PROCEDURE_TYPES
from tenderhall.procedures.selectors import notice_list_published

MAX_LIMIT = 100
MAX_QUERY_LENGTH = 200
PUBLIC_STATUSES = tuple(status for status in TenderStatus.values if status != TenderStatus.DRAFT)
_REGION = re.compile(r"\d{2}|\d{4}|\d{6}")


class SearchInvalid(InvalidInput):
    code = "search_invalid"


@dataclass(frozen=True)
class NoticePage:
    """One page of results, newest publication first; ``next_cursor`` asks for the page after it."""

    items: list[Notice]
    next_cursor: str | None


def notice_search(
    *,
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
) -> NoticePage:
    """Published notices matching all the given filters, newest first.

    ``query``: Chinese full text, each whitespace-separated part a phrase (see portal/search.py);
    ``region``: a GB/T 2260 code, a province or city code covering its whole area (``420000``, ``420100``);
    ``status``: the tender's current status; ``published_from`` / ``published_until``: days in Beijing time,
    both included; ``cursor``: the ``next_cursor`` of the page before.
    """
    problems = _problems(
        query=query,
        region=region,
        sector=sector,
        procedure_type=procedure_type,
        kind=kind,
        status=status,
        published_from=published_from,
        published_until=published_until,
        limit=limit,
    )
    rank_below = _cursor_rank(cursor, problems)
    if problems:
        raise SearchInvalid(
            gettext("Some search parameters are not valid; see details."), details={"fields": problems}
        )
    filters = []
    if region:
        filters.append(tokens.region_token(region))
    if sector:
        filters.append(tokens.sector_token(sector))
    if procedure_type:
        filters.append(tokens.procedure_type_token(procedure_type))
    if kind:
        filters.append(tokens.kind_token(kind))
    if published_until is not None:
        until = tokens.rank_after_day(published_until)
        rank_below = until if rank_below is None else min(rank_below, until)
    wanted = search.SearchQuery(
        phrases=tuple(tokens.query_phrases(query)),
        tokens=tuple(filters),
        tender_status=status,
        rank_from=tokens.rank_at_day_start(published_from) if published_from is not None else None,
        rank_below=rank_below,
    )
    if query.strip() and not wanted.phrases:
        return NoticePage(items=[], next_cursor=None)  # only punctuation: nothing can match it
    ranks = search.search_ranks(wanted, limit=limit + 1)
    page = ranks[:limit]
    listed = notice_list_published().defer("body", "data", "search_text")  # a list shows no text
    by_id = listed.in_bulk([tokens.rank_notice_id(rank) for rank in page])
    items = [notice for rank in page if (notice := by_id.get(tokens.rank_notice_id(rank))) is not None]
    return NoticePage(items=items, next_cursor=str(page[-1]) if len(ranks) > limit else None)


def _problems(
    *,
    query: str,
    region: str,
    sector: str,
    procedure_type: str,
    kind: str,
    status: str,
    published_from: date | None,
    published_until: date | None,
    limit: int,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if len(query) > MAX_QUERY_LENGTH:
        problems["query"] = gettext("At most %(count)d characters.") % {"count": MAX_QUERY_LENGTH}
    if region and not _REGION.fullmatch(region):
        problems["region"] = gettext("A region code has 2, 4 or 6 digits.")
    for field, value, allowed in (
        ("sector", sector, Sector.values),
        ("procedure_type", procedure_type, tuple(PROCEDURE_TYPES)),
        ("kind", kind, NoticeKind.values),
        ("status", status, PUBLIC_STATUSES),
    ):
        if value and value not in allowed:
            problems[field] = gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}
    if published_from is not None and published_until is not None and published_from > published_until:
        problems["published_until"] = gettext("The last day comes before the first.")
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = gettext("Between 1 and %(count)d.") % {"count": MAX_LIMIT}
    return problems


def _cursor_rank(cursor: str | None, problems: dict[str, str]) -> int | None:
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19:  # isdigit alone takes '²' and '２'
        problems["cursor"] = gettext("Use the next_cursor of the page before.")
        return None
    return int(cursor)


def notice_latest(*, limit: int = 10) -> list[Notice]:
    return notice_search(limit=limit).items


@dataclass(frozen=True)
class NoticeLinks:
    """What a notice's page links to: the notice it corrects and the corrections of it, published only."""

    corrects: Notice | None
    corrections: list[Notice]


def notice_links(notice: Notice) -> NoticeLinks:
    published = notice_list_published()
    corrects = published.filter(pk=notice.corrects_id).first() if notice.corrects_id else None
    corrections = list(published.filter(corrects_id=notice.pk).order_by("published_at", "pk"))
    return NoticeLinks(corrects=corrects, corrections=corrections)


def tender_notices_published(tender: Tender) -> list[Notice]:
    return list(notice_list_published().filter(tender=tender).order_by("-published_at", "-pk"))


def tender_documents_public(tender: Tender) -> list[TenderDocument]:
    """The tender's documents as the public sees them: name, size and hashes (downloads need a login)."""
    return list(tender.documents.order_by("uploaded_at", "pk"))
