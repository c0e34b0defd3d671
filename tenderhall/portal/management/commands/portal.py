"""`tenderhall portal reindex [--all]`: bring the notice search index up to date (docs/portal-search.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "The public portal: maintain the notice search index."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        reindex = commands.add_parser(
            "reindex",
            help="index published notices missing from the search index and drop entries of unpublished ones",
        )
        reindex.add_argument(
            "--all", action="store_true", help="index every published notice again (after a change of tokens)"
        )
        reindex.add_argument("--batch", type=int, default=1000, help="notices per transaction (default 1000)")

    def handle(self, *args: Any, **options: Any) -> None:
        from tenderhall.portal.search import notice_reindex

        report = notice_reindex(everything=options["all"], batch=max(1, options["batch"]))
        self.stdout.write(f"indexed {report.indexed} notices, removed {report.removed} entries")
