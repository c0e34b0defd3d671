"""`tenderhall serve` really serves the platform over ASGI on the address it is given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_on_the_given_host_and_port(tmp_path: Path) -> None:
    # given: a migrated embedded database in its own data directory
    env = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "tenderhall", "migrate", "-v0"], env=env, check=True, timeout=120)
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
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
