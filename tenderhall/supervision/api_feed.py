"""The change feed and webhooks over the API.

``GET /feed/changes?cursor=N`` is public: items and the next cursor, nothing else to learn. The regulators'
feed is the same with the not-yet-public items; checkpoints have their own cursor (the tree size).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core import clock
from tenderhall.supervision import webhooks
from tenderhall.supervision.feed import (
    DEFAULT_LIMIT,
    FeedPage,
    access_private_feed,
    checkpoint_feed,
    feed_page,
)
from tenderhall.supervision.models import WebhookSubscription

router = Router(tags=["feed"])


class FeedItemOut(Schema):
    seq: int
    entity_type: str
    entity_id: str
    event: str
    at: datetime
    data: dict[str, Any] | None


class FeedPageOut(Schema):
    items: list[FeedItemOut]
    next_cursor: int  # pass as cursor for the next page
    watermark: datetime  # changes after this moment come in a later page


class CheckpointOut(Schema):
    size: int
    root_hash: str
    signed_at: datetime
    note: str


class CheckpointPageOut(Schema):
    items: list[CheckpointOut]
    next_cursor: int


class WebhookIn(Schema):
    url: str
    entity_types: list[str] = Field(default_factory=list)
    private: bool = False
    start_cursor: int | None = None


class WebhookOut(Schema):
    id: int
    owner: str
    url: str
    entity_types: list[str]
    private: bool
    cursor: int
    created_at: datetime
    deactivated_at: datetime | None


class WebhookCreatedOut(WebhookOut):
    secret: str  # shown once: verify each delivery's X-Tenderhall-Signature with it


class AttemptOut(Schema):
    number: int
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: int
    seq: int
    entity_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]


def _types(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


def _page_out(page: FeedPage) -> FeedPageOut:
    return FeedPageOut(
        items=[
            FeedItemOut(
                seq=i.seq,
                entity_type=i.entity_type,
                entity_id=i.entity_id,
                event=i.event,
                at=i.at,
                data=i.data,
            )
            for i in page.items
        ],
        next_cursor=page.next_cursor,
        watermark=page.watermark,
    )


def webhook_out(s: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=s.pk,
        owner=s.owner.username,
        url=s.url,
        entity_types=list(s.entity_types),
        private=s.private,
        cursor=s.cursor,
        created_at=s.created_at,
        deactivated_at=s.deactivated_at,
    )


@router.get("/changes", response=FeedPageOut, operation_id="feed_changes")
def feed_changes(
    request: HttpRequest, cursor: int = 0, limit: int = DEFAULT_LIMIT, types: str = ""
) -> FeedPageOut:
    """Changes of public entities from ``cursor`` on, oldest first; ``types``: comma-separated entity types
    (notice, tender, entity, document, clarification; all when empty). Poll with ``next_cursor``."""
    optional_user(request, Scope.PROCEDURES_READ)  # a client system's key is admitted and logged
    return _page_out(
        feed_page(cursor=cursor, limit=limit, entity_types=_types(types), private=False, now=clock.now())
    )


@router.get(
    "/private/changes",
    response=FeedPageOut,
    operation_id="feed_private_changes",
    auth=authenticated(Scope.AUDIT_READ),
)
def feed_private_changes(
    request: HttpRequest, cursor: int = 0, limit: int = DEFAULT_LIMIT, types: str = ""
) -> FeedPageOut:
    """The regulators' feed (operators and regulators): the public changes and those not public (yet)."""
    page = access_private_feed(
        viewer=request_user(request), cursor=cursor, limit=limit, entity_types=_types(types), now=clock.now()
    )
    return _page_out(page)


@router.get("/checkpoints", response=CheckpointPageOut, operation_id="feed_checkpoints")
def feed_checkpoints(request: HttpRequest, cursor: int = 0, limit: int = DEFAULT_LIMIT) -> CheckpointPageOut:
    """The ledger's published checkpoints with a tree size above ``cursor``, smallest first."""
    optional_user(request, Scope.PROCEDURES_READ)
    page = checkpoint_feed(cursor=cursor, limit=limit)
    return CheckpointPageOut(
        items=[
            CheckpointOut(size=c.size, root_hash=c.root_hash, signed_at=c.signed_at, note=c.note)
            for c in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/webhooks",
    response={201: WebhookCreatedOut},
    operation_id="webhook_subscribe",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def webhook_subscribe(request: HttpRequest, payload: WebhookIn) -> Status[WebhookCreatedOut]:
    """Receive feed items as signed POSTs. The secret is in this answer only."""
    created = webhooks.webhook_subscribe(
        actor=request_user(request),
        url=payload.url,
        entity_types=payload.entity_types,
        private=payload.private,
        start_cursor=payload.start_cursor,
        now=clock.now(),
    )
    return Status(201, WebhookCreatedOut(**webhook_out(created.subscription).dict(), secret=created.secret))


@router.get(
    "/webhooks",
    response=list[WebhookOut],
    operation_id="webhook_list",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def webhook_list(request: HttpRequest) -> list[WebhookOut]:
    return [webhook_out(s) for s in webhooks.webhook_list_for(request_user(request))]


@router.delete(
    "/webhooks/{subscription_id}",
    response=WebhookOut,
    operation_id="webhook_deactivate",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def webhook_deactivate(request: HttpRequest, subscription_id: int) -> WebhookOut:
    """End a subscription; deliveries already queued are still attempted."""
    return webhook_out(
        webhooks.webhook_deactivate(
            actor=request_user(request), subscription_id=subscription_id, now=clock.now()
        )
    )


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response=list[DeliveryOut],
    operation_id="webhook_deliveries",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def webhook_deliveries(
    request: HttpRequest, subscription_id: int, before_seq: int | None = None, limit: int = 50
) -> list[DeliveryOut]:
    """Every delivery with each of its attempts, newest item first; ``before_seq`` pages on."""
    deliveries = webhooks.access_webhook_deliveries(
        actor=request_user(request), subscription_id=subscription_id, before_seq=before_seq, limit=limit
    )
    return [
        DeliveryOut(
            id=d.pk,
            seq=d.seq,
            entity_type=d.entity_type,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
            attempt_log=[
                AttemptOut(
                    number=a.number,
                    at=a.at,
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in d.attempt_log.all()
            ],
        )
        for d in deliveries
    ]
