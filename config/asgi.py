"""ASGI entry point; `tenderhall serve` runs it under uvicorn.

Django's handler, except that the views of ``TENDERHALL_BODY_RECEIVERS`` take their request body straight from
the server (tenderhall.core.asgi): a sealed envelope sent as the body goes into its unnamed file in storage
(tenderhall.bids.uploads.EnvelopeArrival) instead of being spooled to a temporary file first and copied again.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from tenderhall.core.asgi import receiving_application  # noqa: E402  # the apps are loaded first

application = receiving_application()
