"""The platform's settings, plus the bench's own URLs (the bare upload sinks) on the same server stack."""

from config.settings import *  # noqa: F403  # the platform exactly as deployed, then the sinks

ROOT_URLCONF = "bench.urls"
TENDERHALL_BODY_RECEIVERS = {**TENDERHALL_BODY_RECEIVERS, "raw_sink": "bench.urls.raw_sink_begin"}  # noqa: F405
