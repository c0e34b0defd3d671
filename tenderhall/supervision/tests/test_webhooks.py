"""Webhooks against real receivers on loopback: who may subscribe, signed deliveries of each item once,
backoff after a failure, giving up, and a record of every attempt."""

from __future__ import annotations

import io
import json
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command

from tenderhall.accounts.clients import ClientFields, client_register
from tenderhall.accounts.models import ApiClient, User
from tenderhall.accounts.tests.factories import make_user, resident_id
from tenderhall.core.hooks import worker_jobs
from tenderhall.core.models import AuditEntry
from tenderhall.procedures.tests.support import NOW, World, make_world
from tenderhall.supervision import webhook_rules
from tenderhall.supervision.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from tenderhall.supervision.tests.receiver import receiver
from tenderhall.supervision.webhooks import (
    WebhookInvalid,
    WebhookNotAllowed,
    webhook_deactivate,
    webhook_subscribe,
    webhooks_attempt_due,
    webhooks_deliver_due,
    webhooks_enqueue,
)
from tenderhall.supervision.webhooks import _claim as claim

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(minutes=1)


def subscribe(world: World, url: str, *, types: list[str] | None = None, private: bool = True):
    return webhook_subscribe(
        actor=world.regulator,
        url=url,
        entity_types=types or ["entity"],
        private=private,
        start_cursor=0,
        now=NOW,
    )


def client_owned_by(owner: User, operator: User) -> ApiClient:
    return client_register(
        actor=operator,
        fields=ClientFields(
            name=f"数据共享系统{owner.pk}", organisation="江城市公共资源交易中心", owner_id=owner.pk,
            responsible_name="王五", responsible_id_type="resident_id", responsible_id_number=resident_id(77),
            responsible_phone="13900000000", allowed_networks=["127.0.0.1/32"],
        ),
        now=NOW,
    )  # fmt: skip


def test_who_may_subscribe_to_which_feed():
    # given a regulator, an operator, the owner of a client system and a user with nothing of that
    world = make_world()
    owner, nobody = make_user(), make_user()
    client_owned_by(owner, world.operator)
    url = "https://receiver.example.invalid/hook"
    # when / then supervisors may have either feed
    for actor in (world.regulator, world.operator):
        for private in (True, False):
            made = webhook_subscribe(
                actor=actor, url=url, entity_types=[], private=private, start_cursor=None, now=NOW
            )
            assert made.secret.startswith("whsec_")
            assert made.subscription.cursor == 9  # new changes only: the log holds leaves 0-8
    # and a client system's owner the public one only
    assert webhook_subscribe(
        actor=owner, url=url, entity_types=["notice"], private=False, start_cursor=None, now=NOW
    )
    with pytest.raises(WebhookNotAllowed) as refused:
        webhook_subscribe(actor=owner, url=url, entity_types=[], private=True, start_cursor=None, now=NOW)
    assert (refused.value.code, refused.value.status) == ("webhook_not_allowed", 403)
    with pytest.raises(WebhookNotAllowed):
        webhook_subscribe(actor=nobody, url=url, entity_types=[], private=False, start_cursor=None, now=NOW)
    assert WebhookSubscription.objects.count() == 5
    assert AuditEntry.objects.filter(action="supervision:webhook:subscribed").count() == 5


def test_a_cursor_beyond_64_bits_is_refused_not_a_database_error():
    world = make_world()
    with pytest.raises(WebhookInvalid) as refused:
        webhook_subscribe(
            actor=world.regulator, url="https://h.example.invalid/", entity_types=[], private=False,
            start_cursor=2**63, now=NOW,
        )  # fmt: skip
    assert list(refused.value.details["fields"]) == ["start_cursor"]


def test_a_bad_address_type_or_cursor_is_refused_field_by_field():
    world = make_world()
    with pytest.raises(WebhookInvalid) as refused:
        webhook_subscribe(
            actor=world.regulator, url="ftp://x", entity_types=["objection", "bid"], private=False,
            start_cursor=-1, now=NOW,
        )  # fmt: skip
    assert refused.value.code == "webhook_invalid"
    assert sorted(refused.value.details["fields"]) == ["entity_types", "start_cursor", "url"]
    assert (
        "clarification, document, entity, notice, tender" in refused.value.details["fields"]["entity_types"]
    )
    assert WebhookSubscription.objects.count() == 0


def test_an_address_that_does_not_parse_is_a_field_refusal_not_a_server_error():
    world = make_world()
    with pytest.raises(WebhookInvalid) as refused:
        subscribe(world, "http://[x/")  # an unclosed IPv6 bracket: urlsplit raises
    assert list(refused.value.details["fields"]) == ["url"]
    assert WebhookSubscription.objects.count() == 0


def test_each_item_is_delivered_once_signed_with_the_subscriptions_secret():
    # given a regulator's subscription to entity changes from the start of the log
    world = make_world()
    with receiver(200) as hook:
        made = subscribe(world, hook.url)
        # when the worker runs twice
        assert webhooks_deliver_due(LATER) == 5
        assert webhooks_deliver_due(LATER + timedelta(seconds=5)) == 0
    # then the receiver got the five approvals, once each, in ledger order
    bodies = [json.loads(r.body) for r in hook.received]
    assert [(b["seq"], b["entity_type"], b["event"]) for b in bodies] == [
        (n, "entity", "registry:entity:approved") for n in range(5)
    ]
    assert bodies[0]["entity_id"] == str(world.agency.pk)
    assert bodies[0]["data"]["name"] == "华信工程咨询有限公司"
    assert bodies[0]["subscription"] == made.subscription.pk
    # and every request carries a signature that verifies with the secret, and nothing else does
    for request in hook.received:
        header = request.headers[webhook_rules.SIGNATURE_HEADER]
        assert header.startswith(f"t={int(LATER.timestamp())},v1=")
        assert webhook_rules.signature_valid(secret=made.secret, header=header, body=request.body, now=LATER)
        assert not webhook_rules.signature_valid(
            secret="whsec_other", header=header, body=request.body, now=LATER
        )
        assert request.headers[webhook_rules.ATTEMPT_HEADER] == "1"
        assert request.headers["Content-Type"] == "application/json"
    # and each delivery is recorded as delivered after one attempt, answered 200
    deliveries = list(WebhookDelivery.objects.order_by("seq"))
    assert [(d.seq, d.status, d.attempts, d.last_status_code, d.delivered_at) for d in deliveries] == [
        (n, DeliveryStatus.DELIVERED, 1, 200, LATER) for n in range(5)
    ]
    assert [h.headers[webhook_rules.DELIVERY_HEADER] for h in hook.received] == [
        str(d.pk) for d in deliveries
    ]
    assert WebhookAttempt.objects.filter(status_code=200).count() == 5
    made.subscription.refresh_from_db()
    assert made.subscription.cursor == 5  # just past the last entity change


def test_a_failed_delivery_is_retried_after_its_backoff_and_not_before(settings):
    # given a receiver that fails once, then accepts
    settings.TENDERHALL_WEBHOOK_FIRST_RETRY_SECONDS = 30
    world = make_world()
    with receiver(500, 200) as hook:
        subscribe(world, hook.url, types=["document"])
        # when the first attempt fails
        assert webhooks_deliver_due(LATER) == 2
        first = WebhookDelivery.objects.get(seq=6)
        # then it waits 30 seconds (the other item was answered 200)
        assert (first.status, first.attempts, first.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
        assert first.next_attempt_at == LATER + timedelta(seconds=30)
        assert WebhookDelivery.objects.get(seq=8).status == DeliveryStatus.DELIVERED
        # when the worker runs a second too early, then on time
        assert webhooks_deliver_due(LATER + timedelta(seconds=29)) == 0
        assert webhooks_deliver_due(LATER + timedelta(seconds=30)) == 1
    # then the second attempt delivered it, and both attempts are recorded
    first.refresh_from_db()
    assert (first.status, first.attempts, first.delivered_at) == (
        DeliveryStatus.DELIVERED, 2, LATER + timedelta(seconds=30),
    )  # fmt: skip
    assert list(first.attempt_log.values_list("number", "status_code", "at")) == [
        (1, 500, LATER),
        (2, 200, LATER + timedelta(seconds=30)),
    ]
    retried = [h for h in hook.received if json.loads(h.body)["seq"] == 6]
    assert [h.headers[webhook_rules.ATTEMPT_HEADER] for h in retried] == ["1", "2"]


def test_a_delivery_is_given_up_after_the_last_attempt_with_each_attempt_recorded(settings):
    # given a receiver that always answers 503, and three attempts allowed
    settings.TENDERHALL_WEBHOOK_MAX_ATTEMPTS = 3
    settings.TENDERHALL_WEBHOOK_FIRST_RETRY_SECONDS = 30
    world = make_world()
    with receiver(503) as hook:
        subscribe(world, hook.url, types=["document"])
        # when the worker runs at each retry time and once more
        attempts = [webhooks_deliver_due(LATER + timedelta(seconds=s)) for s in (0, 30, 90, 1000)]
    # then it tried each of the two items three times (after 30 s, then 60 s), and then no more
    assert attempts == [2, 2, 2, 0]
    assert len(hook.received) == 6
    for delivery in WebhookDelivery.objects.all():
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            DeliveryStatus.FAILED,
            3,
            None,
        )
        assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [503, 503, 503]


def test_an_unreachable_receiver_or_a_redirect_is_a_failed_attempt_with_its_reason():
    # given a port nobody listens on, and a receiver that redirects elsewhere
    world = make_world()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with receiver(302, location="http://127.0.0.1:9/") as redirecting:
        subscribe(world, f"http://127.0.0.1:{closed}/hook", types=["document"])
        subscribe(world, redirecting.url, types=["document"])
        # when
        webhooks_deliver_due(LATER)
    # then nothing was delivered; the refused connection is named, the redirect was not followed
    unreachable = WebhookAttempt.objects.filter(delivery__subscription__url__contains=str(closed))
    assert [(a.status_code, "refused" in a.error.lower()) for a in unreachable] == [
        (None, True),
        (None, True),
    ]
    redirected = WebhookAttempt.objects.filter(delivery__subscription__url=redirecting.url)
    assert list(redirected.values_list("status_code", "error")) == [(302, ""), (302, "")]
    assert len(redirecting.received) == 2
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 4


def test_a_deactivated_subscription_gets_nothing_new_and_a_demoted_owner_nothing_private():
    world = make_world()
    with receiver(200) as hook:
        made = subscribe(world, hook.url)
        webhook_deactivate(actor=world.regulator, subscription_id=made.subscription.pk, now=NOW)
        assert webhooks_enqueue(now=LATER) == 0
        other = subscribe(world, hook.url)
        world.regulator.role_grants.all().delete()
        assert webhooks_enqueue(now=LATER) == 0
    assert hook.received == []
    other.subscription.refresh_from_db()
    assert other.subscription.cursor == 0


def test_a_second_worker_does_not_attempt_a_delivery_another_has_claimed():
    # given one item queued
    world = make_world()
    with receiver(200) as hook:
        subscribe(world, hook.url, types=["document"])
        webhooks_enqueue(now=LATER)
        delivery = WebhookDelivery.objects.get(seq=6)
        # when a worker claims it (moving its next attempt on) as another reads the old row
        stale = WebhookDelivery.objects.get(pk=delivery.pk)
        assert webhooks_attempt_due(now=LATER) == 2
        # then the stale reader's claim fails and nothing is sent twice
        assert claim(stale, now=LATER, lease=timedelta(seconds=60)) is False
    assert sorted(json.loads(r.body)["seq"] for r in hook.received) == [6, 8]


def test_the_worker_jobs_and_the_command_deliver_due_webhooks():
    # given supervision's job among the worker's (the portal's in-process worker runs each on every tick)
    assert webhooks_deliver_due in worker_jobs()
    world = make_world()
    with receiver(200) as hook:
        subscribe(world, hook.url, types=["document"])
        # when the worker's jobs run once
        for job in worker_jobs():
            job(LATER)
        # then
        assert sorted(json.loads(r.body)["seq"] for r in hook.received) == [6, 8]
        # and the command does the same for a second subscription
        subscribe(world, hook.url, types=["document"])
        out = io.StringIO()
        call_command("webhooks", "deliver", stdout=out)
    assert out.getvalue() == "queued 2, attempted 2\n"
    assert len(hook.received) == 4


def test_attempts_stop_starting_once_the_ticks_time_budget_is_spent():
    # given two due deliveries and no time budget left
    world = make_world()
    with receiver(200) as hook:
        subscribe(world, hook.url, types=["document"])
        webhooks_enqueue(now=LATER)
        # when
        attempted = webhooks_attempt_due(now=LATER, budget_seconds=0)
        # then nothing was attempted and both wait for the next tick, which sends them
        assert (attempted, hook.received) == (0, [])
        assert webhooks_attempt_due(now=LATER) == 2
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2


def test_a_subscription_that_cannot_be_served_does_not_stop_the_others():
    # given a subscription to a type nobody serves any more, and a sound one
    world = make_world()
    with receiver(200) as hook:
        broken = subscribe(world, hook.url, types=["document"]).subscription
        WebhookSubscription.objects.filter(pk=broken.pk).update(entity_types=["retired_type"])
        subscribe(world, hook.url, types=["document"])
        # when
        queued = webhooks_enqueue(now=LATER)
    # then the sound one got its two items; the broken one kept its cursor
    assert queued == 2
    broken.refresh_from_db()
    assert broken.cursor == 0
    assert not WebhookDelivery.objects.filter(subscription=broken).exists()


def test_in_production_a_receiver_on_a_private_address_is_not_called(settings):
    # given production mode, where receivers must be on public addresses, and a receiver on loopback
    settings.TENDERHALL_MODE = "production"
    world = make_world()
    with receiver(200) as hook:
        subscribe(world, hook.url, types=["document"])
        # when
        assert webhooks_deliver_due(LATER) == 2
    # then it was never called; each attempt records why
    assert hook.received == []
    errors = list(WebhookAttempt.objects.values_list("status_code", "error"))
    assert errors == [(None, "address not allowed: 127.0.0.1 resolves to 127.0.0.1")] * 2
    # and an operator can allow private receivers explicitly
    settings.TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES = True
    with receiver(200) as allowed:
        subscribe(world, allowed.url, types=["document"])
        webhooks_deliver_due(LATER)
    assert len(allowed.received) == 2
