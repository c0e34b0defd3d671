"""Whitelists, counting windows and threshold crossings of API client systems, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tenderhall.accounts import client_rules


def test_networks_are_normalised_and_a_bad_entry_is_named_by_position():
    networks, problems = client_rules.parse_networks(["10.0.0.0/8", " 203.0.113.7 ", "2001:db8::/32"])
    assert (networks, problems) == (["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"], {})
    networks, problems = client_rules.parse_networks(["10.0.0.1/24", "not-an-address"])
    assert networks == []
    assert sorted(problems) == [0, 1]
    assert "host bits set" in problems[0]


def test_an_address_passes_only_inside_a_whitelisted_network():
    allowed = ["203.0.113.0/24", "2001:db8::/32"]
    assert client_rules.address_allowed("203.0.113.200", allowed)
    assert client_rules.address_allowed("2001:db8::1", allowed)
    assert client_rules.address_allowed("::ffff:203.0.113.9", allowed)  # IPv4 carried in IPv6
    assert not client_rules.address_allowed("203.0.114.1", allowed)
    assert not client_rules.address_allowed("127.0.0.1", allowed)
    assert not client_rules.address_allowed(None, allowed)
    assert not client_rules.address_allowed("", allowed)
    assert not client_rules.address_allowed("garbage", allowed)
    assert not client_rules.address_allowed("203.0.113.1", [])


def test_windows_are_aligned_on_the_epoch():
    now = datetime(2026, 3, 2, 9, 47, 31, 500000, tzinfo=UTC)
    assert client_rules.window_start(now, 60) == datetime(2026, 3, 2, 9, 47, tzinfo=UTC)
    assert client_rules.window_start(now, 3600) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert client_rules.window_end(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 3600) == datetime(
        2026, 3, 2, 10, 0, tzinfo=UTC
    )


def test_the_limit_th_request_passes_and_the_next_is_over():
    assert not client_rules.over_rate_limit(5, 5)
    assert client_rules.over_rate_limit(6, 5)


@given(threshold=st.integers(min_value=1, max_value=500), total=st.integers(min_value=0, max_value=1000))
def test_exactly_one_increment_crosses_a_threshold_once_the_count_reaches_it(threshold: int, total: int):
    crossings = [
        n
        for n in range(1, total + 1)
        if client_rules.threshold_crossed(before=n - 1, after=n, threshold=threshold)
    ]
    assert crossings == ([threshold] if total >= threshold else [])
