"""The platform's own time-stamping authority (RFC 3161, with ESS signing-certificate-v2 of RFC 5816).

Pure except for randomness: no ORM, no clock (``now`` is a parameter), no files. The key and the certificate
come in a ``TsaSigner``; in embedded mode ``tenderhall.accounts.tsa_keys`` makes them from the demo CA.

* ``tsa_timestamp`` makes a TimeStampToken (DER ContentInfo of a CMS SignedData whose content is a TSTInfo)
  over a digest the platform computed itself, such as the SHA-256 of a sealed bid's ciphertext.
* ``tsa_response`` answers a DER TimeStampReq (what ``openssl ts -query`` writes) with a DER TimeStampResp:
  granted with a token, or a rejection with its PKIFailureInfo. Problems in the request never raise.
* ``tsa_token_verify`` is our own offline check of a token; ``openssl ts -verify`` accepts the same tokens.

Tokens carry the signed attributes contentType, signingTime, messageDigest and signingCertificateV2
(ESSCertIDv2: SHA-256 of the TSA certificate, with its issuer and serial), which ``openssl ts -verify``
requires. The format, the policy and the openssl commands a bidder runs: ``docs/receipts.md``.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from tenderhall.core.der import der_encode
from tenderhall.core.errors import DomainError

TENDERHALL_OID_ARC = "2.25.168986639521767459064117742062519170574"
"""tenderhall's private OID arc: the UUID 7f21a496-c63d-484e-9a8e-671b7c73b60e as an OID (ITU-T X.667, 2.25).

Generated once for tenderhall; no registration is needed and no one else's arc is used. Allocations under it:
``.1`` time-stamping policies (``.1.1`` the embedded TSA, policy version 1).
"""
TSA_POLICY_OID = f"{TENDERHALL_OID_ARC}.1.1"
"""The embedded TSA's policy (docs/receipts.md): host clock, accuracy one second, a demo CA certificate."""

HASH_ALGORITHMS: dict[str, tuple[str, int]] = {
    "sha256": ("2.16.840.1.101.3.4.2.1", 32),
    # SM3 (GB/T 32905) message imprints: OpenSSL 3.0 makes and checks them (`openssl ts -query -sm3`).
    "sm3": ("1.2.156.10197.1.401", 32),
}
"""Message-imprint algorithms the TSA stamps: name -> (OID, digest length). Anything else is refused."""

DEFAULT_ACCURACY = timedelta(seconds=1)
MAX_SERIAL_BITS = 160  # RFC 3161 §2.4.2: requesters must handle serial numbers up to 160 bits, no more
MAX_NONCE_BITS = 256
MAX_REQUEST_BYTES = 16 * 1024  # a TimeStampReq is about 60 bytes; its optional extensions are refused anyway
MAX_TOKEN_BYTES = 1024 * 1024

_OID_HASH = {oid: name for name, (oid, _length) in HASH_ALGORITHMS.items()}
# Digests of the signature over the signed attributes, and of the ESS certificate identifiers.
_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_ESS_HASHES = {"sha1": "sha1", **{name: name for name in _SIGNATURE_HASHES}}
_EC_SIGNATURE_ALGORITHMS = frozenset({"ecdsa", "sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"})
_RSA_SIGNATURE_ALGORITHMS = frozenset({"rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"})


class _TimeStampResp(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    """RFC 3161 §2.4.2 TimeStampResp. asn1crypto's ``tsp.TimeStampResp`` makes the token mandatory, which
    cannot represent a rejection; here it is OPTIONAL, as in the RFC."""

    _fields: ClassVar = [
        ("status", asn1_tsp.PKIStatusInfo),
        ("time_stamp_token", asn1_cms.ContentInfo, {"optional": True}),
    ]


# --- errors


class TimestampError(DomainError):
    """A time stamp the platform will not make, or a token it does not accept; subclasses name the reason."""

    code: ClassVar[str] = "timestamp_error"
    status: ClassVar[int] = 422


class TimestampHashUnsupported(TimestampError):
    code = "timestamp_hash_unsupported"


class TimestampDigestInvalid(TimestampError):
    code = "timestamp_digest_invalid"


class TimestampSerialInvalid(TimestampError):
    code = "timestamp_serial_invalid"


class TimestampNonceInvalid(TimestampError):
    code = "timestamp_nonce_invalid"


class TimestampSignerInvalid(TimestampError):
    """The TSA's key does not belong to its certificate, or the certificate is not valid at ``now``."""

    code = "timestamp_signer_invalid"
    status = 500


class TokenMalformed(TimestampError):
    code = "timestamp_token_malformed"


class TokenAlgorithmUnsupported(TimestampError):
    code = "timestamp_token_algorithm_unsupported"


class TokenSignerUnknown(TimestampError):
    code = "timestamp_token_signer_unknown"


class TokenContentAltered(TimestampError):
    code = "timestamp_token_content_altered"


class TokenSignatureInvalid(TimestampError):
    code = "timestamp_token_signature_invalid"


class TokenSignerMismatch(TimestampError):
    code = "timestamp_token_signer_mismatch"


class TokenNotTimestampingCertificate(TimestampError):
    code = "timestamp_token_not_timestamping_certificate"


class TokenUntrusted(TimestampError):
    code = "timestamp_token_untrusted"


class TokenImprintMismatch(TimestampError):
    code = "timestamp_token_imprint_mismatch"


class TokenNonceMismatch(TimestampError):
    code = "timestamp_token_nonce_mismatch"


class TimestampRejected(TimestampError):
    """A TimeStampResp whose status is not granted; ``details`` hold the status and the failure info."""

    code = "timestamp_rejected"


# --- values


@dataclass(frozen=True)
class TsaSigner:
    """The TSA's signing key with its certificate (DER) and the CA certificates above it (DER, leaf first)."""

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: bytes
    chain: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise TypeError("the TSA key must be an EC or RSA private key")
        try:
            public_key = self.x509_certificate.public_key()
        except (ValueError, UnsupportedAlgorithm) as error:
            raise TimestampSignerInvalid(f"The TSA certificate is not readable: {error}.") from error
        if public_key != self.private_key.public_key():
            raise TimestampSignerInvalid("The TSA's private key does not belong to its certificate.")

    @cached_property
    def x509_certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate)

    @cached_property
    def asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate)


@dataclass(frozen=True)
class TokenInfo:
    """What a verified token says: when (``gen_time``, aware UTC), over what, by whom, under which policy."""

    gen_time: datetime
    serial: int
    digest: bytes
    hash_algorithm: str
    policy: str
    tsa_subject: str  # RFC 4514 subject of the TSA certificate
    nonce: int | None = None
    accuracy: timedelta | None = None
    certificate: bytes = field(default=b"", repr=False)  # the TSA certificate (DER)


# --- issuing


def tsa_timestamp(
    *,
    digest: bytes,
    hash_algorithm: str = "sha256",
    now: datetime,
    serial: int,
    signer: TsaSigner,
    nonce: int | None = None,
    policy: str = TSA_POLICY_OID,
    include_certificate: bool = True,
    accuracy: timedelta | None = DEFAULT_ACCURACY,
) -> bytes:
    """A DER TimeStampToken stating that ``digest`` (made with ``hash_algorithm``) existed at ``now``.

    ``serial`` must be unique for this TSA (a random 127-bit number from ``tsa_serial_new`` will do).
    ``now`` is truncated to milliseconds. With ``include_certificate`` the TSA certificate and its chain
    travel in the token, so that a verifier only needs the root.
    """
    _check_imprint(digest, hash_algorithm)
    _check_serial(serial)
    if nonce is not None:
        _check_nonce(nonce)
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    gen_time = now.astimezone(UTC)
    gen_time = gen_time.replace(microsecond=gen_time.microsecond // 1000 * 1000)
    certificate = signer.x509_certificate
    if not certificate.not_valid_before_utc <= gen_time <= certificate.not_valid_after_utc:
        raise TimestampSignerInvalid(
            f"The TSA certificate is valid from {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC, not at {gen_time:%Y-%m-%d %H:%M} UTC; "
            "renew the TSA certificate."
        )
    tst_info: dict[str, Any] = {
        "version": "v1",
        "policy": policy,
        "message_imprint": {
            "hash_algorithm": {"algorithm": HASH_ALGORITHMS[hash_algorithm][0]},
            "hashed_message": digest,
        },
        "serial_number": serial,
        "gen_time": gen_time,
        "tsa": asn1_x509.GeneralName(name="directory_name", value=signer.asn1_certificate.subject),
    }
    if accuracy is not None:
        tst_info["accuracy"] = _accuracy_value(accuracy)
    if nonce is not None:
        tst_info["nonce"] = nonce
    try:
        content = asn1_tsp.TSTInfo(tst_info).dump()
    except ValueError as error:  # a policy that is not a dotted OID
        raise ValueError(f"the TSA policy {policy!r} is not an OID: {error}") from error
    return _signed_token(content, gen_time=gen_time, signer=signer, include_certificate=include_certificate)


def tsa_response(
    request_der: bytes,
    *,
    now: datetime,
    serial: int,
    signer: TsaSigner,
    policy: str = TSA_POLICY_OID,
    accepted_policies: Sequence[str] = (),
    accuracy: timedelta | None = DEFAULT_ACCURACY,
) -> bytes:
    """The DER TimeStampResp to a DER TimeStampReq: a token, or a rejection saying why (RFC 3161 §2.4.2).

    A request may ask for ``policy`` or one of ``accepted_policies`` (the token then names the one asked for);
    the TSA certificate is included when the request sets certReq, and the request's nonce is echoed.
    """
    try:
        accepted = _accept_request(request_der, policies=(policy, *accepted_policies))
        token = tsa_timestamp(
            digest=accepted.digest,
            hash_algorithm=accepted.hash_algorithm,
            now=now,
            serial=serial,
            signer=signer,
            nonce=accepted.nonce,
            policy=accepted.policy or policy,
            include_certificate=accepted.cert_req,
            accuracy=accuracy,
        )
    except _Refused as refused:
        return _rejection(refused)
    except TimestampSignerInvalid:
        return _rejection(
            _Refused("system_failure", "The time-stamping authority cannot sign at the moment.")
        )
    granted = {"status": {"status": "granted"}, "time_stamp_token": asn1_cms.ContentInfo.load(token)}
    return bytes(_TimeStampResp(granted).dump())


def tsa_serial_new() -> int:
    """A fresh token serial: 127 random bits with the top one set, so unique without coordination."""
    return (1 << 126) | secrets.randbits(126)


def tsa_token_from_response(response_der: bytes) -> bytes:
    """The DER TimeStampToken in a granted DER TimeStampResp; ``TimestampRejected`` with the TSA's reasons."""
    try:
        response = _TimeStampResp.load(response_der, strict=True)
        status = response["status"]
        status_name = status["status"].native
        failures = sorted(status["fail_info"].native or ())
        text = " ".join(status["status_string"].native or ())
        token = response["time_stamp_token"]
    except _PARSE_ERRORS as error:
        raise TokenMalformed(
            f"This is not a readable RFC 3161 time-stamp response ({_reason(error)})."
        ) from error
    if status_name not in {"granted", "granted_with_mods"}:
        raise TimestampRejected(
            f"The time-stamping authority refused the request ({status_name}: {', '.join(failures) or '-'})"
            + (f": {text}" if text else "."),
            details={"status": str(status_name), "fail_info": failures, "status_string": text},
        )
    if isinstance(token, asn1_core.Void):
        raise TokenMalformed("The time-stamp response is granted but holds no token.")
    return bytes(token.dump())


# --- verifying


def tsa_token_verify(
    token: bytes,
    *,
    digest: bytes,
    trust_roots: Sequence[bytes],
    hash_algorithm: str = "sha256",
    certificates: Sequence[bytes] = (),
    nonce: int | None = None,
    at: datetime | None = None,
) -> TokenInfo:
    """Check a DER TimeStampToken over ``digest`` offline, or raise a ``TimestampError`` subclass saying why.

    Checked: the CMS structure and that its content is a TSTInfo; the messageDigest attribute against the
    TSTInfo; the signature over the signed attributes; that the ESS signing certificate (v2, or v1) names the
    signing certificate; that the certificate is a TSA certificate (extendedKeyUsage timeStamping only, and
    critical); that it chains to one of ``trust_roots`` (DER) at ``at``, by default at the token's genTime;
    then that the imprint is ``digest`` made with ``hash_algorithm`` and, when given, that the nonce matches.

    ``certificates`` (DER) are the TSA certificate and intermediates for tokens that do not carry them.
    ``openssl ts -verify`` checks the chain at the current time instead of the genTime.
    """
    if at is not None and at.utcoffset() is None:
        raise ValueError("at must be an aware datetime")
    signed_data, signer_info, content = _load_token(token)
    tst_info = _load_tst_info(content)
    signer_certificate, asn1_signer = _find_signer(signed_data, signer_info, certificates)
    signature_hash = _signature_hash(signer_info)
    attributes = _signed_attributes(signer_info)
    _check_message_digest(attributes, content, signature_hash)
    _check_signature(signer_info, signer_certificate, signature_hash)
    _check_signing_certificate(attributes, signer_certificate, asn1_signer)
    _check_timestamping_certificate(signer_certificate)
    gen_time = tst_info["gen_time"].native.astimezone(UTC)
    _check_chain(signer_certificate, signed_data, certificates, trust_roots, at=at or gen_time)
    imprint = tst_info["message_imprint"]
    token_hash = _OID_HASH.get(
        imprint["hash_algorithm"]["algorithm"].dotted, imprint["hash_algorithm"]["algorithm"].dotted
    )
    token_digest = bytes(imprint["hashed_message"].native)
    if token_hash != hash_algorithm or token_digest != digest:
        raise TokenImprintMismatch(
            f"The token stamps the {token_hash} digest {token_digest.hex()}, not the {hash_algorithm} digest "
            f"{digest.hex()}: it belongs to other data.",
            details={"token_digest": token_digest.hex(), "token_hash_algorithm": token_hash},
        )
    token_nonce = tst_info["nonce"].native
    if nonce is not None and token_nonce != nonce:
        raise TokenNonceMismatch(f"The token's nonce is {token_nonce}, not the {nonce} of the request.")
    return TokenInfo(
        gen_time=gen_time,
        serial=tst_info["serial_number"].native,
        digest=token_digest,
        hash_algorithm=token_hash,
        policy=tst_info["policy"].dotted,
        tsa_subject=signer_certificate.subject.rfc4514_string(),
        nonce=token_nonce,
        accuracy=_accuracy_timedelta(tst_info["accuracy"]),
        certificate=signer_certificate.public_bytes(_DER),
    )


# --- helpers: issuing

_DER = serialization.Encoding.DER


def _reason(error: Exception) -> str:
    """The first line of a library's error: asn1crypto adds "while parsing ..." lines."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _hash_names() -> str:
    return ", ".join(HASH_ALGORITHMS)


def _check_imprint(digest: bytes, hash_algorithm: str) -> None:
    if hash_algorithm not in HASH_ALGORITHMS:
        raise TimestampHashUnsupported(
            f"The TSA does not stamp {hash_algorithm} digests; use one of {_hash_names()}.",
            details={"hash_algorithm": hash_algorithm},
        )
    length = HASH_ALGORITHMS[hash_algorithm][1]
    if not isinstance(digest, bytes) or len(digest) != length:
        raise TimestampDigestInvalid(
            f"A {hash_algorithm} digest is {length} bytes; this is not one.",
            details={"hash_algorithm": hash_algorithm},
        )


def _check_serial(serial: int) -> None:
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 < serial < 1 << MAX_SERIAL_BITS:
        raise TimestampSerialInvalid(
            f"A token serial number is a positive integer of at most {MAX_SERIAL_BITS} bits."
        )


def _check_nonce(nonce: int) -> None:
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce < 1 << MAX_NONCE_BITS:
        raise TimestampNonceInvalid(f"A nonce is an integer from 0 to 2^{MAX_NONCE_BITS} - 1.")


def _accuracy_value(accuracy: timedelta) -> dict[str, int]:
    micros_total = accuracy // timedelta(microseconds=1)
    if micros_total <= 0:
        raise ValueError("accuracy must be positive")
    seconds, rest = divmod(micros_total, 1_000_000)
    millis, micros = divmod(rest, 1000)
    # RFC 3161 §2.4.2: absent fields are zero; millis and micros are 1..999 when present.
    parts = {"seconds": seconds, "millis": millis, "micros": micros}
    return {name: value for name, value in parts.items() if value}


def _accuracy_timedelta(accuracy: asn1_tsp.Accuracy) -> timedelta | None:
    value = accuracy.native
    if value is None:
        return None
    return timedelta(
        seconds=value["seconds"] or 0, milliseconds=value["millis"] or 0, microseconds=value["micros"] or 0
    )


def _signing_time(moment: datetime) -> asn1_cms.Time:
    # RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
    if 1950 <= moment.year < 2050:
        return asn1_cms.Time(name="utc_time", value=moment)
    return asn1_cms.Time(name="general_time", value=moment)


@functools.lru_cache(maxsize=8)
def _ess_signing_certificate(certificate_der: bytes) -> bytes:
    """The DER SigningCertificateV2 naming a TSA certificate, made once per certificate: asn1crypto takes some
    milliseconds to encode it, more than everything else in a token together."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    issuer_serial = {
        "issuer": [asn1_x509.GeneralName(name="directory_name", value=certificate.issuer)],
        "serial_number": certificate.serial_number,
    }
    # ESSCertIDv2 with its default hashAlgorithm (SHA-256), which DER leaves out (RFC 5035 §5.4.1.1).
    cert_id = {"cert_hash": hashlib.sha256(certificate_der).digest(), "issuer_serial": issuer_serial}
    return bytes(asn1_tsp.SigningCertificateV2({"certs": [cert_id]}).dump())


@dataclass(frozen=True)
class _TokenParts:
    """The DER pieces of a token that depend only on the signer: made once per signer with asn1crypto, then
    put together around each token's own parts (``_signed_token``). asn1crypto took 2–3 ms to build and
    encode a whole token, a cost every bid paid in a deadline rush."""

    signer_identifier: bytes  # IssuerAndSerialNumber
    certificates: bytes  # [0] IMPLICIT CertificateSet: the TSA certificate and its chain
    content_type_attribute: bytes  # content-type = id-ct-TSTInfo
    signing_certificate_attribute: bytes  # the ESS SigningCertificateV2 of the TSA certificate
    signature_algorithm: bytes  # AlgorithmIdentifier of the key's signature


_SHA256_ALGORITHM = asn1_algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
_SIGNING_TIME_TYPE = asn1_cms.CMSAttributeType("signing_time").dump()
_MESSAGE_DIGEST_TYPE = asn1_cms.CMSAttributeType("message_digest").dump()
_TST_INFO_TYPE = asn1_cms.ContentType("tst_info").dump()
_SIGNED_DATA_TYPE = asn1_cms.ContentType("signed_data").dump()
_VERSION_1, _VERSION_3 = asn1_core.Integer(1).dump(), asn1_core.Integer(3).dump()
_SEQUENCE, _SET, _OCTET_STRING, _CONTEXT_0 = 0x30, 0x31, 0x04, 0xA0


@functools.lru_cache(maxsize=8)
def _token_parts(certificate_der: bytes, chain: tuple[bytes, ...], signature_algorithm: str) -> _TokenParts:
    certificate = asn1_x509.Certificate.load(certificate_der)
    signer_identifier = asn1_cms.IssuerAndSerialNumber(
        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
    )
    signing_certificate = asn1_tsp.SigningCertificateV2.load(_ess_signing_certificate(certificate_der))
    return _TokenParts(
        signer_identifier=signer_identifier.dump(),
        certificates=der_encode(_CONTEXT_0, b"".join(sorted((certificate_der, *chain)))),  # DER SET OF
        content_type_attribute=asn1_cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}).dump(),
        signing_certificate_attribute=asn1_cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [signing_certificate]}
        ).dump(),
        signature_algorithm=asn1_algos.SignedDigestAlgorithm({"algorithm": signature_algorithm}).dump(),
    )


def _signed_token(
    content: bytes, *, gen_time: datetime, signer: TsaSigner, include_certificate: bool
) -> bytes:
    """The DER ContentInfo of a SignedData over the TSTInfo ``content`` (RFC 3161 §2.4.2, RFC 5652 §5)."""
    key = signer.private_key
    algorithm = "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsassa_pkcs1v15"
    parts = _token_parts(signer.certificate, signer.chain, algorithm)
    attributes = b"".join(
        sorted(  # a DER SET OF, in the order of the encodings
            (
                parts.content_type_attribute,
                der_encode(_SEQUENCE, _SIGNING_TIME_TYPE + der_encode(_SET, _signing_time(gen_time).dump())),
                der_encode(
                    _SEQUENCE,
                    _MESSAGE_DIGEST_TYPE
                    + der_encode(_SET, der_encode(_OCTET_STRING, hashlib.sha256(content).digest())),
                ),
                parts.signing_certificate_attribute,
            )
        )
    )
    to_sign = der_encode(_SET, attributes)  # what RFC 5652 §5.4 says is signed
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    signer_info = der_encode(
        _SEQUENCE,
        _VERSION_1
        + parts.signer_identifier
        + _SHA256_ALGORITHM
        + der_encode(_CONTEXT_0, attributes)  # signedAttrs: [0] IMPLICIT, the contents of what was signed
        + parts.signature_algorithm
        + der_encode(_OCTET_STRING, signature),
    )
    signed_data = der_encode(
        _SEQUENCE,
        _VERSION_3  # RFC 5652 §5.1: v3 because the content type is not id-data
        + der_encode(_SET, _SHA256_ALGORITHM)
        + der_encode(_SEQUENCE, _TST_INFO_TYPE + der_encode(_CONTEXT_0, der_encode(_OCTET_STRING, content)))
        + (parts.certificates if include_certificate else b"")
        + der_encode(_SET, signer_info),
    )
    return der_encode(_SEQUENCE, _SIGNED_DATA_TYPE + der_encode(_CONTEXT_0, signed_data))


class _Refused(Exception):  # internal: turned into a rejection response, never raised out
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure  # a PKIFailureInfo bit name of asn1crypto's map: "bad_alg", "bad_request" ...
        self.text = text


@dataclass(frozen=True)
class _AcceptedRequest:
    digest: bytes
    hash_algorithm: str
    policy: str | None
    nonce: int | None
    cert_req: bool


def _accept_request(request_der: bytes, *, policies: Sequence[str]) -> _AcceptedRequest:
    """What a TimeStampReq asks for, or ``_Refused`` with the PKIFailureInfo of RFC 3161 §2.4.2."""
    if len(request_der) > MAX_REQUEST_BYTES:
        raise _Refused("bad_data_format", "The request is too large to be a time-stamp request.")
    try:
        request = asn1_tsp.TimeStampReq.load(request_der, strict=True)
        _ = request.native  # parse every field now, so a damaged one is refused here
    except _PARSE_ERRORS as error:
        raise _Refused(
            "bad_data_format", f"This is not a readable RFC 3161 time-stamp request ({_reason(error)})."
        ) from error
    if request["version"].native != "v1":
        raise _Refused("bad_request", "Only version 1 time-stamp requests are accepted.")
    algorithm = request["message_imprint"]["hash_algorithm"]
    oid = algorithm["algorithm"].dotted
    name = _OID_HASH.get(oid)
    if name is None or algorithm["parameters"].native is not None:
        raise _Refused("bad_alg", f"The hash algorithm {oid} is not accepted; use one of {_hash_names()}.")
    digest = bytes(request["message_imprint"]["hashed_message"].native)
    length = HASH_ALGORITHMS[name][1]
    if len(digest) != length:
        raise _Refused("bad_data_format", f"A {name} digest has {length} bytes, not {len(digest)}.")
    policy = request["req_policy"].dotted if request["req_policy"].native is not None else None
    if policy is not None and policy not in policies:
        raise _Refused("unaccepted_policy", f"This TSA does not stamp under the policy {policy}.")
    if request["extensions"].native:
        raise _Refused("unaccepted_extensions", "This TSA accepts no request extensions.")
    nonce = request["nonce"].native
    if nonce is not None and not 0 <= nonce < 1 << MAX_NONCE_BITS:
        raise _Refused("bad_request", f"The nonce must be a number from 0 to 2^{MAX_NONCE_BITS} - 1.")
    return _AcceptedRequest(
        digest=digest,
        hash_algorithm=name,
        policy=policy,
        nonce=nonce,
        cert_req=bool(request["cert_req"].native),
    )


def _rejection(refusal: _Refused) -> bytes:
    status = asn1_tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [refusal.text], "fail_info": {refusal.failure}}
    )
    return bytes(_TimeStampResp({"status": status}).dump())


# --- helpers: verifying

_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def _load_token(token: bytes) -> tuple[asn1_cms.SignedData, asn1_cms.SignerInfo, bytes]:
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenMalformed("This is too large to be a time-stamp token.")
    try:
        info = asn1_cms.ContentInfo.load(token, strict=True)
        content_type = info["content_type"].native
        if content_type != "signed_data":
            raise TokenMalformed(f"A time-stamp token is a CMS SignedData, not {content_type}.")
        signed_data = info["content"]
        encapsulated = signed_data["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise TokenMalformed("The SignedData does not hold a TSTInfo: it is not a time-stamp token.")
        if encapsulated["content"].native is None:
            raise TokenMalformed("The time-stamp token holds no TSTInfo.")
        content = bytes(encapsulated["content"].__bytes__())
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise TokenMalformed(f"A time-stamp token has one signer, not {len(signer_infos)}.")
        signer_info = signer_infos[0]
        if isinstance(signer_info["signed_attrs"], asn1_core.Void):
            raise TokenMalformed("The time-stamp token's signature has no signed attributes.")
    except TokenMalformed:
        raise
    except _PARSE_ERRORS as error:
        raise TokenMalformed(
            f"This is not a readable RFC 3161 time-stamp token ({_reason(error)})."
        ) from error
    return signed_data, signer_info, content


def _load_tst_info(content: bytes) -> asn1_tsp.TSTInfo:
    try:
        tst_info = asn1_tsp.TSTInfo.load(content, strict=True)
        _ = tst_info.native
    except _PARSE_ERRORS as error:
        raise TokenMalformed(f"The token's TSTInfo is not readable ({_reason(error)}).") from error
    if tst_info["version"].native != "v1":
        raise TokenMalformed("The token's TSTInfo is not version 1.")
    return tst_info


def _token_certificates(signed_data: asn1_cms.SignedData) -> list[bytes]:
    return [
        bytes(choice.chosen.dump()) for choice in signed_data["certificates"] if choice.name == "certificate"
    ]


def _load_certificate(der: bytes) -> tuple[x509.Certificate, asn1_x509.Certificate]:
    try:
        return x509.load_der_x509_certificate(der), asn1_x509.Certificate.load(der, strict=True)
    except _PARSE_ERRORS as error:
        raise TokenMalformed(f"A certificate for the token is not readable ({_reason(error)}).") from error


def _find_signer(
    signed_data: asn1_cms.SignedData, signer_info: asn1_cms.SignerInfo, certificates: Sequence[bytes]
) -> tuple[x509.Certificate, asn1_x509.Certificate]:
    sid = signer_info["sid"]
    for der in (*_token_certificates(signed_data), *certificates):
        certificate, asn1_certificate = _load_certificate(der)
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                wanted["serial_number"].native == asn1_certificate.serial_number
                and wanted["issuer"] == asn1_certificate.issuer
            ):
                return certificate, asn1_certificate
        elif sid.chosen.native == asn1_certificate.key_identifier:
            return certificate, asn1_certificate
    raise TokenSignerUnknown(
        "The token does not carry the TSA certificate; pass it (and its intermediates) with the token."
    )


def _signature_hash(signer_info: asn1_cms.SignerInfo) -> str:
    name = signer_info["digest_algorithm"]["algorithm"].native
    if name not in _SIGNATURE_HASHES:
        raise TokenAlgorithmUnsupported(f"The token is signed with the digest {name}, which is not accepted.")
    return str(name)


def _signed_attributes(signer_info: asn1_cms.SignerInfo) -> dict[str, list[Any]]:
    attributes: dict[str, list[Any]] = {}
    for attribute in signer_info["signed_attrs"]:
        name = attribute["type"].native
        if name in attributes:
            raise TokenMalformed(f"The signed attribute {name} appears twice.")
        attributes[name] = list(attribute["values"])
    if [value.native for value in attributes.get("content_type", [])] != ["tst_info"]:
        raise TokenMalformed("The signed content-type attribute does not say TSTInfo.")
    return attributes


def _check_message_digest(attributes: dict[str, list[Any]], content: bytes, hash_name: str) -> None:
    values = attributes.get("message_digest", [])
    if len(values) != 1:
        raise TokenMalformed("The token has no single message-digest attribute.")
    if bytes(values[0].native) != hashlib.new(hash_name, content).digest():
        raise TokenContentAltered(
            "The token's TSTInfo does not match the digest its TSA signed: the token was altered."
        )


def _check_signature(signer_info: asn1_cms.SignerInfo, certificate: x509.Certificate, hash_name: str) -> None:
    # RFC 5652 §5.4: the signature covers the DER SET OF attributes, not their [0] IMPLICIT form in the token.
    to_verify = _der_set(bytes(signer_info["signed_attrs"].contents))
    signature = bytes(signer_info["signature"].native)
    algorithm = signer_info["signature_algorithm"]["algorithm"].native
    chosen_hash = _SIGNATURE_HASHES[hash_name]()
    public_key = certificate.public_key()
    try:
        if algorithm in _EC_SIGNATURE_ALGORITHMS and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, to_verify, ec.ECDSA(chosen_hash))
        elif algorithm in _RSA_SIGNATURE_ALGORITHMS and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, to_verify, padding.PKCS1v15(), chosen_hash)
        else:
            raise TokenAlgorithmUnsupported(
                f"The token's signature algorithm {algorithm} does not fit the TSA's key or is not accepted."
            )
    except InvalidSignature as error:
        raise TokenSignatureInvalid(
            "The token's signature does not verify with the TSA certificate: it was altered or forged."
        ) from error


def _der_set(contents: bytes) -> bytes:
    """A DER SET OF holding ``contents`` (tag 0x31 and the definite length)."""
    length = len(contents)
    if length < 0x80:
        return b"\x31" + bytes([length]) + contents
    size = (length.bit_length() + 7) // 8
    return b"\x31" + bytes([0x80 | size]) + length.to_bytes(size, "big") + contents


def _check_signing_certificate(
    attributes: dict[str, list[Any]], certificate: x509.Certificate, asn1_certificate: asn1_x509.Certificate
) -> None:
    der = certificate.public_bytes(_DER)
    if "signing_certificate_v2" in attributes:
        cert_ids = attributes["signing_certificate_v2"][0]["certs"]
        hash_name = cert_ids[0]["hash_algorithm"]["algorithm"].native if len(cert_ids) else None
    elif "signing_certificate" in attributes:
        cert_ids = attributes["signing_certificate"][0]["certs"]
        hash_name = "sha1"
    else:
        raise TokenSignerMismatch(
            "The token names no signing certificate (ESS signing-certificate attribute)."
        )
    if not len(cert_ids):
        raise TokenSignerMismatch("The token's signing-certificate attribute lists no certificate.")
    if hash_name not in _ESS_HASHES:
        raise TokenAlgorithmUnsupported(
            f"The signing-certificate attribute uses the unaccepted hash {hash_name}."
        )
    first = cert_ids[0]  # RFC 5035 §5.4: the first one identifies the signing certificate
    issuer_serial = first["issuer_serial"]
    matches = bytes(first["cert_hash"].native) == hashlib.new(str(hash_name), der).digest()
    if matches and issuer_serial.native is not None:
        matches = issuer_serial["serial_number"].native == asn1_certificate.serial_number and any(
            name.name == "directory_name" and name.chosen == asn1_certificate.issuer
            for name in issuer_serial["issuer"]
        )
    if not matches:
        raise TokenSignerMismatch("The token's signing-certificate attribute names another certificate.")


def _check_timestamping_certificate(certificate: x509.Certificate) -> None:
    subject = certificate.subject.rfc4514_string()
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    except ValueError as error:
        raise TokenMalformed(
            f"The TSA certificate's extensions are not readable ({_reason(error)})."
        ) from error
    if eku is None or not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TokenNotTimestampingCertificate(
            f"The token was signed with {subject}, which is not a time-stamping certificate: RFC 3161 §2.3 "
            "needs a critical extendedKeyUsage of timeStamping only.",
            details={"subject": subject},
        )
    try:
        key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    allowed = key_usage.digital_signature or key_usage.content_commitment
    others = (
        key_usage.key_encipherment,
        key_usage.data_encipherment,
        key_usage.key_agreement,
        key_usage.key_cert_sign,
        key_usage.crl_sign,
    )
    if not allowed or any(others):
        raise TokenNotTimestampingCertificate(
            f"The key usage of {subject} does not allow signing time stamps (digitalSignature only).",
            details={"subject": subject},
        )


def _check_chain(
    certificate: x509.Certificate,
    signed_data: asn1_cms.SignedData,
    certificates: Sequence[bytes],
    trust_roots: Sequence[bytes],
    *,
    at: datetime,
) -> None:
    if not trust_roots:
        raise ValueError("trust_roots must name at least one CA certificate")
    roots = [x509.load_der_x509_certificate(der) for der in trust_roots]
    intermediates = [
        x509.load_der_x509_certificate(der)
        for der in (*_token_certificates(signed_data), *certificates)
        if der != certificate.public_bytes(_DER)
    ]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(roots))
        .time(at)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            # The end-entity's extensions were checked above against RFC 3161, not the web PKI's rules.
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, intermediates)
    except verification.VerificationError as error:
        raise TokenUntrusted(
            f"The TSA certificate {certificate.subject.rfc4514_string()} does not lead to a trusted CA at "
            f"{at:%Y-%m-%d %H:%M:%S} UTC ({_reason(error)}).",
            details={"issuer": certificate.issuer.rfc4514_string()},
        ) from error
