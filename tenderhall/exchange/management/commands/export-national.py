"""`tenderhall export-national --dataset D --format F`: one dataset of the national data spec, streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.exchange.national import DATASETS, Format, chunks, field_problems
from tenderhall.exchange.national_sources import ROWS


class Command(BaseCommand):
    help = (
        "Write one core dataset of the national data spec (公共资源交易平台系统数据规范) as JSON or CSV: "
        + ", ".join(f"{key} ({d.data_no} {d.label})" for key, d in DATASETS.items())
        + ". Every row is checked against the field formats; a row that breaks one is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
        parser.add_argument("--format", default=Format.JSON, choices=[f.value for f in Format])
        parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = DATASETS[options["dataset"]]
        problems: list[str] = []
        count = 0

        def checked() -> Any:
            nonlocal count
            for row in ROWS[dataset.key]():
                count += 1
                problems.extend(f"row {count}: {p}" for p in field_problems(dataset, row))
                yield row

        text = chunks(dataset, checked(), Format(options["format"]))
        target = Path(options["output"]) if options.get("output") else None
        if target is None:
            for chunk in text:
                self.stdout.write(chunk, ending="")
        else:
            partial = target.with_name(target.name + ".partial")
            with partial.open("w", encoding="utf-8", newline="") as out:
                for chunk in text:
                    out.write(chunk)
            partial.replace(target)  # whole or not at all
        self.stderr.write(f"{count} rows of {dataset.data_no} {dataset.label} ({dataset.table})")
        if problems:
            for problem in problems[:50]:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{len(problems)} field format problem(s) in the rows written.")
