"""The tender workflow: which event takes a tender from which status to which, and when it may. Pure.

:data:`TABLE` says where an event leads; a guard says whether it may happen now, judged from a frozen
:class:`TenderSnapshot` and ``now``. Services lock the row, ask :func:`transition` (or :func:`advance`), save
and record; the scheduler asks :func:`due_event` for the timed events and :func:`next_check_at` for when to
look again. No ORM, no clock: import-linter forbids both. docs/workflow.md draws the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext

from tenderhall.core.errors import DomainError
from tenderhall.procedures.choices import TenderStatus as S


class TenderEvent(StrEnum):
    PUBLISH = "publish"
    OPEN_DOCUMENTS = "open_documents"
    CLOSE_BIDDING = "close_bidding"
    START_OPENING = "start_opening"
    FAIL = "fail"
    START_EVALUATION = "start_evaluation"
    PUBLISH_CANDIDATES = "publish_candidates"
    AWARD = "award"
    SIGN_CONTRACT = "sign_contract"
    CLOSE = "close"
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"


E = TenderEvent
EVENTS = frozenset(E)
TERMINAL = frozenset({S.CLOSED, S.CANCELLED, S.FAILED})
SUSPENDABLE = frozenset(S) - TERMINAL - {S.DRAFT, S.SUSPENDED}
REMEMBERED = "suspended_from"  # the target of resume: the status the tender was suspended from

TABLE: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        (S.DRAFT, E.PUBLISH): S.PUBLISHED,
        (S.PUBLISHED, E.OPEN_DOCUMENTS): S.BIDDING,
        (S.BIDDING, E.CLOSE_BIDDING): S.BIDDING_CLOSED,
        (S.BIDDING_CLOSED, E.START_OPENING): S.OPENING,
        (S.BIDDING_CLOSED, E.FAIL): S.FAILED,
        (S.OPENING, E.START_EVALUATION): S.EVALUATION,
        (S.EVALUATION, E.PUBLISH_CANDIDATES): S.PUBLICITY,
        (S.EVALUATION, E.FAIL): S.FAILED,
        (S.PUBLICITY, E.AWARD): S.AWARDED,
        (S.AWARDED, E.SIGN_CONTRACT): S.CONTRACTED,
        (S.CONTRACTED, E.CLOSE): S.CLOSED,
        **{(status, E.SUSPEND): S.SUSPENDED for status in S if status in SUSPENDABLE},
        (S.SUSPENDED, E.RESUME): REMEMBERED,
        **{(status, E.CANCEL): S.CANCELLED for status in S if status not in TERMINAL},
    }
)

# The timed events: in this status, the event is due once the named timeline moment has come.
TIMED: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        S.PUBLISHED: (E.OPEN_DOCUMENTS, "documents_from"),
        S.BIDDING: (E.CLOSE_BIDDING, "bid_deadline"),
        # Deadline = opening: with too few bids the tender fails instead (see due_event).
        S.BIDDING_CLOSED: (E.START_OPENING, "bid_deadline"),
    }
)

# What each event records, in the past tense of ledger and audit actions (procedures:tender:<action>).
ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        E.PUBLISH: "published",
        E.OPEN_DOCUMENTS: "documents_opened",
        E.CLOSE_BIDDING: "bidding_closed",
        E.START_OPENING: "opening_started",
        E.FAIL: "failed",
        E.START_EVALUATION: "evaluation_started",
        E.PUBLISH_CANDIDATES: "candidates_published",
        E.AWARD: "awarded",
        E.SIGN_CONTRACT: "contract_signed",
        E.CLOSE: "closed",
        E.SUSPEND: "suspended",
        E.RESUME: "resumed",
        E.CANCEL: "cancelled",
    }
)

TIMELINE = ("notice_publish_at", "documents_from", "documents_until", "bid_deadline")
DEFAULT_MIN_BIDS = 3  # the statutory minimum of most procedures; pass the procedure rules' value


class TransitionRefused(DomainError):
    code = "transition_refused"
    status = 409


class TenderRow(Protocol):
    """What :meth:`TenderSnapshot.of` reads: a ``Tender`` row, or anything with the same attributes."""

    @property
    def status(self) -> str: ...
    @property
    def suspended_from(self) -> str: ...
    @property
    def notice_publish_at(self) -> datetime | None: ...
    @property
    def documents_from(self) -> datetime | None: ...
    @property
    def documents_until(self) -> datetime | None: ...
    @property
    def bid_deadline(self) -> datetime | None: ...


@dataclass(frozen=True, kw_only=True)
class TenderSnapshot:
    """What the guards judge: the tender's status and timeline, and the counts its services know."""

    status: str
    suspended_from: str = ""
    notice_publish_at: datetime | None = None
    documents_from: datetime | None = None
    documents_until: datetime | None = None
    bid_deadline: datetime | None = None
    bid_count: int = 0
    min_bids: int = DEFAULT_MIN_BIDS
    open_objections: int = 0

    @classmethod
    def of(
        cls,
        row: TenderRow,
        *,
        bid_count: int = 0,
        min_bids: int = DEFAULT_MIN_BIDS,
        open_objections: int = 0,
    ) -> TenderSnapshot:
        return cls(
            status=row.status,
            suspended_from=row.suspended_from,
            notice_publish_at=row.notice_publish_at,
            documents_from=row.documents_from,
            documents_until=row.documents_until,
            bid_deadline=row.bid_deadline,
            bid_count=bid_count,
            min_bids=min_bids,
            open_objections=open_objections,
        )


def when(moment: datetime) -> str:
    """A moment as people read it: local time to the minute, with seconds only when they are not zero."""
    local = timezone.localtime(moment)
    if local.microsecond:
        return local.strftime("%Y-%m-%d %H:%M:%S.%f")
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


# --- guards: None when the event may happen now, else (reason code, message) ------------------------------

Refusal = tuple[str, str]


def _publish(s: TenderSnapshot, now: datetime) -> Refusal | None:
    missing = [name for name in TIMELINE if getattr(s, name) is None]
    if missing:
        message = gettext(
            "The tender is %(status)s: it cannot be published until its timeline is complete; "
            "set %(missing)s."
        )
        return "timeline_incomplete", message % {"status": s.status, "missing": ", ".join(missing)}
    notice, opens, until, deadline = (getattr(s, name) for name in TIMELINE)
    if not notice <= opens < until <= deadline:
        message = gettext(
            "The tender is %(status)s: its timeline is out of order; it must run notice_publish_at ≤ "
            "documents_from < documents_until ≤ bid_deadline."
        )
        return "timeline_out_of_order", message % {"status": s.status}
    if now >= deadline:
        message = gettext(
            "The tender is %(status)s: it cannot be published, its bid deadline %(deadline)s has passed."
        )
        return "deadline_passed", message % {"status": s.status, "deadline": when(deadline)}
    return None


def _timed(s: TenderSnapshot, now: datetime) -> Refusal | None:
    event, field = TIMED[s.status]
    moment = getattr(s, field)
    if moment is not None and now >= moment:
        return None
    if event == E.OPEN_DOCUMENTS:
        message = gettext("The tender is %(status)s: the documents cannot be made available before %(at)s.")
    else:
        message = gettext("The tender is %(status)s: bidding cannot close before the deadline %(at)s.")
    return "not_yet", message % {"status": s.status, "at": when(moment) if moment else "?"}


def _start_opening(s: TenderSnapshot, now: datetime) -> Refusal | None:
    if s.bid_count >= s.min_bids:
        return None
    message = gettext(
        "The tender is %(status)s: opening needs at least %(min)s bids and there are %(count)s; "
        "the tender fails instead."
    )
    return "too_few_bids", message % {"status": s.status, "min": s.min_bids, "count": s.bid_count}


def _fail(s: TenderSnapshot, now: datetime) -> Refusal | None:
    if s.status != S.BIDDING_CLOSED or s.bid_count < s.min_bids:
        return None
    message = gettext(
        "The tender is %(status)s: it cannot fail with %(count)s bids, %(min)s are enough to open."
    )
    return "enough_bids", message % {"status": s.status, "min": s.min_bids, "count": s.bid_count}


def _resume(s: TenderSnapshot, now: datetime) -> Refusal | None:
    if s.suspended_from not in SUSPENDABLE:
        message = gettext("The tender is %(status)s but it is not known from which status; it cannot resume.")
        return "suspended_from_unknown", message % {"status": s.status}
    if s.open_objections:
        message = gettext("The tender is %(status)s: it cannot resume while %(count)s objections are open.")
        return "objections_open", message % {"status": s.status, "count": s.open_objections}
    return None


def _award(s: TenderSnapshot, now: datetime) -> Refusal | None:
    if not s.open_objections:
        return None
    message = gettext(
        "The tender is %(status)s: the award cannot be decided while %(count)s objections are open."
    )
    return "objections_open", message % {"status": s.status, "count": s.open_objections}


GUARDS: Mapping[str, Callable[[TenderSnapshot, datetime], Refusal | None]] = MappingProxyType(
    {
        E.PUBLISH: _publish,
        E.OPEN_DOCUMENTS: _timed,
        E.CLOSE_BIDDING: _timed,
        E.START_OPENING: _start_opening,
        E.FAIL: _fail,
        E.RESUME: _resume,
        E.AWARD: _award,
    }
)


# --- the API ------------------------------------------------------------------------------------------------


def _refuse(s: TenderSnapshot, event: str, reason: str, message: str) -> TransitionRefused:
    return TransitionRefused(message, details={"status": s.status, "event": event, "reason": reason})


def transition(snapshot: TenderSnapshot, event: str, *, now: datetime) -> str:
    """The status ``event`` takes the tender to now, or :class:`TransitionRefused` saying why not."""
    s = snapshot
    if event not in EVENTS:
        message = gettext("There is no workflow event %(event)s; the events are %(events)s.")
        raise _refuse(s, event, "unknown_event", message % {"event": event, "events": ", ".join(E)})
    if s.status in TERMINAL:
        message = gettext("The tender is %(status)s, which is final: it cannot take %(event)s.")
        raise _refuse(s, event, "terminal", message % {"status": s.status, "event": event})
    target = TABLE.get((s.status, event))
    if target is None:
        sources = ", ".join(status for status in S if (status, event) in TABLE)
        message = gettext("The tender is %(status)s: %(event)s is possible only from %(sources)s.")
        raise _refuse(
            s, event, "not_allowed", message % {"status": s.status, "event": event, "sources": sources}
        )
    guard = GUARDS.get(event)
    refusal = guard(s, now) if guard else None
    if refusal is not None:
        raise _refuse(s, event, *refusal)
    return str(s.suspended_from if target == REMEMBERED else target)


def advance(snapshot: TenderSnapshot, event: str, *, now: datetime) -> TenderSnapshot:
    """The snapshot after ``event``: its new status, and the status it was suspended from (kept only while
    suspended)."""
    target = transition(snapshot, event, now=now)
    remembered = snapshot.status if target == S.SUSPENDED else ""
    return replace(snapshot, status=target, suspended_from=remembered)


def allowed_events(snapshot: TenderSnapshot, *, now: datetime) -> list[str]:
    """The events that would be accepted now, in the order of :class:`TenderEvent`."""
    allowed = []
    for event in E:
        try:
            transition(snapshot, event, now=now)
        except TransitionRefused:
            continue
        allowed.append(str(event))
    return allowed


def due_event(snapshot: TenderSnapshot, *, now: datetime) -> str | None:
    """The timed event the scheduler should fire now, if any (none while suspended or finished)."""
    timed = TIMED.get(snapshot.status)
    if timed is None:
        return None
    event, field = timed
    moment = getattr(snapshot, field)
    if moment is None or now < moment:
        return None
    if event == E.START_OPENING and snapshot.bid_count < snapshot.min_bids:
        return str(E.FAIL)
    return str(event)


def next_check_at(snapshot: TenderSnapshot) -> datetime | None:
    """When the next timed event becomes due (None: nothing timed is pending in this status)."""
    timed = TIMED.get(snapshot.status)
    moment: datetime | None = getattr(snapshot, timed[1]) if timed else None
    return moment


def action_name(event: str) -> str:
    """The ledger event type and audit action of ``event``: ``procedures:tender:bidding_closed``."""
    return f"procedures:tender:{ACTIONS[event]}"
