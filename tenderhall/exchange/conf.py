"""The open-data settings, each read from Django settings first, then from the environment.

* ``TENDERHALL_OCID_PREFIX``: the ocid prefix registered with the Open Contracting Partnership. The default
  ``ocds-xxxxxx`` is a placeholder: a deployment must set its own before publishing.
* ``TENDERHALL_PUBLIC_URL``: the platform's public address, for package URIs and notice links.
* ``TENDERHALL_OCDS_PUBLISHER_NAME`` / ``TENDERHALL_OCDS_PUBLISHER_USCC``: who publishes (the trading centre).
* ``TENDERHALL_OCDS_LICENSE``: the licence URL of the published data (empty: none stated).
"""

from __future__ import annotations

import os

from django.conf import settings

PLACEHOLDER_PREFIX = "ocds-xxxxxx"


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None) or os.environ.get(name) or default
    return str(value)


def ocid_prefix() -> str:
    return _setting("TENDERHALL_OCID_PREFIX", PLACEHOLDER_PREFIX)


def public_url() -> str:
    return _setting("TENDERHALL_PUBLIC_URL", "http://localhost:8000").rstrip("/")


def publisher_name() -> str:
    return _setting("TENDERHALL_OCDS_PUBLISHER_NAME", "tenderhall")


def publisher_uscc() -> str:
    return _setting("TENDERHALL_OCDS_PUBLISHER_USCC", "")


def data_license() -> str:
    return _setting("TENDERHALL_OCDS_LICENSE", "")
