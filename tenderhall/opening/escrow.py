"""A tender's escrow opening key: made and split k-of-n at publication, rebuilt from k shares at the opening.

Pure apart from randomness: no ORM, no clock (``now`` is a parameter). docs/escrow-opening.md has the scheme.

``escrow_key_generate`` makes an RSA 3072 key pair, has the platform CA certify the public key for encryption
(the *escrow opening certificate*, named after the tender, that bidders add as a recipient of their
envelopes), cuts the private key's PKCS#8 DER k-of-n with ``shamir`` and seals each official's share to that
official's encryption certificate as CMS EnvelopedData (AES-256-CBC, RSA key transport), which
``openssl cms -decrypt`` opens. It returns only public things and ciphertexts: the certificate, a commitment,
the sealed shares and one digest per share. No form of the whole private key leaves the call — not the key,
not an encrypted copy, not a key-encryption key. Python cannot wipe memory (bytes are immutable and the
garbage collector decides when they go); the call drops its references as soon as it can, and the caller
should run it in a short-lived worker.

The commitment to the key is the certificate itself: its public key determines the private key, and
``escrow_key_rebuild`` refuses a rebuilt key whose public key differs. ``commitment`` is its short form,
``sha256:`` + SHA-256 of the SubjectPublicKeyInfo DER, to print in the tender notice and the ledger.

Each sealed share also comes with ``sha256:`` + SHA-256 of the encoded share, for the platform to keep and
check a submitted share against at once (``escrow_share_verify``), so that one official's wrong share is
named before k shares are in. The digests only make the hiding computational, not information-theoretic; so
does the certificate already, for the key as a whole.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from tenderhall.accounts.certificates import CertificateRejected, key_problem, load_certificate
from tenderhall.core.errors import DomainError
from tenderhall.opening import shamir

ESCROW_KEY_BITS = 3072
ESCROW_CERTIFICATE_DAYS = 365
MAX_TENDER_CODE_LENGTH = 40
MAX_OFFICIAL_ID_LENGTH = 100
ESCROW_ORGANIZATION = "tenderhall"
ESCROW_UNIT = "开标托管密钥"
ESCROW_COMMON_NAME_PREFIX = "escrow opening key "


class CertificateIssuer(Protocol):
    """The platform CA as the escrow needs it; ``tenderhall.accounts.demo_ca.DemoCA`` is one."""

    def issue_from_csr(self, csr_pem: bytes, *, usage: str, now: datetime, days: int = ...) -> bytes: ...


class EscrowError(DomainError):
    code = "escrow_error"
    status = 422


class EscrowTenderCodeInvalid(EscrowError):
    code = "escrow_tender_code_invalid"


class EscrowOfficialsInvalid(EscrowError):
    """The officials list: an empty or repeated id."""

    code = "escrow_officials_invalid"


class EscrowOfficialCertificateUnusable(EscrowError):
    """An official's certificate cannot receive a sealed share; ``details`` name the official."""

    code = "escrow_official_certificate_unusable"


class EscrowCertificateUnusable(EscrowError):
    """The escrow certificate is unreadable, not RSA, or (from the CA) not for the key that was made."""

    code = "escrow_certificate_unusable"


class EscrowKeyMismatch(EscrowError):
    code = "escrow_key_mismatch"


class EscrowShareMismatch(EscrowError):
    code = "escrow_share_mismatch"


class EscrowShareUnsealFailed(EscrowError):
    code = "escrow_share_unseal_failed"


@dataclass(frozen=True)
class SealedShare:
    official: str
    x: int
    digest: str  # "sha256:<hex>" of the encoded share
    envelope_der: bytes  # CMS EnvelopedData of the encoded share (ASCII) to the official's certificate


@dataclass(frozen=True)
class EscrowKey:
    """Everything ``escrow_key_generate`` hands back: public data and ciphertexts only."""

    tender_code: str
    certificate_pem: bytes
    commitment: str  # "sha256:<hex>" of the certificate's SubjectPublicKeyInfo DER
    split_id: str  # hex, carried by every share of this key
    k: int
    n: int
    sealed_shares: tuple[SealedShare, ...]


def escrow_key_generate(
    *,
    tender_code: str,
    ca: CertificateIssuer,
    officials: Sequence[tuple[str, bytes]],
    k: int,
    now: datetime,
    days: int = ESCROW_CERTIFICATE_DAYS,
) -> EscrowKey:
    """A fresh escrow opening key for ``tender_code``, split k-of-n among ``officials`` (id, certificate).

    The officials' certificates (PEM or DER) must be RSA encryption certificates; the caller validates them
    (chain, time, revocation) with ``validate_certificate`` first. Share x = i goes to the i-th official.
    """
    _check_tender_code(tender_code)
    recipients = _recipients(officials)
    shamir.threshold_check(k=k, n=len(recipients))
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=ESCROW_KEY_BITS)
    public_key = private_key.public_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_escrow_subject(tender_code))
        .sign(private_key, hashes.SHA256())
    )
    certificate_pem = ca.issue_from_csr(
        csr.public_bytes(serialization.Encoding.PEM), usage="encryption", now=now, days=days
    )
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    if certificate.public_key() != public_key:
        raise EscrowCertificateUnusable("The CA certified another key than the escrow key; nothing was kept.")
    secret = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    del private_key
    shares = shamir.split(secret, k=k, n=len(recipients))
    # Self-check before anything is published: all n shares lie on one polynomial and rebuild the key.
    if not hmac.compare_digest(shamir.combine(shares, commitment=None), secret):
        raise AssertionError("the escrow shares do not rebuild the key")  # pragma: no cover
    del secret
    encoded = [shamir.share_encode(share) for share in shares]
    split_id = shares[0].split_id.hex()
    del shares
    sealed = tuple(
        SealedShare(
            official=official,
            x=index + 1,
            digest=share_digest(text),
            envelope_der=_seal(text, recipient),
        )
        for index, ((official, recipient), text) in enumerate(zip(recipients, encoded, strict=True))
    )
    del encoded
    return EscrowKey(
        tender_code=tender_code,
        certificate_pem=certificate_pem,
        commitment=key_commitment(certificate),
        split_id=split_id,
        k=k,
        n=len(recipients),
        sealed_shares=sealed,
    )


def escrow_key_rebuild(*, shares: Sequence[str | bytes], certificate_pem: bytes) -> rsa.RSAPrivateKey:
    """The escrow private key that ``shares`` (at least k encoded shares) rebuild, checked against the
    escrow certificate (PEM or DER); ``EscrowKeyMismatch`` if it is not that certificate's key."""
    certificate = _escrow_certificate(certificate_pem)
    decoded = [shamir.share_decode(share) for share in shares]
    try:
        secret = shamir.combine(decoded, commitment=None)
    except shamir.SharesInconsistent as error:
        raise _mismatch(details=error.details) from error
    try:
        key = serialization.load_der_private_key(secret, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _mismatch(details={"x": [share.x for share in decoded]}) from None
    finally:
        del secret
    public_key = certificate.public_key()
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != public_key:
        raise _mismatch(details={"x": [share.x for share in decoded]})
    return key


def escrow_share_verify(share: str | bytes, *, digest: str) -> shamir.Share:
    """The share an official submitted, if it is the one sealed to them (its ``SealedShare.digest``)."""
    decoded = shamir.share_decode(share)
    if not hmac.compare_digest(share_digest(shamir.share_encode(decoded)), digest):
        raise EscrowShareMismatch(
            f"Share x={decoded.x} is not the share sealed to this official: it was altered, or it belongs to "
            "another official or another tender.",
            details={"x": decoded.x},
        )
    return decoded


def share_unseal(
    sealed: bytes, *, certificate: x509.Certificate | bytes, private_key: rsa.RSAPrivateKey
) -> str:
    """The official's side: the encoded share inside a sealed share, opened with the official's own key."""
    if isinstance(certificate, bytes):
        try:
            certificate = x509.load_der_x509_certificate(load_certificate(certificate).der)
        except CertificateRejected as error:
            raise EscrowShareUnsealFailed(error.message, details={"reason": "certificate"}) from error
    try:
        plaintext = pkcs7.pkcs7_decrypt_der(sealed, certificate, private_key, [])
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise EscrowShareUnsealFailed(
            f"The sealed share does not open with this certificate and key ({error}): it is damaged, or it "
            "was sealed to another official.",
            details={"reason": "decrypt"},
        ) from error
    try:
        return shamir.share_encode(shamir.share_decode(plaintext))
    except shamir.ShamirError as error:
        # RSA PKCS#1 v1.5: a wrong key may decrypt to random bytes instead of failing (implicit rejection).
        raise EscrowShareUnsealFailed(
            "The sealed share opened to something that is not a share: it was sealed to another official's "
            f"certificate, or damaged ({error.message})",
            details={"reason": "not_a_share"},
        ) from error


def key_commitment(certificate: x509.Certificate) -> str:
    """``sha256:<hex>`` of the certificate's SubjectPublicKeyInfo DER."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def share_digest(encoded_share: str) -> str:
    return "sha256:" + hashlib.sha256(encoded_share.encode("ascii")).hexdigest()


def _check_tender_code(tender_code: str) -> None:
    if (
        not tender_code
        or len(tender_code) > MAX_TENDER_CODE_LENGTH
        or tender_code != tender_code.strip()
        or not tender_code.isprintable()
    ):
        raise EscrowTenderCodeInvalid(
            f"The tender code {tender_code!r} cannot name an escrow certificate: it must have 1 to "
            f"{MAX_TENDER_CODE_LENGTH} printable characters and no surrounding spaces.",
        )


def _escrow_subject(tender_code: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ESCROW_ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ESCROW_UNIT),
            x509.NameAttribute(NameOID.COMMON_NAME, ESCROW_COMMON_NAME_PREFIX + tender_code),
        ]
    )


def _recipients(officials: Sequence[tuple[str, bytes]]) -> list[tuple[str, x509.Certificate]]:
    if len(officials) > shamir.MAX_SHARES:
        raise shamir.TooManyShares(
            f"At most {shamir.MAX_SHARES} officials can hold shares, not {len(officials)}.",
            details={"n": len(officials)},
        )
    recipients: list[tuple[str, x509.Certificate]] = []
    seen: set[str] = set()
    for official, certificate_data in officials:
        if not official or len(official) > MAX_OFFICIAL_ID_LENGTH:
            raise EscrowOfficialsInvalid(
                f"An official's id must have 1 to {MAX_OFFICIAL_ID_LENGTH} characters, not {official!r}."
            )
        if official in seen:
            raise EscrowOfficialsInvalid(
                f"Official {official!r} is listed twice; each official holds one share.",
                details={"official": official},
            )
        seen.add(official)
        recipients.append((official, _official_certificate(official, certificate_data)))
    return recipients


def _official_certificate(official: str, data: bytes) -> x509.Certificate:
    try:
        info = load_certificate(data)
    except CertificateRejected as error:
        raise EscrowOfficialCertificateUnusable(
            f"Official {official!r}: {error.message}", details={"official": official, **error.details}
        ) from error
    problem = key_problem(info.key_algorithm, usage="encryption")
    if problem is not None:
        reason, message = problem
        raise EscrowOfficialCertificateUnusable(
            f"Official {official!r}: {message}", details={"official": official, "reason": str(reason)}
        )
    if "keyEncipherment" not in info.key_usage:
        raise EscrowOfficialCertificateUnusable(
            f"Official {official!r}: the certificate does not allow key encipherment; use the official's "
            "encryption certificate.",
            details={"official": official, "reason": "wrong_key_usage"},
        )
    return x509.load_der_x509_certificate(info.der)


def _escrow_certificate(data: bytes) -> x509.Certificate:
    try:
        certificate = x509.load_der_x509_certificate(load_certificate(data).der)
    except CertificateRejected as error:
        raise EscrowCertificateUnusable(error.message, details=error.details) from error
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise EscrowCertificateUnusable("The escrow certificate's key is not RSA; it is not an escrow key.")
    return certificate


def _seal(encoded_share: str, recipient: x509.Certificate) -> bytes:
    return (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(encoded_share.encode("ascii"))
        .set_content_encryption_algorithm(algorithms.AES256)
        .add_recipient(recipient)
        .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


def _mismatch(*, details: dict[str, object]) -> EscrowKeyMismatch:
    return EscrowKeyMismatch(
        "The shares do not rebuild the key of the escrow certificate: at least one share was altered or "
        "belongs to another tender. Ask each official to unseal and submit their share again.",
        details=details,
    )
