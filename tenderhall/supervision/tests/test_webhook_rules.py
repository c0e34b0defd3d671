"""The webhook signature and retry schedule, as pure functions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from tenderhall.supervision import webhook_rules
from tenderhall.supervision.webhook_rules import RetryPolicy

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
BODY = b'{"seq":7,"entity_type":"notice"}'


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body():
    # given a secret, a timestamp and a body
    timestamp = int(NOW.timestamp())
    # when
    header = webhook_rules.signature(secret="whsec_x", timestamp=timestamp, body=BODY)
    # then it is what any HMAC library computes over "<t>.<body>"
    expected = hmac.new(b"whsec_x", f"{timestamp}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={expected}"
    assert header == "t=1772415000,v1=" + expected


def test_a_receiver_accepts_the_signature_within_the_tolerance_and_nothing_altered():
    header = webhook_rules.signature(secret="s", timestamp=int(NOW.timestamp()), body=BODY)
    assert webhook_rules.signature_valid(
        secret="s", header=header, body=BODY, now=NOW + timedelta(seconds=300)
    )
    assert not webhook_rules.signature_valid(
        secret="s", header=header, body=BODY, now=NOW + timedelta(seconds=301)
    )
    assert not webhook_rules.signature_valid(secret="s", header=header, body=BODY + b" ", now=NOW)
    assert not webhook_rules.signature_valid(secret="t", header=header, body=BODY, now=NOW)
    assert not webhook_rules.signature_valid(secret="s", header="v1=abc", body=BODY, now=NOW)


@pytest.mark.parametrize("timestamp", ["²", "１７７２４１５０００", "٣", "9" * 400, "9" * 5000, "-1", ""])
def test_a_timestamp_that_is_not_ascii_digits_is_a_bad_signature_not_an_exception(timestamp: str):
    # given a header whose t= is something str.isdigit or int() takes but a moment is not
    mac = webhook_rules.signature(secret="s", timestamp=int(NOW.timestamp()), body=BODY).split(",")[1]
    # when a receiver checks it, then the answer is no
    assert not webhook_rules.signature_valid(secret="s", header=f"t={timestamp},{mac}", body=BODY, now=NOW)


def test_a_mac_that_is_not_ascii_is_a_bad_signature_not_an_exception():
    header = f"t={int(NOW.timestamp())},v1=é"
    assert not webhook_rules.signature_valid(secret="s", header=header, body=BODY, now=NOW)


def test_retries_back_off_exponentially_up_to_the_cap_then_give_up():
    policy = RetryPolicy(max_attempts=5, first_delay_seconds=30, max_delay_seconds=100)
    delays = [webhook_rules.next_attempt_at(attempts=n, now=NOW, policy=policy) for n in range(1, 6)]
    assert delays == [
        NOW + timedelta(seconds=30),
        NOW + timedelta(seconds=60),
        NOW + timedelta(seconds=100),
        NOW + timedelta(seconds=100),
        None,
    ]


def test_only_2xx_answers_count_as_delivered():
    assert [webhook_rules.delivered(c) for c in (None, 199, 200, 204, 299, 300, 302, 404, 500)] == [
        False, False, True, True, True, False, False, False, False,
    ]  # fmt: skip


def test_only_public_addresses_count_as_public():
    public = ["203.0.114.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
    private = [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1",  # noqa: S104
        "fe80::1%eth0", "fd00::1", "224.0.0.1", "::ffff:127.0.0.1", "203.0.113.5", "not-an-address",
    ]  # fmt: skip
    assert [webhook_rules.address_public(a) for a in public] == [True] * 4
    assert [webhook_rules.address_public(a) for a in private] == [False] * len(private)
