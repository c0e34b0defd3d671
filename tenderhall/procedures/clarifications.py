"""Questions, clarifications and amendments (澄清/修改), and the notifications that carry them.

* A user who downloaded a tender's documents may ask questions until the bid deadline. The platform knows
  who asked; the tender's managers see the text only (the asker is never in what they are given).
* The managers answer with a clarification that may answer questions and may amend the documents. It is
  published at once as an amendment notice (变更/澄清公告) and every user who downloaded any of the tender's
  documents gets a notification (order 20 ch. 3). One that may affect bid preparation and comes later than the
  procedure's amendment limit before the deadline (15 days for works, 法 art. 23, 条例 art. 21) moves the bid
  deadline to the earliest lawful date (``deadlines.amendment_effect``); the notice and the ledger leaf record
  the deadline before and after.

Stored notification texts are Chinese, the language of the notices they point to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hashing import sha256_hex
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import notices, selectors, workflow
from tenderhall.procedures.calendar import calendar_load
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.deadlines import amendment_effect
from tenderhall.procedures.models import (
    Clarification,
    DocumentDownload,
    Notification,
    Question,
    Tender,
)
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.scheduler import notice_publish
from tenderhall.procedures.selectors import access_tender_for_manager, access_tender_for_viewer
from tenderhall.procedures.services import _lock_tender

MAX_TEXT_LENGTH = 20_000
# Statuses in which the tender is on issue and can still be questioned and amended (before the deadline).
ON_ISSUE = frozenset({TenderStatus.PUBLISHED, TenderStatus.BIDDING, TenderStatus.SUSPENDED})


class QuestionClosed(Conflict):
    code = "question_closed"


class QuestionNeedsDownload(PermissionDenied):
    code = "question_needs_download"


class ClarificationClosed(Conflict):
    code = "clarification_closed"


def _text(text: str, field: str = "text") -> str:
    text = text.strip()
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            gettext("Write a text of 1 to %(max)s characters.") % {"max": MAX_TEXT_LENGTH},
            details={"fields": {field: "length"}},
        )
    return text


def on_issue(tender: Tender, now: datetime) -> bool:
    """Published, not yet at its bid deadline (suspended included: answers may amend the documents)."""
    return tender.status in ON_ISSUE and tender.bid_deadline is not None and now < tender.bid_deadline


def downloader_ids(tender: Tender) -> list[int]:
    """The users who downloaded any document of the tender, each once, in id order."""
    return sorted(
        set(DocumentDownload.objects.filter(document__tender=tender).values_list("user_id", flat=True))
    )


def has_downloaded(user: User, tender: Tender) -> bool:
    return DocumentDownload.objects.filter(document__tender=tender, user=user).exists()


def manager_user_ids(tender: Tender) -> list[int]:
    """The people who run the tender: the agency's staff, or the tenderee's when it tenders by itself."""
    project = tender.project
    role, entity_id = (
        (Role.AGENCY, project.agency_id)
        if project.agency_id is not None
        else (Role.TENDEREE, project.tenderee_id)
    )
    return sorted(
        set(RoleGrant.objects.filter(role=role, entity_id=entity_id).values_list("user_id", flat=True))
    )


def notify(user_ids: list[int], *, tender: Tender, text: str, now: datetime) -> int:
    Notification.objects.bulk_create(
        [Notification(user_id=user_id, tender=tender, text=text, created_at=now) for user_id in user_ids]
    )
    return len(user_ids)


def _local(moment: datetime) -> str:
    return moment.astimezone(notices.LEGAL_TIME_ZONE).strftime("%Y年%m月%d日 %H:%M")


# --- questions --------------------------------------------------------------------------------------------


def question_ask(*, actor: User, tender_id: int, text: str, now: datetime) -> Question:
    """Ask about a tender's documents; only those who downloaded them, until the bid deadline."""
    text = _text(text)
    tender = access_tender_for_viewer(viewer=actor, tender_id=tender_id)
    if not on_issue(tender, now):
        raise QuestionClosed(gettext("Questions can be asked only while the tender is open for bids."))
    if not has_downloaded(actor, tender):
        raise QuestionNeedsDownload(gettext("Download the tender documents before asking about them."))
    with transaction.atomic():
        question = Question.objects.create(tender=tender, asked_by=actor, text=text, asked_at=now)
        audit_record(
            actor=actor,
            action="procedures:question:asked",
            subject_type="question",
            subject_id=question.pk,
            at=now,
            changes={"tender": [None, tender.pk]},
        )
        notify(
            manager_user_ids(tender),
            tender=tender,
            text=f"《{tender.name}》（{tender.code}）收到一个新的问题，请在澄清中答复。",
            now=now,
        )
    return question


@dataclass(frozen=True)
class QuestionForManager:
    """What the tender's managers learn of a question: no asker (order 20: the asker stays unknown)."""

    id: int
    text: str
    asked_at: datetime
    clarification_id: int | None


def question_list_for_manager(*, actor: User, tender_id: int) -> list[QuestionForManager]:
    tender = access_tender_for_manager(actor=actor, tender_id=tender_id)
    rows = Question.objects.filter(tender=tender).values_list("pk", "text", "asked_at", "clarification_id")
    return [QuestionForManager(*row) for row in rows.order_by("asked_at", "pk")]


def question_list_for_asker(*, actor: User, tender_id: int) -> QuerySet[Question]:
    """The actor's own questions on the tender, with the clarification that answered each."""
    tender = access_tender_for_viewer(viewer=actor, tender_id=tender_id)
    return (
        Question.objects.filter(tender=tender, asked_by=actor)
        .select_related("clarification")
        .order_by("asked_at", "pk")
    )


# --- clarifications and amendments ------------------------------------------------------------------------


def clarification_publish(
    *,
    actor: User,
    tender_id: int,
    text: str,
    affects_bids: bool,
    question_ids: list[int],
    now: datetime,
) -> Clarification:
    """Publish a clarification or amendment of a tender on issue, answering the listed questions."""
    text = _text(text)
    wanted = set(question_ids)
    if len(wanted) != len(question_ids):
        raise InvalidInput(
            gettext("A question is listed twice."), details={"fields": {"question_ids": "duplicate"}}
        )
    with transaction.atomic():
        tender = _lock_tender(actor, tender_id)
        if not on_issue(tender, now):
            raise ClarificationClosed(
                gettext(
                    "Clarifications are published while the tender is open for bids; edit a draft instead."
                )
            )
        questions = list(Question.objects.select_for_update().filter(tender=tender, pk__in=wanted))
        answered = sorted(q.pk for q in questions if q.clarification_id is not None)
        unknown = sorted(wanted - {q.pk for q in questions})
        if unknown or answered:
            raise InvalidInput(
                gettext("These questions are not open questions of this tender: %(ids)s.")
                % {"ids": ", ".join(map(str, unknown + answered))},
                details={"fields": {"question_ids": "not_open"}, "unknown": unknown, "answered": answered},
            )
        clarification = amendment_issue(
            actor=actor, tender=tender, text=text, affects_bids=affects_bids, now=now
        )
        for question in questions:
            question.clarification = clarification
            question.save(update_fields=["clarification"])
    return clarification


def amendment_issue(
    *,
    actor: User,
    tender: Tender,
    text: str,
    affects_bids: bool,
    now: datetime,
    deadline_at_least: datetime | None = None,
) -> Clarification:
    """Issue a clarification on a tender whose row the caller has locked, in the caller's transaction.

    The bid deadline moves when ``affects_bids`` and the amendment comes too late for the procedure's limit,
    or to ``deadline_at_least`` when that is later (a deadline pushed back by a suspension). Publishes the
    amendment notice at once, notifies every downloader and appends the ledger leaf.
    """
    before = tender.bid_deadline
    assert before is not None  # on issue
    after = before
    if affects_bids:
        rules = procedure_rules(tender.procedure_type)
        after = max(
            after, amendment_effect(rules, amended_at=now, bid_deadline=before, calendar=calendar_load())
        )
    if deadline_at_least is not None:
        after = max(after, deadline_at_least)
    after = after.astimezone(UTC)  # as the database gives it back, so records made now and later agree
    if after != before:
        tender.bid_deadline = after
        tender.next_check_at = workflow.next_check_at(selectors.tender_snapshot(tender))
        tender.save(update_fields=["bid_deadline", "next_check_at"])
    notice = notices.notice_create(
        tender=tender,
        kind=NoticeKind.AMENDMENT,
        publish_at=now,
        actor=actor,
        now=now,
        extra={"text": text, "deadline_before": before.isoformat(), "deadline_after": after.isoformat()},
    )
    clarification = Clarification.objects.create(
        tender=tender,
        text=text,
        affects_bids=affects_bids,
        published_at=now,
        deadline_before=before,
        deadline_after=after,
        notice=notice,
        published_by=actor,
    )
    notice_publish(notice.pk, now=now)
    notice.refresh_from_db(fields=["published_at"])
    message = f"《{tender.name}》（{tender.code}）发布澄清/修改：{notice.title}。"
    if after != before:
        message += f"投标截止时间由 {_local(before)} 调整为 {_local(after)}。"
    notified = notify(downloader_ids(tender), tender=tender, text=message, now=now)
    ledger_append(
        event_type="procedures:clarification:published",
        subjects={"clarification": str(clarification.pk), "tender": str(tender.pk)},
        hashes={"text": "sha256:" + sha256_hex(text.encode())},
        actor=f"user:{actor.pk}",
        at=now,
        data={
            "notice": notice.pk,
            "affects_bids": affects_bids,
            "deadline_before": before.isoformat(),
            "deadline_after": after.isoformat(),
        },
    )
    audit_record(
        actor=actor,
        action="procedures:clarification:published",
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes={
            "clarification": [None, clarification.pk],
            "affects_bids": [None, affects_bids],
            "bid_deadline": [before, after],
            "notified": [None, notified],
        },
    )
    return clarification


def clarification_list(*, viewer: User | None, tender_id: int) -> QuerySet[Clarification]:
    """A tender's clarifications: public, like the notices that carry them."""
    tender = access_tender_for_viewer(viewer=viewer, tender_id=tender_id)
    return Clarification.objects.filter(tender=tender).order_by("published_at", "pk")


# --- notifications ----------------------------------------------------------------------------------------


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("tender").order_by("-created_at", "-pk")


def notification_mark_read(*, actor: User, notification_id: int, now: datetime) -> Notification:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id, user=actor).first()
        if notification is None:
            raise NotFound(gettext("No such notification."))
        if notification.read_at is None:
            notification.read_at = now
            notification.save(update_fields=["read_at"])
    return notification


# --- ledger verify ----------------------------------------------------------------------------------------


def clarification_published_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """`ledger verify`: the clarification's text, deadlines and notice must read as logged."""
    clarification = Clarification.objects.filter(pk=event["subjects"]["clarification"]).first()
    if clarification is None:
        return [f"clarification {event['subjects']['clarification']} no longer exists"]
    return {
        **event,
        "hashes": {"text": "sha256:" + sha256_hex(clarification.text.encode())},
        "data": {
            "notice": clarification.notice_id,
            "affects_bids": clarification.affects_bids,
            "deadline_before": clarification.deadline_before.isoformat(),
            "deadline_after": clarification.deadline_after.isoformat(),
        },
    }


def leaf_sources() -> dict[str, Callable[[dict[str, Any]], dict[str, Any] | list[str]]]:
    """The leaf sources of this module, for ``procedures.ledger_sources.register``."""
    return {"procedures:clarification:published": clarification_published_source}
