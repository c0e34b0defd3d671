"""The change feed: every change of a public entity, in the order the ledger committed it.

A page is read from a cursor (a ledger index) forwards. Why it neither skips nor repeats an item while
others write (docs/data-feeds.md): leaf indexes are handed out under the ledger head's row lock, which the
appending transaction holds until it commits, so a leaf is visible only once every lower index is; and a
short watermark holds back leaves appended in the last few seconds, as a margin. The cursor moves only past
leaves the page has read, so the next page starts exactly where this one ended.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_supervises
from tenderhall.core.errors import InvalidInput, NotFound
from tenderhall.core.hooks import FeedSource, feed_sources
from tenderhall.ledger.models import Checkpoint, Leaf
from tenderhall.ledger.selectors import checkpoint_text, published_size

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_CURSOR = 2**63 - 1  # ledger indexes and tree sizes are 64-bit


class FeedInvalid(InvalidInput):
    code = "feed_invalid"


@dataclass(frozen=True)
class FeedItem:
    seq: int  # the ledger index of the change; strictly increasing along the feed
    entity_type: str
    entity_id: str
    event: str
    at: datetime
    data: dict[str, Any] | None  # the entity's current state for the audience; None: not visible now


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: int  # pass as cursor for the next page; equal to the cursor when nothing new was ready
    watermark: datetime  # changes appended after this moment wait for a later page


def watermark_seconds() -> float:
    return float(getattr(settings, "TENDERHALL_FEED_WATERMARK_SECONDS", 2.0))


def feed_entity_types(*, private: bool) -> list[str]:
    return sorted(s.entity_type for s in feed_sources() if private or s.public)


def _sources(entity_types: list[str], *, private: bool) -> list[FeedSource]:
    available = {s.entity_type: s for s in feed_sources() if private or s.public}
    unknown = [t for t in entity_types if t not in available]
    if unknown:
        raise FeedInvalid(
            gettext("Unknown entity types %(types)s: choose from %(choices)s.")
            % {"types": ", ".join(unknown), "choices": ", ".join(sorted(available))},
            details={"fields": {"types": "unknown"}},
        )
    return [available[t] for t in entity_types] if entity_types else list(available.values())


def _check_page(cursor: int, limit: int) -> None:
    problems: dict[str, str] = {}
    if not 0 <= cursor <= MAX_CURSOR:
        problems["cursor"] = gettext("Start at 0, or at the next_cursor of the page before.")
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = gettext("Between 1 and %(count)d.") % {"count": MAX_LIMIT}
    if problems:
        raise FeedInvalid(
            gettext("Some feed parameters are not valid; see details."), details={"fields": problems}
        )


def feed_page(
    *, cursor: int, limit: int = DEFAULT_LIMIT, entity_types: list[str], private: bool, now: datetime
) -> FeedPage:
    """Up to ``limit`` changes from ``cursor`` on, of the given types (all when empty), as the public
    (``private=False``) or the supervisors see them. The caller decides who is asking."""
    _check_page(cursor, limit)
    sources = _sources(entity_types, private=private)
    watermark = now - timedelta(seconds=watermark_seconds())
    wanted = Q()
    for source in sources:
        wanted |= Q(event_type__startswith=source.event_prefix)
    leaves = (
        Leaf.objects.filter(wanted, index__gte=cursor)
        .order_by("index")
        .only("index", "event_type", "data", "appended_at")[:limit]
    )
    ready: list[tuple[Leaf, FeedSource, str]] = []
    next_cursor = cursor
    for leaf in leaves:
        if leaf.appended_at > watermark:
            break  # this change and every later one wait: the cursor stops right before it
        next_cursor = leaf.index + 1
        source = next(s for s in sources if leaf.event_type.startswith(s.event_prefix))
        subjects = json.loads(bytes(leaf.data))["subjects"]
        if source.subject in subjects:
            ready.append((leaf, source, str(subjects[source.subject])))
    wanted_ids: dict[str, list[str]] = defaultdict(list)
    for _leaf, source, entity_id in ready:
        wanted_ids[source.entity_type].append(entity_id)
    states = {
        source.entity_type: source.state(sorted(set(wanted_ids[source.entity_type])), private, now)
        for source in sources
        if wanted_ids[source.entity_type]
    }
    items = [
        FeedItem(
            seq=leaf.index,
            entity_type=source.entity_type,
            entity_id=entity_id,
            event=leaf.event_type,
            at=leaf.appended_at,
            data=states[source.entity_type].get(entity_id),
        )
        for leaf, source, entity_id in ready
    ]
    return FeedPage(items=items, next_cursor=next_cursor, watermark=watermark)


def access_private_feed(
    *, viewer: User | None, cursor: int, limit: int, entity_types: list[str], now: datetime
) -> FeedPage:
    """The regulators' feed: the public items and those the public cannot see (yet)."""
    if viewer is None or not user_supervises(viewer):
        raise NotFound(gettext("No such resource."))
    return feed_page(cursor=cursor, limit=limit, entity_types=entity_types, private=True, now=now)


@dataclass(frozen=True)
class CheckpointItem:
    size: int
    root_hash: str
    signed_at: datetime
    note: str


@dataclass(frozen=True)
class CheckpointPage:
    items: list[CheckpointItem]
    next_cursor: int


def checkpoint_feed(*, cursor: int, limit: int = DEFAULT_LIMIT) -> CheckpointPage:
    """Published checkpoints with a tree size above ``cursor``, smallest first. One integrator signs them
    under the tree state's lock, so sizes are committed in increasing order too."""
    _check_page(cursor, limit)
    upto = published_size()
    rows = list(Checkpoint.objects.filter(size__gt=cursor, size__lte=upto).order_by("size")[:limit])
    items = [
        CheckpointItem(
            size=c.size, root_hash=bytes(c.root_hash).hex(), signed_at=c.signed_at, note=checkpoint_text(c)
        )
        for c in rows
    ]
    return CheckpointPage(items=items, next_cursor=rows[-1].size if rows else cursor)
