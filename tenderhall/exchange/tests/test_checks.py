"""The placeholder ocid prefix is flagged in production mode, and only there."""

from __future__ import annotations

from typing import Any

from tenderhall.exchange.checks import ocid_prefix_check


def test_the_placeholder_prefix_is_a_warning_in_production_only(settings: Any) -> None:
    settings.TENDERHALL_MODE = "production"
    settings.TENDERHALL_OCID_PREFIX = ""
    (warning,) = ocid_prefix_check(None)
    assert warning.id == "exchange.W001"
    settings.TENDERHALL_OCID_PREFIX = "ocds-abc123"
    assert ocid_prefix_check(None) == []
    settings.TENDERHALL_MODE = "embedded"
    settings.TENDERHALL_OCID_PREFIX = ""
    assert ocid_prefix_check(None) == []
