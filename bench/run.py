"""The harness: each figure in a process of its own, on a fresh copy of a migrated database (SQLite, and
PostgreSQL when one answers), and one report in Markdown and JSON with the machine it ran on.

    python -m bench                     the full sizes of DESIGN.md (make bench)
    python -m bench --quick --out DIR   every figure on a small size, for CI: fails only if the harness breaks
    python -m bench --figures rush,ledger --set portal.count=100000 --postgresql none

A figure that misses its target is reported as missed, with what limits it; only a figure that cannot run
makes the harness fail. docs/performance.md explains the figures and their baselines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Figure, figures_read

FIGURES = ("ledger", "portal", "feed", "opening", "rush")
NO_DATABASE = frozenset({"opening"})  # pure: runs once, not per database
FULL: dict[str, dict[str, int]] = {
    "rush": {"count": 200, "size": 10 * 1024 * 1024, "rounds": 3},
    "opening": {"count": 200, "size": 10 * 1024 * 1024},
    "ledger": {"count": 1_000_000},
    "portal": {"count": 1_000_000, "rounds": 3},
    "feed": {"count": 100_000, "notices": 1_000},
}
QUICK: dict[str, dict[str, int]] = {
    "rush": {"count": 3, "size": 200_000, "rounds": 1},
    "opening": {"count": 2, "size": 200_000},
    "ledger": {"count": 2_000},
    "portal": {"count": 200, "rounds": 1},
    "feed": {"count": 300, "notices": 20},
}
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/test"


class HarnessError(Exception):
    """The harness itself broke (a figure could not run): the only failure of the quick mode."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--figures", default=",".join(FIGURES), help=f"some of {','.join(FIGURES)}")
    parser.add_argument("--set", action="append", default=[], metavar="FIGURE.KEY=N", help="change a size")
    parser.add_argument(
        "--postgresql",
        default=os.environ.get("BENCH_POSTGRESQL", DEFAULT_POSTGRESQL),
        help="a PostgreSQL URL whose server the harness may create databases on, or 'none'",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where the report goes")
    parser.add_argument("--profile", action="store_true", help="also profile the deadline rush (py-spy)")
    options = parser.parse_args(argv)
    figures = [f for f in options.figures.split(",") if f]
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures: {', '.join(unknown)}")
    sizes = {name: dict(size) for name, size in (QUICK if options.quick else FULL).items()}
    for change in options.set:
        key, _, value = change.partition("=")
        figure, _, field = key.partition(".")
        if figure not in sizes or field not in sizes[figure] or not value.isdigit():
            parser.error(f"--set {change}: name a figure's size, e.g. portal.count=100000")
        sizes[figure][field] = int(value)
    try:
        report = bench(
            figures=figures,
            sizes=sizes,
            quick=options.quick,
            postgresql=None if options.postgresql == "none" else options.postgresql,
            profile=options.profile,
        )
    except HarnessError as error:
        print(f"bench: the harness broke: {error}", file=sys.stderr)
        sys.exit(1)
    paths = report_write(report, options.out)
    print(markdown(report))
    print(f"bench: report written to {', '.join(str(p) for p in paths)}")


def bench(
    *,
    figures: list[str],
    sizes: dict[str, dict[str, int]],
    quick: bool,
    postgresql: str | None,
    profile: bool,
) -> dict[str, Any]:
    started = time.time()
    databases: list[tuple[str, str | None]] = [("sqlite", None)]
    skipped: list[dict[str, str]] = []
    server_version = _postgresql_version(postgresql) if postgresql else None
    if postgresql and server_version:
        databases.append(("postgresql", postgresql))
    elif postgresql:
        skipped.append({"database": "postgresql", "why": f"no PostgreSQL answered at {postgresql}"})
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tenderhall-bench-") as temporary:
        work = Path(temporary)
        for database, url in databases:
            template = _template(database, url, work)
            try:
                for figure in figures:
                    if figure in NO_DATABASE and database != databases[0][0]:
                        continue
                    arguments = {**sizes[figure], **({"profile": 1} if figure == "rush" and profile else {})}
                    load_before = os.getloadavg()
                    seconds, produced = _figure(figure, arguments, database, url, template, work)
                    for item in produced:
                        results.append(
                            {
                                **item.as_dict(database="none" if figure in NO_DATABASE else database),
                                "figure": figure,
                                "seconds": round(seconds, 1),
                                "load_before": [round(x, 2) for x in load_before],
                                "load_after": [round(x, 2) for x in os.getloadavg()],
                            }
                        )
            finally:
                _drop(database, url, template)
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "sizes": {name: sizes[name] for name in figures},
        "machine": _machine(server_version),
        "commit": _commit(),
        "seconds": round(time.time() - started, 1),
        "databases": [name for name, _url in databases],
        "skipped": skipped,
        "figures": results,
    }


# --- one figure in a process of its own -------------------------------------------------------------------


def _figure(  # noqa: PLR0917  # one call site, in order
    figure: str,
    arguments: dict[str, int],
    database: str,
    url: str | None,
    template: str | Path | None,
    work: Path,
) -> tuple[float, list[Figure]]:
    here = work / database / figure
    data = here / "data"
    data.mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "TENDERHALL_DATA_DIR": str(data),
        "TENDERHALL_MODE": "embedded",
        "TENDERHALL_DEMO_CA": "1",
    }
    env.pop("DATABASE_URL", None)
    copy = None
    if figure not in NO_DATABASE:
        copy = _copy(database, url, template, data, figure)
        if copy is not None:
            env["DATABASE_URL"] = copy
    output = here / "figures.json"
    command = [sys.executable, "-m", f"bench.{figure}", "--output", str(output)]
    for key, value in arguments.items():
        command += [f"--{key}"] if key == "profile" else [f"--{key}", str(value)]
    if figure == "rush":
        command += ["--work", str(here)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        if copy is not None:
            _drop(database, url, copy)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not output.exists():
        raise HarnessError(f"{figure} on {database} exited {done.returncode}: {done.stderr[-3000:]}")
    figures = figures_read(output.read_text())
    shutil.rmtree(here, ignore_errors=True)  # gigabytes of envelopes and notices
    return seconds, figures


# --- databases: one migrated template each, a fresh copy for every figure --------------------------------


def _template(database: str, url: str | None, work: Path) -> str | Path | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "bench.settings"}
    env["TENDERHALL_DATA_DIR"] = str(work / f"template-{database}")
    env.pop("DATABASE_URL", None)
    template: str | Path
    if url is None:
        template = work / f"template-{database}" / "tenderhall.sqlite3"
    else:
        name = f"tenderhall_bench_template_{os.getpid()}"
        _admin(url, f'CREATE DATABASE "{name}"')
        template = _with_database(url, name)
        env["DATABASE_URL"] = template
    done = subprocess.run(
        [sys.executable, "-m", "tenderhall", "migrate", "-v0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"migrate on {database} failed: {done.stderr[-3000:]}")
    return template


def _copy(database: str, url: str | None, template: str | Path | None, data: Path, figure: str) -> str | None:
    if url is None:
        assert isinstance(template, Path)
        shutil.copyfile(template, data / "tenderhall.sqlite3")
        return None
    name = f"tenderhall_bench_{figure}_{os.getpid()}"
    template_name = str(template).rsplit("/", 1)[1]
    _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    return _with_database(url, name)


def _drop(database: str, url: str | None, copy: str | Path | None) -> None:
    if url is None or copy is None:
        return
    _admin(url, f'DROP DATABASE IF EXISTS "{str(copy).rsplit("/", 1)[1]}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    return f"{url.rsplit('/', 1)[0]}/{name}"


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)  # type: ignore[arg-type]  # names made here, quoted


def _postgresql_version(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:  # any failure means: not available
        return None


# --- the report --------------------------------------------------------------------------------------------


def _machine(postgresql: str | None) -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            cpu,
        )
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kilobytes = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kilobytes / 1024 / 1024:.1f} GiB"
    return {
        "host": platform.node(),
        "system": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql,
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _commit() -> str:
    if os.environ.get("BENCH_COMMIT"):  # a run from an exported tree names the commit it was exported from
        return os.environ["BENCH_COMMIT"]
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def report_write(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{report['mode']}-{report['generated_at'].replace(':', '').replace('+0000', 'Z')}"
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(markdown(report))
    return paths


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"# Benchmark report ({report['mode']}), {report['generated_at']}",
        "",
        f"Commit `{report['commit']}`; {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; "
        f"{machine['system']}; Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"PostgreSQL {machine['postgresql'] or 'not measured'}. Load average at the start "
        f"{machine['load_at_start']} (the machine is shared: see each figure's load). "
        f"Took {report['seconds']} s.",
        "",
        "| figure | database | value | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for item in report["figures"]:
        target = item["target"]["text"] if item["target"] else "—"
        met = {True: "yes", False: "**no**", None: "—"}[item["met"]]
        lines.append(
            f"| {item['name']} | {item['database']} | {_number(item['value'])} {item['unit']} "
            f"| {_number(item['baseline'])} | {_number(item['ratio'])} | {target} | {met} |"
        )
    lines += ["", "Baselines:", ""]
    for name in dict.fromkeys(f"{item['name']}: {item['baseline_name']}" for item in report["figures"]):
        lines.append(f"* {name}")
    for skipped in report["skipped"]:
        lines.append(f"* not measured on {skipped['database']}: {skipped['why']}")
    lines += ["", "Details (per figure and database):", ""]
    for item in report["figures"]:
        details = {k: v for k, v in item["details"].items() if k != "profile"}
        conditions = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in item["conditions"].items())
        held = f"; {conditions}" if conditions else ""
        lines.append(
            f"* {item['name']} ({item['database']}, {item['seconds']} s, load {item['load_before']} → "
            f"{item['load_after']}){held}: `{json.dumps(details, ensure_ascii=False)}`"
        )
        profile = item["details"].get("profile")
        if profile:
            lines.append(
                f"  * profile ({profile['samples']} samples holding the interpreter lock), most often on top:"
            )
            lines += [f"    * {share:.1%} {name}" for name, share in profile["self"][:10]]
    return "\n".join(lines) + "\n"
