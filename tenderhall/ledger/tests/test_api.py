"""The public read API: C2SP checkpoint and tiles under /ledger/, JSON proofs, records, tlog-proofs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from django.db import transaction

from tenderhall.ledger.merkle import leaf_hash, root_from_leaf_hashes, verify_consistency, verify_inclusion
from tenderhall.ledger.models import Leaf
from tenderhall.ledger.note import parse_vkey, verify_checkpoint
from tenderhall.ledger.selectors import ledger_vkey
from tenderhall.ledger.services import LedgerEvent, ledger_append_batch, ledger_integrate
from tenderhall.ledger.tiles import decode_entries

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
IMMUTABLE = "public, max-age=31536000, immutable"
INCLUSION = "/api/v1/ledger/proofs/inclusion"
CONSISTENCY = "/api/v1/ledger/proofs/consistency"

pytestmark = pytest.mark.django_db


def grow(count: int, *, start: int = 0, kind: str = "thing") -> None:
    events = [
        LedgerEvent("tests:thing:made", {kind: str(start + i)}, {"file": f"{start + i:064x}"}, None, NOW)
        for i in range(count)
    ]
    with transaction.atomic():
        ledger_append_batch(events=events)
    ledger_integrate(now=NOW)


def hashes() -> list[bytes]:
    return [leaf_hash(bytes(d)) for d in Leaf.objects.order_by("index").values_list("data", flat=True)]


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_checkpoint_is_a_signed_note_served_as_text(client):
    # given
    missing = client.get("/ledger/checkpoint")
    grow(3)
    # when
    response = client.get("/ledger/checkpoint")
    # then
    assert missing.status_code == 404
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=5"
    verified = verify_checkpoint(response.content, parse_vkey(ledger_vkey()))
    assert verified.checkpoint.size == 3
    assert verified.checkpoint.root_hash == root_from_leaf_hashes(hashes())


def test_full_and_partial_tiles_are_served_with_their_caching(client):
    # given
    grow(600)
    # when
    full = client.get("/ledger/tile/0/001")
    partial = client.get("/ledger/tile/0/002.p/88")
    narrower = client.get("/ledger/tile/0/002.p/10")
    upper = client.get("/ledger/tile/1/000.p/2")
    # then
    assert full.status_code == 200
    assert full["Content-Type"] == "application/octet-stream"
    assert full["Cache-Control"] == IMMUTABLE
    assert full.content == b"".join(hashes()[256:512])
    assert partial["Cache-Control"] == "public, max-age=5"
    assert partial.content == b"".join(hashes()[512:600])
    assert narrower.content == b"".join(hashes()[512:522])
    assert upper.content == root_from_leaf_hashes(hashes()[:256]) + root_from_leaf_hashes(hashes()[256:512])


@pytest.mark.parametrize(
    "path",
    [
        "/ledger/tile/0/002",  # only 88 of its hashes exist
        "/ledger/tile/0/002.p/89",  # wider than the checkpoint
        "/ledger/tile/1/000",
        "/ledger/tile/0/2",  # not the 3-digit form
        "/ledger/tile/00/000",
        "/ledger/tile/entries/003.p/1",
        "/ledger/tile/x/000",
    ],
)
def test_tiles_not_covered_by_the_checkpoint_or_malformed_are_404(client, path):
    grow(600)
    assert client.get(path).status_code == 404


def test_entry_bundles_hold_the_leaves(client):
    # given
    grow(300)
    # when
    full = client.get("/ledger/tile/entries/000")
    partial = client.get("/ledger/tile/entries/001.p/44")
    # then
    assert full["Cache-Control"] == IMMUTABLE
    entries = decode_entries(full.content) + decode_entries(partial.content)
    assert [leaf_hash(e) for e in entries] == hashes()


def test_inclusion_proof_json_verifies(client):
    # given
    grow(600)
    # when
    response = client.get(INCLUSION, {"index": 300, "size": 555})
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["index"], body["size"]) == (300, 555)
    assert b64(body["leaf_hash"]) == hashes()[300]
    assert b64(body["root_hash"]) == root_from_leaf_hashes(hashes()[:555])
    assert len(body["hashes"]) == 10
    assert verify_inclusion(300, 555, hashes()[300], [b64(h) for h in body["hashes"]], b64(body["root_hash"]))


def test_consistency_proof_json_verifies(client):
    # given
    grow(600)
    # when
    response = client.get(CONSISTENCY, {"first": 17, "second": 600})
    # then
    assert response.status_code == 200
    proof = [b64(h) for h in response.json()["hashes"]]
    assert verify_consistency(
        17, 600, root_from_leaf_hashes(hashes()[:17]), root_from_leaf_hashes(hashes()), proof
    )


@pytest.mark.parametrize(
    ("url", "params", "status", "code"),
    [
        (INCLUSION, {"index": 10, "size": 10}, 422, "ledger_index_out_of_range"),
        (INCLUSION, {"index": 1, "size": 11}, 422, "ledger_size_beyond_checkpoint"),
        (INCLUSION, {"index": -1, "size": 5}, 422, "invalid_input"),
        (INCLUSION, {"index": "x", "size": 5}, 422, "invalid_input"),
        (CONSISTENCY, {"first": 6, "second": 5}, 422, "ledger_invalid_sizes"),
        (CONSISTENCY, {"first": 0, "second": 5}, 422, "invalid_input"),
        (
            "/api/v1/ledger/proofs/consistency",
            {"first": 2, "second": 11},
            422,
            "ledger_size_beyond_checkpoint",
        ),
        ("/api/v1/ledger/leaves/99", {}, 404, "not_found"),
    ],
)
def test_impossible_proof_requests_get_a_stable_code(client, url, params, status, code):
    grow(10)
    response = client.get(url, params)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_proofs_before_any_checkpoint_say_so(client):
    response = client.get(INCLUSION, {"index": 0, "size": 1})
    assert response.status_code == 404
    assert response.json()["code"] == "ledger_no_checkpoint"


def test_a_record_lists_its_leaves_with_their_data(client):
    # given: two leaves for entity 12, one of them appended after the checkpoint
    grow(1, start=12, kind="entity")
    grow(5)
    with transaction.atomic():
        ledger_append_batch(events=[LedgerEvent("tests:entity:changed", {"entity": "12"}, {}, None, NOW)])
    # when
    response = client.get("/api/v1/ledger/records/entity:12")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["checkpoint_size"] == 6
    assert [(leaf["index"], leaf["integrated"]) for leaf in body["leaves"]] == [(0, True), (6, False)]
    assert body["leaves"][0]["event"]["subjects"] == {"entity": "12"}
    assert b64(body["leaves"][0]["leaf_hash"]) == leaf_hash(b64(body["leaves"][0]["data"]))


def test_the_checkpoint_json_names_the_log(client):
    grow(2)
    body = client.get("/api/v1/ledger/checkpoint").json()
    assert body["size"] == 2
    assert body["vkey"] == ledger_vkey()
    assert body["cosigners"] == []


def test_a_leaf_proof_downloads_as_a_tlog_proof(client):
    # given
    grow(7)
    # when
    response = client.get("/api/v1/ledger/leaves/5/tlog-proof")
    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="leaf-5.tlog-proof"'
    text = response.content.decode()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 5\n" in text
    head, _, checkpoint = text.partition("\n\n")
    assert len(head.split("\n")) == 3 + 3  # header, extra, index, three proof hashes
    assert checkpoint.split("\n")[1] == "7"


def test_the_explorer_finds_nothing_for_digits_that_are_not_ascii(client):
    # given
    grow(3)
    # when the query is digits to str.isdigit but not a leaf index ('²' breaks int(), '２' reads as 2)
    pages = [client.get("/ledger/", {"q": q}) for q in ("²", "２", "٣")]
    # then each page answers, finding no leaf
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert all("/tlog-proof" not in p.content.decode() for p in pages)


def test_the_explorer_shows_the_checkpoint_and_verifies_a_record(client):
    # given
    grow(1, start=12, kind="entity")
    grow(4)
    # when
    page = client.get("/ledger/", {"q": "entity:12"})
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert ledger_vkey() in html
    assert '<dd id="size">5</dd>' in html
    assert "有效 ✓" in html
    assert "已验证 ✓" in html
    assert "/api/v1/ledger/leaves/0/tlog-proof" in html
