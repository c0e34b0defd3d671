"""The CA certificates the platform trusts: the configured CA bundles plus, in embedded mode, the demo CA.

``TENDERHALL_TRUSTED_CA_FILES`` names PEM files (or single DER certificates); each may hold the roots and
intermediates of one or several CAs, and every certificate in them becomes a trust anchor (CA mutual
recognition: a certificate from any of them is accepted). ``TENDERHALL_DEMO_CA`` adds the demo CA's root.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from asn1crypto import pem as asn1_pem
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

from tenderhall.accounts.certificates import CertificateRejected, load_certificate, load_pem_bundle
from tenderhall.accounts.demo_ca import DemoCA, demo_ca_load_or_create
from tenderhall.core.errors import DomainError

DEMO_CA_SUBDIRECTORY = "demo-ca"


class TrustStoreError(ImproperlyConfigured):
    """A configured CA file is missing, unreadable or holds something other than CA certificates."""


def trust_roots_load(*, ca_files: Sequence[Path], demo_ca_dir: Path | None, now: datetime) -> list[bytes]:
    """The DER of every trusted CA certificate, in configuration order, without duplicates."""
    roots: list[bytes] = []
    for path in ca_files:
        for der in _read_ca_file(Path(path)):
            if der not in roots:
                roots.append(der)
    if demo_ca_dir is not None:
        root = demo_ca_load_or_create(demo_ca_dir, now=now).root_der
        if root not in roots:
            roots.append(root)
    return roots


def trust_roots_from_settings(*, now: datetime) -> list[bytes]:
    """``trust_roots_load`` with the files and the demo CA switch of the settings."""
    return trust_roots_load(
        ca_files=settings.TENDERHALL_TRUSTED_CA_FILES,
        demo_ca_dir=demo_ca_directory() if settings.TENDERHALL_DEMO_CA else None,
        now=now,
    )


def demo_ca_directory() -> Path:
    return Path(settings.TENDERHALL_DATA_DIR) / DEMO_CA_SUBDIRECTORY


def demo_ca_from_settings(*, now: datetime) -> DemoCA:
    """The demo CA, made on first use; ``TrustStoreError`` when the settings do not allow one."""
    if settings.TENDERHALL_MODE == "production" or not settings.TENDERHALL_DEMO_CA:
        raise TrustStoreError(
            "The demo CA is off (TENDERHALL_DEMO_CA=0 or TENDERHALL_MODE=production): certificates come from "
            "the CAs named in TENDERHALL_TRUSTED_CA_FILES."
        )
    return demo_ca_load_or_create(demo_ca_directory(), now=now)


class EscrowIssuerMissing(DomainError):
    code = "escrow_ca_missing"
    status = 422


def escrow_issuer_from_settings(*, now: datetime) -> DemoCA:
    """The CA that certifies the tenders' escrow opening keys: the platform's own issuing CA
    (``TENDERHALL_ESCROW_CA_FILE``), else the demo CA where it is allowed, else ``EscrowIssuerMissing``."""
    path = settings.TENDERHALL_ESCROW_CA_FILE
    if path is not None:
        return issuing_ca_load(Path(path))
    if settings.TENDERHALL_MODE == "production" or not settings.TENDERHALL_DEMO_CA:
        raise EscrowIssuerMissing(
            gettext(
                "The platform has no CA for escrow opening certificates: the operator sets "
                "TENDERHALL_ESCROW_CA_FILE (docs/configuration.md). Until then no tender has an escrow key."
            )
        )
    return demo_ca_load_or_create(demo_ca_directory(), now=now)


def issuing_ca_load(path: Path) -> DemoCA:
    """The platform's issuing CA from one PEM file holding its private key (EC) and its CA certificate, mode
    0600; it may be a root or an intermediate of the platform's PKI. ``TrustStoreError`` names the problem."""
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except OSError as error:
        raise TrustStoreError(f"TENDERHALL_ESCROW_CA_FILE names {path}, which cannot be read.") from error
    if mode & 0o077:
        raise TrustStoreError(
            f"{path} holds a CA's private key but has mode {mode:04o}; run: chmod 600 {path}"
        )
    try:
        blocks = {kind: der for kind, _headers, der in asn1_pem.unarmor(data, multiple=True)}
        key = serialization.load_der_private_key(blocks["PRIVATE KEY"], password=None)
        certificate = x509.load_der_x509_certificate(blocks["CERTIFICATE"])
    except (KeyError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise TrustStoreError(
            f"{path} must hold an unencrypted PKCS#8 private key ('-----BEGIN PRIVATE KEY-----') and the CA "
            "certificate ('-----BEGIN CERTIFICATE-----')."
        ) from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise TrustStoreError(f"In {path} the private key is not an EC key of the certificate.")
    if not load_certificate(certificate.public_bytes(serialization.Encoding.DER)).is_ca:
        raise TrustStoreError(
            f"In {path} the certificate is not a CA certificate (basicConstraints CA:TRUE)."
        )
    return DemoCA(directory=path.parent, certificate=certificate, private_key=key)


def _read_ca_file(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TrustStoreError(
            f"TENDERHALL_TRUSTED_CA_FILES names {path}, which cannot be read: {error.strerror}."
        ) from error
    try:
        ders = (
            load_pem_bundle(data) if data.lstrip().startswith(b"-----BEGIN") else [load_certificate(data).der]
        )
    except CertificateRejected as error:
        raise TrustStoreError(f"The trusted CA file {path} is not usable: {error.message}") from error
    for index, der in enumerate(ders, start=1):
        info = load_certificate(der)
        if not info.is_ca:
            raise TrustStoreError(
                f"Certificate {index} in the trusted CA file {path} ({info.subject}) is not a CA "
                "certificate; list only CA roots and intermediates there."
            )
    return ders
