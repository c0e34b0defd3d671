"""Observers of events that cross the layers upwards, without Django signals.

A lower app announces an event by calling a function here; a higher app, which the lower one may not import,
registers its observer once, in its ``AppConfig.ready()``. The call is explicit at the place where the event
happens, so reading the announcing code shows that something else runs, and where to look.

* ``notice_published(notice)``: procedures calls it in the transaction that publishes a notice (after
  ``published_at`` is saved); the portal registers its search indexer. An observer runs inside that
  transaction, so what it writes commits or rolls back with the publication, and an observer that raises
  rolls the publication back: observers must be quick, write only to the database and never fail for
  reasons of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NoticeObserver = Callable[[Any], None]
"""Takes the ``procedures.Notice`` just published (``Any``: core may not import procedures)."""

_notice_published: list[NoticeObserver] = []


def register_notice_published(observer: NoticeObserver) -> None:
    """Call ``observer(notice)`` whenever a notice is published. Registering the same function twice (a
    second ``ready()`` in tests) keeps one registration."""
    if observer not in _notice_published:
        _notice_published.append(observer)


def notice_published(notice: Any) -> None:
    """Announce that ``notice`` has just been published, in the transaction that published it."""
    for observer in tuple(_notice_published):
        observer(notice)


# --- tenders published, and the recipients every sealed bid of a tender must have -----------------------

TenderObserver = Callable[[Any, Any], None]
"""Takes the ``procedures.Tender`` just published and the ``now`` of the publication."""
RecipientsProvider = Callable[[Any], dict[str, bytes]]
"""Takes a ``procedures.Tender``; returns required envelope recipients as name → certificate DER."""

_tender_published: list[TenderObserver] = []
_sealing_recipients: list[RecipientsProvider] = []


def register_tender_published(observer: TenderObserver) -> None:
    """Call ``observer(tender, now)`` in the transaction that publishes a tender (the opening app makes the
    tender's escrow opening key there)."""
    if observer not in _tender_published:
        _tender_published.append(observer)


def tender_published(tender: Any, now: Any) -> None:
    for observer in tuple(_tender_published):
        observer(tender, now)


def register_sealing_recipients(provider: RecipientsProvider) -> None:
    """Add the recipients a tender's envelopes need besides the bidder (the escrow opening certificate)."""
    if provider not in _sealing_recipients:
        _sealing_recipients.append(provider)


def sealing_recipients(tender: Any) -> dict[str, bytes]:
    required: dict[str, bytes] = {}
    for provider in tuple(_sealing_recipients):
        required |= provider(tender)
    return required


# --- the tender's bids as the workflow counts them, and its transitions -----------------------------------

BidCounter = Callable[[Any], int]
"""Takes a ``procedures.Tender``; returns the most active bids any one of its lots holds."""
TransitionObserver = Callable[[Any, str, Any], None]
"""Takes the ``procedures.Tender`` (its new status saved), the workflow event and its ``now``."""

_bid_counters: list[BidCounter] = []
_tender_transitioned: list[TransitionObserver] = []


def register_bid_counter(counter: BidCounter) -> None:
    """The bids app counts the bids the workflow's opening guard judges (one counter is expected)."""
    if counter not in _bid_counters:
        _bid_counters.append(counter)


def tender_bid_count(tender: Any) -> int:
    return max((counter(tender) for counter in tuple(_bid_counters)), default=0)


def register_tender_transitioned(observer: TransitionObserver) -> None:
    """Call ``observer(tender, event, now)`` in the transaction of every workflow transition the scheduler
    makes (the opening app starts the opening session on ``start_opening``), and of a termination
    (``cancel``: the evaluation app reveals the seeds still secret)."""
    if observer not in _tender_transitioned:
        _tender_transitioned.append(observer)


def tender_transitioned(tender: Any, event: str, now: Any) -> None:
    for observer in tuple(_tender_transitioned):
        observer(tender, event, now)


# --- the change feed's sources, alerts for supervisors, and the worker's timed jobs ------------------------


@dataclass(frozen=True)
class FeedSource:
    """One entity type of the change feed (supervision serves it; docs/data-feeds.md).

    The feed walks the ledger's leaves in index order; a leaf whose event type starts with ``event_prefix``
    is a change of the entity its subject ``subject`` names. ``state(ids, private, now)`` returns, for those
    ids visible to the audience (``private``: operators and regulators), the entity's current state as a
    JSON-ready dict; an id left out is not visible (the item is listed with no data).
    """

    entity_type: str
    event_prefix: str
    subject: str
    public: bool
    state: Callable[[list[str], bool, Any], dict[str, dict[str, Any]]]


_feed_sources: dict[str, FeedSource] = {}


def register_feed_source(source: FeedSource) -> None:
    """Add (or replace, for a second ``ready()``) the feed source of ``source.entity_type``."""
    _feed_sources[source.entity_type] = source


def feed_sources() -> tuple[FeedSource, ...]:
    return tuple(_feed_sources.values())


@dataclass(frozen=True)
class AlertRaised:
    """Something supervisors must see. ``key`` names the occurrence: the same key is one alert, however
    often it is announced (a threshold crossed in one period is one key)."""

    kind: str
    key: str
    subject_type: str
    subject_id: str
    message: str
    data: dict[str, Any]
    at: Any


AlertObserver = Callable[[AlertRaised], object]
_alert_raised: list[AlertObserver] = []


def register_alert_raised(observer: AlertObserver) -> None:
    """Supervision records alerts; it registers here so that lower apps can raise one in their transaction."""
    if observer not in _alert_raised:
        _alert_raised.append(observer)


def alert_raised(alert: AlertRaised) -> None:
    for observer in tuple(_alert_raised):
        observer(alert)


WorkerJob = Callable[[Any], object]
"""A timed job of the worker, called with the tick's ``now`` (webhook deliveries, for one)."""
_worker_jobs: list[WorkerJob] = []


def register_worker_job(job: WorkerJob) -> None:
    """Run ``job(now)`` on every tick of the worker (the portal's in-process worker may not import the app
    that owns the job)."""
    if job not in _worker_jobs:
        _worker_jobs.append(job)


def worker_jobs() -> tuple[WorkerJob, ...]:
    return tuple(_worker_jobs)
