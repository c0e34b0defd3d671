"""System checks of the open-data settings (`tenderhall check`, and at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from tenderhall.exchange import conf


@register()
def ocid_prefix_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A production platform publishing under the placeholder ocid prefix publishes ocids that collide with
    every other platform that forgot to set it."""
    if (
        getattr(settings, "TENDERHALL_MODE", "") != "production"
        or conf.ocid_prefix() != conf.PLACEHOLDER_PREFIX
    ):
        return []
    return [
        Warning(
            f"OCDS ocids use the placeholder prefix {conf.PLACEHOLDER_PREFIX}.",
            hint="Register an ocid prefix with the Open Contracting Partnership, set TENDERHALL_OCID_PREFIX.",
            id="exchange.W001",
        )
    ]
