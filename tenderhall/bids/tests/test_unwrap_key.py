"""`tenderhall bid unwrap-key`: at the opening the bidder unwraps its bid's content key on its own machine."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.bids.envelope import envelope_decrypt

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def issue(ca_dir: Path, tmp_path: Path, name: str) -> tuple[Path, Path]:
    ca = demo_ca_load_or_create(ca_dir, now=NOW)
    key_pem, cert_pem = ca.issue_key_and_certificate(
        common_name=name, serial_number="91420100MA000004XW", usage="encryption", now=NOW
    )
    (tmp_path / f"{name}.key").write_bytes(key_pem)
    (tmp_path / f"{name}.pem").write_bytes(cert_pem)
    return tmp_path / f"{name}.pem", tmp_path / f"{name}.key"


def test_the_unwrapped_key_opens_the_bid_and_a_stranger_cannot_unwrap(tmp_path):
    # given: a bid sealed with openssl to the bidder's encryption certificate
    cert, key = issue(tmp_path / "ca", tmp_path, "bidder")
    other_cert, other_key = issue(tmp_path / "ca", tmp_path, "other")
    (tmp_path / "bid.json").write_bytes(b'{"price": "1234567.00"}')
    envelope = subprocess.run(
        [
            "openssl",
            "cms",
            "-encrypt",
            "-binary",
            "-aes-256-gcm",
            "-in",
            str(tmp_path / "bid.json"),
            "-recip",
            str(cert),
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-outform",
            "DER",
        ],
        check=True,
        capture_output=True,
    ).stdout
    (tmp_path / "bid.p7m").write_bytes(envelope)
    # when
    out = StringIO()
    call_command(
        "bid",
        "unwrap-key",
        "--envelope",
        str(tmp_path / "bid.p7m"),
        "--encryption-cert",
        str(cert),
        "--key",
        str(key),
        stdout=out,
    )
    # then
    content_key = bytes.fromhex(out.getvalue().strip())
    assert len(content_key) == 32
    assert envelope_decrypt(envelope, content_key=content_key) == b'{"price": "1234567.00"}'
    with pytest.raises(CommandError, match="recipient_missing"):
        call_command(
            "bid",
            "unwrap-key",
            "--envelope",
            str(tmp_path / "bid.p7m"),
            "--encryption-cert",
            str(other_cert),
            "--key",
            str(other_key),
            stdout=StringIO(),
        )
