"""Deadline rush: many bidders upload their sealed envelopes at the same moment through the real server.

Baseline: the bare upload sink of bench/urls.py, in the same Django under the same `tenderhall serve`, fed
the same envelopes by the same client: a plain Django view that streams the body to the same storage and
answers 201, and does nothing else (no authentication, no hash, no check, no database); Django's handler has
spooled the body before it runs, as for any view. The platform does everything a bid needs: token, bidder and
bond checks, SHA-256, the envelope check, the row under the tender's lock, the signed receipt, the RFC 3161
token, the ledger leaf and the audit entry; its envelope route takes the body straight from the server
(tenderhall.core.asgi), without Django's spool. So the details also give a stricter baseline, the raw sink:
the body written to storage straight from the server in the same way, with nothing else done, the cheapest
upload this stack can take. Throughput = bytes sent / wall time from the first connection to the last answer;
the rounds interleave, and each path's best round is compared with each sink's best. The server's CPU time
per upload is given for each. Afterwards every bid's receipt bundle is fetched and checked offline, and the
stored bids, their files and their hashes are counted against what was sent.

    python -m bench.rush --count 200 --size 10485760 [--profile] [--output FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import secrets
import shutil
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Figure,
    Target,
    django_setup,
    figures_write,
    log_tail,
    profile_summary,
    profiled,
    served,
)
from bench.uploads import Upload, upload_all

BOND = {"bond_amount": "150000", "bond_payer_account": "6222020200001234567"}


@dataclass
class Bidder:
    entity_id: int
    token: str
    signing_key: Any
    signing_certificate: Any
    encryption_certificate: Any


@dataclass
class Scene:
    lots: list[int]  # each round of each path (warm-up too) bids for a lot of its own; the last is spare
    bidders: list[Bidder]


def scene_make(count: int, data_dir: Path, *, lots: int) -> Scene:
    """A tender in bidding (deadline tomorrow) with ``lots`` lots, and ``count`` + 1 bidders, each an
    approved entity with current signing and encryption certificates from the demo CA and an API token."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from django.db import transaction
    from django.test import override_settings

    from tenderhall.accounts.demo_ca import demo_ca_load_or_create
    from tenderhall.accounts.services import token_create
    from tenderhall.accounts.tests.factories import make_user
    from tenderhall.core import clock
    from tenderhall.procedures import services as procedures
    from tenderhall.procedures.models import Tender
    from tenderhall.procedures.tests.factories import make_draft_tender, make_parties
    from tenderhall.registry.services import entity_certificate_upload
    from tenderhall.registry.tests.factories import make_entity

    now = clock.now()
    fast_hasher = ["tenderhall.core.tests.hashers.TestArgon2PasswordHasher"]  # bench users never log in
    with override_settings(PASSWORD_HASHERS=fast_hasher), transaction.atomic():
        parties = make_parties()
        tender = make_draft_tender(parties, now=now)
        first = tender.lots.get()
        for number in range(2, lots + 1):
            procedures.lot_add(
                actor=parties.agency_user,
                tender_id=tender.pk,
                name=f"施工{number}标段",
                estimate=first.estimate,
                bid_bond=first.bid_bond,
                now=now,
            )
        Tender.objects.filter(pk=tender.pk).update(
            status="bidding", bid_deadline=now + timedelta(days=1), next_check_at=None
        )
        ca = demo_ca_load_or_create(data_dir / "demo-ca", now=now - timedelta(days=1))
        bidders = []
        for _ in range(count + 1):
            user = make_user()
            entity = make_entity(registrant=user, approved_by=parties.operator)
            keys = {}
            for usage in ("signing", "encryption"):
                key_pem, cert_pem = ca.issue_key_and_certificate(
                    common_name=entity.name,
                    serial_number=entity.identifier,
                    usage=usage,
                    now=now - timedelta(days=1),
                )
                entity_certificate_upload(
                    actor=user, entity_id=entity.pk, data=cert_pem, usage=usage, now=now - timedelta(days=1)
                )
                keys[usage] = (key_pem, x509.load_pem_x509_certificate(cert_pem))
            issued = token_create(
                user=user,
                name="bench",
                scopes=["procedures:write", "procedures:read"],
                expires_at=None,
                now=now,
            )
            bidders.append(
                Bidder(
                    entity_id=entity.pk,
                    token=issued.token,
                    signing_key=serialization.load_pem_private_key(keys["signing"][0], password=None),
                    signing_certificate=keys["signing"][1],
                    encryption_certificate=keys["encryption"][1],
                )
            )
    return Scene(lots=[lot.pk for lot in tender.lots.order_by("pk")], bidders=bidders)


def package_make(size: int) -> bytes:
    """A bid package of about ``size`` bytes: bid.json and one document of random bytes, stored (random
    data does not compress; deflating it would only slow the sealing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("bid.json", b'{"duration_days":180,"price":"8765432.10"}')
        archive.writestr("drawings.bin", secrets.token_bytes(max(0, size - 4096)))
    return buffer.getvalue()


def envelopes_seal(bidders: list[Bidder], package: bytes) -> list[bytes]:
    """Each bidder signs the package and seals it to its own encryption certificate (AES-256-GCM,
    RSA-OAEP), as `tenderhall bid seal` does."""
    from tenderhall.bids.client import bid_seal

    return [
        bid_seal(
            package=package,
            signing_key=bidder.signing_key,
            signing_certificate=bidder.signing_certificate,
            recipients=[bidder.encryption_certificate],
        )
        for bidder in bidders
    ]


def form_upload(lot: int, bidder: Bidder, envelope: bytes) -> Upload:
    """The multipart form a browser sends (and `tenderhall bid submit` did)."""
    boundary = f"bench{secrets.token_hex(12)}"
    fields = {"entity_id": str(bidder.entity_id), **BOND}
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="envelope"; filename="bid.p7m"\r\n'
        "Content-Type: application/pkcs7-mime\r\n\r\n"
    )
    return Upload(
        path=f"/api/v1/bids/lots/{lot}/bids",
        headers={
            "Authorization": f"Bearer {bidder.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        body=[head.encode(), envelope, f"\r\n--{boundary}--\r\n".encode()],
    )


def envelope_upload(lot: int, bidder: Bidder, envelope: bytes) -> Upload:
    """The envelope as the body, the bid's fields in the query string (`tenderhall bid submit`)."""
    query = urllib.parse.urlencode({"entity_id": bidder.entity_id, **BOND})
    return Upload(
        path=f"/api/v1/bids/lots/{lot}/envelopes?{query}",
        headers={"Authorization": f"Bearer {bidder.token}", "Content-Type": "application/cms"},
        body=[envelope],
    )


def sink_upload(envelope: bytes) -> Upload:
    return Upload(path="/bench/sink", headers={"Content-Type": "application/octet-stream"}, body=[envelope])


def raw_sink_upload(envelope: bytes) -> Upload:
    return Upload(
        path="/bench/raw-sink", headers={"Content-Type": "application/octet-stream"}, body=[envelope]
    )


def _cpu_seconds(pid: int) -> float:
    """The process's CPU time so far, user and system (Linux /proc): less sensitive to the machine's other
    load than the wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _round(server: Any, uploads: list[Upload]) -> dict[str, Any]:
    cpu = _cpu_seconds(server.process.pid)
    seconds, answers = upload_all(server.port, uploads)
    cpu = _cpu_seconds(server.process.pid) - cpu
    statuses: dict[int, int] = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    size = sum(u.size for u in uploads)
    return {
        "seconds": seconds,
        "bytes": size,
        "mb_per_s": size / seconds / 1e6,
        "server_cpu_ms_per_upload": 1000 * cpu / len(uploads),
        "answers": answers,
        "statuses": statuses,
    }


def _all_taken(result: dict[str, Any], log: Path) -> None:
    """The sink and the warm-up must take everything; if not, the harness itself is broken."""
    if set(result["statuses"]) != {201}:
        wrong = next(a for a in result["answers"] if a.status != 201)
        raise RuntimeError(
            f"uploads answered {result['statuses']}; one of them: {wrong.body[:300]!r}; "
            f"server log: {log_tail(log)}"
        )


def round_check(base: str, pairs: list[tuple[Bidder, bytes]], result: dict[str, Any]) -> dict[str, int]:
    """Every bid of a round: its receipt bundle, fetched over the API once the ledger has integrated the
    leaves, checked offline as `tenderhall bid verify-receipt` does; its row and stored file against what
    was sent; and no envelope file that no bid names. Then the round's files are removed (the bench's
    disk is not the point: 2 GB a round)."""
    import json
    import urllib.error
    import urllib.request

    from django.core.files.storage import default_storage

    from tenderhall.bids.client import receipt_bundle_read, receipt_report
    from tenderhall.bids.management.commands.bids import orphan_envelopes
    from tenderhall.bids.models import Bid
    from tenderhall.core import clock
    from tenderhall.ledger.services import ledger_integrate

    taken = [(b, e, a.json()) for (b, e), a in zip(pairs, result["answers"], strict=True) if a.status == 201]
    ledger_integrate(now=clock.now())
    verified = problems = 0
    for bidder, envelope, bid in taken:
        request = urllib.request.Request(  # noqa: S310  # loopback
            f"{base}/api/v1/bids/bids/{bid['id']}/receipt",
            headers={"Authorization": f"Bearer {bidder.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # loopback
                bundle = receipt_bundle_read(json.loads(answer.read()))
        except urllib.error.HTTPError:  # counted: a receipt that cannot be fetched does not verify
            problems += 1
            continue
        report = receipt_report(
            receipt=bundle.receipt,
            token=bundle.token,
            envelope=envelope,
            receipt_public_key=bundle.receipt_public_key,
            tsa_roots=bundle.tsa_roots,
            proof=bundle.proof,
            log_vkey=bundle.log_vkey,
        )
        if report.problems or bundle.proof is None:
            problems += 1
        else:
            verified += 1
    stored = {bid.pk: bid for bid in Bid.objects.filter(pk__in=[bid["id"] for _, _, bid in taken])}
    intact = 0
    for _, envelope, bid in taken:
        row = stored.get(bid["id"])
        if row is None or row.sha256 != hashlib.sha256(envelope).hexdigest():
            continue
        with default_storage.open(row.envelope.name, "rb") as stored_file:
            if hashlib.sha256(stored_file.read()).hexdigest() == row.sha256:
                intact += 1
    orphans = len(orphan_envelopes(older_than=timedelta(0)))
    for row in stored.values():
        default_storage.delete(row.envelope.name)
    return {
        "receipts_verified": verified,
        "receipt_problems": problems,
        "bids_stored_intact": intact,
        "orphan_files": orphans,
    }


def _warm_up(
    server: Any,
    log: Path,
    pairs: list[tuple[Bidder, bytes]],
    *,
    spare: tuple[int, Bidder, bytes],
    lots: Iterator[int],
    sink_files: Path,
) -> None:
    """Unmeasured: the first request of each path loads code and keys, and the first full round of each
    grows the server's memory (the sink's spooled bodies alone take 200 x 2.5 MB of it the first time)."""
    spare_lot, spare_bidder, spare_envelope = spare
    _all_taken(_round(server, [sink_upload(spare_envelope)]), log)
    _all_taken(_round(server, [raw_sink_upload(spare_envelope)]), log)
    for _name, _endpoint, make in PATHS.values():
        _all_taken(_round(server, [make(spare_lot, spare_bidder, spare_envelope)]), log)
    for sink in (sink_upload, raw_sink_upload):
        _all_taken(_round(server, [sink(envelope) for _, envelope in pairs]), log)
        shutil.rmtree(sink_files)
    for _name, _endpoint, make in PATHS.values():
        lot = next(lots)
        round_check(server.base, pairs, _round(server, [make(lot, b, e) for b, e in pairs]))


PATHS = {
    "body": (
        "deadline rush: envelope as the body (API, client)",
        "POST /api/v1/bids/lots/{id}/envelopes",
        envelope_upload,
    ),
    "form": ("deadline rush: multipart form (browser)", "POST /api/v1/bids/lots/{id}/bids", form_upload),
}


def run(*, count: int, size: int, rounds: int, profile: bool, work: Path) -> list[Figure]:
    """``rounds`` rounds of: the sink, each path of the platform; each path's best round against the
    sink's best (the machine is shared: the best round is the one least disturbed)."""
    django_setup()
    from django.conf import settings

    scene = scene_make(count, Path(settings.TENDERHALL_DATA_DIR), lots=len(PATHS) * (rounds + 1) + 1)
    envelopes = envelopes_seal(scene.bidders, package_make(size))
    bidders, spare = scene.bidders[:count], scene.bidders[count]
    pairs = list(zip(bidders, envelopes, strict=False))
    lots, spare_lot = iter(scene.lots[:-1]), scene.lots[-1]
    log = work / "rush-server.log"
    sinks: list[dict[str, Any]] = []
    raw_sinks: list[dict[str, Any]] = []
    results: dict[str, list[dict[str, Any]]] = {path: [] for path in PATHS}
    checks: dict[str, dict[str, int]] = {path: {} for path in PATHS}
    sink_files = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "sink"
    with served(log) as server:
        _warm_up(
            server, log, pairs, spare=(spare_lot, spare, envelopes[count]), lots=lots, sink_files=sink_files
        )
        for _ in range(rounds):
            sinks.append(_round(server, [sink_upload(e) for e in envelopes[:count]]))
            _all_taken(sinks[-1], log)
            shutil.rmtree(sink_files)
            raw_sinks.append(_round(server, [raw_sink_upload(e) for e in envelopes[:count]]))
            _all_taken(raw_sinks[-1], log)
            shutil.rmtree(sink_files)
            for path, (_name, _endpoint, make) in PATHS.items():
                lot = next(lots)
                results[path].append(_round(server, [make(lot, b, e) for b, e in pairs]))
                for key, value in round_check(server.base, pairs, results[path][-1]).items():
                    checks[path][key] = checks[path].get(key, 0) + value
        profile_data: dict[str, Any] = {}
        if profile:
            path = work / "rush-profile.txt"
            with profiled(server.process.pid, path) as taking:
                if taking:
                    profiled_round = _round(server, [envelope_upload(spare_lot, b, e) for b, e in pairs])
            profile_data = profile_summary(path)
            if profile_data:
                profile_data["statuses"] = profiled_round["statuses"]
    baseline = max(sink["mb_per_s"] for sink in sinks)
    raw_baseline = max(sink["mb_per_s"] for sink in raw_sinks)
    figures = []
    for path, (name, endpoint, _make) in PATHS.items():
        best = max(results[path], key=lambda result: result["mb_per_s"])
        taken = sum(result["statuses"].get(201, 0) for result in results[path])
        check = checks[path]
        details: dict[str, Any] = {
            "endpoint": endpoint,
            "uploads": count,
            "rounds": rounds,
            "envelope_bytes": len(envelopes[0]),
            "mb_per_s": [round(result["mb_per_s"], 1) for result in results[path]],
            "sink_mb_per_s": [round(sink["mb_per_s"], 1) for sink in sinks],
            "raw_sink_mb_per_s": [round(sink["mb_per_s"], 1) for sink in raw_sinks],
            "ratio_to_raw_sink": round(best["mb_per_s"] / raw_baseline, 3),
            "server_cpu_ms_per_upload": [
                round(result["server_cpu_ms_per_upload"], 1) for result in results[path]
            ],
            "sink_server_cpu_ms_per_upload": [round(sink["server_cpu_ms_per_upload"], 1) for sink in sinks],
            "raw_sink_server_cpu_ms_per_upload": [
                round(sink["server_cpu_ms_per_upload"], 1) for sink in raw_sinks
            ],
            "seconds": round(best["seconds"], 3),
            "statuses": [result["statuses"] for result in results[path]],
            **check,
        }
        if path == "body" and profile_data:
            details["profile"] = profile_data
        figures.append(
            Figure(
                name=name,
                unit="MB/s",
                value=best["mb_per_s"],
                baseline=baseline,
                baseline_name=(
                    "bare upload sink: a Django view streaming the spooled body to storage, same server "
                    "(the raw sink, without the spool, in the details)"
                ),
                target=Target(of="ratio", op=">=", limit=0.70, text="≥ 70 % of the sink's throughput"),
                details=details,
                higher_is_better=True,
                conditions={
                    "every upload taken": taken == count * rounds,
                    "every receipt verifies": check["receipts_verified"] == count * rounds,
                    "nothing lost": check["bids_stored_intact"] == count * rounds
                    and check["orphan_files"] == 0,
                },
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the sink and each path")
    parser.add_argument("--profile", action="store_true", help="profile one more platform round (py-spy)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TENDERHALL_DATA_DIR", ".")))
    options = parser.parse_args()
    figures_write(
        run(
            count=options.count,
            size=options.size,
            rounds=options.rounds,
            profile=options.profile,
            work=options.work,
        ),
        options.output,
    )


if __name__ == "__main__":
    main()
