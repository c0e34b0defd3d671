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
        raise CommandError("not yet")

    def _check_proof(self, options: dict[str, Any]) -> None:
        raise CommandError("not yet")
