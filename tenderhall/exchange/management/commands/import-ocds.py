"""`tenderhall import-ocds FILE...`: load other publishers' OCDS files into the analytics store, reporting
what is wrong with each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.core import clock
from tenderhall.exchange.importer import AlreadyImported, ocds_import


class Command(BaseCommand):
    help = (
        "Import OCDS release packages, record packages, bare releases or JSON lines into the read-only "
        "analytics store. Invalid data is imported as it is, with every problem reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--again", action="store_true", help="import a file already imported once more")
        parser.add_argument(
            "--problems",
            type=int,
            default=20,
            metavar="N",
            help="list at most N problems per file (default 20)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = []
        for name in options["files"]:
            path = Path(name)
            try:
                content = path.read_bytes()
            except OSError as error:
                self.stderr.write(f"{name}: cannot be read: {error.strerror or error}")
                unreadable.append(name)
                continue
            try:
                package = ocds_import(
                    source=path.name, content=content, now=clock.now(), again=options["again"]
                )
            except AlreadyImported as error:
                self.stderr.write(f"{name}: {error.message}")
                continue
            self.stdout.write(
                f"{name}: {package.form}, {package.release_count} releases, {package.record_count} records, "
                f"{package.schema_error_count} schema errors, {len(package.problems)} problems "
                f"(package {package.pk})"
            )
            for problem in package.problems[: options["problems"]]:
                where = f" at {problem['path']}" if problem["path"] else ""
                keyword = f" [{problem['validator']}]" if problem["validator"] else ""
                self.stdout.write(f"  {problem['kind']}{keyword}{where}: {problem['message']}")
            if len(package.problems) > options["problems"]:
                self.stdout.write(f"  ... and {len(package.problems) - options['problems']} more")
        if unreadable:
            raise CommandError(f"{len(unreadable)} file(s) could not be read: {', '.join(unreadable)}")
