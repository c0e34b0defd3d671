"""`tenderhall webhooks deliver [--loop]`: queue new feed items per subscription, post the due ones."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenderhall.core.clock import now


class Command(BaseCommand):
    help = "Webhooks of the change feed: deliver what is due (the worker does it on every tick as well)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        deliver = commands.add_parser("deliver", help="queue new feed items and attempt the due deliveries")
        deliver.add_argument("--loop", action="store_true", help="keep running, once per --interval")
        deliver.add_argument("--interval", type=float, default=2.0, help="seconds between runs (default 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        from tenderhall.supervision.webhooks import webhooks_attempt_due, webhooks_enqueue

        while True:
            moment = now()
            queued = webhooks_enqueue(now=moment)
            attempted = webhooks_attempt_due(now=moment)
            if queued or attempted or not options["loop"]:
                self.stdout.write(f"queued {queued}, attempted {attempted}")
            if not options["loop"]:
                return
            time.sleep(max(0.05, options["interval"]))
