"""Chinese full-text search over published notices, on SQLite and on PostgreSQL, without an external engine.

Design, measurements and limits: ``docs/portal-search.md``. In short:

* Chinese has no spaces, so there are no words to index. The normalised text is cut into runs: ASCII
  letters and digits make *words*, kept whole (``led``, ``e4201002026000123``); any other letters make
  *character runs*, cut into overlapping bigrams followed by the run's last character (``道路改造`` gives
  ``道路 路改 改造 造``). A query matches a notice when each of its whitespace-separated parts occurs as
  a *phrase*: its tokens consecutive, in order. So ``路改造`` finds ``道路改造工程`` but not
  ``道路……改造``. The tokens are made by the pure module ``tokens.py``.
* The filters are tokens too (``q区4201``, ``q类...``): they never equal a text token, which is either all
  ASCII or all not, and they let the index answer filters and text in one lookup. Only the tender's status,
  which changes after publication, is read from the tender.
* Order is newest publication first, by ``rank``: the publication second shifted left 31 bits, plus the
  notice id. SQLite's FTS5 returns matches in rowid order, so the FTS5 rowid *is* the rank and a query
  reads only the rows it returns. PostgreSQL's GIN index returns matches unordered, so the search walks
  aligned time blocks newest first (see ``_PgWalk``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from tenderhall.portal import tokens
from tenderhall.portal.tokens import Phrase

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from tenderhall.procedures.models import Notice

ENTRY_TABLE = "portal_noticesearchentry"
FTS_TABLE = "portal_noticesearch_fts"
TENDER_TABLE = "procedures_tender"

# --- the index -------------------------------------------------------------------------------------------


def notice_terms(notice: Notice) -> list[str]:
    assert notice.published_at is not None
    return tokens.notice_terms(
        title=notice.title,
        body=notice.body,
        region_code=notice.region_code,
        sector=notice.sector,
        procedure_type=notice.procedure_type,
        kind=notice.kind,
        published_at=notice.published_at,
    )


def _entry_fields(notice: Notice) -> dict[str, Any]:
    assert notice.published_at is not None
    return {
        "tender_id": notice.tender_id,
        "rank": tokens.notice_rank(notice.published_at, notice.pk),
        "terms": " ".join(notice_terms(notice)),
    }


def notice_index(notice: Notice) -> None:
    """Bring the notice's search entry up to date: indexed while published, absent otherwise.

    Called for each notice as it is published (through ``tenderhall.core.hooks.notice_published``, in the
    publishing transaction) and by ``tenderhall portal reindex``.
    """
    from tenderhall.portal.models import NoticeSearchEntry

    if notice.published_at is None:
        NoticeSearchEntry.objects.filter(notice_id=notice.pk).delete()
        return
    NoticeSearchEntry.objects.update_or_create(notice_id=notice.pk, defaults=_entry_fields(notice))


@dataclass(frozen=True)
class ReindexReport:
    indexed: int
    removed: int


def notice_reindex(*, everything: bool = False, batch: int = 1000) -> ReindexReport:
    """Index the published notices that have no entry (``everything``: every published notice again, e.g.
    after a change of the tokens) and remove the entries of notices that are not published. Works in
    batches, each in its own transaction; run twice, the second run changes nothing."""
    from tenderhall.portal.models import NoticeSearchEntry
    from tenderhall.procedures.models import Notice

    removed, _ = NoticeSearchEntry.objects.filter(notice__published_at__isnull=True).delete()
    todo = Notice.objects.filter(published_at__isnull=False)
    if not everything:
        todo = todo.exclude(pk__in=NoticeSearchEntry.objects.values("notice_id"))
    fields = ("id", "tender_id", "title", "body", "region_code", "sector", "procedure_type", "kind")
    indexed = 0
    last = 0
    while ids := list(todo.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            notices = Notice.objects.filter(pk__in=ids, published_at__isnull=False).only(
                *fields, "published_at"
            )
            entries = [NoticeSearchEntry(notice_id=n.pk, **_entry_fields(n)) for n in notices]
            NoticeSearchEntry.objects.filter(notice_id__in=ids).delete()
            NoticeSearchEntry.objects.bulk_create(entries)
            indexed += len(entries)
        last = ids[-1]
    if connection.vendor == "sqlite" and indexed:
        with connection.cursor() as cursor:  # merge FTS5's segments after many writes
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608
    return ReindexReport(indexed=indexed, removed=removed)


# --- queries ---------------------------------------------------------------------------------------------

FEW_TENDERS = 100
"""A status held by at most this many tenders is searched from those tenders' notices (a few per tender);
a commoner one by checking each match's tender as the matches come, newest first."""


@dataclass(frozen=True)
class SearchQuery:
    """What to look for: phrases and filter tokens (all must match), a tender status, and a rank range
    ``[rank_from, rank_below)`` (``None``: open)."""

    phrases: tuple[Phrase, ...] = ()
    tokens: tuple[str, ...] = ()
    tender_status: str = ""
    rank_from: int | None = None
    rank_below: int | None = None
    tender_ids: tuple[int, ...] | None = None  # set by the search for a status held by few tenders

    @property
    def matches_text(self) -> bool:
        return bool(self.phrases or self.tokens)


def search_ranks(search: SearchQuery, *, limit: int) -> list[int]:
    """The ranks of the first ``limit`` matching notices, newest first."""
    if limit <= 0 or (
        search.rank_from is not None
        and search.rank_below is not None
        and search.rank_from >= search.rank_below
    ):
        return []
    if search.tender_status:
        few = _tenders_in_status(search.tender_status)
        if few is not None:
            if not few:
                return []
            return _ranks_of_tenders(replace(search, tender_status="", tender_ids=tuple(few)), limit=limit)
    if not search.matches_text:
        return _plain_ranks(search, limit=limit)
    if connection.vendor == "postgresql":
        return _pg_ranks(search, limit=limit)
    return _sqlite_ranks(search, limit=limit)


def _tenders_in_status(status: str) -> list[int] | None:
    from tenderhall.procedures.models import Tender

    ids = Tender.objects.filter(status=status).order_by().values_list("pk", flat=True)[: FEW_TENDERS + 1]
    found = list(ids)
    return found if len(found) <= FEW_TENDERS else None


def _status_join(search: SearchQuery, entry: str, params: list[Any]) -> str:
    if not search.tender_status:
        return ""
    params.append(search.tender_status)
    return f" JOIN {TENDER_TABLE} t ON t.id = {entry}.tender_id AND t.status = %s"


def _bounds(search: SearchQuery, column: str, params: list[Any]) -> str:
    sql = ""
    if search.rank_from is not None:
        sql += f" AND {column} >= %s"
        params.append(search.rank_from)
    if search.rank_below is not None:
        sql += f" AND {column} < %s"
        params.append(search.rank_below)
    return sql


def _fetch(cursor: CursorWrapper, sql: str, params: Sequence[Any]) -> list[int]:
    cursor.execute(sql, params)
    return [int(row[0]) for row in cursor.fetchall()]


def _plain_ranks(search: SearchQuery, *, limit: int) -> list[int]:
    """No text and no token filter: the entries in rank order (for a common status, checking each one's
    tender as it comes; SQLite's CROSS JOIN keeps that order)."""
    params: list[Any] = []
    join = _status_join(search, "e", params)
    if join and connection.vendor == "sqlite":
        join = " CROSS" + join
    where = _bounds(search, "e.rank", params)
    sql = f"SELECT e.rank FROM {ENTRY_TABLE} e{join} WHERE 1 = 1{where} ORDER BY e.rank DESC LIMIT %s"  # noqa: S608
    with connection.cursor() as cursor:
        return _fetch(cursor, sql, [*params, limit])


def _ranks_of_tenders(search: SearchQuery, *, limit: int) -> list[int]:
    """The matches among the notices of a few tenders: read them all, newest first."""
    assert search.tender_ids is not None
    params: list[Any] = list(search.tender_ids)
    in_tenders = f"e.tender_id IN ({', '.join(['%s'] * len(search.tender_ids))})"
    where = _bounds(search, "e.rank", params)
    if not search.matches_text:
        sql = f"SELECT e.rank FROM {ENTRY_TABLE} e WHERE {in_tenders}{where} ORDER BY e.rank DESC LIMIT %s"  # noqa: S608
        params.append(limit)
    elif connection.vendor == "postgresql":
        indexed, recheck = tokens.tsqueries(search.phrases, search.tokens)
        matching = " AND e.terms @@ %s::tsquery"
        params.append(indexed)
        if recheck:
            matching += " AND ts_match_vq(e.terms, %s::tsquery)"
            params.append(recheck)
        sql = (
            f"SELECT e.rank FROM {ENTRY_TABLE} e WHERE {in_tenders}{where}{matching}"  # noqa: S608
            " ORDER BY e.rank DESC LIMIT %s"
        )
        params.append(limit)
    else:
        sql = (
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
            f" AND rowid IN (SELECT e.rank FROM {ENTRY_TABLE} e WHERE {in_tenders}{where})"
            " ORDER BY rowid DESC LIMIT %s"
        )
        params = [tokens.fts5_query(search.phrases, search.tokens), *params, limit]
    with connection.cursor() as cursor:
        return _fetch(cursor, sql, params)


# SQLite: FTS5 over the entries' terms with rowid = rank, so ORDER BY rowid DESC reads only what it returns.


def _sqlite_ranks(search: SearchQuery, *, limit: int) -> list[int]:
    params: list[Any] = []
    join = ""
    if search.tender_status:  # FTS5 stays the outer loop: matches come newest first, each tender checked
        join = f" JOIN {ENTRY_TABLE} e ON e.rank = {FTS_TABLE}.rowid" + _status_join(search, "e", params)
    params.append(tokens.fts5_query(search.phrases, search.tokens))
    where = _bounds(search, f"{FTS_TABLE}.rowid", params)
    sql = (
        f"SELECT {FTS_TABLE}.rowid FROM {FTS_TABLE}{join} WHERE {FTS_TABLE} MATCH %s{where}"  # noqa: S608
        f" ORDER BY {FTS_TABLE}.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        return _fetch(cursor, sql, [*params, limit])


# PostgreSQL: GIN over tsvector answers "which rows match" quickly but in no useful order, and sorting all
# the matches of a common bigram is too slow at a million notices; a backward scan of the rank index,
# checking each row, is quick for common queries but reads the whole table for rare ones. So the search
# walks time blocks newest first (each notice has a token for its block at each level): it asks GIN for a
# block's matches, the block's token ANDed to the query; a block with at most PROBE matches is read whole
# and sorted; one with more is split into its four sub-blocks, and a smallest block with more is scanned
# backwards by rank, where the matches are dense enough for the scan to stop early.

PROBE = 300
"""Matches read from a block to decide: at most this many and the block is done by sorting them."""


class _PgWalk:
    def __init__(self, search: SearchQuery, cursor: CursorWrapper) -> None:
        self.search = search
        self.cursor = cursor
        self.indexed, self.recheck = tokens.tsqueries(search.phrases, search.tokens)
        self.whole = tokens.tsquery(search.phrases, search.tokens)
        self.bitmap = True  # the planner settings made by _pg_ranks: GIN bitmaps, no index scans

    def plan(self, *, bitmap: bool) -> None:
        """Make the planner use the GIN index (bitmap) for probes and the rank index for dense scans."""
        if bitmap != self.bitmap:
            on, off = ("off", "on") if bitmap else ("on", "off")
            self.cursor.execute(
                "SELECT set_config('enable_indexscan', %s, true), set_config('enable_bitmapscan', %s, true)",
                [on, off],
            )
            self.bitmap = bitmap

    def _recheck(self, params: list[Any]) -> str:
        if not self.recheck:
            return ""
        params.append(self.recheck)
        return " AND ts_match_vq(e.terms, %s::tsquery)"  # a function, not @@: GIN must not try it

    def probe(self, level: int, index: int) -> list[int]:
        params: list[Any] = []
        join = _status_join(self.search, "e", params)
        params.append(f"({self.indexed}) & '{tokens.block_token(tokens.BLOCK_LEVELS[level], index)}'")
        recheck = self._recheck(params)
        # "+ 0": the bounds filter the block's rows; they must not make the planner use the rank index.
        where = _bounds(self.search, "e.rank + 0", params)
        sql = (
            f"SELECT e.rank FROM {ENTRY_TABLE} e{join} WHERE e.terms @@ %s::tsquery{recheck}{where} LIMIT %s"  # noqa: S608
        )
        self.plan(bitmap=True)
        return _fetch(self.cursor, sql, [*params, PROBE + 1])

    def scan(self, index: int, need: int) -> list[int]:
        low, below = tokens.block_ranks(0, index)
        if self.search.rank_from is not None:
            low = max(low, self.search.rank_from)
        if self.search.rank_below is not None:
            below = min(below, self.search.rank_below)
        params: list[Any] = []
        join = _status_join(self.search, "e", params)
        params += [low, below, self.whole]
        # One function call per row, so each row's tsvector is read (detoasted) once.
        sql = (
            f"SELECT e.rank FROM {ENTRY_TABLE} e{join} WHERE e.rank >= %s AND e.rank < %s"  # noqa: S608
            " AND ts_match_vq(e.terms, %s::tsquery) ORDER BY e.rank DESC LIMIT %s"
        )
        self.plan(bitmap=False)
        return _fetch(self.cursor, sql, [*params, need])

    def block(self, level: int, index: int, need: int) -> list[int]:
        found = self.probe(level, index)
        if len(found) <= PROBE:
            return sorted(found, reverse=True)[:need]
        if level == 0:
            return self.scan(index, need)
        ratio = 1 << (tokens.BLOCK_LEVELS[level] - tokens.BLOCK_LEVELS[level - 1])
        found = []
        for child in reversed(range(index * ratio, (index + 1) * ratio)):
            found += self.block(level - 1, child, need - len(found))
            if len(found) >= need:
                break
        return found


def _pg_ranks(search: SearchQuery, *, limit: int) -> list[int]:
    params: list[Any] = []
    where = _bounds(search, "rank", params)
    found: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(rank), max(rank) FROM {ENTRY_TABLE} WHERE 1 = 1{where}", params)  # noqa: S608
        oldest, newest = cursor.fetchone()
        if newest is None:
            return []
        # The planner settings are local to the transaction; restored at the end in case it is the caller's.
        with transaction.atomic():
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan'),"
                " current_setting('enable_bitmapscan'),"
                " set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)"
            )
            saved = list(cursor.fetchone()[:3])
            walk = _PgWalk(search, cursor)
            try:
                for level, index in tokens.blocks(tokens.rank_second(newest), tokens.rank_second(oldest)):
                    found += walk.block(level, index, limit - len(found))
                    if len(found) >= limit:
                        break
            finally:
                cursor.execute(
                    "SELECT set_config('enable_seqscan', %s, true), set_config('enable_indexscan', %s, true),"
                    " set_config('enable_bitmapscan', %s, true)",
                    saved,
                )
    return found[:limit]
