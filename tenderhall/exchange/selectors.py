"""Reads for the OCDS API and commands: the releases of one contracting process, of a period (by ledger
order, paginated), every release as a stream, and records with their compiled release."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from tenderhall.core.errors import InvalidInput, NotFound
from tenderhall.exchange import conf
from tenderhall.exchange.ocds_merge import compile_releases
from tenderhall.exchange.sources import PUBLIC_EVENTS, public_tenders, tender_of_leaf, tender_releases
from tenderhall.ledger.models import Leaf
from tenderhall.procedures.models import Tender

MAX_PAGE = 500
MAX_OCID = 200
LEAF_BATCH = 1000
TENDER_BATCH = 20  # small: a batch is still held while the next is read, and the export's peak is two


class NoReleases(NotFound):
    code = "no_releases"


def access_tender_by_ocid(*, ocid: str) -> Tender:
    """The published tender of ``ocid`` (``<prefix>-<tender code>``); not found for any other, drafts too."""
    prefix = conf.ocid_prefix() + "-"
    tender = None
    if ocid.startswith(prefix) and "\x00" not in ocid and len(ocid) <= MAX_OCID:
        tender = public_tenders().filter(code=ocid.removeprefix(prefix)).first()
    if tender is None:
        raise NotFound(
            gettext("No published contracting process has the ocid %(ocid)s.") % {"ocid": ocid},
            details={"ocid": ocid},
        )
    return tender


def releases_for_ocid(*, ocid: str) -> list[dict[str, Any]]:
    releases = list(tender_releases(access_tender_by_ocid(ocid=ocid)))
    if not releases:
        raise NoReleases(gettext("This contracting process has no public release yet."))
    return releases


def record_for_tender(tender: Tender) -> dict[str, Any] | None:
    releases = list(tender_releases(tender))
    if not releases:
        return None
    return {"ocid": releases[0]["ocid"], "releases": releases, "compiledRelease": compile_releases(releases)}


def record_for_ocid(*, ocid: str) -> dict[str, Any]:
    record = record_for_tender(access_tender_by_ocid(ocid=ocid))
    if record is None:
        raise NoReleases(gettext("This contracting process has no public release yet."))
    return record


def published_tender_batches(batch: int = TENDER_BATCH) -> Iterator[list[Tender]]:
    """Published tenders in id order, ``batch`` at a time by keyset, each batch in two queries (the tenders
    with their project and parties, and their lots): what is built from each tender's history is built
    tender by tender, so memory holds one batch of tenders and one tender's history."""
    last = 0
    while True:
        tenders = list(public_tenders().filter(pk__gt=last).order_by("pk").prefetch_related("lots")[:batch])
        if tenders:
            yield tenders
        if len(tenders) < batch:
            return
        last = tenders[-1].pk


def published_tenders_one_by_one(batch: int = TENDER_BATCH) -> Iterator[Tender]:
    """Published tenders in id order (loaded in batches, see :func:`published_tender_batches`)."""
    for tenders in published_tender_batches(batch):
        yield from tenders


def all_releases() -> Iterator[dict[str, Any]]:
    """Every release of every published tender, tender by tender."""
    for tender in published_tenders_one_by_one():
        yield from tender_releases(tender)


def all_records() -> Iterator[dict[str, Any]]:
    for tender in published_tenders_one_by_one():
        record = record_for_tender(tender)
        if record is not None:
            yield record


@dataclass(frozen=True)
class ReleasePage:
    releases: list[dict[str, Any]]
    next_cursor: str | None


def _cursor_value(cursor: str | None) -> int:
    if not cursor:
        return -1
    if not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63):
        raise InvalidInput(
            gettext("The cursor is not one this API gave: pass next_cursor back as it came."),
            details={"fields": {"cursor": "invalid"}},
        )
    return int(cursor)


def releases_in_period(
    *, since: datetime | None, until: datetime | None, cursor: str | None, limit: int
) -> ReleasePage:
    """Releases whose change happened in [since, until), in ledger order; ``next_cursor`` continues."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            gettext("limit must be between 1 and %(max)s.") % {"max": MAX_PAGE},
            details={"fields": {"limit": "out_of_range"}},
        )
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(
                gettext("%(name)s needs a time zone offset, e.g. 2026-03-02T09:30:00+08:00.")
                % {"name": name},
                details={"fields": {name: "no_offset"}},
            )
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            gettext("since must be before until."), details={"fields": {"since": "after_until"}}
        )
    leaves = Leaf.objects.filter(event_type__in=PUBLIC_EVENTS, index__gt=_cursor_value(cursor))
    if since is not None:
        leaves = leaves.filter(appended_at__gte=since)
    if until is not None:
        leaves = leaves.filter(appended_at__lt=until)
    published = public_tenders()
    # each tender's releases by the index of the leaf that made them (the end of a release id, see
    # ocds_mapping.release_id), built once per page; None: not a published tender
    releases_of: dict[str, dict[int, dict[str, Any]] | None] = {}
    found: list[tuple[int, dict[str, Any]]] = []
    for leaf in leaves.order_by("index").iterator(chunk_size=LEAF_BATCH):
        tender_key = tender_of_leaf(json.loads(bytes(leaf.data)))
        if tender_key is None:
            continue
        if tender_key not in releases_of:
            tender = published.filter(pk=int(tender_key)).first()
            releases_of[tender_key] = (
                None
                if tender is None
                else {int(r["id"].rsplit("-", 1)[1]): r for r in tender_releases(tender)}
            )
        release = (releases_of[tender_key] or {}).get(leaf.index)
        if release is None:
            continue
        found.append((leaf.index, release))
        if len(found) > limit:
            break
    page = found[:limit]
    more = len(found) > limit
    return ReleasePage(
        releases=[release for _, release in page], next_cursor=str(page[-1][0]) if more and page else None
    )
