"""Webhooks: subscriptions to the change feed, and the deliveries the worker makes to them.

``webhooks_deliver_due(now=...)`` is the worker's job: it copies the feed items each active subscription
has not had yet into deliveries (advancing its cursor in the same transaction, so an item is queued once),
then posts every delivery that is due, signed (webhook_rules.py), outside any transaction, recording each
attempt. A failed attempt is retried with exponential backoff until the policy gives up.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.clients import client_list_for_owner
from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import InvalidInput, NotFound, PermissionDenied
from tenderhall.ledger.models import Leaf
from tenderhall.supervision import webhook_rules
from tenderhall.supervision.feed import MAX_CURSOR, FeedItem, feed_entity_types, feed_page
from tenderhall.supervision.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_OWNER = 20


class WebhookInvalid(InvalidInput):
    code = "webhook_invalid"


class WebhookNotAllowed(PermissionDenied):
    code = "webhook_not_allowed"


def retry_policy() -> webhook_rules.RetryPolicy:
    return webhook_rules.RetryPolicy(
        max_attempts=int(getattr(settings, "TENDERHALL_WEBHOOK_MAX_ATTEMPTS", 8)),
        first_delay_seconds=float(getattr(settings, "TENDERHALL_WEBHOOK_FIRST_RETRY_SECONDS", 30)),
    )


def _timeout() -> float:
    return float(getattr(settings, "TENDERHALL_WEBHOOK_TIMEOUT", 5))


def _private_addresses_allowed() -> bool:
    """Receivers on loopback or private networks: allowed in embedded mode (a regulator's test receiver on
    the same machine), refused in production unless TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES is set."""
    configured = getattr(settings, "TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES", None)
    if configured is not None:
        return bool(configured)
    return getattr(settings, "TENDERHALL_MODE", "embedded") != "production"


def _address_refusal(url: str) -> str:
    """Why the receiver's host may not be called (empty when it may): every address it resolves to must be
    public unless private addresses are allowed."""
    if _private_addresses_allowed():
        return ""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        return f"cannot resolve {host}: {error}"[:300]
    refused = sorted(a for a in addresses if not webhook_rules.address_public(str(a)))
    return f"address not allowed: {host} resolves to {', '.join(map(str, refused))}"[:300] if refused else ""


@dataclass(frozen=True)
class NewSubscription:
    subscription: WebhookSubscription
    secret: str  # the only time the secret is shown


def _problems(url: str, entity_types: list[str], private: bool, start_cursor: int | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts, hostname = urlsplit(""), None
    if parts.scheme not in ("http", "https") or not hostname or len(url) > 500:
        problems["url"] = gettext("Give an http or https address of at most 500 characters.")
    known = feed_entity_types(private=private)
    unknown = [t for t in entity_types if t not in known]
    if unknown:
        problems["entity_types"] = gettext("Choose from: %(choices)s.") % {"choices": ", ".join(known)}
    if start_cursor is not None and not 0 <= start_cursor <= MAX_CURSOR:
        problems["start_cursor"] = gettext("Start at 0 or later; leave it out to start with new changes.")
    return problems


def webhook_subscribe(
    *,
    actor: User,
    url: str,
    entity_types: list[str],
    private: bool,
    start_cursor: int | None,
    now: datetime,
) -> NewSubscription:
    """Operators and regulators subscribe to either feed; the owner of an API client system to the public
    one. Deliveries start at ``start_cursor`` (a feed cursor), or with the next change when it is None."""
    supervises = user_supervises(actor)
    if private and not supervises:
        raise WebhookNotAllowed(gettext("Only operators and regulators may receive the regulators' feed."))
    if not supervises and not client_list_for_owner(actor).filter(active=True).exists():
        raise WebhookNotAllowed(
            gettext("Webhooks are for operators, regulators and registered API client systems.")
        )
    problems = _problems(url, entity_types, private, start_cursor)
    if problems:
        raise WebhookInvalid(
            gettext("The subscription has invalid fields; see details."), details={"fields": problems}
        )
    secret = webhook_rules.secret_new()
    with transaction.atomic():
        if (
            WebhookSubscription.objects.filter(owner=actor, deactivated_at__isnull=True).count()
            >= MAX_SUBSCRIPTIONS_PER_OWNER
        ):
            raise WebhookInvalid(
                gettext("You have %(count)d active subscriptions; end one before adding another.")
                % {"count": MAX_SUBSCRIPTIONS_PER_OWNER}
            )
        if start_cursor is None:
            top = Leaf.objects.aggregate(top=Max("index"))["top"]
            start_cursor = 0 if top is None else top + 1
        subscription = WebhookSubscription.objects.create(
            owner=actor,
            url=url.strip(),
            secret=secret,
            entity_types=sorted(set(entity_types)),
            private=private,
            cursor=start_cursor,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="supervision:webhook:subscribed",
            subject_type="webhook",
            subject_id=subscription.pk,
            at=now,
            changes={
                "url": [None, subscription.url],
                "entity_types": [None, subscription.entity_types],
                "private": [None, private],
                "cursor": [None, start_cursor],
            },
        )
    return NewSubscription(subscription=subscription, secret=secret)


def _may_manage(actor: User, subscription: WebhookSubscription) -> bool:
    return subscription.owner_id == actor.pk or user_has_role(actor, Role.OPERATOR)


def webhook_list_for(actor: User) -> QuerySet[WebhookSubscription]:
    """One's own subscriptions; operators see every one."""
    subscriptions = WebhookSubscription.objects.select_related("owner").order_by("id")
    return subscriptions if user_has_role(actor, Role.OPERATOR) else subscriptions.filter(owner=actor)


def access_webhook(*, actor: User, subscription_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None or not _may_manage(actor, subscription):
        raise NotFound(gettext("No such webhook subscription."))
    return subscription


def webhook_deactivate(*, actor: User, subscription_id: int, now: datetime) -> WebhookSubscription:
    """End a subscription: nothing more is queued for it; what was queued is still attempted."""
    with transaction.atomic():
        subscription = access_webhook(actor=actor, subscription_id=subscription_id)
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.deactivated_at is None:
            subscription.deactivated_at = now
            subscription.save(update_fields=["deactivated_at"])
            audit_record(
                actor=actor,
                action="supervision:webhook:deactivated",
                subject_type="webhook",
                subject_id=subscription.pk,
                at=now,
            )
    return subscription


def access_webhook_deliveries(
    *, actor: User, subscription_id: int, before_seq: int | None, limit: int
) -> QuerySet[WebhookDelivery]:
    subscription = access_webhook(actor=actor, subscription_id=subscription_id)
    deliveries = subscription.deliveries.prefetch_related("attempt_log").order_by("-seq")
    if before_seq is not None:
        deliveries = deliveries.filter(seq__lt=before_seq)
    return deliveries[: max(1, min(limit, 200))]


# --- the worker's job ---------------------------------------------------------------------------------


def _body(subscription: WebhookSubscription, item: FeedItem) -> bytes:
    payload: dict[str, Any] = {
        "subscription": subscription.pk,
        "seq": item.seq,
        "entity_type": item.entity_type,
        "entity_id": item.entity_id,
        "event": item.event,
        "at": item.at.isoformat(),
        "data": item.data,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def webhooks_enqueue(*, now: datetime, page_size: int = 200) -> int:
    """Queue the feed items each active subscription has not had yet; the count queued. A subscription that
    fails (a type no longer served, say) is logged and skipped; the others go on."""
    queued = 0
    for subscription_id in WebhookSubscription.objects.filter(deactivated_at__isnull=True).values_list(
        "pk", flat=True
    ):
        try:
            queued += _enqueue_one(subscription_id, now=now, page_size=page_size)
        except Exception:
            logger.exception("webhook subscription %s: its new items could not be queued", subscription_id)
    return queued


def _enqueue_one(subscription_id: int, *, now: datetime, page_size: int) -> int:
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update()
            .select_related("owner")
            .filter(pk=subscription_id, deactivated_at__isnull=True)
            .first()
        )
        if subscription is None:
            return 0
        if subscription.private and not user_supervises(subscription.owner):
            return 0  # its owner lost the role: nothing private goes out until it is granted again
        page = feed_page(
            cursor=subscription.cursor,
            limit=page_size,
            entity_types=list(subscription.entity_types),
            private=subscription.private,
            now=now,
        )
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription=subscription,
                    seq=item.seq,
                    entity_type=item.entity_type,
                    body=_body(subscription, item),
                    next_attempt_at=now,
                    created_at=now,
                )
                for item in page.items
            ],
            ignore_conflicts=True,
        )
        if page.next_cursor != subscription.cursor:
            subscription.cursor = page.next_cursor
            subscription.save(update_fields=["cursor"])
        return len(page.items)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer like any other non-2xx: the attempt failed


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310  # http(s) only, checked at subscription
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        return int(error.code), ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, str(reason)[:300] or type(error).__name__


def _claim(delivery: WebhookDelivery, *, now: datetime, lease: timedelta) -> bool:
    """Take the delivery for this attempt: a second worker sees the moved ``next_attempt_at`` and skips."""
    return (
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + lease)
        == 1
    )


def webhook_attempt(delivery: WebhookDelivery, *, now: datetime) -> bool:
    """One signed attempt at one claimed delivery, recorded; whether it was delivered."""
    subscription = delivery.subscription
    body = bytes(delivery.body)
    number = delivery.attempts + 1
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tenderhall-webhooks/1",
        webhook_rules.SIGNATURE_HEADER: webhook_rules.signature(
            secret=subscription.secret, timestamp=int(now.timestamp()), body=body
        ),
        webhook_rules.DELIVERY_HEADER: str(delivery.pk),
        webhook_rules.ATTEMPT_HEADER: str(number),
        webhook_rules.EVENT_HEADER: delivery.entity_type,
    }
    started = time.monotonic()
    refusal = _address_refusal(subscription.url)
    status_code, error = (None, refusal) if refusal else _post(subscription.url, body, headers, _timeout())
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = webhook_rules.delivered(status_code)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
        delivery.attempts = number
        delivery.last_status_code = status_code
        delivery.last_error = error
        if ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryStatus.DELIVERED,
                now,
                None,
            )
        else:
            delivery.next_attempt_at = webhook_rules.next_attempt_at(
                attempts=number, now=now, policy=retry_policy()
            )
            if delivery.next_attempt_at is None:
                delivery.status = DeliveryStatus.FAILED
        delivery.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    return ok


def webhooks_attempt_due(*, now: datetime, limit: int = 100, budget_seconds: float | None = None) -> int:
    """Attempt the deliveries whose time has come, the longest waiting first; the count attempted. No new
    attempt starts once ``budget_seconds`` of wall time are spent (a tick of the embedded worker must not be
    held up by slow receivers: the procedures' timed steps run in the same loop); the rest waits a tick."""
    budget = (
        float(getattr(settings, "TENDERHALL_WEBHOOK_TICK_BUDGET", 10))
        if budget_seconds is None
        else budget_seconds
    )
    started = time.monotonic()
    lease = timedelta(seconds=_timeout() + 60)
    due = list(
        WebhookDelivery.objects.select_related("subscription")
        .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")[:limit]
    )
    attempted = 0
    for delivery in due:
        if time.monotonic() - started >= budget:
            break
        if not _claim(delivery, now=now, lease=lease):
            continue
        try:
            webhook_attempt(delivery, now=now)
        except Exception:  # recording failed (database gone?): the lease expires and it is tried again
            logger.exception("webhook delivery %s: the attempt could not be recorded", delivery.pk)
            continue
        attempted += 1
    return attempted


def webhooks_deliver_due(now: datetime) -> int:
    """The worker's job: queue new items, then attempt what is due. The count of attempts made."""
    webhooks_enqueue(now=now)
    return webhooks_attempt_due(now=now)
