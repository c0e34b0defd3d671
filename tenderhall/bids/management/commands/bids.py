"""`tenderhall bids sweep`: remove envelope files that no bid names (left by a crash between storing the file
and committing its row). Files younger than the grace period may belong to an upload still committing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandParser

from tenderhall.bids.models import Bid
from tenderhall.core import clock

ROOT = "bids"


def orphan_envelopes(*, older_than: timedelta) -> list[str]:
    """Stored envelope names no bid refers to, last modified before now − older_than."""
    named = set(Bid.objects.values_list("envelope", flat=True))
    cutoff = clock.now() - older_than
    found: list[str] = []
    pending = [ROOT]
    while pending:
        directory = pending.pop()
        if not default_storage.exists(directory):
            continue
        subdirectories, files = default_storage.listdir(directory)
        pending.extend(str(Path(directory) / d) for d in subdirectories)
        for name in files:
            path = str(Path(directory) / name)
            if path not in named and default_storage.get_modified_time(path) < cutoff:
                found.append(path)
    return sorted(found)


class Command(BaseCommand):
    help = "Sealed bids' housekeeping."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        sweep = commands.add_parser("sweep", help="remove envelope files no bid names")
        sweep.add_argument("--grace-minutes", type=int, default=60, help="keep younger files (default 60)")
        sweep.add_argument("--dry-run", action="store_true", help="only list what would be removed")

    def handle(self, *args: Any, **options: Any) -> None:
        orphans = orphan_envelopes(older_than=timedelta(minutes=options["grace_minutes"]))
        for name in orphans:
            if not options["dry_run"]:
                default_storage.delete(name)
            self.stdout.write(f"{'would remove' if options['dry_run'] else 'removed'} {name}")
        self.stdout.write(f"{len(orphans)} orphan envelope file(s)")
