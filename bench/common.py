"""What every figure shares: the shape of a result, timing statistics, a server to measure against, and the
scene of a tender in bidding with its bidders."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --- results ------------------------------------------------------------------------------------------------


@dataclass
class Target:
    """What DESIGN.md asks: ``of`` (the ratio, or the value itself) compared with ``limit`` by ``op``."""

    of: str  # "ratio" or "value"
    op: str  # "<=", "<", ">=", ">"
    limit: float
    text: str

    def met(self, value: float, ratio: float | None) -> bool:
        measured = ratio if self.of == "ratio" else value
        if measured is None or math.isnan(measured):
            return False
        return {
            "<=": measured <= self.limit,
            "<": measured < self.limit,
            ">=": measured >= self.limit,
            ">": measured > self.limit,
        }[self.op]


@dataclass
class Figure:
    """One measured number of the platform beside its baseline from the same run."""

    name: str
    unit: str
    value: float
    baseline: float | None
    baseline_name: str
    target: Target | None = None
    details: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = False
    conditions: dict[str, bool] = field(default_factory=dict)  # besides the target, e.g. "nothing lost"

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.target.met(self.value, self.ratio) and all(self.conditions.values())

    def as_dict(self, *, database: str) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "database": database,
            "unit": self.unit,
            "value": self.value,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": ratio,
            "target": asdict(self.target) if self.target else None,
            "met": self.met,
            "conditions": self.conditions,
            "details": self.details,
        }


def figures_write(figures: Sequence[Figure], path: Path | None) -> None:
    """A figure process hands its results to the harness as JSON (in a file, or on stdout)."""
    data = json.dumps([{**asdict(f), "target": asdict(f.target) if f.target else None} for f in figures])
    if path is None:
        print(data)
    else:
        path.write_text(data)


def figures_read(data: str) -> list[Figure]:
    return [
        Figure(**{**item, "target": Target(**item["target"]) if item["target"] else None})
        for item in json.loads(data)
    ]


# --- statistics ---------------------------------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by the nearest-rank method: a value that was measured."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


# --- the environment of a figure process -------------------------------------------------------------------


def django_setup() -> None:
    """The platform's settings with the bench's URLs (bench/settings.py), in the figure's own data dir."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def served(log: Path) -> Iterator[Server]:
    """`tenderhall serve` as a user starts it (one uvicorn worker, no in-process jobs), in this process's
    environment, with the bench's URLs; its output goes to ``log``."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tenderhall", "serve", "--no-worker", "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    server = Server(port, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{server.base}/api/v1/openapi.json", timeout=2).close()  # noqa: S310  # loopback
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tenderhall serve did not come up: {log_tail(log)}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn stops cleanly
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def log_tail(log: Path, size: int = 3000) -> str:
    return log.read_bytes()[-size:].decode(errors="replace") if log.exists() else ""


# --- profiles -----------------------------------------------------------------------------------------------


def py_spy_path() -> str | None:
    """py-spy is not a dependency of the platform: BENCH_PY_SPY names it, or it is on PATH."""
    return os.environ.get("BENCH_PY_SPY") or shutil.which("py-spy")


@contextmanager
def profiled(pid: int, output: Path) -> Iterator[bool]:
    """Sample a running process with `py-spy record` (every thread, idle ones left out, without pausing the
    process) while the block runs; yields whether a profile is being taken (py-spy may be missing)."""
    py_spy = py_spy_path()
    if py_spy is None:
        yield False
        return
    recorder = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--rate",
            "100",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    try:
        yield True
    finally:
        recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait(timeout=30)


def profile_summary(path: Path, *, top: int = 15) -> dict[str, Any]:
    """Where the samples of a py-spy raw (collapsed) profile fall: the functions most often on top of a
    stack (self) and most often anywhere in it (total), as shares of all samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    if not path.exists():
        return {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count

    def shares(counts: dict[str, int]) -> list[list[Any]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [[name, round(count / samples, 3)] for name, count in ranked]

    return {"samples": samples, "self": shares(own), "total": shares(total)} if samples else {}


def _frame_name(frame: str) -> str:
    """`function (path/to/module.py:123)` → `function (package/module.py)`: lines dropped, paths shortened."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3", str(ROOT) + "/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name
