"""`tenderhall client …`: what bidders and officials run on their own machine. Private keys never leave it.

    tenderhall client keygen --out KEY.pem [--type rsa|ec] [--bits 3072] [--passphrase-env VAR] [--force]
    tenderhall client csr --key KEY.pem --common-name NAME [--serial-number USCC_OR_ID]
                          [--organization ORG] [--country CN] [--usage signing|encryption]
                          [--passphrase-env VAR] --out CSR.pem [--force]

Adding a subcommand: write an ``_add_<name>(parser)`` that declares its arguments and a ``_run_<name>(command,
options)`` that does the work (raising ``CommandError`` with a message the user can act on), then add a
``Subcommand`` entry to ``Command.subcommands``. ``SubcommandCommand`` and ``write_file`` serve the other
commands built the same way (``tenderhall ca``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.accounts.certificates import (
    MAX_RSA_BITS,
    MIN_RSA_BITS,
    USAGES,
    key_problem,
    key_usage_for,
    public_key_label,
)

DEFAULT_RSA_BITS = 3072
KEY_TYPES = ("rsa", "ec")
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    run: Callable[[BaseCommand, dict[str, Any]], None]


class SubcommandCommand(BaseCommand):
    """A management command whose first argument picks one of ``subcommands``."""

    subcommands: ClassVar[Mapping[str, Subcommand]]

    def add_arguments(self, parser: CommandParser) -> None:
        choices = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for name, subcommand in self.subcommands.items():
            subcommand.add_arguments(
                choices.add_parser(name, help=subcommand.help, description=subcommand.help)
            )

    def handle(self, *args: Any, **options: Any) -> None:
        self.subcommands[options["subcommand"]].run(self, options)


def write_file(path: Path, data: bytes, *, mode: int, force: bool) -> None:
    """Write ``data`` to ``path`` with ``mode`` in one atomic step; keep an existing file unless ``force``."""
    if path.exists() and not force:
        raise CommandError(f"{path} already exists; choose another file or pass --force to replace it.")
    if not path.parent.is_dir():
        raise CommandError(f"The directory {path.parent} does not exist.")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)  # noqa: PTH101  # the umask may have narrowed os.open's mode
        if force:
            temporary.replace(path)
        else:
            os.link(temporary, path)  # fails rather than replace a file made meanwhile
    except FileExistsError as error:
        raise CommandError(
            f"{path} already exists; choose another file or pass --force to replace it."
        ) from error
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def read_file(path: Path, *, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read the {what} {path}: {error.strerror}.") from error


def passphrase_from_env(variable: str | None) -> bytes | None:
    """The passphrase held by the environment variable ``variable`` (never a command-line argument)."""
    if variable is None:
        return None
    value = os.environ.get(variable, "")
    if not value:
        raise CommandError(
            f"The environment variable {variable} is not set or empty; it must hold the passphrase."
        )
    return value.encode()


def private_key_generate(key_type: str, *, bits: int | None) -> SigningKey:
    if key_type == "ec":
        if bits is not None:
            raise CommandError("--bits applies to RSA keys only; EC keys use the P-256 curve.")
        return ec.generate_private_key(ec.SECP256R1())
    bits = DEFAULT_RSA_BITS if bits is None else bits
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        raise CommandError(f"--bits must be between {MIN_RSA_BITS} and {MAX_RSA_BITS} for an RSA key.")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_load(data: bytes, *, passphrase: bytes | None, path: Path) -> SigningKey:
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as error:  # encrypted without a passphrase, or a passphrase for a clear key
        hint = "pass --passphrase-env" if passphrase is None else "drop --passphrase-env"
        raise CommandError(f"{path}: {error}; {hint}.") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise CommandError(
            f"{path} is not a PEM private key tenderhall can read, or the passphrase is wrong."
        ) from error
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CommandError(f"{path} holds a {type(key).__name__}; use an RSA or EC P-256 key.")
    return key


def csr_build(
    key: SigningKey,
    *,
    common_name: str,
    usage: str,
    serial_number: str | None = None,
    organization: str | None = None,
    country: str | None = None,
) -> bytes:
    """A PEM PKCS#10 request that asks for the keyUsage of ``usage`` and an end-entity certificate."""
    key_algorithm = _key_label(key)
    problem = key_problem(key_algorithm, usage=usage)
    if problem is not None:
        raise CommandError(problem[1])
    fields = [
        (NameOID.COUNTRY_NAME, country),
        (NameOID.ORGANIZATION_NAME, organization),
        (NameOID.COMMON_NAME, common_name),
        (NameOID.SERIAL_NUMBER, serial_number),
    ]
    try:
        subject = x509.Name([x509.NameAttribute(oid, value) for oid, value in fields if value])
    except ValueError as error:
        raise CommandError(f"The subject is not valid: {error}.") from error
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage_for(usage, key_algorithm=key_algorithm), critical=True)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def _key_label(key: SigningKey) -> str:
    return public_key_label(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _public_key_fingerprint(key: SigningKey) -> str:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


# --- keygen


def _add_keygen(parser: CommandParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="KEY.pem", help="file for the private key")
    parser.add_argument(
        "--type", choices=KEY_TYPES, default="rsa", dest="key_type", help="key type (default rsa)"
    )
    parser.add_argument("--bits", type=int, help=f"RSA modulus size (default {DEFAULT_RSA_BITS})")
    parser.add_argument(
        "--passphrase-env", metavar="VAR", help="encrypt the key with the passphrase held by this variable"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def _run_keygen(command: BaseCommand, options: dict[str, Any]) -> None:
    passphrase = passphrase_from_env(options["passphrase_env"])
    key = private_key_generate(options["key_type"], bits=options["bits"])
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    write_file(options["out"], pem, mode=0o600, force=options["force"])
    state = "encrypted" if passphrase else "unencrypted"
    command.stdout.write(f"Wrote a {_key_label(key)} private key ({state}, mode 0600) to {options['out']}.")
    command.stdout.write(f"Public key SHA-256: {_public_key_fingerprint(key)}")
    command.stdout.write("Keep the key on this machine: tenderhall never needs it.")


# --- csr


def _add_csr(parser: CommandParser) -> None:
    parser.add_argument("--key", required=True, type=Path, metavar="KEY.pem", help="the private key")
    parser.add_argument("--common-name", required=True, help="name of the person or organisation (CN)")
    parser.add_argument(
        "--serial-number", metavar="USCC_OR_ID", help="unified social credit code or ID number (serialNumber)"
    )
    parser.add_argument("--organization", metavar="ORG", help="organisation name (O)")
    parser.add_argument("--country", default="CN", help="two-letter country code (C, default CN)")
    parser.add_argument(
        "--usage", choices=USAGES, default="signing", help="certificate usage (default signing)"
    )
    parser.add_argument("--passphrase-env", metavar="VAR", help="variable holding the key's passphrase")
    parser.add_argument("--out", required=True, type=Path, metavar="CSR.pem", help="file for the request")
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def _run_csr(command: BaseCommand, options: dict[str, Any]) -> None:
    key_path: Path = options["key"]
    passphrase = passphrase_from_env(options["passphrase_env"])
    key = private_key_load(read_file(key_path, what="key file"), passphrase=passphrase, path=key_path)
    pem = csr_build(
        key,
        common_name=options["common_name"],
        usage=options["usage"],
        serial_number=options["serial_number"],
        organization=options["organization"],
        country=options["country"],
    )
    write_file(options["out"], pem, mode=0o644, force=options["force"])
    subject = x509.load_pem_x509_csr(pem).subject.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"})
    command.stdout.write(f"Wrote a {options['usage']} certificate request for {subject} to {options['out']}.")
    command.stdout.write("Send it to your CA; the private key stays here.")


class Command(SubcommandCommand):
    help = "The bidder's and official's side of tenderhall: keys and certificate requests."
    # Runs on the bidder's machine: no database and no platform checks are needed.
    requires_system_checks: list[str] = []  # noqa: RUF012  # the type Django declares
    subcommands: ClassVar[Mapping[str, Subcommand]] = {
        "keygen": Subcommand("make a private key (RSA or EC P-256)", _add_keygen, _run_keygen),
        "csr": Subcommand("make a certificate request (PKCS#10) for a key", _add_csr, _run_csr),
    }
