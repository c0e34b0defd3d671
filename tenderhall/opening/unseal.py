"""Unsealing a bid at the opening: decrypt the envelope with the content key the bidder (or the escrow key)
gives, check the bidder's CMS SignedData inside, and read the bid form. Pure: no ORM, no clock.

The steps, each with its own refusal (``BidUnsealRefused``, ``details["reason"]`` stable):

1. decrypt (``tenderhall.bids.envelope.envelope_decrypt``): a wrong key or a damaged ciphertext —
   ``decryption_failed``; with AES-CBC a wrong key can decrypt to garbage, which step 2 or 3 then refuses;
2. the plaintext is a CMS SignedData (bare, or in a ContentInfo as ``openssl cms -sign`` writes it) with its
   content attached and exactly one signer whose certificate it carries — ``not_signed``, ``signer_missing``;
3. the signature: SHA-256/384/512; with signed attributes the message digest and content type are checked
   and the signature is over their DER (RFC 5652 §5.4); RSA PKCS#1 v1.5, RSA-PSS or ECDSA —
   ``signature_invalid``, ``unsupported_signature``;
4. the package: a ZIP holding ``bid.json``, a JSON object — ``package_invalid``.

Whether the signer's certificate chains to a trusted CA, was valid when the bid was submitted and belongs to
the bidder entity is the caller's check (it needs the trust store and the registry).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tenderhall.bids.envelope import DEFAULT_MAX_SIZE, envelope_decrypt
from tenderhall.core.der import (
    CONTEXT_0_CONSTRUCTED,
    OCTET_STRING,
    OID,
    SEQUENCE,
    Element,
    der_children,
    der_element,
    der_encode,
    der_whole,
)
from tenderhall.core.errors import DomainError

BID_JSON = "bid.json"
MAX_FORM_BYTES = 1 << 20  # bid.json is a form, not a document
PRICE_FIELD, DURATION_FIELD = "price", "duration_days"
MAX_DURATION_DAYS = 2**31 - 1  # what the opened bid's column holds; a larger or negative number is unreadable
_DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_ID_DATA = "1.2.840.113549.1.7.1"


class Reason(StrEnum):
    DECRYPTION_FAILED = "decryption_failed"
    NOT_SIGNED = "not_signed"
    SIGNER_MISSING = "signer_missing"
    UNSUPPORTED_SIGNATURE = "unsupported_signature"
    SIGNATURE_INVALID = "signature_invalid"
    PACKAGE_INVALID = "package_invalid"


class BidUnsealRefused(DomainError):
    code = "bid_unseal_failed"
    status = 422

    def __init__(self, message: str, *, reason: Reason, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": str(reason), **(details or {})})
        self.reason = reason


@dataclass(frozen=True)
class UnsealedBid:
    package: bytes = field(repr=False)  # the bid package (ZIP) the bidder signed
    package_sha256: str  # lower-case hex
    signer_certificate: bytes  # DER
    signing_time: datetime | None  # the signingTime attribute, when the signer put one
    form: dict[str, Any]  # bid.json
    price: Decimal | None  # form["price"], when it is a number
    duration_days: int | None  # form["duration_days"], when it is a whole number


def bid_unseal(envelope: bytes, *, content_key: bytes, max_size: int = DEFAULT_MAX_SIZE) -> UnsealedBid:
    """Decrypt ``envelope`` with ``content_key``, verify the signature inside and read the bid form."""
    try:
        plaintext = envelope_decrypt(envelope, content_key=content_key, max_size=max_size)
    except DomainError as refused:
        raise BidUnsealRefused(
            refused.message, reason=Reason.DECRYPTION_FAILED, details={"envelope": refused.details}
        ) from None
    signed, content = _signed_data(plaintext)
    package, signer, signing_time, sha256 = _verify(signed, content)
    form = _form(package)
    return UnsealedBid(
        package=package,
        package_sha256=sha256,
        signer_certificate=signer,
        signing_time=signing_time,
        form=form,
        price=_price(form.get(PRICE_FIELD)),
        duration_days=_duration(form.get(DURATION_FIELD)),
    )


# --- SignedData -----------------------------------------------------------------------------------------


def _not_signed(why: str) -> BidUnsealRefused:
    return BidUnsealRefused(
        f"The decrypted bid is not a signed bid package ({why}). Seal the bid with 'tenderhall bid seal' or "
        "'openssl cms -sign -binary -nodetach' before 'openssl cms -encrypt'.",
        reason=Reason.NOT_SIGNED,
    )


def _signed_data(plaintext: bytes) -> tuple[asn1_cms.SignedData, memoryview | None]:
    """The SignedData and, when it is plain DER, its attached content as a view into ``plaintext``.

    A 10 MB package would be copied several times by asn1crypto; so the DER is walked here to find the
    content, and asn1crypto parses the SignedData with an empty content in its place ("hollow"). BER with
    indefinite lengths or a chunked content (``openssl cms -sign -stream``) takes asn1crypto's path whole.
    """
    hollow = _hollow(plaintext)
    if hollow is not None:
        der, content = hollow
        try:
            signed = asn1_cms.SignedData.load(der)
            signed["version"].native  # noqa: B018  # parse now: garbage fails here, not later
        except (ValueError, TypeError, KeyError):
            raise _not_signed("its structure is damaged") from None
        return signed, content
    return _signed_data_parsed(plaintext), None


def _signed_data_parsed(plaintext: bytes) -> asn1_cms.SignedData:
    try:
        outer = asn1_core.Sequence.load(plaintext)
        first = outer.contents[:1] if outer.contents else b""
        if first == b"\x06":  # an OID: a ContentInfo, as openssl cms -sign writes it
            info = asn1_cms.ContentInfo.load(plaintext)
            if info["content_type"].native != "signed_data":
                raise _not_signed(f"its content type is {info['content_type'].dotted}")
            signed = info["content"]
        else:
            signed = asn1_cms.SignedData.load(plaintext)
        signed["version"].native  # noqa: B018  # parse now: garbage fails here, not later
    except BidUnsealRefused:
        raise
    except (ValueError, TypeError, KeyError):
        raise _not_signed("it is not DER CMS; with AES-CBC a wrong content key also ends here") from None
    return signed


def _verify(
    signed: asn1_cms.SignedData, attached: memoryview | None
) -> tuple[bytes, bytes, datetime | None, str]:
    """The signed content, the signer's certificate (DER), its signing time and the content's SHA-256 (hex),
    once the signature holds. ``attached``: the content when ``_hollow`` found it."""
    try:
        encap = signed["encap_content_info"]
        content = encap["content"]
        if encap["content_type"].dotted != _ID_DATA:
            raise _not_signed(f"it signs a {encap['content_type'].dotted}, not data")
        package = _package(content, attached)
        signer_infos = list(signed["signer_infos"])
        certificates = [
            c.chosen for c in (signed["certificates"] or []) if isinstance(c.chosen, asn1_cms.Certificate)
        ]
    except BidUnsealRefused:
        raise
    except (ValueError, TypeError, KeyError):
        raise _not_signed("its structure is damaged") from None
    if len(signer_infos) != 1:
        raise BidUnsealRefused(
            f"The bid package carries {len(signer_infos)} signatures; it must carry exactly one, the "
            "bidder's.",
            reason=Reason.SIGNER_MISSING,
            details={"signers": len(signer_infos)},
        )
    signer_info = signer_infos[0]
    certificate = _signer_certificate(signer_info, certificates)
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _DIGESTS:
        raise BidUnsealRefused(
            f"The bid is signed with the digest {digest_name}; tenderhall accepts SHA-256, SHA-384 and "
            "SHA-512.",
            reason=Reason.UNSUPPORTED_SIGNATURE,
            details={"digest": digest_name},
        )
    digest = hashlib.new(digest_name, package).digest()
    sha256 = digest.hex() if digest_name == "sha256" else hashlib.sha256(package).hexdigest()
    signed_attrs = signer_info["signed_attrs"]
    signing_time: datetime | None = None
    if signed_attrs.native is not None and len(signed_attrs):
        values = {attr["type"].native: attr["values"] for attr in signed_attrs}
        message_digest = values.get("message_digest")
        if message_digest is None or message_digest[0].native != digest:
            raise _invalid("the signed message digest does not match the package")
        content_type = values.get("content_type")
        if content_type is None or content_type[0].dotted != encap["content_type"].dotted:
            raise _invalid("the signed content type does not match the content")
        if "signing_time" in values:
            signing_time = values["signing_time"][0].native
        signed_bytes = b"\x31" + signed_attrs.dump()[1:]  # DER of the SET OF, not of the [0] tag (§5.4)
    else:
        signed_bytes = package
    _check_signature(signer_info, certificate, signed_bytes, digest_name)
    return package, certificate.dump(), signing_time, sha256


# --- the DER walk that finds the content without copying it ----------------------------------------------


def _signed_children(data: memoryview) -> tuple[Element, list[Element]] | None:
    """The SignedData in ``data`` (bare, or inside a ContentInfo) and its children."""
    outer = der_whole(data, SEQUENCE)
    children = der_children(data, outer) if outer is not None else None
    if outer is None or not children or children[0].tag != OID:
        return (outer, children) if outer is not None and children is not None else None
    # a ContentInfo: the SignedData is inside its [0]
    if len(children) != 2 or children[1].tag != CONTEXT_0_CONSTRUCTED:
        return None
    inner = der_element(data, children[1].start, children[1].end)
    if inner is None or inner.tag != SEQUENCE or inner.end != children[1].end:
        return None
    children = der_children(data, inner)
    return (inner, children) if children is not None else None


def _hollow(plaintext: bytes) -> tuple[bytes, memoryview] | None:
    """The DER of the SignedData in ``plaintext`` with an empty attached content, and a view of that
    content; None when the structure is not the plain DER this walk reads (the caller parses it whole)."""
    data = memoryview(plaintext)
    found = _signed_children(data)
    if found is None or len(found[1]) < 4 or found[1][2].tag != SEQUENCE:
        return None
    signed, children = found
    encap = der_children(data, children[2])
    if encap is None or len(encap) != 2 or encap[0].tag != OID or encap[1].tag != CONTEXT_0_CONSTRUCTED:
        return None
    octets = der_element(data, encap[1].start, encap[1].end)
    if octets is None or octets.end != encap[1].end:
        return None
    content = _octets(data, octets)
    if content is None:
        return None
    empty = der_encode(CONTEXT_0_CONSTRUCTED, der_encode(OCTET_STRING, b""))
    body = (
        bytes(data[children[0].offset : children[1].end])  # version, digestAlgorithms
        + der_encode(SEQUENCE, bytes(data[encap[0].offset : encap[0].end]) + empty)
        + bytes(data[children[3].offset : signed.end])  # certificates, crls, signerInfos
    )
    return der_encode(SEQUENCE, body), content


def _octets(data: memoryview, element: Element, depth: int = 0) -> memoryview | None:
    """An OCTET STRING's bytes: primitive (a view), or constructed of OCTET STRING pieces (joined: the
    browser's CMS library writes the signed content so), with definite lengths; None for anything else."""
    if element.tag == OCTET_STRING:
        return data[element.start : element.end]
    if element.tag != OCTET_STRING | 0x20 or depth > 8:
        return None
    pieces = der_children(data, element)
    if pieces is None:
        return None
    parts = [_octets(data, piece, depth + 1) for piece in pieces]
    if any(part is None for part in parts):
        return None
    return memoryview(b"".join(bytes(part) for part in parts if part is not None))


def _package(content: asn1_core.Asn1Value, attached: memoryview | None) -> bytes:
    if attached is not None:
        return bytes(attached)
    if content.native is None:
        raise _not_signed("the signature is detached: sign with -nodetach so that the package is inside")
    return bytes(content.native if isinstance(content.native, bytes) else content.parsed.dump())


def _signer_certificate(
    signer_info: asn1_cms.SignerInfo, certificates: list[asn1_cms.Certificate]
) -> asn1_cms.Certificate:
    sid = signer_info["sid"]
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            if certificate.serial_number == sid.chosen["serial_number"].native and (
                certificate.issuer.dump() == issuer.dump() or certificate.issuer == issuer  # RFC 5280 rules
            ):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    raise BidUnsealRefused(
        "The signer's certificate is not in the signed bid: sign with the certificate included (openssl cms "
        "-sign does so unless -nocerts is given).",
        reason=Reason.SIGNER_MISSING,
    )


def _invalid(why: str) -> BidUnsealRefused:
    return BidUnsealRefused(
        f"The bidder's signature on the bid does not hold: {why}. The bid was altered after it was signed.",
        reason=Reason.SIGNATURE_INVALID,
    )


def _check_signature(
    signer_info: asn1_cms.SignerInfo, certificate: asn1_cms.Certificate, data: bytes, digest_name: str
) -> None:
    algorithm = signer_info["signature_algorithm"]
    signature = signer_info["signature"].native
    public_key = x509.load_der_x509_certificate(certificate.dump()).public_key()
    try:
        kind = algorithm.signature_algo
    except ValueError:
        kind = algorithm["algorithm"].native
    digest = _DIGESTS[digest_name]()
    try:
        if kind == "rsassa_pkcs1v15" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), digest)
        elif kind == "rsassa_pss" and isinstance(public_key, rsa.RSAPublicKey):
            params = algorithm["parameters"]
            pss_digest = _DIGESTS.get(params["hash_algorithm"]["algorithm"].native)
            if pss_digest is None:
                raise _unsupported(f"RSA-PSS with {params['hash_algorithm']['algorithm'].native}")
            mgf = padding.MGF1(pss_digest())
            public_key.verify(signature, data, padding.PSS(mgf, params["salt_length"].native), pss_digest())
        elif kind == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(digest))
        else:
            raise _unsupported(f"{kind} with a {type(public_key).__name__}")
    except InvalidSignature:
        raise _invalid("the signature does not verify with the signer's certificate") from None


def _unsupported(what: str) -> BidUnsealRefused:
    return BidUnsealRefused(
        f"The bid is signed with {what}; tenderhall accepts RSA (PKCS#1 v1.5 or PSS) and ECDSA signatures.",
        reason=Reason.UNSUPPORTED_SIGNATURE,
        details={"algorithm": what},
    )


# --- the package -------------------------------------------------------------------------------------------


def _package_invalid(why: str) -> BidUnsealRefused:
    return BidUnsealRefused(
        f"The signed bid package is not usable: {why}. The package is a ZIP with the bid form bid.json.",
        reason=Reason.PACKAGE_INVALID,
    )


def _form(package: bytes) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            entry = archive.getinfo(BID_JSON)
            if entry.file_size > MAX_FORM_BYTES:
                raise _package_invalid(f"bid.json is {entry.file_size} bytes, more than {MAX_FORM_BYTES}")
            raw = archive.read(entry)
    except KeyError:
        raise _package_invalid("it holds no bid.json") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise _package_invalid("it is not a ZIP archive") from None
    try:
        form = json.loads(raw, parse_float=str)  # exact decimals, kept as written
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _package_invalid("bid.json is not UTF-8 JSON") from None
    if not isinstance(form, dict):
        raise _package_invalid("bid.json is not a JSON object")
    return form


def _price(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price if price.is_finite() else None


def _duration(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:  # not "²"
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_DURATION_DAYS:
        return value
    return None
