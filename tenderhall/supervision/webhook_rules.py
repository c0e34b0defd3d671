"""Pure rules of webhook deliveries: the signature, the retry schedule, the give-up point. No ORM, no clock.

The signature header reads ``t=<unix seconds>,v1=<hex>`` where the hex is HMAC-SHA256 under the
subscription's secret over ``<unix seconds>.`` followed by the exact body bytes. A receiver recomputes it,
compares in constant time, and refuses a timestamp too far from its own clock (a replayed delivery).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGNATURE_HEADER = "X-Tenderhall-Signature"
DELIVERY_HEADER = "X-Tenderhall-Delivery"
ATTEMPT_HEADER = "X-Tenderhall-Attempt"
EVENT_HEADER = "X-Tenderhall-Entity-Type"
_SECONDS = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # then the delivery is given up (its item stays in the feed)
    first_delay_seconds: float = 30.0  # after the first failure; doubled after each further one
    max_delay_seconds: float = 6 * 3600.0


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_valid(
    *, secret: str, header: str, body: bytes, now: datetime, tolerance_seconds: int = 300
) -> bool:
    """What a receiver checks: the header's MAC matches and its timestamp is within the tolerance."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = parts.get("t", "")
    # ASCII digits only: str.isdigit also takes '²' (int() refuses it) and full-width digits (int() reads
    # them, hmac.compare_digest refuses them); at most 12, so the difference stays a float
    if not _SECONDS.fullmatch(timestamp) or abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        return False
    expected = signature(secret=secret, timestamp=int(timestamp), body=body)
    given = f"t={timestamp},v1={parts.get('v1', '')}"
    return hmac.compare_digest(expected.encode(), given.encode())  # bytes: a str must be ASCII


def delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def next_attempt_at(*, attempts: int, now: datetime, policy: RetryPolicy) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once they are used up."""
    if attempts >= policy.max_attempts:
        return None
    delay = min(policy.first_delay_seconds * 2 ** (attempts - 1), policy.max_delay_seconds)
    return now + timedelta(seconds=delay)


def address_public(address: str) -> bool:
    """Whether a receiver's resolved address is on the public internet: not loopback, private, link-local,
    multicast, reserved or unspecified (where a webhook could reach the platform's own network)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
