"""The scheduler: fires the workflow's timed events and publishes notices whose time has come.

A tick is idempotent. Each tender and each notice is changed in its own transaction that locks the row,
reads it again and asks the workflow what is due *now*; a second tick (or a second worker, or a rerun after
a crash rolled a transaction back) finds nothing left to do for what was done, so the outcome, the ledger
leaves and the audit entries are the same however often it runs. Run by `tenderhall procedures tick` (the
worker) or in-process by ``tenderhall.portal.worker`` in embedded mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from tenderhall.core.audit import audit_record
from tenderhall.core.hooks import notice_published, tender_transitioned
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.models import Notice, Tender
from tenderhall.procedures.selectors import tender_snapshot
from tenderhall.procedures.workflow import TenderEvent, action_name, advance, due_event, next_check_at

logger = logging.getLogger(__name__)

ACTOR = "system:scheduler"
MAX_STEPS = 8  # a tender catching up after downtime takes at most a few timed steps in one tick

Say = Callable[[str], object]


def procedures_tick(*, now: datetime, limit: int = 500, say: Say = logger.info) -> int:
    """Publish the notices due by ``now``, then fire the tenders' due events, the earliest first;
    ``limit`` bounds the rows of each kind looked at in one tick. Returns how many changes were made;
    ``say`` hears one line per change."""
    published = notices_publish_due(now=now, limit=limit, say=say)
    return published + tenders_advance_due(now=now, limit=limit, say=say)


def tenders_advance_due(*, now: datetime, limit: int = 500, say: Say = logger.info) -> int:
    due = (
        Tender.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    changes = 0
    for tender_id in list(due):
        try:
            done = _tender_advance(tender_id, now=now)
        except Exception:  # one broken tender must not hold up the others; the next tick retries it
            logger.exception("tender %s: the scheduler could not advance it", tender_id)
            continue
        for line in done:  # told once committed, never for a step that rolled back
            say(line)
        changes += len(done)
    return changes


def _tender_advance(tender_id: int, *, now: datetime) -> list[str]:
    """Fire what is due for one tender in one transaction; one line per step."""
    done: list[str] = []
    with transaction.atomic():
        tender = Tender.objects.select_for_update().filter(pk=tender_id).first()
        if tender is None or tender.next_check_at is None or tender.next_check_at > now:
            return done  # another tick (or a service) got there first
        snapshot = tender_snapshot(tender)
        while len(done) < MAX_STEPS and (event := due_event(snapshot, now=now)) is not None:
            after = advance(snapshot, event, now=now)
            _record(tender, event=event, before=snapshot.status, after=after.status, now=now)
            tender.status, tender.suspended_from = after.status, after.suspended_from
            tender.next_check_at = next_check_at(after)
            tender.save(update_fields=["status", "suspended_from", "next_check_at"])
            if event == TenderEvent.FAIL and snapshot.status == TenderStatus.BIDDING_CLOSED:
                _failed_notice(tender, bid_count=snapshot.bid_count, minimum=snapshot.min_bids, now=now)
            tender_transitioned(tender, event, now)  # the opening starts here, in this transaction
            done.append(f"tender {tender.code}: {snapshot.status} → {after.status} ({event})")
            snapshot = after
        if tender.next_check_at != next_check_at(snapshot):  # a stale check, moved to the real moment
            tender.next_check_at = next_check_at(snapshot)
            tender.save(update_fields=["next_check_at"])
    return done


def _failed_notice(tender: Tender, *, bid_count: int, minimum: int, now: datetime) -> None:
    """Too few bids at the deadline: no opening, and the failed-tender notice (流标公告) goes out now."""
    from tenderhall.procedures.notices import notice_create

    notice = notice_create(
        tender=tender,
        kind=NoticeKind.FAILED,
        publish_at=now,
        actor=tender.created_by,
        now=now,
        extra={"bid_count": bid_count, "minimum_bids": minimum},
    )
    notice_publish(notice.pk, now=now)


def _record(tender: Tender, *, event: str, before: str, after: str, now: datetime) -> None:
    ledger_append(
        event_type=action_name(event),
        subjects={"tender": str(tender.pk)},
        hashes={},
        actor=ACTOR,
        at=now,
        data={"from": before, "to": after, "code": tender.code},
    )
    audit_record(
        actor=None,
        action=action_name(event),
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes={"status": [before, after]},
    )


def notices_publish_due(*, now: datetime, limit: int = 500, say: Say = logger.info) -> int:
    """Publish the notices whose ``publish_at`` has come, the earliest first: each gets ``published_at``,
    a ledger leaf over its content hash and an audit entry, once."""
    due = (
        Notice.objects.filter(published_at__isnull=True, publish_at__lte=now)
        .order_by("publish_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    published = 0
    for notice_id in list(due):
        try:
            done = notice_publish(notice_id, now=now)
        except Exception:  # as for tenders: log, go on, retry on the next tick
            logger.exception("notice %s: the scheduler could not publish it", notice_id)
            continue
        if done:
            say(done)
            published += 1
    return published


def notice_publish(notice_id: int, *, now: datetime) -> str | None:
    """Publish one notice in one transaction (a savepoint inside a caller's), if it is still due; the line
    saying so. Services call it for the notice they just made, so that a failure rolls their change back."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id, published_at__isnull=True).first()
        if notice is None or notice.publish_at > now:
            return None
        if not notice.content_hash:
            logger.error("notice %s has no content hash; it is not published", notice_id)
            return None
        notice.published_at = now
        notice.save(update_fields=["published_at"])
        notice_published(notice)  # the portal indexes it for search, in this transaction
        ledger_append(
            event_type="procedures:notice:published",
            subjects={"notice": str(notice.pk), "tender": str(notice.tender_id)},
            hashes={"notice": notice.content_hash},
            actor=ACTOR,
            at=now,
            data={"kind": notice.kind},
        )
        audit_record(
            actor=None,
            action="procedures:notice:published",
            subject_type="notice",
            subject_id=notice.pk,
            at=now,
            changes={"published_at": [None, now]},
        )
    return f"notice {notice.pk} ({notice.kind}) published"
