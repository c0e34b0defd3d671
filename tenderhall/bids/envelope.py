"""Sealed-bid envelopes: reading and checking CMS EnvelopedData / AuthEnvelopedData. Pure: no ORM, no clock.

A bid is uploaded as one CMS ``ContentInfo`` (RFC 5652) in BER/DER: either ``EnvelopedData`` with AES-CBC or
``AuthEnvelopedData`` (RFC 5083) with AES-GCM (RFC 5084), whose recipients are all ``KeyTransRecipientInfo``
with RSA key transport (PKCS#1 v1.5 or OAEP, RFC 3560). ``openssl cms -encrypt`` makes exactly this;
docs/sealed-bids.md lists the commands. Anything else is refused with an ``EnvelopeRefused`` whose
``details["reason"]`` is one of ``Reason``.

What is accepted, and why:

* Encodings: DER, and BER with indefinite lengths (what ``openssl cms -encrypt -stream`` and other streaming
  CMS writers produce; RFC 5652 allows BER). The platform stores and hashes the bytes as uploaded and never
  re-encodes them. PEM (``-----BEGIN CMS-----``) is refused as ``not_cms`` with
  ``details["encoding"] = "pem"`` so that the bidder can convert it; the stored object is always binary.
* Content encryption: AES-128/192/256-CBC in EnvelopedData; AES-128/192/256-GCM in AuthEnvelopedData only
  (GCM in EnvelopedData would drop the tag). GCM: a 12-byte nonce and a 12 to 16-byte tag; CBC: a 16-byte IV.
* Inner content type: id-data (what ``openssl cms -encrypt`` always writes, even when its input is the DER
  ``ContentInfo`` of a SignedData from ``openssl cms -sign``) or id-signedData.
* Recipients: every one must be a KeyTransRecipientInfo with RSA PKCS#1 v1.5 or RSA-OAEP (SHA-1/224/256/
  384/512, MGF1 with any of those, empty label), identified by issuer and serial number or by subject key
  identifier.
  One recipient of another kind (an EC certificate gives a KeyAgreeRecipientInfo, a password a
  PasswordRecipientInfo ...) refuses the envelope: the platform lists the recipients exactly.

CBC has no integrity: a wrong key or a flipped byte may decrypt without error to garbage. The opening must
check the bidder's signature inside; GCM detects both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tenderhall.core.der import (
    CONTEXT_0_CONSTRUCTED,
    CONTEXT_0_PRIMITIVE,
    OID,
    SEQUENCE,
    SET,
    der_children,
    der_element,
    der_encode,
    der_whole,
)
from tenderhall.core.errors import DomainError

# A bid of hundreds of MB is possible (drawings, scans); anything beyond this is refused before parsing.
DEFAULT_MAX_SIZE = 200 * 1024 * 1024

ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
ID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"
CONTENT_TYPES = frozenset({ID_DATA, ID_SIGNED_DATA})

EnvelopeKind = Literal["enveloped", "auth_enveloped"]


class Reason(StrEnum):
    """Why an envelope was refused: the stable value of ``EnvelopeRefused.details["reason"]``."""

    TOO_LARGE = "too_large"
    NOT_CMS = "not_cms"
    TRUNCATED = "truncated"
    TRAILING_DATA = "trailing_data"
    NOT_ENVELOPED = "not_enveloped"
    MALFORMED = "malformed"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    UNSUPPORTED_CONTENT_ENCRYPTION = "unsupported_content_encryption"
    INVALID_PARAMETERS = "invalid_parameters"
    CONTENT_MISSING = "content_missing"
    NO_RECIPIENTS = "no_recipients"
    UNSUPPORTED_RECIPIENT_KIND = "unsupported_recipient_kind"
    UNSUPPORTED_KEY_TRANSPORT = "unsupported_key_transport"
    RECIPIENT_MISSING = "recipient_missing"
    RECIPIENT_KEY_MISMATCH = "recipient_key_mismatch"
    KEY_UNWRAP_FAILED = "key_unwrap_failed"
    CONTENT_KEY_INVALID = "content_key_invalid"
    DECRYPTION_FAILED = "decryption_failed"


class EnvelopeRefused(DomainError):
    code = "envelope_refused"
    status = 422

    def __init__(self, message: str, *, reason: Reason, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": str(reason), **(details or {})})
        self.reason = reason


@dataclass(frozen=True)
class Recipient:
    """One KeyTransRecipientInfo: who can unwrap the content key, and the wrapped key itself."""

    issuer: (
        str | None
    )  # RFC 4514, as cryptography's Name.rfc4514_string() writes it; None if identified by SKI
    serial: int | None
    subject_key_identifier: bytes | None
    key_transport: str  # "rsa-pkcs1v15", "rsa-oaep-sha256", or "rsa-oaep-sha256-mgf1-sha1" if MGF1 differs
    encrypted_key: bytes = field(repr=False)
    issuer_der: bytes | None = field(default=None, repr=False)  # for matching by RFC 5280 name comparison


@dataclass(frozen=True)
class EnvelopeInfo:
    kind: EnvelopeKind
    content_encryption: str  # "aes-128-cbc" ... "aes-256-gcm"
    recipients: tuple[Recipient, ...]
    content_type: str  # dotted OID of the encrypted content: ID_DATA or ID_SIGNED_DATA
    encrypted_content_length: int


# --- algorithms ---------------------------------------------------------------------------------------------

_CONTENT_ENCRYPTION: dict[str, tuple[str, int, Literal["cbc", "gcm"]]] = {
    "2.16.840.1.101.3.4.1.2": ("aes-128-cbc", 16, "cbc"),
    "2.16.840.1.101.3.4.1.22": ("aes-192-cbc", 24, "cbc"),
    "2.16.840.1.101.3.4.1.42": ("aes-256-cbc", 32, "cbc"),
    "2.16.840.1.101.3.4.1.6": ("aes-128-gcm", 16, "gcm"),
    "2.16.840.1.101.3.4.1.26": ("aes-192-gcm", 24, "gcm"),
    "2.16.840.1.101.3.4.1.46": ("aes-256-gcm", 32, "gcm"),
}
_BY_NAME = {name: (size, mode) for name, size, mode in _CONTENT_ENCRYPTION.values()}
_GCM_NONCE_LENGTH = 12
_GCM_TAG_LENGTHS = range(12, 17)  # RFC 5084 AES-GCM-ICVlen
_CBC_BLOCK = 16

_RSAES_PKCS1V15 = "1.2.840.113549.1.1.1"
_RSAES_OAEP = "1.2.840.113549.1.1.7"
_MGF1 = "1.2.840.113549.1.1.8"
_P_SPECIFIED = "1.2.840.113549.1.1.9"
_OAEP_HASHES: dict[str, str] = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_RECIPIENT_KINDS = {
    "kari": "key agreement (an EC or DH certificate)",
    "kekri": "a pre-shared key-encryption key",
    "pwri": "a password",
    "ori": "another recipient type",
}
# RFC 4514 short names, as cryptography writes them; other attributes are written as dotted OIDs.
_NAME_ATTRIBUTES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
# asn1crypto raises these on malformed input that passed the framing check.
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


class _GcmParameters(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 5084 GCMParameters; asn1crypto has no spec for it."""

    _fields = [  # noqa: RUF012  # asn1crypto's declaration style
        ("aes_nonce", asn1_core.OctetString),
        ("aes_icvlen", asn1_core.Integer, {"default": 12}),
    ]


# --- public API ---------------------------------------------------------------------------------------------


def envelope_inspect(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> EnvelopeInfo:
    """Parse and check an uploaded envelope without decrypting anything; refuse it if it is not acceptable."""
    return _parse(data, max_size=max_size).info


def envelope_require_recipients(
    info: EnvelopeInfo, *, certificates: Mapping[str, bytes]
) -> dict[str, Recipient]:
    """Each named DER certificate (e.g. ``{"bidder": ..., "escrow": ...}``) must be a recipient.

    Returns the recipient of each name. Refuses ``recipient_missing`` with ``details["missing"]`` listing the
    names that have none, or ``recipient_key_mismatch`` if a recipient's wrapped key cannot have been made
    with that certificate's RSA key (its length differs from the modulus length).
    """
    found: dict[str, Recipient] = {}
    missing: list[str] = []
    for name, certificate_der in certificates.items():
        recipient = _find_recipient(info, _load_certificate(certificate_der))
        if recipient is None:
            missing.append(name)
        else:
            found[name] = recipient
    if missing:
        raise EnvelopeRefused(
            f"The envelope is not encrypted to the required certificates: {', '.join(missing)}. "
            "Seal the bid again with every required certificate as a recipient.",
            reason=Reason.RECIPIENT_MISSING,
            details={"missing": missing},
        )
    return found


def recipient_for(info: EnvelopeInfo, certificate_der: bytes) -> Recipient:
    """The recipient that the DER certificate identifies; ``recipient_missing`` if there is none."""
    recipient = _find_recipient(info, _load_certificate(certificate_der))
    if recipient is None:
        raise EnvelopeRefused(
            "The envelope is not encrypted to this certificate.",
            reason=Reason.RECIPIENT_MISSING,
            details={"missing": ["certificate"]},
        )
    return recipient


def content_key_unwrap(recipient: Recipient, private_key: rsa.RSAPrivateKey) -> bytes:
    """Decrypt the recipient's wrapped content-encryption key with its RSA private key.

    With PKCS#1 v1.5 the OpenSSL inside ``cryptography`` applies implicit rejection: a wrong private key may
    return random bytes instead of failing. ``envelope_decrypt`` then fails (GCM) or yields garbage (CBC).
    """
    try:
        return private_key.decrypt(recipient.encrypted_key, _key_transport_padding(recipient.key_transport))
    except ValueError:
        raise EnvelopeRefused(
            "The content key could not be unwrapped with this private key.",
            reason=Reason.KEY_UNWRAP_FAILED,
        ) from None


def envelope_decrypt(data: bytes, *, content_key: bytes, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Decrypt the envelope's content with its content-encryption key (which the bidder hands over).

    AES-CBC: PKCS#7 padding is checked; AES-GCM: the tag (and any authenticated attributes) are checked.
    Every failure is the same ``decryption_failed`` refusal, which does not say what went wrong.
    """
    envelope = _parse(data, max_size=max_size)
    key_size, mode = _BY_NAME[envelope.info.content_encryption]
    if len(content_key) != key_size:
        raise EnvelopeRefused(
            f"The content key must be {key_size} bytes for {envelope.info.content_encryption}, "
            f"not {len(content_key)}.",
            reason=Reason.CONTENT_KEY_INVALID,
            details={"expected_length": key_size, "length": len(content_key)},
        )
    if mode == "cbc":
        return _decrypt_cbc(envelope, content_key)
    return _decrypt_gcm(envelope, content_key)


# --- decryption ---------------------------------------------------------------------------------------------


def _decryption_failed() -> EnvelopeRefused:
    return EnvelopeRefused(
        "The bid could not be decrypted with this content key: the key is wrong or the envelope was altered.",
        reason=Reason.DECRYPTION_FAILED,
    )


def _decrypt_cbc(envelope: _Envelope, content_key: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(content_key), modes.CBC(envelope.iv)).decryptor()
    padded = decryptor.update(envelope.ciphertext) + decryptor.finalize()
    unpadder = symmetric_padding.PKCS7(_CBC_BLOCK * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise _decryption_failed() from None


def _decrypt_gcm(envelope: _Envelope, content_key: bytes) -> bytes:
    assert envelope.mac is not None  # _parse sets it for every GCM envelope
    mode = modes.GCM(envelope.iv, envelope.mac, min_tag_length=len(envelope.mac))
    decryptor = Cipher(algorithms.AES(content_key), mode).decryptor()
    if envelope.aad is not None:
        decryptor.authenticate_additional_data(envelope.aad)
    plaintext = decryptor.update(envelope.ciphertext)
    try:
        return plaintext + decryptor.finalize()
    except InvalidTag:
        raise _decryption_failed() from None


def _key_transport_padding(name: str) -> padding.AsymmetricPadding:
    if name == "rsa-pkcs1v15":
        return padding.PKCS1v15()
    parts = name.split("-")
    # "rsa-oaep-<hash>" or "rsa-oaep-<hash>-mgf1-<hash>"; Recipient values only come from _parse.
    if parts[:2] != ["rsa", "oaep"] or len(parts) not in {3, 5} or (len(parts) == 5 and parts[3] != "mgf1"):
        raise ValueError(f"unknown key transport {name!r}")
    digest = _HASHES[parts[2]]
    mgf_digest = _HASHES[parts[4]] if len(parts) == 5 else digest
    return padding.OAEP(mgf=padding.MGF1(algorithm=mgf_digest()), algorithm=digest(), label=None)


# --- recipients ---------------------------------------------------------------------------------------------


def _load_certificate(certificate_der: bytes) -> asn1_x509.Certificate:
    """The platform's own certificates; a broken one is a programming error, not a refusal of the bid."""
    try:
        certificate = asn1_x509.Certificate.load(certificate_der, strict=True)
        certificate["tbs_certificate"]["serial_number"].native  # noqa: B018  # parse now, fail here
    except _PARSE_ERRORS as error:
        raise ValueError(f"not a DER X.509 certificate: {error}") from error
    return certificate


def _find_recipient(info: EnvelopeInfo, certificate: asn1_x509.Certificate) -> Recipient | None:
    tbs = certificate["tbs_certificate"]
    issuer = tbs["issuer"]
    serial = tbs["serial_number"].native
    key_identifier = certificate.key_identifier
    for recipient in info.recipients:
        if recipient.issuer_der is not None:
            matches = recipient.serial == serial and _same_name(recipient.issuer_der, issuer)
        else:
            matches = key_identifier is not None and recipient.subject_key_identifier == key_identifier
        if matches:
            _check_key_size(recipient, certificate)
            return recipient
    return None


def _same_name(der: bytes, name: asn1_x509.Name) -> bool:
    """RFC 5280 §7.1 comparison (case and spaces folded), by asn1crypto; byte equality where it gives up.
    The same bytes are the same name, without asn1crypto's folding of every attribute (milliseconds a bid)."""
    if der == bytes(name.dump()):
        return True
    try:
        return bool(asn1_x509.Name.load(der) == name)
    except _PARSE_ERRORS:
        return der == bytes(name.dump())


def _check_key_size(recipient: Recipient, certificate: asn1_x509.Certificate) -> None:
    public_key = certificate.public_key
    if public_key.algorithm != "rsa" or len(recipient.encrypted_key) != (public_key.bit_size + 7) // 8:
        raise EnvelopeRefused(
            "The envelope names this certificate as a recipient, but its wrapped key was not made with the "
            "certificate's RSA key.",
            reason=Reason.RECIPIENT_KEY_MISMATCH,
            details={"issuer": recipient.issuer, "serial": recipient.serial},
        )


def _rfc4514(name: asn1_x509.Name) -> str:
    rdns = []
    for rdn in reversed(list(name.chosen)):
        values = []
        for attribute in rdn:
            oid = attribute["type"].dotted
            value = attribute["value"]
            native = value.native
            text = _escape_dn_value(native) if isinstance(native, str) else "#" + value.dump().hex()
            values.append(f"{_NAME_ATTRIBUTES.get(oid, oid)}={text}")
        rdns.append("+".join(values))
    return ",".join(rdns)


def _escape_dn_value(value: str) -> str:
    """RFC 4514 §2.4, the same escaping as cryptography's ``Name.rfc4514_string()``."""
    if not value:
        return ""
    for special in ("\\", '"', "+", ",", ";", "<", ">"):
        value = value.replace(special, "\\" + special)
    value = value.replace("\0", "\\00")
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


# --- parsing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Envelope:
    info: EnvelopeInfo
    iv: bytes  # CBC IV or GCM nonce
    ciphertext: bytes | memoryview = field(repr=False)
    mac: bytes | None  # GCM tag
    aad: bytes | None  # DER of the authenticated attributes as a SET OF (RFC 5083 §2.2)


def _parse(data: bytes, *, max_size: int) -> _Envelope:
    if len(data) > max_size:
        raise EnvelopeRefused(
            f"The envelope is {len(data)} bytes; the limit is {max_size} bytes.",
            reason=Reason.TOO_LARGE,
            details={"size": len(data), "max_size": max_size},
        )
    _check_framing(data)
    hollow = _hollow(data)
    try:
        content_info = asn1_cms.ContentInfo.load(hollow[0] if hollow else data, strict=True)
        outer_type = content_info["content_type"].dotted
    except _PARSE_ERRORS:
        raise _not_cms() from None
    if outer_type not in {ID_ENVELOPED_DATA, ID_AUTH_ENVELOPED_DATA}:
        raise EnvelopeRefused(
            "This is a CMS structure but not an encrypted envelope "
            f"(its content type is {_oid_label(content_info['content_type'])}). "
            "Encrypt the signed bid with 'openssl cms -encrypt' or the tenderhall client.",
            reason=Reason.NOT_ENVELOPED,
            details={"content_type": outer_type},
        )
    try:
        return _parse_enveloped(
            content_info,
            authenticated=outer_type == ID_AUTH_ENVELOPED_DATA,
            ciphertext=hollow[1] if hollow else None,
        )
    except _PARSE_ERRORS as error:
        raise EnvelopeRefused(
            "The envelope is not well-formed CMS.",
            reason=Reason.MALFORMED,
            details={"error": str(error)[:200]},
        ) from None


def _hollow(data: bytes) -> tuple[bytes, memoryview] | None:
    """The envelope with its encrypted content emptied, and a view of that content: asn1crypto then parses
    kilobytes instead of copying megabytes (tenderhall.core.der). None when the envelope is not the plain
    DER the walk reads (BER from ``openssl cms -encrypt -stream``, for one): it is parsed whole instead."""
    view = memoryview(data)
    outer = der_whole(view, SEQUENCE)
    info = der_children(view, outer) if outer is not None else None
    if not info or len(info) != 2 or info[0].tag != OID or info[1].tag != CONTEXT_0_CONSTRUCTED:
        return None
    inner = der_element(view, info[1].start, info[1].end)
    children = der_children(view, inner) if inner is not None and inner.tag == SEQUENCE else None
    if inner is None or inner.end != info[1].end or children is None:
        return None
    # the (auth)encryptedContentInfo: the first SEQUENCE after the recipientInfos SET
    after = next((i + 1 for i, child in enumerate(children) if child.tag == SET), len(children))
    if after >= len(children) or children[after].tag != SEQUENCE:
        return None
    encrypted = children[after]
    parts = der_children(view, encrypted)
    if parts is None or len(parts) != 3 or parts[2].tag != CONTEXT_0_PRIMITIVE:
        return None
    empty = der_encode(
        SEQUENCE, bytes(view[parts[0].offset : parts[1].end]) + bytes([CONTEXT_0_PRIMITIVE, 0])
    )
    body = bytes(view[children[0].offset : encrypted.offset]) + empty + bytes(view[encrypted.end : inner.end])
    rebuilt = bytes(view[info[0].offset : info[0].end]) + der_encode(
        CONTEXT_0_CONSTRUCTED, der_encode(SEQUENCE, body)
    )
    return der_encode(SEQUENCE, rebuilt), view[parts[2].start : parts[2].end]


def _parse_enveloped(
    content_info: asn1_cms.ContentInfo, *, authenticated: bool, ciphertext: memoryview | None = None
) -> _Envelope:
    content = content_info["content"]
    content["version"].native  # noqa: B018  # parse now: a broken version is malformed
    aad: bytes | None = None
    mac: bytes | None = None
    if authenticated:
        encrypted_content_info = content["auth_encrypted_content_info"]
        mac = content["mac"].native
        auth_attrs = content["auth_attrs"]
        if not isinstance(auth_attrs, asn1_core.Void):
            # The [1] IMPLICIT tag is replaced by the SET OF tag; the rest is the attributes as sent.
            aad = b"\x31" + auth_attrs.dump()[1:]
    else:
        encrypted_content_info = content["encrypted_content_info"]
    recipients = _parse_recipients(content["recipient_infos"])

    content_type = encrypted_content_info["content_type"]
    if content_type.dotted not in CONTENT_TYPES:
        raise EnvelopeRefused(
            f"The encrypted content is {_oid_label(content_type)}; it must be a signed bid "
            "(id-signedData, or id-data holding the SignedData).",
            reason=Reason.UNSUPPORTED_CONTENT_TYPE,
            details={"content_type": content_type.dotted},
        )
    algorithm = encrypted_content_info["content_encryption_algorithm"]
    name, iv = _content_encryption(algorithm, authenticated=authenticated, mac=mac)

    encrypted_content = encrypted_content_info["encrypted_content"]
    if isinstance(encrypted_content, asn1_core.Void):
        raise EnvelopeRefused(
            "The envelope holds no encrypted content (a detached envelope); upload the whole envelope.",
            reason=Reason.CONTENT_MISSING,
        )
    payload: bytes | memoryview = encrypted_content.native if ciphertext is None else ciphertext
    if name.endswith("-cbc") and (not payload or len(payload) % _CBC_BLOCK):
        raise EnvelopeRefused(
            f"The encrypted content is {len(payload)} bytes, not a whole number of AES blocks.",
            reason=Reason.MALFORMED,
            details={"encrypted_content_length": len(payload)},
        )
    info = EnvelopeInfo(
        kind="auth_enveloped" if authenticated else "enveloped",
        content_encryption=name,
        recipients=recipients,
        content_type=content_type.dotted,
        encrypted_content_length=len(payload),
    )
    return _Envelope(info=info, iv=iv, ciphertext=payload, mac=mac, aad=aad)


def _content_encryption(
    algorithm: asn1_core.Sequence, *, authenticated: bool, mac: bytes | None
) -> tuple[str, bytes]:
    oid = algorithm["algorithm"]
    known = _CONTENT_ENCRYPTION.get(oid.dotted)
    structure = "AuthEnvelopedData" if authenticated else "EnvelopedData"
    if known is None or (known[2] == "gcm") != authenticated:
        expected = "AES-GCM" if authenticated else "AES-CBC"
        raise EnvelopeRefused(
            f"The content is encrypted with {_oid_label(oid)}, which tenderhall does not accept in "
            f"{structure}; use {expected} (AES-256-GCM recommended: openssl cms -encrypt -aes-256-gcm).",
            reason=Reason.UNSUPPORTED_CONTENT_ENCRYPTION,
            details={"algorithm": oid.dotted, "structure": structure},
        )
    name, _size, mode = known
    parameters = algorithm["parameters"]
    if mode == "cbc":
        if not isinstance(parameters, asn1_core.OctetString) or len(parameters.native) != _CBC_BLOCK:
            raise _invalid_parameters(name, "an IV of 16 bytes is required")
        return name, parameters.native
    if isinstance(parameters, asn1_core.Void):
        raise _invalid_parameters(name, "the GCM nonce and tag length are missing")
    gcm = _GcmParameters.load(parameters.dump(), strict=True)
    nonce, tag_length = gcm["aes_nonce"].native, gcm["aes_icvlen"].native
    if len(nonce) != _GCM_NONCE_LENGTH:
        raise _invalid_parameters(name, f"the GCM nonce must be 12 bytes, not {len(nonce)}")
    if tag_length not in _GCM_TAG_LENGTHS:
        raise _invalid_parameters(name, f"the GCM tag length must be 12 to 16 bytes, not {tag_length}")
    if mac is None or len(mac) != tag_length:
        raise _invalid_parameters(name, f"the tag is {len(mac or b'')} bytes but {tag_length} are declared")
    return name, nonce


def _parse_recipients(recipient_infos: asn1_cms.RecipientInfos) -> tuple[Recipient, ...]:
    if len(recipient_infos) == 0:
        raise EnvelopeRefused(
            "The envelope has no recipients, so nobody could ever open it.", reason=Reason.NO_RECIPIENTS
        )
    recipients = []
    for index, recipient_info in enumerate(recipient_infos):
        kind = recipient_info.name
        if kind != "ktri":
            raise EnvelopeRefused(
                f"Recipient {index + 1} is reached through {_RECIPIENT_KINDS.get(kind, kind)}; tenderhall "
                "accepts only RSA encryption certificates (key transport) as recipients.",
                reason=Reason.UNSUPPORTED_RECIPIENT_KIND,
                details={"kind": kind, "index": index},
            )
        recipients.append(_parse_key_transport(recipient_info.chosen, index=index))
    return tuple(recipients)


def _parse_key_transport(ktri: asn1_cms.KeyTransRecipientInfo, *, index: int) -> Recipient:
    rid = ktri["rid"]
    issuer: str | None = None
    issuer_der: bytes | None = None
    serial: int | None = None
    key_identifier: bytes | None = None
    if rid.name == "issuer_and_serial_number":
        issuer_name = rid.chosen["issuer"]
        issuer, issuer_der = _rfc4514(issuer_name), issuer_name.dump()
        serial = rid.chosen["serial_number"].native
    else:
        key_identifier = rid.chosen.native
    encrypted_key = ktri["encrypted_key"].native
    if not encrypted_key:
        raise ValueError(f"recipient {index + 1} has an empty encrypted key")
    return Recipient(
        issuer=issuer,
        serial=serial,
        subject_key_identifier=key_identifier,
        key_transport=_key_transport(ktri["key_encryption_algorithm"], index=index),
        encrypted_key=encrypted_key,
        issuer_der=issuer_der,
    )


def _key_transport(algorithm: asn1_cms.KeyEncryptionAlgorithm, *, index: int) -> str:
    oid = algorithm["algorithm"]
    if oid.dotted == _RSAES_PKCS1V15:
        algorithm["parameters"].native  # noqa: B018  # NULL or absent, else malformed
        return "rsa-pkcs1v15"
    if oid.dotted != _RSAES_OAEP:
        raise _unsupported_key_transport(index, f"{_oid_label(oid)} is not RSA key transport", oid.dotted)
    parameters = algorithm["parameters"]
    if isinstance(parameters, asn1_core.Void):  # absent parameters: the RFC 4055 defaults (SHA-1)
        return "rsa-oaep-sha1"
    digest = parameters["hash_algorithm"]["algorithm"].dotted
    mgf = parameters["mask_gen_algorithm"]
    source = parameters["p_source_algorithm"]
    if digest not in _OAEP_HASHES:
        raise _unsupported_key_transport(index, f"the OAEP hash {digest} is not accepted", digest)
    if mgf["algorithm"].dotted != _MGF1:
        raise _unsupported_key_transport(
            index, "the OAEP mask generation is not MGF1", mgf["algorithm"].dotted
        )
    mgf_digest = mgf["parameters"]["algorithm"].dotted
    if mgf_digest not in _OAEP_HASHES:
        raise _unsupported_key_transport(index, f"the MGF1 hash {mgf_digest} is not accepted", mgf_digest)
    if source["algorithm"].dotted != _P_SPECIFIED or source["parameters"].native != b"":
        raise _unsupported_key_transport(index, "OAEP labels are not accepted", source["algorithm"].dotted)
    name = f"rsa-oaep-{_OAEP_HASHES[digest]}"
    return name if mgf_digest == digest else f"{name}-mgf1-{_OAEP_HASHES[mgf_digest]}"


def _unsupported_key_transport(index: int, why: str, algorithm: str) -> EnvelopeRefused:
    return EnvelopeRefused(
        f"Recipient {index + 1}: {why}; use RSA PKCS#1 v1.5 or RSA-OAEP with SHA-1 or SHA-2.",
        reason=Reason.UNSUPPORTED_KEY_TRANSPORT,
        details={"index": index, "algorithm": algorithm},
    )


def _invalid_parameters(name: str, why: str) -> EnvelopeRefused:
    return EnvelopeRefused(
        f"The {name} parameters are invalid: {why}.",
        reason=Reason.INVALID_PARAMETERS,
        details={"algorithm": name},
    )


def _oid_label(oid: asn1_core.ObjectIdentifier) -> str:
    native = oid.native
    return oid.dotted if native == oid.dotted else f"{native} ({oid.dotted})"


def _not_cms(*, pem: bool = False) -> EnvelopeRefused:
    if pem:
        return EnvelopeRefused(
            "The envelope is PEM text; upload it in binary DER form "
            "(openssl cms -cmsout -inform PEM -outform DER -in bid.pem -out bid.der).",
            reason=Reason.NOT_CMS,
            details={"encoding": "pem"},
        )
    return EnvelopeRefused(
        "The file is not a CMS envelope (expected DER, as written by 'openssl cms -encrypt -outform DER').",
        reason=Reason.NOT_CMS,
    )


# --- framing ------------------------------------------------------------------------------------------------

_MAX_DEPTH = 64
_MAX_LENGTH_OCTETS = 8
_MAX_TAG_OCTETS = 5


class _Truncated(Exception):  # an internal signal, never raised out of this module
    pass


class _BadFraming(Exception):  # an internal signal, never raised out of this module
    pass


def _check_framing(data: bytes) -> None:
    """The outer element must be a SEQUENCE that ends exactly where the data ends.

    Truncation is told apart from garbage here, because asn1crypto reports both as a ValueError. Indefinite
    lengths (BER) are followed down to their end-of-contents octets; definite lengths are not entered.
    """
    if not data or data[0] != 0x30:  # SEQUENCE, constructed
        raise _not_cms(pem=data.lstrip().startswith(b"-----BEGIN"))
    try:
        end = _element_end(data, 0, depth=0)
    except _Truncated:
        raise EnvelopeRefused(
            f"The envelope is truncated ({len(data)} bytes received); upload the whole file again.",
            reason=Reason.TRUNCATED,
            details={"size": len(data)},
        ) from None
    except _BadFraming:
        raise _not_cms() from None
    if end != len(data):
        raise EnvelopeRefused(
            f"The envelope is followed by {len(data) - end} bytes of other data; upload the envelope alone.",
            reason=Reason.TRAILING_DATA,
            details={"trailing_bytes": len(data) - end},
        )


def _element_end(data: bytes, offset: int, *, depth: int) -> int:
    """Where the BER element starting at ``offset`` ends."""
    if depth > _MAX_DEPTH:
        raise _BadFraming
    position = _identifier_end(data, offset)
    constructed = bool(data[offset] & 0x20)
    if position >= len(data):
        raise _Truncated
    if data[position] == 0x80:  # indefinite: children up to the end-of-contents octets
        if not constructed:
            raise _BadFraming
        position += 1
        while True:
            if data[position : position + 2] == b"\x00\x00":
                return position + 2
            position = _element_end(data, position, depth=depth + 1)
    length, position = _definite_length(data, position)
    if position + length > len(data):
        raise _Truncated
    return position + length


def _identifier_end(data: bytes, offset: int) -> int:
    if offset >= len(data):
        raise _Truncated
    position = offset + 1
    if data[offset] & 0x1F != 0x1F:
        return position
    while True:  # high tag number form: base-128 digits, the last without bit 8
        if position >= len(data):
            raise _Truncated
        position += 1
        if not data[position - 1] & 0x80:
            return position
        if position - offset > _MAX_TAG_OCTETS:
            raise _BadFraming


def _definite_length(data: bytes, position: int) -> tuple[int, int]:
    """The length encoded at ``position`` and where the contents start."""
    first = data[position]
    if not first & 0x80:
        return first, position + 1
    count = first & 0x7F
    if count > _MAX_LENGTH_OCTETS:
        raise _BadFraming
    if position + 1 + count > len(data):
        raise _Truncated
    return int.from_bytes(data[position + 1 : position + 1 + count], "big"), position + 1 + count
