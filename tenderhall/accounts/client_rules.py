"""Pure rules for API client systems: the address whitelist, counting windows, threshold crossings.

No ORM, no clock: the services pass ``now`` and the stored values.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_NETWORKS = 50
RATE_WINDOW_SECONDS = 60


def parse_networks(entries: list[str]) -> tuple[list[str], dict[int, str]]:
    """The normalised CIDR strings, and the problems by position (``10.0.0.1`` is read as ``10.0.0.1/32``;
    host bits set, as in ``10.0.0.1/24``, are a mistake worth telling rather than guessing)."""
    normalised: list[str] = []
    problems: dict[int, str] = {}
    for position, entry in enumerate(entries):
        try:
            normalised.append(str(ipaddress.ip_network(entry.strip(), strict=True)))
        except ValueError as error:
            problems[position] = str(error)
    return normalised, problems


def address_allowed(address: str | None, networks: list[str]) -> bool:
    """Whether the peer address lies in one of the whitelisted networks (an unknown address never does).
    An IPv4 address mapped into IPv6 (``::ffff:10.0.0.5``) is judged as the IPv4 address it carries."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for entry in networks:
        try:
            network: Network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network:
            return True
    return False


def window_start(now: datetime, seconds: int) -> datetime:
    """The start of the fixed window of ``seconds`` holding ``now``, aligned on the Unix epoch (UTC)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def window_end(starts_at: datetime, seconds: int) -> datetime:
    return starts_at + timedelta(seconds=seconds)


def over_rate_limit(count: int, limit: int) -> bool:
    """``count`` includes the request being judged: the limit-th request in a window still passes."""
    return count > limit


def threshold_crossed(*, before: int, after: int, threshold: int) -> bool:
    """True for exactly one increment in a window: the one that takes the count to the threshold."""
    return before < threshold <= after
