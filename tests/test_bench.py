"""The benchmark harness in its quick mode: every figure runs on a small size and the report is written. It
fails only if the harness breaks, never on a timing (a missed target is a line of the report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings

FIGURE_FIELDS = {"name", "value", "baseline", "ratio", "target", "met"}


def test_the_quick_mode_runs_every_figure_and_writes_the_report(tmp_path: Path) -> None:
    # when: its own databases (SQLite), servers and files, all under tmp_path
    done = subprocess.run(  # the harness, as CI runs it
        [sys.executable, "-m", "bench", "--quick", "--postgresql", "none", "--out", str(tmp_path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # then
    assert done.returncode == 0, done.stderr[-3000:]
    (report_json,) = tmp_path.glob("quick-*.json")
    (report_md,) = tmp_path.glob("quick-*.md")
    report = json.loads(report_json.read_text())
    assert report["mode"] == "quick"
    assert {"cpu", "cores", "memory", "python", "sqlite", "load_at_start"} <= set(report["machine"])
    assert {item["figure"] for item in report["figures"]} == {"ledger", "portal", "feed", "opening", "rush"}
    for item in report["figures"]:
        assert set(item) >= FIGURE_FIELDS, item["name"]
        assert item["value"] > 0, item["name"]
        assert item["name"] in report_md.read_text()
    rush = [item for item in report["figures"] if item["figure"] == "rush"]
    assert [item["conditions"] for item in rush] == [
        {"every upload taken": True, "every receipt verifies": True, "nothing lost": True}
    ] * 2
