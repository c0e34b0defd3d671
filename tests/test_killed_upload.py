"""A server killed while a sealed bid is being uploaded leaves no bid and no file: the real `tenderhall serve`
process, a real upload over loopback (the multipart form and the envelope as the body), and `kill -9` halfway
through the body."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

SETUP = r"""
import json, sys
from datetime import timedelta
from django.db import transaction
from tenderhall.core import clock
from tenderhall.accounts.services import token_create
from tenderhall.bids.tests.test_services import make_bidder
from tenderhall.procedures.models import Tender
from tenderhall.procedures.tests.factories import make_draft_tender, make_parties
from pathlib import Path

now = clock.now()
with transaction.atomic():
    parties = make_parties()
    tender = make_draft_tender(parties)
    Tender.objects.filter(pk=tender.pk).update(status="bidding", bid_deadline=now + timedelta(days=1),
                                                 next_check_at=None)
    bidder = make_bidder(parties.operator, Path(sys.argv[1]), now=now)
    token = token_create(user=bidder.user, name="upload", scopes=["procedures:write"], expires_at=None,
                         now=now)
print(json.dumps({"lot": tender.lots.get().pk, "entity": bidder.entity.pk, "token": token.token}))
"""

COUNT = r"""
import json
from tenderhall.bids.management.commands.bids import orphan_envelopes
from tenderhall.bids.models import Bid
from datetime import timedelta
print(json.dumps({"bids": Bid.objects.count(), "orphans": len(orphan_envelopes(older_than=timedelta(0)))}))
"""


def django_python(env: dict[str, str], code: str, *args: str) -> str:
    wrapper = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
        "django.setup(); exec(sys.stdin.read())"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        input=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def multipart(fields: dict[str, str]) -> tuple[bytes, bytes, str]:
    """The head of a multipart body (fields, then the file part's header) and its tail; the envelope's bytes
    go between them."""
    boundary = "tenderhallboundary7d9f"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="envelope"; filename="bid.p7m"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def seal_with_openssl(keys: Path) -> bytes:
    plain = keys / "bid.json"
    plain.write_text('{"price": "1000000.00"}')
    signed = subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            str(plain),
            "-signer",
            str(keys / "signing.cert.pem"),
            "-inkey",
            str(keys / "signing.key.pem"),
            "-outform",
            "DER",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-encrypt",
            "-binary",
            "-aes-256-gcm",
            "-recip",
            str(keys / "encryption.cert.pem"),
            "-outform",
            "DER",
        ],
        input=signed,
        check=True,
        capture_output=True,
    ).stdout


def upload(lot: int, fields: dict[str, str], *, form: bool) -> tuple[str, bytes, bytes, str]:
    """Path, head, tail and content type of an upload: a multipart form, or the envelope as the body."""
    if form:
        head, tail, content_type = multipart(fields)
        return f"/api/v1/bids/lots/{lot}/bids", head, tail, content_type
    return f"/api/v1/bids/lots/{lot}/envelopes?{urllib.parse.urlencode(fields)}", b"", b"", "application/cms"


@pytest.mark.parametrize("form", [True, False], ids=["multipart form", "envelope as the body"])
def test_a_server_killed_mid_upload_leaves_no_bid_and_no_file(tmp_path: Path, form: bool) -> None:
    # given: an embedded platform with a tender in bidding and a bidder holding certificates and a token
    env = {
        **os.environ,
        "TENDERHALL_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "tenderhall", "migrate", "-v0"], env=env, check=True, timeout=180)
    (tmp_path / "keys").mkdir()
    scene = json.loads(django_python(env, SETUP, str(tmp_path / "keys")))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # our own console entry, fixed arguments
        [sys.executable, "-m", "tenderhall", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # bounded: about 20 s for the server to come up
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        fields = {
            "entity_id": str(scene["entity"]),
            "bond_amount": "150000",
            "bond_payer_account": "6222020200001234567",
        }
        # a whole upload first: the same setup takes a bid (so the killed one was on its way to be taken)
        envelope = seal_with_openssl(tmp_path / "keys")
        path, head, tail, content_type = upload(scene["lot"], fields, form=form)
        request = urllib.request.Request(  # loopback only
            f"http://127.0.0.1:{port}{path}",
            data=head + envelope + tail,
            headers={"Authorization": f"Bearer {scene['token']}", "Content-Type": content_type},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # loopback only
            assert answer.status == 201
        size = 30 * 1024 * 1024
        # when: half the envelope is sent, then the server dies
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {scene['token']}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n".encode()
                + head
            )
            chunk = b"\x30" * (1024 * 1024)
            for _ in range(size // len(chunk) // 2):
                connection.sendall(chunk)
            time.sleep(0.5)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)
    # then: only the whole bid, and no envelope file that no bid names
    assert json.loads(django_python(env, COUNT)) == {"bids": 1, "orphans": 0}
