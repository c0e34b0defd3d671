"""`tenderhall ledger ...`: integrate, info, verify, check-proof (see docs/ledger.md)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.core.clock import now


class Command(BaseCommand):
    help = "The transparency log: integrate leaves and sign checkpoints, print the log's key, verify."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        integrate = commands.add_parser("integrate", help="hash new leaves into tiles and sign a checkpoint")
        integrate.add_argument("--loop", action="store_true", help="keep running, once per --interval")
        integrate.add_argument("--interval", type=float, default=1.0, help="seconds between runs (default 1)")
        integrate.add_argument("--no-witnesses", action="store_true", help="do not ask witnesses to cosign")
        info = commands.add_parser("info", help="the log's origin, verifier key and size")
        info.add_argument("--json", action="store_true", help="print JSON")
        verify = commands.add_parser("verify", help="verify this log against the database, or a remote log")
        verify.add_argument(
            "--remote", metavar="URL", help="the tlog-tiles prefix of a log, e.g. https://x/ledger"
        )
        verify.add_argument("--vkey", help="the remote log's verifier key (with --remote)")
        verify.add_argument(
            "--witness", action="append", default=[], metavar="VKEY", help="a trusted witness"
        )
        verify.add_argument("--quorum", type=int, default=0, help="cosignatures required from --witness keys")
        verify.add_argument(
            "--allow-unknown-types", action="store_true", help="do not fail on leaves no app can recompute"
        )
        check = commands.add_parser("check-proof", help="check a C2SP tlog-proof file offline")
        check.add_argument("file", help="the .tlog-proof file ('-' for standard input)")
        check.add_argument("--vkey", help="the log's verifier key (default: this platform's)")
        check.add_argument("--witness", action="append", default=[], metavar="VKEY", help="a trusted witness")
        check.add_argument("--quorum", type=int, default=0, help="cosignatures required from --witness keys")
        check.add_argument("--entry", help="a file with the leaf bytes, if the proof has no 'extra' line")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        getattr(self, f"_{action}")(options)

    def _integrate(self, options: dict[str, Any]) -> None:
        from tenderhall.ledger.models import WitnessPeer
        from tenderhall.ledger.services import ledger_integrate_all, ledger_witness_push

        while True:
            made = ledger_integrate_all(now=now())
            for checkpoint in made:
                self.stdout.write(f"checkpoint {checkpoint.size}")
            if made and not options["no_witnesses"] and WitnessPeer.objects.exists():
                for name, outcome in ledger_witness_push(now=now(), checkpoint=made[-1]).items():
                    self.stdout.write(f"witness {name}: {outcome}")
            if not options["loop"]:
                if not made:
                    self.stdout.write("nothing to integrate")
                return
            time.sleep(max(0.05, options["interval"]))

    def _info(self, options: dict[str, Any]) -> None:
        from tenderhall.ledger import conf
        from tenderhall.ledger.models import LogHead
        from tenderhall.ledger.selectors import checkpoint_published, ledger_vkey, witness_vkey

        checkpoint = checkpoint_published()
        info = {
            "origin": conf.origin(),
            "vkey": ledger_vkey(),
            "size": checkpoint.size if checkpoint else 0,
            "appended": LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0,
            "witness_name": conf.witness_name(),
            "witness_vkey": witness_vkey(),
        }
        if options["json"]:
            self.stdout.write(json.dumps(info, indent=2))
        else:
            for key, value in info.items():
                self.stdout.write(f"{key}: {value}")

    def _verify(self, options: dict[str, Any]) -> None:
        from tenderhall.ledger.note import NoteError, parse_vkey
        from tenderhall.ledger.verify import verify_local, verify_remote

        if options["remote"]:
            if not options["vkey"]:
                raise CommandError("--remote needs the log's --vkey")
            try:
                log = parse_vkey(options["vkey"])
                witnesses = [parse_vkey(v) for v in options["witness"]]
            except NoteError as exc:
                raise CommandError(str(exc)) from exc
            report = verify_remote(
                url=options["remote"], log=log, witnesses=witnesses, quorum=options["quorum"]
            )
            where = options["remote"]
        else:
            report = verify_local()
            where = "this platform"
        problems = list(report.problems)
        for event_type, count in sorted(report.unknown_types.items()):
            message = f"no leaf source is registered for {event_type} ({count} leaves not recomputed)"
            if options["allow_unknown_types"]:
                self.stdout.write(f"warning: {message}")
            else:
                problems.append(message)
        for problem in problems:
            self.stdout.write(f"MISMATCH {problem}")
        self.stdout.write(
            f"{where}: {report.size} leaves, {report.leaves_checked} checked, "
            f"{report.checkpoints_checked} checkpoints, {report.cosignatures_checked} cosignatures"
        )
        if problems:
            raise CommandError(f"the log does not verify: {len(problems)} problems", returncode=1)
        self.stdout.write("OK: the log verifies")

    def _check_proof(self, options: dict[str, Any]) -> None:
        import sys
        from pathlib import Path

        from tenderhall.ledger.note import NoteError, parse_vkey
        from tenderhall.ledger.selectors import ledger_vkey
        from tenderhall.ledger.tlogproof import TlogProofError, check_tlog_proof

        name = options["file"]
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        entry = Path(options["entry"]).read_bytes() if options["entry"] else None
        try:
            log = parse_vkey(options["vkey"] or ledger_vkey())
            witnesses = [parse_vkey(v) for v in options["witness"]]
            checked = check_tlog_proof(text, log, witnesses, quorum=options["quorum"], entry=entry)
        except (NoteError, TlogProofError) as exc:
            raise CommandError(f"the proof does not verify: {exc}", returncode=1) from exc
        checkpoint = checked.verified.checkpoint
        self.stdout.write(f"OK: leaf {checked.index} is in {checkpoint.origin} at size {checkpoint.size}")
        for verifier, _ in checked.verified.cosignatures:
            self.stdout.write(f"cosigned by {verifier.name}")
        self.stdout.write(checked.leaf.decode("utf-8", "replace"))
