"""C2SP signed notes, checkpoints and cosignatures."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.ledger.note import (
    COSIGNATURE_V1,
    Checkpoint,
    CosignatureSigner,
    Ed25519Signer,
    NoteError,
    UnverifiedNoteError,
    cosignature_timestamp,
    parse_checkpoint,
    parse_note,
    parse_signature_lines,
    parse_vkey,
    sign_note,
    verify_checkpoint,
    verify_note,
)

# The signed-note format's well-known example key and note (Ed25519 is deterministic, so signing the
# same text with the same seed must give the published signature byte for byte).
KEY = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
EXAMPLE_VKEY = f"PeterNeumann+c74f20a3+{KEY}"
EXAMPLE_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
EXAMPLE_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
EXAMPLE_NOTE = (
    EXAMPLE_TEXT
    + "\n— PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "tender.example/log"
ROOT = bytes(range(32))


def _log_signer() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(32)))


def _witness(name: str = "witness.example/w1", seed: int = 7) -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_the_example_note_verifies_and_signing_reproduces_it():
    # given
    verifier = parse_vkey(EXAMPLE_VKEY)
    signer = Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(EXAMPLE_SEED))
    # when
    note = parse_note(EXAMPLE_NOTE)
    verified = verify_note(note, [verifier])
    signed = sign_note(EXAMPLE_TEXT, [signer])
    # then
    assert note.text == EXAMPLE_TEXT
    assert [sig.name for _, sig in verified] == ["PeterNeumann"]
    assert verifier.key_id.hex() == "c74f20a3"
    assert signer.vkey == EXAMPLE_VKEY
    assert signed.render() == EXAMPLE_NOTE


def test_a_changed_text_is_a_bad_signature_from_the_known_key():
    note = parse_note(EXAMPLE_NOTE.replace("cryptography", "cryptographY"))
    with pytest.raises(UnverifiedNoteError, match=r"^bad signature from known key PeterNeumann\+c74f20a3$"):
        verify_note(note, [parse_vkey(EXAMPLE_VKEY)])


def test_signatures_from_unknown_keys_are_ignored_but_one_known_signature_is_required():
    # given
    other = Ed25519Signer("other.example", Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
    both = sign_note(EXAMPLE_TEXT, [other]).render().rstrip("\n") + "\n" + EXAMPLE_NOTE.split("\n\n")[1]
    # when
    verified = verify_note(parse_note(both), [parse_vkey(EXAMPLE_VKEY)])
    # then
    assert [sig.name for _, sig in verified] == ["PeterNeumann"]
    with pytest.raises(UnverifiedNoteError, match=r"^no signature from a known key: other.example\+"):
        verify_note(parse_note(sign_note(EXAMPLE_TEXT, [other]).render()), [parse_vkey(EXAMPLE_VKEY)])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("text\n", "note has no blank line between text and signatures"),
        ("text\n\n", "note has no signature lines"),
        ("text\n\n— a AAAAAAA=", "note must end with a newline"),
        ("text\n\n- a AAAAAAA=\n", "signature line does not start with an em dash"),
        ("text\n\n— a b c\n", "signature line must read"),
        ("text\n\n— a !!!!\n", "signature of a is not valid base64"),
        ("text\n\n— a AAAA\n", "signature of a is too short"),
        ("te\txt\n\n— a AAAAAAA=\n", "note contains the control character '\\\\t'"),
        ("text\n\n— a+b AAAAAAA=\n", "key name 'a\\+b' must be non-empty"),
        (b"\xff\n\n" + "— a AAAAAAA=\n".encode(), "note is not valid UTF-8"),
    ],
)
def test_malformed_notes_are_refused_with_the_reason(raw, message):
    with pytest.raises(NoteError, match=message):
        parse_note(raw)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+c74f20a3", "a verifier key reads name\\+keyid\\+key"),
        (
            f"PeterNeumann+c74f20a4+{KEY}",
            "does not match its name and key",
        ),
        (f"PeterNeumann+C74F20A3+{KEY}", "8 lower-case hex digits"),
        (
            "PeterNeumann+c74f20a3+ApRc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "signature type 0x02 is not supported",
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy",
            "an Ed25519 public key is 32 bytes",
        ),
        (
            f"Peter Neumann+c74f20a3+{KEY}",
            "must be non-empty, without spaces",
        ),
    ],
)
def test_malformed_vkeys_are_refused_with_the_reason(vkey, message):
    with pytest.raises(NoteError, match=message):
        parse_vkey(vkey)


def test_checkpoint_text_round_trips_with_extensions():
    # given
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT, ("extension one",))
    # when
    text = checkpoint.text()
    # then
    assert text == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\nextension one\n"
    assert parse_checkpoint(text) == checkpoint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n5\n", "checkpoint has 2 lines"),
        (f"\n5\n{base64.b64encode(ROOT).decode()}\n", "checkpoint origin is empty"),
        (f"{ORIGIN}\n05\n{base64.b64encode(ROOT).decode()}\n", "checkpoint size '05' is not a decimal"),
        (f"{ORIGIN}\n-5\n{base64.b64encode(ROOT).decode()}\n", "checkpoint size '-5' is not a decimal"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "checkpoint root hash is 31 bytes"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\n\n", "extension lines must be non-empty"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}", "must end with a newline"),
    ],
)
def test_malformed_checkpoints_are_refused_with_the_reason(text, message):
    with pytest.raises(NoteError, match=message):
        parse_checkpoint(text)


def test_a_cosigned_checkpoint_verifies_with_its_quorum():
    # given
    log, w1, w2 = _log_signer(), _witness(), _witness("witness.example/w2", 9)
    text = Checkpoint(ORIGIN, 5, ROOT).text()
    signed = sign_note(text, [log]).render() + w1.cosign(text, 1_700_000_000).line()
    # when
    verified = verify_checkpoint(signed, log.verifier, [w1.verifier, w2.verifier], quorum=1)
    # then
    assert verified.checkpoint.size == 5
    assert [v.name for v, _ in verified.cosignatures] == ["witness.example/w1"]
    assert cosignature_timestamp(verified.cosignatures[0][1]) == 1_700_000_000
    assert w1.verifier.sig_type == COSIGNATURE_V1
    assert parse_vkey(w1.vkey) == w1.verifier
    with pytest.raises(UnverifiedNoteError, match="has 1 valid cosignatures from known witnesses, needs 2"):
        verify_checkpoint(signed, log.verifier, [w1.verifier, w2.verifier], quorum=2)


def test_a_cosignature_over_another_checkpoint_or_time_fails():
    # given
    log, witness = _log_signer(), _witness()
    text = Checkpoint(ORIGIN, 5, ROOT).text()
    cosig = witness.cosign(Checkpoint(ORIGIN, 6, ROOT).text(), 1_700_000_000)
    signed = sign_note(text, [log]).render() + cosig.line()
    # when / then
    with pytest.raises(UnverifiedNoteError, match=r"^bad signature from known key witness.example/w1\+"):
        verify_checkpoint(signed, log.verifier, [witness.verifier])
    assert not witness.verifier.verify(text.encode(), cosig.signature)


def test_a_checkpoint_for_another_origin_is_refused():
    log = _log_signer()
    text = Checkpoint("elsewhere.example/log", 5, ROOT).text()
    signed = sign_note(text, [log]).render()
    with pytest.raises(NoteError, match=r"^checkpoint origin 'elsewhere\.example/log' is not the log's key"):
        verify_checkpoint(signed, log.verifier)


def test_witness_response_lines_parse():
    witness = _witness()
    line = witness.cosign(Checkpoint(ORIGIN, 5, ROOT).text(), 42).line()
    assert parse_signature_lines(line) == [witness.cosign(Checkpoint(ORIGIN, 5, ROOT).text(), 42)]
    with pytest.raises(NoteError, match="signature lines must end with a newline"):
        parse_signature_lines(line.rstrip("\n"))


def test_a_vkey_whose_base64_contains_plus_signs_parses():
    # given: a key whose encoding contains '+' (found by a failing run)
    vkey = "tenderhall.example/ledger+6a506e4a+ATMm1/rg61SqvlSBAhyIRTNSyWdelTW1+/103x0Qg13h"
    # when
    verifier = parse_vkey(vkey)
    # then
    assert verifier.name == "tenderhall.example/ledger"
    assert verifier.vkey == vkey
