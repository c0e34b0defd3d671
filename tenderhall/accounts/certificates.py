"""Checking the X.509 certificates that users and market entities upload. Pure: no ORM, no clock.

A certificate is accepted for a usage ("signing" or "encryption") when, at ``now``:

* it parses as one DER or PEM certificate and is an end-entity certificate (not a CA);
* its key is one tenderhall can use for that usage (see ``key_problem``);
* its keyUsage extension allows the usage;
* a path leads from it, through the given intermediates, to one of the trusted roots (several CAs can be
  trusted at once: CA mutual recognition), and every certificate on that path is valid at ``now``, correctly
  signed with an allowed algorithm, and allowed to issue (RFC 5280 path validation, done by
  pyhanko-certvalidator).

Revocation: nothing is fetched (no OCSP, no CRL download; the platform may run without network). CRLs that
the caller already holds can be passed in; otherwise revocation is "soft-fail", i.e. not checked. The trust
roots themselves are taken as given (RFC 5280 §6.1.1 d): their own validity period is not checked.

Every refusal is a ``CertificateRejected`` with a stable ``details["reason"]`` (see ``Reason``) and a
message a person can act on.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from tenderhall.core.errors import DomainError

USAGES = ("signing", "encryption")
# Far above any real certificate (a few KiB); refuse before parsing anything bigger.
MAX_CERTIFICATE_BYTES = 64 * 1024
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384
# EC curves accepted for signing certificates. Encryption certificates must be RSA: sealed bids use CMS with
# RSA key transport; EC (ECDH) recipients are planned, and adding a curve here is all acceptance needs.
SIGNING_EC_CURVES = frozenset({"secp256r1"})
ENCRYPTION_EC_CURVES: frozenset[str] = frozenset()

# keyUsage bits that allow each usage: any one of them is enough.
USAGE_KEY_USAGES: dict[str, dict[str, frozenset[str]]] = {
    "signing": {
        "rsa": frozenset({"digitalSignature", "nonRepudiation"}),
        "ec": frozenset({"digitalSignature", "nonRepudiation"}),
    },
    "encryption": {
        "rsa": frozenset({"keyEncipherment"}),
        "ec": frozenset({"keyAgreement"}),
    },
}

_KEY_USAGE_FLAG_NAMES = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
}
_PEM_CERTIFICATE = "CERTIFICATE"
_NAME_OVERRIDES = {NameOID.SERIAL_NUMBER: "serialNumber"}


class Reason(StrEnum):
    """Why a certificate was refused: the stable value of ``CertificateRejected.details["reason"]``."""

    MALFORMED = "malformed"
    IS_CA = "is_ca"
    WEAK_KEY = "weak_key"
    UNSUPPORTED_KEY = "unsupported_key"
    WRONG_KEY_USAGE = "wrong_key_usage"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    WEAK_SIGNATURE = "weak_signature"
    INVALID_CHAIN = "invalid_chain"


class CertificateRejected(DomainError):
    code = "certificate_rejected"
    status = 422

    def __init__(self, message: str, *, reason: Reason, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": str(reason), **(details or {})})
        self.reason = reason


@dataclass(frozen=True)
class CertificateInfo:
    der: bytes
    fingerprint: str  # SHA-256 of the DER, lower-case hex
    subject: str  # RFC 4514
    issuer: str  # RFC 4514
    serial: str  # lower-case hex
    not_before: datetime  # aware, UTC
    not_after: datetime  # aware, UTC
    key_usage: tuple[str, ...]  # RFC 5280 names, e.g. ("digitalSignature", "nonRepudiation")
    key_algorithm: str  # "rsa-2048", "ec-secp256r1", "ed25519" ...
    subject_serial_number: str | None  # subject serialNumber (where Chinese CAs put the USCC or ID number)
    is_ca: bool


def load_pem_bundle(data: bytes) -> list[bytes]:
    """The DER of every CERTIFICATE block of a PEM bundle, in order; other PEM blocks are skipped."""
    if not asn1_pem.detect(data):
        raise CertificateRejected(
            "This is not a PEM file: expected '-----BEGIN CERTIFICATE-----' blocks.", reason=Reason.MALFORMED
        )
    try:
        blocks = list(asn1_pem.unarmor(data, multiple=True))
    except (ValueError, TypeError) as error:
        raise CertificateRejected(
            f"The PEM file is damaged ({error}); export the certificates again.", reason=Reason.MALFORMED
        ) from error
    ders = [der for kind, _headers, der in blocks if kind == _PEM_CERTIFICATE]
    if not ders:
        raise CertificateRejected("The PEM file holds no certificate.", reason=Reason.MALFORMED)
    for index, der in enumerate(ders, start=1):
        _parse_der(der, what=f"Certificate {index} of the PEM file")
    return ders


def load_certificate(data: bytes) -> CertificateInfo:
    """One certificate, PEM or DER; anything else is refused as malformed."""
    if not data or not data.strip():
        raise CertificateRejected("The file is empty; upload your certificate.", reason=Reason.MALFORMED)
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateRejected(
            f"The file is {len(data)} bytes, too large to be a certificate; upload the certificate alone.",
            reason=Reason.MALFORMED,
        )
    if asn1_pem.detect(data):
        ders = load_pem_bundle(data)
        if len(ders) != 1:
            raise CertificateRejected(
                f"The PEM file holds {len(ders)} certificates; upload only your own certificate.",
                reason=Reason.MALFORMED,
            )
        der = ders[0]
    else:
        der = data
    return _parse_der(der, what="The file")


def validate_certificate(
    data: bytes,
    *,
    usage: str,
    trust_roots: Sequence[bytes],
    intermediates: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
    now: datetime,
) -> CertificateInfo:
    """Accept ``data`` (PEM or DER) for ``usage`` at ``now``, or raise ``CertificateRejected``.

    ``trust_roots`` are DER certificates (the platform's configuration); ``intermediates`` are DER CA
    certificates that may help build the path (from the platform or the uploader); ``crls`` are DER CRLs the
    caller already holds. Nothing is fetched from the network.
    """
    if usage not in USAGES:
        raise ValueError(f"usage must be one of {USAGES}, not {usage!r}")
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    info = load_certificate(data)
    if info.is_ca:
        raise CertificateRejected(
            f"This is a CA certificate ({info.subject}), not a certificate issued to a person or an "
            "organisation; upload the certificate your CA issued to you.",
            reason=Reason.IS_CA,
        )
    problem = key_problem(info.key_algorithm, usage=usage)
    if problem is not None:
        reason, message = problem
        raise CertificateRejected(message, reason=reason, details={"key_algorithm": info.key_algorithm})
    _check_key_usage(info, usage=usage)
    roots = [_asn1_certificate(der, what=f"Trust root {i}") for i, der in enumerate(trust_roots, start=1)]
    for index, der in enumerate(intermediates, start=1):
        _parse_der(der, what=f"Intermediate certificate {index}")
    others = [asn1_x509.Certificate.load(der) for der in intermediates]
    context = ValidationContext(
        trust_roots=roots,
        other_certs=others,
        moment=now.astimezone(UTC),
        allow_fetching=False,
        crls=list(crls) or None,
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(asn1_x509.Certificate.load(info.der), validation_context=context)
    try:
        _run_coroutine(validator.async_validate_path())
    except (PathBuildingError, ValidationError) as error:
        raise _rejection_from_validation(error, info) from error
    return info


def key_problem(key_algorithm: str, *, usage: str) -> tuple[Reason, str] | None:
    """Why a key (labelled as by ``public_key_label``) cannot serve ``usage``; None if it can.

    Shared by certificate validation and the demo CA's request check, so the messages speak of "the key".
    """
    family, _, parameter = key_algorithm.partition("-")
    if family == "rsa":
        bits = int(parameter)
        if bits < MIN_RSA_BITS:
            return Reason.WEAK_KEY, (
                f"The RSA key has {bits} bits; tenderhall needs at least {MIN_RSA_BITS}. "
                "Make a new key and get a certificate for it."
            )
        if bits > MAX_RSA_BITS:
            return Reason.UNSUPPORTED_KEY, f"RSA keys of more than {MAX_RSA_BITS} bits are not supported."
        return None
    curves = SIGNING_EC_CURVES if usage == "signing" else ENCRYPTION_EC_CURVES
    if family == "ec" and parameter in curves:
        return None
    if family == "ec" and usage == "encryption":
        return Reason.UNSUPPORTED_KEY, (
            f"An encryption key must be RSA with at least {MIN_RSA_BITS} bits (this one is {key_algorithm}): "
            "sealed bids are encrypted with RSA key transport."
        )
    accepted = [f"RSA {MIN_RSA_BITS}+ bits", *(f"EC {curve}" for curve in sorted(SIGNING_EC_CURVES))]
    return Reason.UNSUPPORTED_KEY, (
        f"The key ({key_algorithm}) is not supported; tenderhall accepts {', '.join(accepted)}."
    )


def key_usage_for(usage: str, *, key_algorithm: str) -> x509.KeyUsage:
    """The keyUsage that tenderhall's requests ask for and the demo CA grants: all the bits of the usage."""
    family = key_algorithm.partition("-")[0]
    names = USAGE_KEY_USAGES[usage][family]
    flags = {flag: name in names for name, flag in _KEY_USAGE_FLAG_NAMES.items()}
    return x509.KeyUsage(
        **flags, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False
    )


def public_key_label(spki_der: bytes) -> str:
    """A short name for a SubjectPublicKeyInfo: "rsa-3072", "ec-secp256r1", "ed25519" ..."""
    info = asn1_keys.PublicKeyInfo.load(spki_der)
    algorithm = info.algorithm
    if algorithm == "rsa":
        return f"rsa-{info.bit_size}"
    if algorithm == "ec":
        _kind, curve = info.curve
        return f"ec-{curve}"
    return str(algorithm)


def _parse_der(der: bytes, *, what: str) -> CertificateInfo:
    try:
        cert = x509.load_der_x509_certificate(der)
        # pyhanko-certvalidator reads certificates with asn1crypto, which parses lazily: parse fully now so
        # that a certificate only one of the two libraries understands is refused here, not halfway through.
        _ = asn1_x509.Certificate.load(der, strict=True).native
        return _info(cert, der)
    except (ValueError, TypeError, KeyError) as error:
        raise CertificateRejected(
            f"{what} is not a readable X.509 certificate ({error}); export it again as PEM or DER.",
            reason=Reason.MALFORMED,
        ) from error


def _info(cert: x509.Certificate, der: bytes) -> CertificateInfo:
    extensions = cert.extensions  # raises ValueError on a damaged or duplicated extension
    try:
        basic = extensions.get_extension_for_class(x509.BasicConstraints).value
        ca_flag = basic.ca
    except x509.ExtensionNotFound:
        ca_flag = False
    try:
        usages = _key_usage_names(extensions.get_extension_for_class(x509.KeyUsage).value)
    except x509.ExtensionNotFound:
        usages = ()
    serial_numbers = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return CertificateInfo(
        der=der,
        fingerprint=hashlib.sha256(der).hexdigest(),
        subject=cert.subject.rfc4514_string(_NAME_OVERRIDES),
        issuer=cert.issuer.rfc4514_string(_NAME_OVERRIDES),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_usage=usages,
        key_algorithm=public_key_label(_spki_der(der)),
        subject_serial_number=str(serial_numbers[0].value) if serial_numbers else None,
        is_ca=ca_flag or "keyCertSign" in usages,
    )


def _spki_der(der: bytes) -> bytes:
    return bytes(asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"].dump())


def _key_usage_names(value: x509.KeyUsage) -> tuple[str, ...]:
    flags = [
        ("digitalSignature", value.digital_signature),
        ("nonRepudiation", value.content_commitment),
        ("keyEncipherment", value.key_encipherment),
        ("dataEncipherment", value.data_encipherment),
        ("keyAgreement", value.key_agreement),
        ("keyCertSign", value.key_cert_sign),
        ("cRLSign", value.crl_sign),
    ]
    if value.key_agreement:
        flags += [("encipherOnly", value.encipher_only), ("decipherOnly", value.decipher_only)]
    return tuple(name for name, present in flags if present)


def _check_key_usage(info: CertificateInfo, *, usage: str) -> None:
    family = info.key_algorithm.partition("-")[0]
    allowed = USAGE_KEY_USAGES[usage][family]
    wanted = " or ".join(sorted(allowed))
    if not info.key_usage:
        raise CertificateRejected(
            f"The certificate does not state its key usage; a {usage} certificate must allow {wanted}. "
            f"Ask your CA for a {usage} certificate.",
            reason=Reason.WRONG_KEY_USAGE,
            details={"key_usage": [], "required": sorted(allowed)},
        )
    if not allowed & set(info.key_usage):
        raise CertificateRejected(
            f"This certificate is for {', '.join(info.key_usage)}, not for {usage}; "
            f"upload your {usage} certificate (key usage {wanted}).",
            reason=Reason.WRONG_KEY_USAGE,
            details={"key_usage": list(info.key_usage), "required": sorted(allowed)},
        )


def _rejection_from_validation(error: Exception, info: CertificateInfo) -> CertificateRejected:
    """Turn pyhanko-certvalidator's verdict into our reason and a message a person can act on."""
    reason = Reason.INVALID_CHAIN
    message = (
        "The certificate's chain to a trusted CA does not hold (a signature does not verify, or a "
        "certificate on the path may not issue certificates); ask your CA for a correct certificate."
    )
    if isinstance(error, ExpiredError):
        reason, at = Reason.EXPIRED, _day(error.expired_dt)
        message = (
            f"The certificate expired on {at}; upload a current one."
            if error.is_ee_cert
            else f"A CA certificate in its chain expired on {at}; ask your CA for its current chain."
        )
    elif isinstance(error, NotYetValidError):
        reason, at = Reason.NOT_YET_VALID, _day(error.valid_from)
        message = (
            f"The certificate is not valid before {at}; upload it from that day on."
            if error.is_ee_cert
            else f"A CA certificate in its chain is not valid before {at}."
        )
    elif isinstance(error, RevokedError):
        reason = Reason.REVOKED
        message = (
            f"The certificate or a CA certificate in its chain was revoked on {_day(error.revocation_dt)}; "
            "ask your CA for a new certificate."
        )
    elif isinstance(error, DisallowedAlgorithmError):
        reason = Reason.WEAK_SIGNATURE
        message = (
            "The certificate or a CA certificate in its chain is signed with a weak algorithm or key "
            f"(for example SHA-1, or RSA under {MIN_RSA_BITS} bits); ask your CA for a current certificate."
        )
    elif isinstance(error, PathBuildingError):
        reason = Reason.UNTRUSTED
        message = (
            f"The certificate was issued by {info.issuer}, which leads to no CA tenderhall trusts. "
            "Upload a certificate from a recognised CA, together with its intermediate CA certificates."
        )
    elif isinstance(
        error, InvalidCertificateError
    ):  # pyhanko's verdict on an untrusted self-signed certificate
        reason = Reason.UNTRUSTED
        message = "The certificate is self-signed; upload a certificate issued by a recognised CA."
    elif not isinstance(error, PathValidationError):
        message = f"The certificate could not be validated: {error}"
    return CertificateRejected(message, reason=reason, details={"detail": str(error)})


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _asn1_certificate(der: bytes, *, what: str) -> asn1_x509.Certificate:
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        _ = cert.native
    except (ValueError, TypeError) as error:
        raise ValueError(f"{what} is not a DER certificate: {error}") from error
    return cert


_T = TypeVar("_T")


def _run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run pyhanko-certvalidator's async API from synchronous code, also when an event loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
