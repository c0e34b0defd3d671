"""`tenderhall export-ocds`: every public release (or record) as one OCDS 1.1.5 package, streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.core import clock
from tenderhall.exchange.export import ocds_export
from tenderhall.exchange.packaging import EmptyPackage


class _Raw:
    """The command's standard output without the line ending Django adds to each write."""

    def __init__(self, command: BaseCommand) -> None:
        self.command = command

    def write(self, text: str, /) -> None:
        self.command.stdout.write(text, ending="")


class Command(BaseCommand):
    help = (
        "Write every public OCDS release of the platform as one release package (or, with --records, a "
        "record package with compiled releases) to a file or standard output, streamed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--records", action="store_true", help="a record package with compiled releases")
        parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
        parser.add_argument(
            "--check",
            action="store_true",
            help="check each release against the OCDS schema as it is written; on errors, fail, keep no file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = clock.now()
        target = Path(options["output"]) if options.get("output") else None
        partial = target.with_name(target.name + ".partial") if target else None
        problems: list[str] | None = [] if options["check"] else None
        try:
            if target is None or partial is None:
                count = ocds_export(out=_Raw(self), records=options["records"], now=now, problems=problems)
                self.stdout.write("")
            else:
                with partial.open("w", encoding="utf-8") as out:
                    count = ocds_export(out=out, records=options["records"], now=now, problems=problems)
                    out.write("\n")
                if problems:
                    partial.unlink()
                else:
                    partial.replace(target)  # whole or not at all
        except EmptyPackage as error:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise CommandError(f"Nothing exported: {error}.") from error
        if problems:
            for problem in problems[:50]:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{len(problems)} schema error(s) in the export; nothing kept.")
        kind = "records" if options["records"] else "releases"
        checked = ", each valid against the OCDS 1.1.5 schema" if problems is not None else ""
        self.stderr.write(f"{count} {kind} exported" + (f" to {target}" if target else "") + checked)
