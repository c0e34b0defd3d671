"""`tenderhall opening unwrap-share`: an opening official opens its sealed share of a tender's escrow key on
its own machine, to hand the share (not its private key) to an escrow opening."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.accounts.management.commands.client import (
    Subcommand,
    SubcommandCommand,
    passphrase_from_env,
    private_key_load,
    read_file,
)
from tenderhall.core.errors import DomainError
from tenderhall.opening.escrow import share_unseal


def _add_unwrap_share(parser: CommandParser) -> None:
    parser.add_argument("--sealed", type=Path, required=True, help="your sealed share (CMS, DER)")
    parser.add_argument("--cert", type=Path, required=True, help="your encryption certificate (PEM)")
    parser.add_argument("--key", type=Path, required=True, help="its private key (PEM); it never leaves here")
    parser.add_argument("--passphrase-env", help="environment variable holding the key's passphrase")


def _run_unwrap_share(command: BaseCommand, options: dict[str, Any]) -> None:
    sealed = read_file(options["sealed"], what="your sealed share")
    try:
        certificate = x509.load_pem_x509_certificate(read_file(options["cert"], what="your certificate"))
    except ValueError as error:
        raise CommandError(f"{options['cert']} is not a PEM certificate.") from error
    key = private_key_load(
        read_file(options["key"], what="your private key"),
        passphrase=passphrase_from_env(options.get("passphrase_env")),
        path=options["key"],
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CommandError("The encryption key must be an RSA key.")
    try:
        share = share_unseal(sealed, certificate=certificate, private_key=key)
    except DomainError as error:
        raise CommandError(f"{error.message} ({error.code})") from error
    command.stdout.write(share)


def _add_close_windows(parser: CommandParser) -> None:
    parser.add_argument("--loop", action="store_true", help="keep running, once per --interval")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between runs (default 5)")


def _run_close_windows(command: BaseCommand, options: dict[str, Any]) -> None:
    """The platform's side (a worker): close the decryption windows that have ended."""
    import time

    from django.db import close_old_connections

    from tenderhall.core.clock import now
    from tenderhall.opening.sessions import opening_windows_close_due

    while True:
        closed = opening_windows_close_due(now=now())
        if closed:
            command.stdout.write(f"closed {closed} decryption window(s)")
        if not options["loop"]:
            return
        close_old_connections()
        time.sleep(max(0.05, options["interval"]))


class Command(SubcommandCommand):
    help = "The opening: an official unwraps its escrow share; the platform worker closes decryption windows."
    requires_system_checks: list[str] = []  # noqa: RUF012  # the type Django declares
    subcommands: ClassVar[Mapping[str, Subcommand]] = {
        "unwrap-share": Subcommand(
            "open your sealed share of a tender's escrow key with your own private key",
            _add_unwrap_share,
            _run_unwrap_share,
        ),
        "close-windows": Subcommand(
            "platform worker: close the opening decryption windows that have ended",
            _add_close_windows,
            _run_close_windows,
        ),
    }
