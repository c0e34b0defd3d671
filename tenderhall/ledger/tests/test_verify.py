"""`ledger verify` (local and remote), leaf sources, `ledger info` and `ledger check-proof`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from tenderhall.ledger import conf
from tenderhall.ledger.models import Leaf, Tile
from tenderhall.ledger.note import Ed25519Verifier, parse_vkey
from tenderhall.ledger.selectors import ledger_vkey
from tenderhall.ledger.services import ledger_append, ledger_event, ledger_integrate
from tenderhall.ledger.sources import register_leaf_source, stored_file_sha256, unregister_leaf_source
from tenderhall.ledger.verify import verify_local, verify_remote

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PREFIX = "http://testserver/ledger"

pytestmark = pytest.mark.django_db


def group_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    group = Group.objects.filter(pk=event["subjects"]["group"]).first()
    if group is None:
        return [f"group {event['subjects']['group']} no longer exists"]
    return ledger_event(
        event_type="tests:group:named",
        subjects={"group": str(group.pk)},
        hashes={},
        actor=None,
        at=datetime.fromisoformat(event["at"]),
        data={"name": group.name},
    )


def file_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    name = event["subjects"]["file"]
    digest = stored_file_sha256(name)
    if digest is None:
        return [f"stored file {name} is missing"]
    return {**event, "hashes": {"sha256": digest}}


@pytest.fixture
def sources():
    register_leaf_source("tests:group:named", group_source)
    register_leaf_source("tests:file:stored", file_source)
    yield
    unregister_leaf_source("tests:group:named")
    unregister_leaf_source("tests:file:stored")


@pytest.fixture
def recorded(sources) -> tuple[Group, str]:
    """A group and a stored file, each recorded in the log, integrated into a checkpoint."""
    with transaction.atomic():
        group = Group.objects.create(name="Buyers")
        ledger_append(
            event_type="tests:group:named",
            subjects={"group": str(group.pk)},
            hashes={},
            actor=None,
            at=NOW,
            data={"name": "Buyers"},
        )
        name = default_storage.save("bids/bid-1.bin", ContentFile(b"sealed bid bytes"))
        ledger_append(
            event_type="tests:file:stored",
            subjects={"file": name},
            hashes={"sha256": hashlib.sha256(b"sealed bid bytes").hexdigest()},
            actor="user:1",
            at=NOW,
        )
    ledger_integrate(now=NOW)
    return group, name


def test_an_untouched_log_verifies(recorded):
    report = verify_local()
    assert report.problems == []
    assert (report.size, report.leaves_checked, report.checkpoints_checked) == (2, 2, 1)
    assert report.unknown_types == {}


def test_a_changed_database_row_is_found_and_named(recorded):
    # given
    group, _ = recorded
    Group.objects.filter(pk=group.pk).update(name="Sellers")
    # when
    report = verify_local()
    # then
    assert report.problems == [
        f"leaf 0 (tests:group:named group:{group.pk}): data.name is 'Buyers' in the log but 'Sellers' now"
    ]


def test_a_changed_stored_file_is_found_and_named(recorded):
    # given
    _, name = recorded
    with default_storage.open(name, "wb") as handle:
        handle.write(b"replaced bid bytes")
    # when
    report = verify_local()
    # then
    assert report.problems == [
        f"leaf 1 (tests:file:stored file:{name}): hashes.sha256 is "
        f"'{hashlib.sha256(b'sealed bid bytes').hexdigest()}' in the log but "
        f"'{hashlib.sha256(b'replaced bid bytes').hexdigest()}' now"
    ]


def test_a_deleted_row_is_reported_by_its_source(recorded):
    group, _ = recorded
    Group.objects.filter(pk=group.pk).delete()
    assert verify_local().problems == [
        f"leaf 0 (tests:group:named group:{group.pk}): group {group.pk} no longer exists"
    ]


def test_a_rewritten_leaf_breaks_the_checkpoint_and_tiles(recorded):
    # given: someone rewrites the leaf itself, and its live row to match
    group, _ = recorded
    Group.objects.filter(pk=group.pk).update(name="Sellers")
    leaf = Leaf.objects.get(index=0)
    leaf.data = bytes(leaf.data).replace(b"Buyers", b"Sellers")
    leaf.save()
    # when
    report = verify_local()
    # then
    assert report.problems == [
        "tile 0/0 does not hold the hashes of its leaves",
        "checkpoint at 2: its root hash is not the root of the stored leaves",
    ]


def test_a_changed_tile_is_named(recorded):
    Tile.objects.filter(level=0, index=0).update(data=b"\x00" * 64)
    assert verify_local().problems == ["tile 0/0 does not hold the hashes of its leaves"]


def test_leaves_of_unknown_event_types_fail_verify_unless_allowed(recorded):
    # given
    with transaction.atomic():
        ledger_append(event_type="other:thing:done", subjects={"thing": "1"}, hashes={}, actor=None, at=NOW)
    ledger_integrate(now=NOW)
    out = StringIO()
    # when
    with pytest.raises(CommandError) as failure:
        call_command("ledger", "verify", stdout=out)
    call_command("ledger", "verify", "--allow-unknown-types", stdout=(allowed := StringIO()))
    # then
    assert failure.value.returncode == 1
    assert (
        "MISMATCH no leaf source is registered for other:thing:done (1 leaves not recomputed)"
        in out.getvalue()
    )
    assert "warning: no leaf source is registered for other:thing:done" in allowed.getvalue()
    assert "OK: the log verifies" in allowed.getvalue()


def test_verify_command_names_every_mismatch_and_exits_1(recorded):
    group, name = recorded
    Group.objects.filter(pk=group.pk).update(name="Sellers")
    default_storage.delete(name)
    out = StringIO()
    with pytest.raises(CommandError, match="the log does not verify: 2 problems") as failure:
        call_command("ledger", "verify", stdout=out)
    assert failure.value.returncode == 1
    lines = [line for line in out.getvalue().splitlines() if line.startswith("MISMATCH")]
    assert lines == [
        f"MISMATCH leaf 0 (tests:group:named group:{group.pk}): data.name is 'Buyers' in the log but "
        "'Sellers' now",
        f"MISMATCH leaf 1 (tests:file:stored file:{name}): stored file {name} is missing",
    ]


def test_info_prints_the_origin_vkey_and_size(recorded):
    out = StringIO()
    call_command("ledger", "info", "--json", stdout=out)
    info = json.loads(out.getvalue())
    assert info["origin"] == conf.origin()
    assert info["vkey"] == ledger_vkey()
    assert info["size"] == 2
    assert parse_vkey(info["witness_vkey"]).sig_type == 0x04


def test_a_downloaded_tlog_proof_checks_offline_and_a_changed_one_fails(recorded, client, tmp_path):
    # given
    proof_file = tmp_path / "leaf-1.tlog-proof"
    proof_file.write_bytes(client.get("/api/v1/ledger/leaves/1/tlog-proof").content)
    out = StringIO()
    # when
    call_command("ledger", "check-proof", str(proof_file), "--vkey", ledger_vkey(), stdout=out)
    # then
    assert out.getvalue().startswith(f"OK: leaf 1 is in {conf.origin()} at size 2\n")
    assert '"type":"tests:file:stored"' in out.getvalue()
    proof_file.write_text(proof_file.read_text().replace("index 1", "index 0"))
    with pytest.raises(CommandError, match="inclusion proof of leaf 0 in the tree of size 2 does not verify"):
        call_command("ledger", "check-proof", str(proof_file), stdout=StringIO())


def _client_fetch(client: Client) -> Callable[[str], bytes]:
    def fetch(url: str) -> bytes:
        response = client.get(url.removeprefix("http://testserver"))
        if response.status_code != 200:
            raise OSError(f"{response.status_code} for {url}")
        return bytes(response.content)

    return fetch


def test_remote_verification_from_public_endpoints(recorded, client):
    # given
    for i in range(300):
        with transaction.atomic():
            ledger_append(event_type="tests:bulk:made", subjects={"n": str(i)}, hashes={}, actor=None, at=NOW)
    ledger_integrate(now=NOW)
    # when
    report = verify_remote(
        url="http://testserver/ledger", log=parse_vkey(ledger_vkey()), fetch=_client_fetch(client)
    )
    # then
    assert report.problems == []
    assert (report.size, report.leaves_checked) == (302, 302)


def test_remote_verification_names_a_served_entry_that_does_not_match(recorded, client):
    # given: the served leaf differs from what was checkpointed
    Leaf.objects.filter(index=1).update(data=b'{"type":"forged"}')
    # when
    report = verify_remote(
        url="http://testserver/ledger", log=parse_vkey(ledger_vkey()), fetch=_client_fetch(client)
    )
    # then
    assert report.problems == [
        "the entries do not hash to the root of the checkpoint at 2",
        "tile/0/000.p/2: does not hold the hashes of the entries",
    ]


def test_remote_verification_refuses_another_key(recorded, client):
    # given: a verifier key with the log's name but another public key
    log = Ed25519Verifier(conf.origin(), bytes(32))
    # when
    report = verify_remote(url=PREFIX, log=log, fetch=_client_fetch(client))
    # then
    assert len(report.problems) == 1
    assert report.problems[0].startswith("checkpoint: no signature from a known key")


@pytest.mark.django_db(transaction=True)
def test_verify_remote_command_over_http(live_server):
    # given: a log served by a real server on the loopback interface
    with transaction.atomic():
        ledger_append(event_type="tests:bulk:made", subjects={"n": "1"}, hashes={}, actor=None, at=NOW)
    ledger_integrate(now=NOW)
    out = StringIO()
    # when
    call_command(
        "ledger", "verify", "--remote", f"{live_server.url}/ledger", "--vkey", ledger_vkey(), stdout=out
    )
    # then
    assert f"{live_server.url}/ledger: 1 leaves, 1 checked, 1 checkpoints, 0 cosignatures" in out.getvalue()
    assert "OK: the log verifies" in out.getvalue()
