"""`tenderhall ca …`: the embedded mode's demo CA. Refused in production and when TENDERHALL_DEMO_CA is off.

tenderhall ca issue --csr CSR.pem --usage signing|encryption --out CERT.pem [--days 365] [--force]
tenderhall ca root --out ROOT.pem [--force]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.accounts.certificates import USAGES, load_certificate
from tenderhall.accounts.demo_ca import MAX_DAYS, CsrRejected, DemoCA, DemoCAError
from tenderhall.accounts.management.commands.client import (
    Subcommand,
    SubcommandCommand,
    read_file,
    write_file,
)
from tenderhall.accounts.trust import TrustStoreError, demo_ca_from_settings
from tenderhall.core import clock


def _demo_ca() -> DemoCA:
    try:
        return demo_ca_from_settings(now=clock.now())
    except (TrustStoreError, DemoCAError) as error:
        raise CommandError(str(error)) from error


def _add_issue(parser: CommandParser) -> None:
    parser.add_argument("--csr", required=True, type=Path, metavar="CSR.pem", help="the certificate request")
    parser.add_argument("--usage", required=True, choices=USAGES, help="what the certificate is for")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="CERT.pem", help="file for the certificate"
    )
    parser.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def _run_issue(command: BaseCommand, options: dict[str, Any]) -> None:
    if not 1 <= options["days"] <= MAX_DAYS:
        raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
    ca = _demo_ca()
    csr = read_file(options["csr"], what="certificate request")
    try:
        cert_pem = ca.issue_from_csr(csr, usage=options["usage"], now=clock.now(), days=options["days"])
    except CsrRejected as error:
        raise CommandError(f"{options['csr']}: {error.message} [{error.details['reason']}]") from error
    write_file(options["out"], cert_pem, mode=0o644, force=options["force"])
    info = load_certificate(cert_pem)
    command.stdout.write(
        f"Wrote a {options['usage']} certificate for {info.subject} to {options['out']} "
        f"(demo CA, valid until {info.not_after:%Y-%m-%d}, SHA-256 {info.fingerprint})."
    )


def _add_root(parser: CommandParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="ROOT.pem", help="file for the root")
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def _run_root(command: BaseCommand, options: dict[str, Any]) -> None:
    ca = _demo_ca()
    write_file(options["out"], ca.root_pem, mode=0o644, force=options["force"])
    info = load_certificate(ca.root_pem)
    command.stdout.write(
        f"Wrote the demo CA root {info.subject} (SHA-256 {info.fingerprint}) to {options['out']}."
    )


class Command(SubcommandCommand):
    help = "The demo CA of the embedded mode (not for production): issue certificates, export the root."
    subcommands: ClassVar[Mapping[str, Subcommand]] = {
        "issue": Subcommand("issue a certificate for a request", _add_issue, _run_issue),
        "root": Subcommand("write the demo CA's root certificate", _add_root, _run_root),
    }
