"""`tenderhall bid …`: seal a bid on the bidder's machine, submit it, and check its receipt offline.

    tenderhall bid seal --bid-json FILE [--document FILE ...] --signing-key KEY.pem --signing-cert CERT.pem
                        --encryption-cert MY-ENC.pem [--escrow-cert ESCROW.pem] [--cipher gcm|cbc]
                        [--passphrase-env VAR] --out BID.p7m [--force]
    tenderhall bid submit --url http://127.0.0.1:8000 --token th_... --lot LOT_ID --entity ENTITY_ID
                          --bond-amount 150000 (--bond-account ACCT | --bond-guarantee REF)
                          --envelope BID.p7m --receipt-out RECEIPT.json [--force]
    tenderhall bid verify-receipt --receipt RECEIPT.json --envelope BID.p7m
    tenderhall bid unwrap-key (--wrapped-key WRAPPED.json | --envelope BID.p7m --encryption-cert MY-ENC.pem)
                              --key MY-ENC.key [--passphrase-env VAR]

``seal`` and ``verify-receipt`` need no network and no database; ``submit`` talks to the platform's API only.
The plaintext and the private keys never leave this machine. docs/sealed-bids.md, "The client".
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.accounts.management.commands.client import (
    Subcommand,
    SubcommandCommand,
    passphrase_from_env,
    private_key_load,
    read_file,
    write_file,
)
from tenderhall.bids.client import bid_package, bid_seal, receipt_bundle_read, receipt_report
from tenderhall.bids.envelope import EnvelopeRefused, Recipient, envelope_inspect

CIPHERS = {"gcm": "aes-256-gcm", "cbc": "aes-256-cbc"}
TIMEOUT = 300  # seconds: a 200 MB envelope on a slow line


def _certificate(path: Path, *, what: str) -> x509.Certificate:
    data = read_file(path, what=what)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError as error:
            raise CommandError(f"{path} is not a PEM or DER certificate ({what}).") from error


# --- seal


def _add_seal(parser: CommandParser) -> None:
    parser.add_argument("--bid-json", required=True, type=Path, metavar="FILE", help="the bid form (JSON)")
    parser.add_argument(
        "--document", action="append", default=[], type=Path, metavar="FILE", help="a bid document (repeat)"
    )
    parser.add_argument("--signing-key", required=True, type=Path, metavar="KEY.pem")
    parser.add_argument("--signing-cert", required=True, type=Path, metavar="CERT.pem")
    parser.add_argument(
        "--encryption-cert",
        required=True,
        type=Path,
        metavar="MY-ENC.pem",
        help="your encryption certificate",
    )
    parser.add_argument(
        "--escrow-cert",
        action="append",
        default=[],
        type=Path,
        metavar="ESCROW.pem",
        help="the tender's escrow certificate (GET /api/v1/bids/tenders/{id}/sealing)",
    )
    parser.add_argument(
        "--cipher", choices=sorted(CIPHERS), default="gcm", help="AES-256-GCM (default) or CBC"
    )
    parser.add_argument(
        "--passphrase-env", metavar="VAR", help="variable holding the signing key's passphrase"
    )
    parser.add_argument("--out", required=True, type=Path, metavar="BID.p7m")
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def _run_seal(command: BaseCommand, options: dict[str, Any]) -> None:
    form_path: Path = options["bid_json"]
    try:
        form = json.loads(read_file(form_path, what="bid form"))
    except ValueError as error:
        raise CommandError(f"{form_path} is not JSON: {error}.") from error
    if not isinstance(form, dict):
        raise CommandError(f"{form_path} must hold a JSON object (the bid form).")
    for document in options["document"]:
        if not document.is_file():
            raise CommandError(f"The bid document {document} does not exist.")
    key_path: Path = options["signing_key"]
    key = private_key_load(
        read_file(key_path, what="signing key"),
        passphrase=passphrase_from_env(options["passphrase_env"]),
        path=key_path,
    )
    recipients = [
        _certificate(options["encryption_cert"], what="encryption certificate"),
        *(_certificate(path, what="escrow certificate") for path in options["escrow_cert"]),
    ]
    try:
        package = bid_package(bid_json=form, documents=options["document"])
        envelope = bid_seal(
            package=package,
            signing_key=key,
            signing_certificate=_certificate(options["signing_cert"], what="signing certificate"),
            recipients=recipients,
            cipher=CIPHERS[options["cipher"]],  # type: ignore[arg-type]  # a key of CIPHERS
        )
        info = envelope_inspect(envelope)
    except (ValueError, EnvelopeRefused) as error:
        raise CommandError(f"Cannot seal the bid: {error}.") from error
    write_file(options["out"], envelope, mode=0o644, force=options["force"])
    command.stdout.write(
        f"Sealed {len(package)} bytes of bid package ({1 + len(options['document'])} files) into "
        f"{options['out']}: {info.content_encryption}, {len(info.recipients)} recipients."
    )
    for certificate in recipients:
        command.stdout.write(f"  recipient: {certificate.subject.rfc4514_string()}")
    if not options["escrow_cert"]:
        command.stdout.write(
            "No --escrow-cert: a tender with an escrow opening key refuses this envelope "
            "(see GET /api/v1/bids/tenders/{id}/sealing)."
        )


# --- submit


def _add_submit(parser: CommandParser) -> None:
    parser.add_argument("--url", required=True, help="the platform, e.g. https://ggzy.example.gov.cn")
    parser.add_argument(
        "--token", required=True, help="your API token (th_...), scopes procedures:write/read"
    )
    parser.add_argument("--lot", required=True, type=int, metavar="LOT_ID")
    parser.add_argument("--entity", required=True, type=int, metavar="ENTITY_ID", help="the bidding entity")
    parser.add_argument("--bond-amount", required=True, metavar="YUAN")
    bond = parser.add_mutually_exclusive_group(required=True)
    bond.add_argument("--bond-account", metavar="ACCT", help="the bank account the bid bond is paid from")
    bond.add_argument("--bond-guarantee", metavar="REF", help="the electronic guarantee's reference")
    parser.add_argument("--envelope", required=True, type=Path, metavar="BID.p7m")
    parser.add_argument("--receipt-out", required=True, type=Path, metavar="RECEIPT.json")
    parser.add_argument("--force", action="store_true", help="replace an existing receipt file")


def _call(request: urllib.request.Request, *, what: str) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310  # the user's URL
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            answer = json.loads(body)
            code, message = answer["code"], answer["message"]
        except (ValueError, KeyError, TypeError):
            raise CommandError(f"{what}: the platform answered HTTP {error.code}.") from error
        details = answer.get("details")
        extra = f" Details: {json.dumps(details, ensure_ascii=False)}" if details else ""
        raise CommandError(f"{what} refused ({error.code} {code}): {message}{extra}") from error
    except urllib.error.URLError as error:
        raise CommandError(f"{what}: cannot reach {request.full_url}: {error.reason}.") from error
    except ValueError as error:
        raise CommandError(f"{what}: the platform's answer is not JSON.") from error


def _run_submit(command: BaseCommand, options: dict[str, Any]) -> None:
    envelope_path: Path = options["envelope"]
    envelope = read_file(envelope_path, what="envelope")
    receipt_out: Path = options["receipt_out"]
    if receipt_out.exists() and not options["force"]:
        raise CommandError(
            f"{receipt_out} already exists; choose another file or pass --force to replace it."
        )
    base = options["url"].rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CommandError(f"--url must be an http:// or https:// address, not {options['url']!r}.")
    headers = {"Authorization": f"Bearer {options['token']}", "Accept": "application/json"}
    fields = {"entity_id": str(options["entity"]), "bond_amount": str(options["bond_amount"])}
    if options["bond_account"]:
        fields["bond_payer_account"] = options["bond_account"]
    else:
        fields["bond_guarantee_reference"] = options["bond_guarantee"]
    # the envelope is the body and streams straight to storage; the bid's fields go in the query
    bid = _call(
        urllib.request.Request(  # noqa: S310  # http(s) only, checked above
            f"{base}/api/v1/bids/lots/{options['lot']}/envelopes?{urllib.parse.urlencode(fields)}",
            data=envelope,
            headers={**headers, "Content-Type": "application/cms"},
            method="POST",
        ),
        what="The submission",
    )
    command.stdout.write(
        f"Submitted bid {bid['id']} (token {bid['token']}) for lot {bid['lot_code']} "
        f"at {bid['submitted_at']}: {bid['size']} bytes, SHA-256 {bid['sha256']}."
    )
    bundle = _call(
        urllib.request.Request(  # noqa: S310  # http(s) only, checked above
            f"{base}/api/v1/bids/bids/{bid['id']}/receipt", headers=headers
        ),
        what="Fetching the receipt",
    )
    write_file(
        receipt_out,
        json.dumps(bundle, ensure_ascii=False, indent=2).encode() + b"\n",
        mode=0o644,
        force=options["force"],
    )
    command.stdout.write(f"Saved the receipt bundle to {receipt_out}.")
    problems = _report(command, bundle, envelope)
    if problems:
        raise CommandError(
            "The platform accepted the bid, but its receipt does not check out; keep both files and "
            "contact the platform."
        )


# --- verify-receipt


def _add_verify_receipt(parser: CommandParser) -> None:
    parser.add_argument(
        "--receipt", required=True, type=Path, metavar="RECEIPT.json", help="the saved bundle"
    )
    parser.add_argument(
        "--envelope", required=True, type=Path, metavar="BID.p7m", help="the envelope you sent"
    )


def _report(command: BaseCommand, bundle: Any, envelope: bytes) -> list[str]:
    try:
        read = receipt_bundle_read(bundle)
    except ValueError as error:
        raise CommandError(f"The receipt bundle is not usable: {error}.") from error
    report = receipt_report(
        receipt=read.receipt,
        token=read.token,
        envelope=envelope,
        receipt_public_key=read.receipt_public_key,
        tsa_roots=read.tsa_roots,
        proof=read.proof,
        log_vkey=read.log_vkey,
    )
    for line in report.passed:
        command.stdout.write(f"OK: {line}")
    for problem in report.problems:
        command.stderr.write(f"PROBLEM: {problem}")
    return report.problems


def _run_verify_receipt(command: BaseCommand, options: dict[str, Any]) -> None:
    receipt_path: Path = options["receipt"]
    try:
        bundle = json.loads(read_file(receipt_path, what="receipt bundle"))
    except ValueError as error:
        raise CommandError(f"{receipt_path} is not JSON: {error}.") from error
    problems = _report(command, bundle, read_file(options["envelope"], what="envelope"))
    if problems:
        raise CommandError(f"The receipt does not check out: {len(problems)} problem(s), listed above.")


# --- unwrap-key (at the opening)


def _add_unwrap_key(parser: CommandParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--envelope", type=Path, help="the sealed bid (DER), as submitted")
    source.add_argument(
        "--wrapped-key",
        type=Path,
        metavar="WRAPPED.json",
        help="the opening's answer to GET /api/v1/opening/bids/<id>/wrapped-key, saved as a file",
    )
    parser.add_argument(
        "--encryption-cert",
        type=Path,
        help="your encryption certificate (with --envelope: finds your recipient)",
    )
    parser.add_argument("--key", type=Path, required=True, help="its private key (PEM); it never leaves here")
    parser.add_argument("--passphrase-env", help="environment variable holding the key's passphrase")


def _run_unwrap_key(command: BaseCommand, options: dict[str, Any]) -> None:
    """At the opening: unwrap the bid's content-encryption key with the bidder's own private key; the key
    (hex) is what the bidder hands to the opening, never its private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tenderhall.bids.envelope import content_key_unwrap, recipient_for

    key = private_key_load(
        read_file(options["key"], what="your private key"),
        passphrase=passphrase_from_env(options.get("passphrase_env")),
        path=options["key"],
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CommandError("The encryption key must be an RSA key.")
    try:
        if options.get("wrapped_key"):
            recipient = _wrapped_recipient(options["wrapped_key"])
        else:
            if not options.get("encryption_cert"):
                raise CommandError("With --envelope, give --encryption-cert to find your recipient.")
            envelope = read_file(options["envelope"], what="the sealed bid")
            certificate = _certificate(options["encryption_cert"], what="your encryption certificate")
            recipient = recipient_for(
                envelope_inspect(envelope), certificate.public_bytes(serialization.Encoding.DER)
            )
        content_key = content_key_unwrap(recipient, key)
    except EnvelopeRefused as refused:
        raise CommandError(f"{refused.message} ({refused.details.get('reason', '')})") from refused
    command.stdout.write(content_key.hex())


def _wrapped_recipient(path: Path) -> Recipient:
    """The recipient the opening handed out: its key transport and encryptedKey (base64)."""
    try:
        wrapped = json.loads(read_file(path, what="the wrapped key"))
        return Recipient(
            issuer=wrapped.get("recipient_issuer"),
            serial=None,
            subject_key_identifier=None,
            key_transport=str(wrapped["key_transport"]),
            encrypted_key=base64.b64decode(wrapped["encrypted_key"], validate=True),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise CommandError(
            f"{path} is not the opening's wrapped-key answer "
            f"(JSON with key_transport and encrypted_key): {error}."
        ) from error


class Command(SubcommandCommand):
    help = "The bidder's side of a sealed bid: seal, submit, verify the receipt offline."
    # Runs on the bidder's machine: no database and no platform checks are needed.
    requires_system_checks: list[str] = []  # noqa: RUF012  # the type Django declares
    subcommands: ClassVar[Mapping[str, Subcommand]] = {
        "seal": Subcommand("sign a bid package and seal it to its recipients (CMS)", _add_seal, _run_seal),
        "submit": Subcommand("upload a sealed bid and save its receipt bundle", _add_submit, _run_submit),
        "verify-receipt": Subcommand(
            "check a receipt bundle against the envelope, offline", _add_verify_receipt, _run_verify_receipt
        ),
        "unwrap-key": Subcommand(
            "at the opening: unwrap your bid's content key with your own private key",
            _add_unwrap_key,
            _run_unwrap_key,
        ),
    }
