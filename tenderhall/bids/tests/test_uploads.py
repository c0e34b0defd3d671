"""The upload path: an envelope streamed to storage, hashed and checked in one pass from its two ends, named
in storage only once whole and accepted; and the same verdict as the check of the whole envelope, always."""

from __future__ import annotations

import hashlib
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from django.conf import settings

from tenderhall.bids import uploads
from tenderhall.bids.envelope import EnvelopeRefused, envelope_inspect
from tenderhall.bids.tests.test_services import make_scene, seal, stored_files
from tenderhall.core.der import der_encode

pytestmark = pytest.mark.django_db
LARGE = b"drawings " * 40_000  # 360 kB: the ciphertext spans the middle that is not kept


def sealed(tmp_path: Path, *, cipher: str, stream: bool = False) -> bytes:
    """A bid sealed by openssl to the scene's bidder, large enough that only its ends are kept."""
    scene = make_scene(tmp_path)
    envelope = seal(scene.bidder, tmp_path, cipher=cipher, payload=LARGE)
    if not stream:
        return envelope
    # the same signed content, encrypted again with -stream: BER with indefinite lengths
    signed = tmp_path / "bid.p7s"
    return subprocess.run(
        [
            "openssl", "cms", "-encrypt", "-binary", "-stream", cipher, "-in", str(signed),
            "-outform", "DER", "-recip", str(scene.bidder.encryption_cert),
        ],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip


def received(envelope: bytes, **options: int) -> uploads.ReceivedEnvelope:
    with uploads.envelope_received(BytesIO(envelope), **options) as envelope_received:
        return envelope_received


def reader_of(envelope: bytes) -> uploads._Reader:
    reader = uploads._Reader(BytesIO(envelope), max_size=len(envelope))
    while reader.read(uploads.CHUNK):
        pass
    return reader


@pytest.mark.parametrize("cipher", ["-aes-256-gcm", "-aes-128-cbc"])
def test_a_large_der_envelope_is_checked_from_its_ends_with_the_verdict_of_the_whole(tmp_path, cipher):
    # given: an envelope of which only the first and last 64 KiB are kept
    envelope = sealed(tmp_path, cipher=cipher)
    assert len(envelope) > 2 * uploads.EDGE
    # when
    from_ends = uploads._inspect_shortened(reader_of(envelope), max_size=len(envelope))
    # then: the same as the check of the whole envelope, real length included
    assert from_ends == envelope_inspect(envelope)
    stored = received(envelope)
    assert (stored.size, stored.sha256, stored.info) == (
        len(envelope),
        hashlib.sha256(envelope).hexdigest(),
        envelope_inspect(envelope),
    )
    assert Path(settings.TENDERHALL_DATA_DIR, "files", stored.name).read_bytes() == envelope


def test_an_envelope_made_with_openssl_stream_is_checked_whole(tmp_path):
    # given: BER with indefinite lengths, which the DER walk does not read
    envelope = sealed(tmp_path, cipher="-aes-256-gcm", stream=True)
    assert uploads._shortened(*_ends(envelope), len(envelope)) is None
    # when / then: accepted all the same, by the check of the whole envelope read back
    assert received(envelope).info == envelope_inspect(envelope)


def test_a_cbc_ciphertext_that_is_not_whole_blocks_is_refused_naming_its_real_length(tmp_path):
    # given: a large CBC envelope whose ciphertext lost its last byte
    envelope = asn1_cms.ContentInfo.load(sealed(tmp_path, cipher="-aes-256-cbc"))
    content = envelope["content"]["encrypted_content_info"]
    ciphertext = content["encrypted_content"].native
    content["encrypted_content"] = ciphertext[:-1]
    broken = envelope.dump(force=True)
    # when
    with pytest.raises(EnvelopeRefused) as refused:
        received(broken)
    # then: the refusal of the whole envelope, not of the shortened one, and nothing stored
    assert refused.value.details == {"reason": "malformed", "encrypted_content_length": len(ciphertext) - 1}
    assert stored_files() == []


def test_a_refused_upload_never_appears_in_storage(tmp_path):
    # given: well-formed DER whose large element spans the middle, but not an envelope
    not_an_envelope = der_encode(0x30, der_encode(0x06, b"\x2a\x03") + der_encode(0x80, LARGE))
    # when
    with pytest.raises(EnvelopeRefused):
        received(not_an_envelope)
    # then
    assert list(Path(settings.TENDERHALL_DATA_DIR, "files").rglob("*.p7m")) == []


def test_an_accepted_envelope_is_removed_again_when_the_callers_block_fails(tmp_path):
    envelope = sealed(tmp_path, cipher="-aes-256-gcm")
    seen = []

    def commit_that_fails() -> None:
        with uploads.envelope_received(BytesIO(envelope)) as stored:
            seen.append(Path(settings.TENDERHALL_DATA_DIR, "files", stored.name).exists())
            raise RuntimeError("the commit failed")

    with pytest.raises(RuntimeError):
        commit_that_fails()
    assert (seen, stored_files()) == ([True], [])


def test_the_ends_rebuild_only_plain_der_with_one_encrypted_content_across_the_middle():
    big = der_encode(0x80, LARGE)
    small = der_encode(0x30, der_encode(0x04, b"abc"))
    cases = {
        "fits in its ends": small,
        "indefinite length": b"\x30\x80" + big + b"\x00\x00",
        "a big OCTET STRING, not [0]": der_encode(0x30, der_encode(0x04, LARGE)),
        "trailing bytes": der_encode(0x30, big) + b"\x00",
    }
    for name, data in cases.items():
        assert uploads._shortened(*_ends(data), len(data)) is None, name
    data = der_encode(0x30, der_encode(0x06, b"\x2a\x03") + big + der_encode(0x04, b"tag"))
    rebuilt, kept, length = uploads._shortened(*_ends(data), len(data)) or (b"", 0, 0)
    assert (kept, length) == (16 + len(LARGE) % 16, len(LARGE))
    assert rebuilt == der_encode(
        0x30, der_encode(0x06, b"\x2a\x03") + der_encode(0x80, LARGE[:kept]) + der_encode(0x04, b"tag")
    )


def _ends(data: bytes) -> tuple[bytes, bytes]:
    return data[: uploads.EDGE], data[-uploads.EDGE :]


@pytest.mark.parametrize("unnamed_files", [True, False])
def test_an_upload_refused_while_it_is_written_leaves_no_partial_file(tmp_path, monkeypatch, unnamed_files):
    # given: storage with or without unnamed files, and an envelope one byte over the limit
    if not unnamed_files:
        monkeypatch.setattr(uploads, "_unnamed_file", lambda path: None)
    envelope = sealed(tmp_path, cipher="-aes-256-gcm")
    # when: refused once the piece that passes the limit is read, after the first pieces were written
    with pytest.raises(uploads.EnvelopeTooLarge):
        received(envelope, max_size=len(envelope) - 1)
    # then
    assert list(Path(settings.TENDERHALL_DATA_DIR, "files").rglob("*.p7m")) == []


@pytest.mark.parametrize("size", [0, 1, 1000, uploads.EDGE, uploads.EDGE + 1, 2 * uploads.EDGE])
def test_an_upload_that_fits_in_its_ends_is_whole_from_them(size):
    data = bytes(range(256)) * (size // 256 + 1)
    assert uploads._whole_from_ends(reader_of(data[:size])) == data[:size]


def test_an_upload_longer_than_its_ends_is_not_whole_from_them():
    assert uploads._whole_from_ends(reader_of(b"x" * (2 * uploads.EDGE + 1))) is None
