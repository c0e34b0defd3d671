"""`tenderhall serve` really serves the platform over ASGI on the address it is given."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310  # loopback only
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_serve_answers_and_its_in_process_worker_signs_checkpoints(tmp_path: Path) -> None:
    # given: an embedded database with demo data (whose approvals are ledger leaves) in its own data directory
    env = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path), "TENDERHALL_LEDGER_CHECKPOINT_INTERVAL": "0.2"}
    env.pop("DATABASE_URL", None)
    for command in (["migrate", "-v0"], ["demo-data"]):
        subprocess.run(
            [sys.executable, "-m", "tenderhall", *command],
            env=env,
            check=True,
            timeout=120,
            capture_output=True,
        )
    port = free_port()
    # when
    server = subprocess.Popen(  # our own console entry, fixed arguments
        [sys.executable, "-m", "tenderhall", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body, headers = b"", {}
        for _ in range(100):  # bounded: at most about 20 seconds for the server to come up
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2
                ) as answer:  # loopback
                    body, headers = answer.read(), dict(answer.headers)
                break
            except OSError:
                time.sleep(0.2)
        # then
        assert b'"tenderhall API"' in body
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        # the demo tender at its opening: its hall streams its state at once (an async stream under ASGI,
        # nothing buffered until the stream ends)
        status, listing, _ = fetch(f"http://127.0.0.1:{port}/api/v1/procedures/tenders?status=opening")
        assert status == 200, listing
        (opening,) = json.loads(listing)
        stream = urllib.request.urlopen(  # loopback only
            f"http://127.0.0.1:{port}/opening/tenders/{opening['id']}/hall/events", timeout=5
        )
        with stream:
            assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
            lines = [stream.readline() for _ in range(3)]  # within the 5 s timeout, of a 30 s stream
        assert lines == [b"retry: 1000\n", b"\n", b"event: state\n"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
