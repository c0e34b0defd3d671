"""`tenderhall procedures ...`: tick (the scheduler's worker) and diagram (the workflow in Mermaid)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenderhall.core.clock import now
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.workflow import REMEMBERED, TABLE, TERMINAL, TenderEvent

MERMAID_BLOCK = re.compile(r"```mermaid\n.*?```\n", re.DOTALL)
GROUPED = (TenderEvent.SUSPEND, TenderEvent.CANCEL)  # events from many statuses: drawn from one group box


def mermaid_diagram() -> str:
    """The workflow table as a Mermaid ``stateDiagram-v2``. The events of :data:`GROUPED` leave from one
    dashed box naming the statuses they apply to; resume goes back to the box that suspend left from."""
    groups = {str(event): f"{event}_from" for event in GROUPED}
    leads_to = {str(event): {TABLE[key] for key in TABLE if key[1] == event} for event in GROUPED}
    lines = ["stateDiagram-v2", f"    [*] --> {TenderStatus.DRAFT}"]
    for (status, event), target in TABLE.items():
        if event in groups:
            continue
        if target == REMEMBERED:
            back = next(groups[e] for e in groups if leads_to[e] == {status})
            lines.append(f"    {status} --> {back} : {event} (to the status it was suspended from)")
        else:
            lines.append(f"    {status} --> {target} : {event}")
    for event, group in groups.items():
        sources = ", ".join(status for status in TenderStatus if (status, event) in TABLE)
        lines.append(f'    state "{event} from any of {sources}" as {group}')
        lines.extend(f"    {group} --> {target} : {event}" for target in sorted(leads_to[event]))
    lines.extend(f"    {status} --> [*]" for status in TenderStatus if status in TERMINAL)
    lines.append("    classDef group stroke-dasharray: 5 5")
    lines.append(f"    class {', '.join(groups.values())} group")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Tender procedures: run the scheduler (tick) or print the workflow diagram."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        tick = commands.add_parser("tick", help="fire due timed events and publish due notices")
        tick.add_argument("--loop", action="store_true", help="keep running, once per --interval")
        tick.add_argument("--interval", type=float, default=5.0, help="seconds between runs (default 5)")
        tick.add_argument("--limit", type=int, default=500, help="rows of each kind per run (default 500)")
        diagram = commands.add_parser("diagram", help="print the workflow as a Mermaid state diagram")
        diagram.add_argument(
            "--out",
            metavar="FILE",
            help="write to FILE instead; in an existing Markdown file, replace its mermaid block",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _tick(self, options: dict[str, Any]) -> None:
        from tenderhall.procedures.scheduler import procedures_tick

        while True:
            changes = procedures_tick(now=now(), limit=options["limit"], say=self.stdout.write)
            if not options["loop"]:
                if not changes:
                    self.stdout.write("nothing due")
                return
            time.sleep(max(0.05, options["interval"]))

    def _diagram(self, options: dict[str, Any]) -> None:
        diagram = mermaid_diagram()
        if not options["out"]:
            self.stdout.write(diagram, ending="")
            return
        path = Path(options["out"])
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if MERMAID_BLOCK.search(text):
            path.write_text(
                MERMAID_BLOCK.sub(lambda _: f"```mermaid\n{diagram}```\n", text, count=1), encoding="utf-8"
            )
        else:
            path.write_text(diagram, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
