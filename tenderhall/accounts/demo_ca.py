"""The embedded mode's demo CA: a root that issues certificates to demo users. Never for production.

The root (EC P-256, named "tenderhall 演示CA (仅供测试)") is made on first use and kept in the directory the
caller passes (``settings.TENDERHALL_DATA_DIR / "demo-ca"``):

* ``root.key.pem`` (mode 0600): the private key followed by the root certificate. It is created in one atomic
  step (a hard link of a finished temporary file), so two processes starting at once end up with one root.
* ``root.pem``: the root certificate alone, to hand out as a trust anchor (``openssl verify -CAfile``).

Issued certificates get the subject of the request, the key usage of their usage (signing: digitalSignature
and nonRepudiation; encryption: keyEncipherment), basicConstraints CA:FALSE, and key identifiers. Extensions a
request asks for are ignored: the CA decides what it certifies. The request's signature is checked first, and
its key must be one ``validate_certificate`` accepts for the usage.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import pem as asn1_pem
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from tenderhall.accounts.certificates import USAGES, Reason, key_problem, key_usage_for, public_key_label
from tenderhall.core.errors import DomainError

ROOT_COMMON_NAME = "tenderhall 演示CA (仅供测试)"
ROOT_ORGANIZATION = "tenderhall DEMO CA - NOT FOR PRODUCTION"
ROOT_VALIDITY = timedelta(days=20 * 365)
# Certificates start a little before ``now`` so that a client whose clock lags accepts them at once.
CLOCK_SKEW = timedelta(minutes=5)
MAX_DAYS = 3650
DEMO_KEY_BITS = 2048
KEY_FILE = "root.key.pem"
ROOT_FILE = "root.pem"
MAX_CSR_BYTES = 64 * 1024

_KEY_USAGE_FLAGS = {
    "digital_signature": False,
    "content_commitment": False,
    "key_encipherment": False,
    "data_encipherment": False,
    "key_agreement": False,
    "key_cert_sign": False,
    "crl_sign": False,
    "encipher_only": False,
    "decipher_only": False,
}


class CsrRejected(DomainError):
    """A certificate signing request the demo CA will not sign; ``details["reason"]`` says why."""

    code = "csr_rejected"
    status = 422

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, details={"reason": str(reason)})
        self.reason = reason


class DemoCAError(Exception):
    """The demo CA's files are damaged or unsafe; the message names the file and what to do."""


@dataclass(frozen=True)
class DemoCA:
    directory: Path
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def root_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def root_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def issue_from_csr(self, csr_pem: bytes, *, usage: str, now: datetime, days: int = 365) -> bytes:
        """The PEM certificate for a PEM (or DER) PKCS#10 request, or ``CsrRejected`` with the reason."""
        csr = _load_csr(csr_pem)
        try:
            signature_ok = csr.is_signature_valid
            public_key = csr.public_key()
        except (UnsupportedAlgorithm, ValueError) as error:
            raise CsrRejected(
                f"The request's key or signature algorithm is not supported ({error}).",
                reason=Reason.UNSUPPORTED_KEY,
            ) from error
        if not signature_ok:
            raise CsrRejected(
                "The request's signature does not verify: it was altered or not signed with its key. "
                "Make the request again.",
                reason="bad_signature",
            )
        if not csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise CsrRejected("The request names no common name (CN); add one.", reason="missing_common_name")
        return self._issue(csr.subject, public_key, usage=usage, now=now, days=days)

    def issue_key_and_certificate(
        self,
        *,
        common_name: str,
        serial_number: str,
        usage: str,
        now: datetime,
        organization: str | None = None,
        days: int = 365,
    ) -> tuple[bytes, bytes]:
        """A fresh RSA key (unencrypted PKCS#8 PEM) and its certificate (PEM), for demo data only."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=DEMO_KEY_BITS)
        attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        attributes += [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number),
        ]
        cert_pem = self._issue(x509.Name(attributes), key.public_key(), usage=usage, now=now, days=days)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return key_pem, cert_pem

    def _issue(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        *,
        usage: str,
        now: datetime,
        days: int,
    ) -> bytes:
        if usage not in USAGES:
            raise ValueError(f"usage must be one of {USAGES}, not {usage!r}")
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key_algorithm = public_key_label(spki)
        problem = key_problem(key_algorithm, usage=usage)
        if problem is not None:
            reason, message = problem
            raise CsrRejected(message, reason=reason)
        not_after = min(now + timedelta(days=days), self.certificate.not_valid_after_utc)
        issuer_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage_for(usage, key_algorithm=key_algorithm), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
            )
        )
        certificate = builder.sign(self.private_key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.PEM)


def demo_ca_load_or_create(directory: Path, *, now: datetime) -> DemoCA:
    """The demo CA kept in ``directory``, made there first if there is none."""
    key_path = directory / KEY_FILE
    if not key_path.exists():
        _create(directory, now=now)
    ca = _load(key_path, directory=directory)
    if now > ca.certificate.not_valid_after_utc:
        raise DemoCAError(
            f"The demo CA in {directory} expired on {ca.certificate.not_valid_after_utc:%Y-%m-%d}; "
            "delete the directory to make a new one."
        )
    _write_root_pem(directory / ROOT_FILE, ca.root_pem)
    return ca


def _create(directory: Path, *, now: datetime) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ROOT_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, ROOT_COMMON_NAME),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(**{**_KEY_USAGE_FLAGS, "key_cert_sign": True, "crl_sign": True}), critical=True
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    content = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + certificate.public_bytes(serialization.Encoding.PEM)
    temporary = directory / f".{KEY_FILE}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        # A hard link never replaces an existing file: if another process made its root first, keep that one.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, directory / KEY_FILE)
    finally:
        temporary.unlink(missing_ok=True)


def _load(key_path: Path, *, directory: Path) -> DemoCA:
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise DemoCAError(
            f"{key_path} holds the demo CA's private key but has mode {mode:04o}; run: chmod 600 {key_path}"
        )
    data = key_path.read_bytes()
    try:
        blocks = {kind: der for kind, _headers, der in asn1_pem.unarmor(data, multiple=True)}
        key = serialization.load_der_private_key(blocks["PRIVATE KEY"], password=None)
        certificate = x509.load_der_x509_certificate(blocks["CERTIFICATE"])
    except (KeyError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise DemoCAError(
            f"{key_path} is damaged ({error!r}); delete the directory {directory} to make a new demo CA "
            "(certificates it issued will no longer validate)."
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise DemoCAError(f"In {key_path} the private key does not belong to the certificate.")
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError) as error:
        raise DemoCAError(f"In {key_path} the root certificate's signature does not verify.") from error
    return DemoCA(directory=directory, certificate=certificate, private_key=key)


def _write_root_pem(path: Path, root_pem: bytes) -> None:
    if path.exists() and path.read_bytes() == root_pem:
        return
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    temporary.write_bytes(root_pem)
    temporary.chmod(0o644)
    temporary.replace(path)


def _load_csr(data: bytes) -> x509.CertificateSigningRequest:
    if len(data) > MAX_CSR_BYTES:
        raise CsrRejected("The file is too large to be a certificate request.", reason=Reason.MALFORMED)
    try:
        if asn1_pem.detect(data):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as error:
        raise CsrRejected(
            f"This is not a readable PKCS#10 certificate request ({error}); make it again.",
            reason=Reason.MALFORMED,
        ) from error
