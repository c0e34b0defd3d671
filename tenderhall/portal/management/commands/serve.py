"""`tenderhall serve`: the platform over ASGI (uvicorn), with the in-process workers of the embedded mode."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the platform over ASGI (uvicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
        parser.add_argument("--workers", type=int, default=1, help="web worker processes (default 1)")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="no timed jobs in-process (production runs them as `tenderhall ledger integrate --loop`)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn
        from django.conf import settings

        from tenderhall.portal.worker import start_in_process_worker

        if not options["no_worker"] and settings.TENDERHALL_MODE == "embedded":
            start_in_process_worker(interval_seconds=float(settings.TENDERHALL_LEDGER_CHECKPOINT_INTERVAL))
        self.stdout.write(f"tenderhall on http://{options['host']}:{options['port']}/ (Ctrl-C stops it)")
        uvicorn.run(
            "config.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            lifespan="off",
            log_level="info",
            proxy_headers=False,
        )
