"""The CA certificates the platform trusts: the configured CA bundles plus, in embedded mode, the demo CA.

``TENDERHALL_TRUSTED_CA_FILES`` names PEM files (or single DER certificates); each may hold the roots and
intermediates of one or several CAs, and every certificate in them becomes a trust anchor (CA mutual
recognition: a certificate from any of them is accepted). ``TENDERHALL_DEMO_CA`` adds the demo CA's root.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tenderhall.accounts.certificates import CertificateRejected, load_certificate, load_pem_bundle
from tenderhall.accounts.demo_ca import DemoCA, demo_ca_load_or_create

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
