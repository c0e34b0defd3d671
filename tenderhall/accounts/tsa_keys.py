"""The keys behind receipts: the time-stamping authority's key and certificate, and the receipt signing key.

**TSA** (``settings.TENDERHALL_DATA_DIR / "tsa"``):

* ``tsa.key.pem`` (mode 0600): the private key, the TSA certificate, then any intermediate CA certificates.
* ``tsa.pem``: the TSA certificate alone, for bidders who check a token that does not carry it.

In embedded mode (the demo CA on) the key (EC P-256) and its certificate are made on first use, issued by
the demo CA with what RFC 3161 §2.3 asks of a TSA certificate: extendedKeyUsage timeStamping only, critical;
keyUsage digitalSignature. ``DemoCA`` issues only signing and encryption certificates, so the certificate is
built here with the demo CA's key. A new key and certificate replace them when the certificate comes within
``RENEW_BEFORE`` of its end (tokens signed earlier stay verifiable until then) or when the demo CA was made
anew. With the demo CA off (production), an operator puts the key and a certificate from a real CA in
``tsa.key.pem``; nothing is made, and a missing, unsafe or unsuitable file is a configuration error naming
what to do.

**Receipts** (``settings.TENDERHALL_DATA_DIR / "receipts"``): an Ed25519 key ``receipt.key`` (mode 0600,
made on first use) and its public key ``receipt.pub.pem``. It is a key of its own, not the ledger's log key:
the log key signs checkpoints (C2SP signed notes) under the log's name and is published as the log's
identity; receipts are another message format with another audience, and keeping the keys apart means
neither signature can be passed off as the other and either key can be rotated or revoked alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import pem as asn1_pem
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tenderhall.accounts.demo_ca import CLOCK_SKEW, DemoCA
from tenderhall.accounts.demo_ca import KEY_FILE as DEMO_KEY_FILE
from tenderhall.accounts.trust import demo_ca_directory, demo_ca_from_settings
from tenderhall.core.receipts import ReceiptSigner, receipt_signer
from tenderhall.core.tsa import TimestampSignerInvalid, TsaSigner
from tenderhall.ledger.keys import load_or_create_key

TSA_SUBDIRECTORY = "tsa"
TSA_KEY_FILE = "tsa.key.pem"
TSA_CERTIFICATE_FILE = "tsa.pem"
TSA_COMMON_NAME = "tenderhall 演示时间戳服务 (仅供测试)"
TSA_ORGANIZATION = "tenderhall DEMO TSA - NOT FOR PRODUCTION"
TSA_VALIDITY = timedelta(days=10 * 365)
RENEW_BEFORE = timedelta(days=2 * 365)

RECEIPT_SUBDIRECTORY = "receipts"
RECEIPT_KEY_FILE = "receipt.key"
RECEIPT_PUBLIC_KEY_FILE = "receipt.pub.pem"


class TsaKeyError(ImproperlyConfigured):
    """The TSA's key file is missing (with no demo CA to make one), unsafe, damaged or unsuitable."""


def tsa_directory() -> Path:
    return Path(settings.TENDERHALL_DATA_DIR) / TSA_SUBDIRECTORY


def receipt_directory() -> Path:
    return Path(settings.TENDERHALL_DATA_DIR) / RECEIPT_SUBDIRECTORY


# The last signer checked, by key file: every bid's receipt needs one, and the full check (the demo CA's key
# read and its signature on the TSA certificate verified) costs milliseconds. It is reused while the files are
# unchanged (not even their modes) and ``now`` is inside the span in which the full check would pass without
# renewing.
_checked: dict[str, tuple[tuple[int, int, bool], TsaSigner, datetime, datetime]] = {}


def _stamp(key_path: Path, demo: bool) -> tuple[int, int, bool]:
    def changed(path: Path) -> int:  # ctime: a new content and a chmod both change it
        try:
            return path.stat().st_ctime_ns
        except OSError:
            return -1

    root = demo_ca_directory() / DEMO_KEY_FILE if demo else None
    return changed(key_path), changed(root) if root else 0, demo


def tsa_signer_load_or_create(*, now: datetime) -> TsaSigner:
    """The TSA's signer, made (or renewed) from the demo CA in embedded mode; ``TsaKeyError`` if unusable."""
    directory = tsa_directory()
    key_path = directory / TSA_KEY_FILE
    demo = _demo_ca_on()
    checked = _checked.get(str(key_path))
    if checked is not None and checked[0] == _stamp(key_path, demo) and checked[2] <= now < checked[3]:
        return checked[1]
    signer = _tsa_signer_checked(key_path, demo=demo, now=now)
    certificate = signer.x509_certificate
    end = certificate.not_valid_after_utc - (RENEW_BEFORE if demo else timedelta(0))
    _checked[str(key_path)] = (_stamp(key_path, demo), signer, certificate.not_valid_before_utc, end)
    return signer


def _tsa_signer_checked(key_path: Path, *, demo: bool, now: datetime) -> TsaSigner:
    directory = key_path.parent
    if demo:
        ca = demo_ca_from_settings(now=now)
        if not key_path.exists():
            _write_key_file(key_path, _issue(ca, now=now), replace=False)
        signer = _load(key_path)
        if _needs_renewal(signer, ca, now=now):
            _write_key_file(key_path, _issue(ca, now=now), replace=True)
            signer = _load(key_path)
    elif not key_path.exists():
        raise TsaKeyError(
            f"The time-stamping authority has no key: put its private key (PKCS#8 PEM, unencrypted), its "
            f"certificate (extendedKeyUsage timeStamping, critical) and any intermediate CA certificates in "
            f"{key_path} (mode 0600), or turn the demo CA on (TENDERHALL_DEMO_CA=1) outside production."
        )
    else:
        signer = _load(key_path)
    _check_usable(signer, key_path=key_path, now=now)
    _write_public_file(
        directory / TSA_CERTIFICATE_FILE, signer.x509_certificate.public_bytes(serialization.Encoding.PEM)
    )
    return signer


def receipt_signer_load_or_create() -> ReceiptSigner:
    """The platform's receipt key (Ed25519), made on first use; its public key is written beside it."""
    directory = receipt_directory()
    key = load_or_create_key(directory / RECEIPT_KEY_FILE)
    signer = receipt_signer(key)
    _write_public_file(directory / RECEIPT_PUBLIC_KEY_FILE, signer.public_key_pem())
    return signer


def _demo_ca_on() -> bool:
    return settings.TENDERHALL_MODE != "production" and bool(settings.TENDERHALL_DEMO_CA)


def _issue(ca: DemoCA, *, now: datetime) -> bytes:
    """A fresh EC P-256 key and its TSA certificate from the demo CA, as the key file's PEM content."""
    key = ec.generate_private_key(ec.SECP256R1())
    public_key = key.public_key()
    issuer_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TSA_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, TSA_COMMON_NAME),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + TSA_VALIDITY, ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # RFC 3161 §2.3: exactly one extended key usage, timeStamping, and critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)


def _needs_renewal(signer: TsaSigner, ca: DemoCA, *, now: datetime) -> bool:
    certificate = signer.x509_certificate
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (InvalidSignature, ValueError, TypeError):
        return True  # the demo CA was made anew: tokens must chain to the root bidders now trust
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        return True
    # Renew ahead of the end, unless the demo root itself ends first and a new certificate would gain nothing.
    return (
        now >= certificate.not_valid_after_utc - RENEW_BEFORE
        and certificate.not_valid_after_utc < ca.certificate.not_valid_after_utc
    )


def _write_key_file(path: Path, content: bytes, *, replace: bool) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            temporary.replace(path)
        else:
            # A hard link never replaces a file: if another process made the key first, keep that one.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _load(path: Path) -> TsaSigner:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise TsaKeyError(
            f"{path} holds the TSA's private key but has mode {mode:04o}; run: chmod 600 {path}"
        )
    return _read_signer(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_signer(path: Path, _mtime_ns: int) -> TsaSigner:
    try:
        blocks = list(asn1_pem.unarmor(path.read_bytes(), multiple=True))
        keys = [der for kind, _headers, der in blocks if kind == "PRIVATE KEY"]
        certificates = [bytes(der) for kind, _headers, der in blocks if kind == "CERTIFICATE"]
        if len(keys) != 1 or not certificates:
            raise ValueError("it must hold one unencrypted PKCS#8 private key and then the certificates")
        key = serialization.load_der_private_key(keys[0], password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise TsaKeyError(f"{path} is not a usable TSA key file ({error}).") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TsaKeyError(f"{path} holds a {type(key).__name__}; the TSA key must be EC or RSA.")
    try:
        return TsaSigner(private_key=key, certificate=certificates[0], chain=tuple(certificates[1:]))
    except TimestampSignerInvalid as error:
        raise TsaKeyError(f"In {path}: {error.message}") from error


def _check_usable(signer: TsaSigner, *, key_path: Path, now: datetime) -> None:
    certificate = signer.x509_certificate
    subject = certificate.subject.rfc4514_string()
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TsaKeyError(
            f"The certificate in {key_path} ({subject}) is not a TSA certificate: it needs a critical "
            "extendedKeyUsage of timeStamping only (RFC 3161 §2.3)."
        )
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        raise TsaKeyError(
            f"The TSA certificate in {key_path} ({subject}) is valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}, "
            f"not on {now:%Y-%m-%d}; put a current one there."
        )


def _write_public_file(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    temporary.write_bytes(content)
    temporary.chmod(0o644)
    temporary.replace(path)
