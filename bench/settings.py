"""The platform's settings, plus the bench's own URLs (the bare upload sink) on the same server stack."""

from config.settings import *  # noqa: F403  # the platform exactly as deployed, then one change

ROOT_URLCONF = "bench.urls"
