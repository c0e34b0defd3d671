"""C2SP tlog-witness: this node cosigning other logs, and this log collecting cosignatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from io import BytesIO, RawIOBase, StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.handlers.asgi import ASGIRequest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, RequestFactory

from tenderhall.ledger import conf, views
from tenderhall.ledger.merkle import MemoryHashReader, consistency_proof, leaf_hash, root_from_leaf_hashes
from tenderhall.ledger.models import Checkpoint, Cosignature, WitnessedLog, WitnessPeer
from tenderhall.ledger.note import (
    Checkpoint as CheckpointBody,
)
from tenderhall.ledger.note import (
    Ed25519Signer,
    cosignature_timestamp,
    parse_signature_lines,
    parse_vkey,
    sign_note,
    verify_checkpoint,
)
from tenderhall.ledger.selectors import ledger_vkey, witness_vkey
from tenderhall.ledger.services import (
    HttpAnswer,
    ledger_append,
    ledger_integrate,
    ledger_witness_push,
    witness_peer_add,
)
from tenderhall.ledger.witness import witness_log_add

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ADD = "/witness/add-checkpoint"
OTHER = "other.example/log"

pytestmark = pytest.mark.django_db


def other_signer(seed: int = 3) -> Ed25519Signer:
    return Ed25519Signer(OTHER, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


LEAVES = [leaf_hash(str(i).encode()) for i in range(40)]


def request_body(
    old: int,
    size: int,
    *,
    proof: list[bytes] | None = None,
    signer: Ed25519Signer | None = None,
    root: bytes | None = None,
) -> bytes:
    signer = signer or other_signer()
    body = CheckpointBody(
        OTHER, size, root if root is not None else root_from_leaf_hashes(LEAVES[:size])
    ).text()
    if proof is None:
        proof = consistency_proof(old, size, MemoryHashReader(LEAVES[:size])) if 0 < old < size else []
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{sign_note(body, [signer]).render()}".encode()


def post(client: Client, body: bytes):
    return client.post(ADD, data=body, content_type="text/plain")


@pytest.fixture
def witnessed() -> WitnessedLog:
    return witness_log_add(origin=OTHER, vkey=other_signer().vkey)


def test_the_witness_cosigns_a_new_log_then_a_consistent_growth(client, witnessed):
    # when
    first = post(client, request_body(0, 10))
    second = post(client, request_body(10, 25))
    # then
    assert first.status_code == 200
    assert second.status_code == 200
    [cosignature] = parse_signature_lines(second.content.decode())
    note = sign_note(CheckpointBody(OTHER, 25, root_from_leaf_hashes(LEAVES[:25])).text(), [other_signer()])
    verified = verify_checkpoint(
        note.render() + cosignature.line(), other_signer().verifier, [parse_vkey(witness_vkey())], quorum=1
    )
    assert verified.cosignatures[0][0].name == conf.witness_name()
    assert cosignature_timestamp(cosignature) > 0
    witnessed.refresh_from_db()
    assert (witnessed.size, bytes(witnessed.root_hash)) == (25, root_from_leaf_hashes(LEAVES[:25]))


def test_a_stale_old_size_is_409_with_the_latest_size(client, witnessed):
    # given
    post(client, request_body(0, 10))
    # when
    response = post(client, request_body(5, 12))
    # then
    assert response.status_code == 409
    assert response["Content-Type"] == "text/x.tlog.size"
    assert response.content == b"10\n"


def test_an_inconsistent_checkpoint_is_422_and_nothing_changes(client, witnessed):
    # given
    post(client, request_body(0, 10))
    forked = [leaf_hash(b"fork"), *LEAVES[1:20]]
    proof = consistency_proof(10, 20, MemoryHashReader(forked))
    # when
    response = post(client, request_body(10, 20, proof=proof, root=root_from_leaf_hashes(forked)))
    # then
    assert response.status_code == 422
    assert response.content == b"the consistency proof from 10 to 20 does not verify\n"
    witnessed.refresh_from_db()
    assert witnessed.size == 10


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (lambda: request_body(0, 10, signer=other_signer(seed=9)), 403, b"not signed by the log's key"),
        (lambda: request_body(11, 10), 400, b"old size 11 is larger than the checkpoint size 10"),
        (lambda: request_body(0, 0, root=b"\x01" * 32), 422, b"size 0 must carry the empty tree's root hash"),
        (lambda: b"old 01\n\n", 400, b"old size '01' is not a decimal"),
        (lambda: b"new 1\n\n", 400, b"the first line must read 'old <size>'"),
        (lambda: b"old 0\nnot base64!\n\n", 400, b"proof line 1 is not base64"),
        (lambda: b"old 0\n\nnot a note\n", 400, b"the checkpoint is not a signed note"),
        (
            lambda: request_body(0, 10, proof=[LEAVES[0]]),
            400,
            b"a consistency proof from size 0 must be empty",
        ),
    ],
)
def test_bad_requests_get_the_status_of_the_spec(client, witnessed, body, status, message):
    response = post(client, body())
    assert response.status_code == status
    assert message in response.content
    witnessed.refresh_from_db()
    assert witnessed.size == 0


def test_an_unknown_origin_is_404(client):
    response = post(client, request_body(0, 10))
    assert response.status_code == 404
    assert response.content == b"unknown log origin 'other.example/log'\n"


def test_the_same_size_with_another_root_is_409(client, witnessed):
    post(client, request_body(0, 10))
    same = post(client, request_body(10, 10))
    other_root = post(client, request_body(10, 10, root=b"\x02" * 32))
    assert same.status_code == 200
    assert other_root.status_code == 409


def test_add_checkpoint_only_accepts_post(client):
    assert client.get(ADD).status_code == 405


@pytest.mark.parametrize("declared", ["abc", "-1", "1e3", "12 ", "+12", "1_000", "５", "10,10", "0x10"])
def test_a_content_length_that_is_not_a_byte_count_is_refused_with_400(witnessed, declared):
    # given a well-formed request whose Content-Length header is not a plain count of bytes
    client = Client(raise_request_exception=False)
    # when
    response = client.post(ADD, data=request_body(0, 10), content_type="text/plain", CONTENT_LENGTH=declared)
    # then it is refused as a bad request (it was a server error), and nothing was cosigned
    assert (response.status_code, response.content) == (400, b"invalid Content-Length\n")
    assert WitnessedLog.objects.get(origin=OTHER).size == 0


class UnreadableBody(RawIOBase):
    """A body stream that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize("declared", [str(views.MAX_WITNESS_REQUEST + 1), "9" * 5000])
def test_a_body_declared_larger_than_the_limit_is_refused_with_413_before_anything_reads_it(
    witnessed, declared
):
    # given a request that declares a body over the limit (by a byte, or by more digits than int() reads)
    request = RequestFactory().post(ADD, data=b"", content_type="text/plain", CONTENT_LENGTH=declared)
    request._stream = UnreadableBody()  # type: ignore[assignment]  # a stream no one may read
    # when
    response = views.witness_add_checkpoint(request)
    # then
    assert (response.status_code, response.content) == (413, b"request too large\n")


def asgi_request(body: BytesIO, headers: list[tuple[bytes, bytes]]) -> ASGIRequest:
    scope = {"type": "http", "method": "POST", "path": ADD, "headers": headers}
    return ASGIRequest(scope, body)


def test_a_body_over_the_limit_sent_without_a_length_is_refused_after_reading_one_byte_more(witnessed):
    # given a body sent in chunks (no Content-Length), sixteen times the limit, as the ASGI handler hands it
    body = BytesIO(b"x" * views.MAX_WITNESS_REQUEST * 16)
    request = asgi_request(body, [(b"content-type", b"text/plain")])
    # when
    response = views.witness_add_checkpoint(request)
    # then it is refused as too large, having read no more than the limit and one byte
    assert (response.status_code, response.content) == (413, b"request too large\n")
    assert body.tell() == views.MAX_WITNESS_REQUEST + 1


def test_a_request_sent_without_a_length_is_read_and_cosigned(witnessed):
    # given a well-formed request sent in chunks
    request = asgi_request(BytesIO(request_body(0, 10)), [(b"content-type", b"text/plain")])
    # when
    response = views.witness_add_checkpoint(request)
    # then
    assert response.status_code == 200
    assert WitnessedLog.objects.get(origin=OTHER).size == 10


def test_witness_commands_add_a_log_and_show_the_key(witnessed):
    out = StringIO()
    call_command(
        "witness",
        "add-log",
        "--origin",
        "third.example/log",
        "--vkey",
        Ed25519Signer("third.example/log", Ed25519PrivateKey.generate()).vkey,
        stdout=out,
    )
    call_command("witness", "info", stdout=out)
    call_command("witness", "list", stdout=out)
    assert "witnessing third.example/log (latest cosigned size 0)" in out.getvalue()
    assert f"vkey: {witness_vkey()}" in out.getvalue()
    assert "witnessing other.example/log at 0" in out.getvalue()


# --- this log and its witnesses -------------------------------------------------------------------


def client_poster(client: Client):
    def post_(url: str, body: bytes) -> HttpAnswer:
        response = client.post(url.removeprefix("http://testserver"), data=body, content_type="text/plain")
        return HttpAnswer(response.status_code, response["Content-Type"], response.content)

    return post_


def grow(count: int) -> Checkpoint:
    with transaction.atomic():
        for i in range(count):
            ledger_append(
                event_type="tests:thing:made", subjects={"n": str(i)}, hashes={}, actor=None, at=NOW
            )
    checkpoint = ledger_integrate(now=NOW)
    assert checkpoint is not None
    return checkpoint


@pytest.fixture
def self_witnessed() -> WitnessPeer:
    """This node witnesses its own log: enough to exercise both halves with one database."""
    witness_log_add(origin=conf.origin(), vkey=ledger_vkey())
    return witness_peer_add(name=conf.witness_name(), url="http://testserver/witness", vkey=witness_vkey())


def test_the_log_collects_cosignatures_and_serves_them(client, self_witnessed, settings):
    # given
    settings.TENDERHALL_LEDGER_WITNESS_QUORUM = 1
    first = grow(5)
    hidden = client.get("/ledger/checkpoint")
    # when
    outcome = ledger_witness_push(now=NOW, checkpoint=first, post=client_poster(client))
    second = grow(7)
    again = ledger_witness_push(now=NOW, checkpoint=second, post=client_poster(client))
    served = client.get("/ledger/checkpoint")
    # then
    assert hidden.status_code == 404  # no checkpoint has reached the quorum yet
    assert outcome == {conf.witness_name(): "cosigned"}
    assert again == {conf.witness_name(): "cosigned"}
    verified = verify_checkpoint(
        served.content, parse_vkey(ledger_vkey()), [parse_vkey(witness_vkey())], quorum=1
    )
    assert verified.checkpoint.size == 12
    assert Cosignature.objects.count() == 2
    self_witnessed.refresh_from_db()
    assert (self_witnessed.cosigned_size, self_witnessed.last_error) == (12, "")


def test_after_a_lost_state_the_log_catches_up_with_the_witness_size(client, self_witnessed):
    # given: the witness has cosigned 5, but the log forgot it
    ledger_witness_push(now=NOW, checkpoint=grow(5), post=client_poster(client))
    WitnessPeer.objects.update(cosigned_size=0)
    # when
    outcome = ledger_witness_push(now=NOW, checkpoint=grow(4), post=client_poster(client))
    # then: a 409 told the log the witness's size, and the retry with a proof from 5 succeeded
    assert outcome == {conf.witness_name(): "cosigned"}


def test_a_witness_that_refuses_is_recorded_and_the_checkpoint_stays_unpublished(client, settings):
    # given: a witness configured for a log key it does not know
    settings.TENDERHALL_LEDGER_WITNESS_QUORUM = 1
    witness_peer_add(name=conf.witness_name(), url="http://testserver/witness", vkey=witness_vkey())
    checkpoint = grow(3)
    # when
    outcome = ledger_witness_push(now=NOW, checkpoint=checkpoint, post=client_poster(client))
    # then
    assert outcome == {conf.witness_name(): f"witness answered 404: unknown log origin '{conf.origin()}'"}
    assert WitnessPeer.objects.get().last_error == outcome[conf.witness_name()]
    assert client.get("/ledger/checkpoint").status_code == 404


def test_the_explorer_names_the_cosigners(client, self_witnessed):
    ledger_witness_push(now=NOW, checkpoint=grow(2), post=client_poster(client))
    html = client.get("/ledger/").content.decode()
    assert f'<dd id="cosigners"><code>{conf.witness_name()}</code></dd>' in html


def test_the_integrate_command_signs_and_asks_the_witnesses(self_witnessed):
    # given: the witness is reached over HTTP, at an address where nothing listens
    WitnessPeer.objects.update(url="http://127.0.0.1:9/witness")
    with transaction.atomic():
        ledger_append(event_type="tests:thing:made", subjects={"n": "1"}, hashes={}, actor=None, at=NOW)
    out = StringIO()
    # when
    call_command("ledger", "integrate", stdout=out)
    call_command("ledger", "integrate", "--no-witnesses", stdout=out)
    # then
    lines = out.getvalue().splitlines()
    assert lines[0] == "checkpoint 1"
    assert lines[1].startswith(f"witness {conf.witness_name()}: ")
    assert lines[2] == "nothing to integrate"


@pytest.mark.django_db(transaction=True)
def test_concurrent_add_checkpoints_never_roll_the_size_back(witnessed):
    """Two requests from old size 0 race: one is cosigned, the other gets 409 (never both)."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections need PostgreSQL; SQLite serialises writers anyway")
    results: dict[int, int] = {}
    barrier = threading.Barrier(2)

    def submit(size: int) -> None:
        try:
            barrier.wait()
            results[size] = (
                Client().post(ADD, data=request_body(0, size), content_type="text/plain").status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(size,)) for size in (10, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200, 409]
    winner = next(size for size, status in results.items() if status == 200)
    assert WitnessedLog.objects.get(origin=OTHER).size == winner
