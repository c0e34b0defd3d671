"""`tenderhall witness ...`: this node as a C2SP tlog-witness for other platforms' logs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Witness other logs (cosign their checkpoints), or configure the witnesses of this log."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add_log = commands.add_parser("add-log", help="witness a log: accept its checkpoints signed by VKEY")
        add_log.add_argument("--origin", required=True, help="the log's checkpoint origin")
        add_log.add_argument("--vkey", required=True, help="the log's verifier key")
        commands.add_parser("info", help="this node's witness name and cosignature verifier key")
        commands.add_parser("list", help="the logs this node witnesses and the witnesses of this log")
        add_peer = commands.add_parser("add-peer", help="ask a witness to cosign this log's checkpoints")
        add_peer.add_argument("--name", required=True, help="the witness's key name")
        add_peer.add_argument("--url", required=True, help="its submission prefix (URL/add-checkpoint)")
        add_peer.add_argument("--vkey", required=True, help="its cosignature verifier key")
        commands.add_parser("push", help="ask the configured witnesses to cosign the latest checkpoint now")

    def handle(self, *args: Any, **options: Any) -> None:
        from tenderhall.core.clock import now
        from tenderhall.ledger import conf
        from tenderhall.ledger.models import WitnessedLog, WitnessPeer
        from tenderhall.ledger.note import NoteError
        from tenderhall.ledger.selectors import witness_vkey
        from tenderhall.ledger.services import ledger_witness_push, witness_peer_add
        from tenderhall.ledger.witness import witness_log_add

        action = options["action"]
        try:
            if action == "add-log":
                log = witness_log_add(origin=options["origin"], vkey=options["vkey"])
                self.stdout.write(f"witnessing {log.origin} (latest cosigned size {log.size})")
            elif action == "add-peer":
                peer = witness_peer_add(name=options["name"], url=options["url"], vkey=options["vkey"])
                self.stdout.write(f"this log will ask {peer.name} at {peer.url}")
            elif action == "info":
                self.stdout.write(f"name: {conf.witness_name()}\nvkey: {witness_vkey()}")
            elif action == "list":
                for log in WitnessedLog.objects.order_by("origin"):
                    self.stdout.write(f"witnessing {log.origin} at {log.size}")
                for peer in WitnessPeer.objects.order_by("name"):
                    state = f"error: {peer.last_error}" if peer.last_error else "ok"
                    self.stdout.write(
                        f"witnessed by {peer.name} ({peer.url}) cosigned {peer.cosigned_size}: {state}"
                    )
            elif action == "push":
                for name, outcome in ledger_witness_push(now=now()).items():
                    self.stdout.write(f"{name}: {outcome}")
        except NoteError as exc:
            raise CommandError(str(exc)) from exc
