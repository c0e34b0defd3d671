"""The bidder's side of a sealed bid: package, sign, seal, and check the receipt offline. Pure: no ORM, no
clock, no Django settings; runs on the bidder's machine (``tenderhall bid seal|verify-receipt``).

* ``bid_package``: a deterministic ZIP, ``bid.json`` first (RFC 8785 canonical JSON), then the documents in
  name order, every entry dated 1980-01-01 00:00 with mode 0644: the same input always gives the same bytes.
* ``bid_seal``: CMS SignedData (attached, the signer certificate included) over the package, made with
  ``cryptography``'s ``PKCS7SignatureBuilder``, then enveloped to every recipient. ``cryptography``'s
  ``PKCS7EnvelopeBuilder`` makes only EnvelopedData with AES-CBC and RSA PKCS#1 v1.5 key transport
  (shared/reference/crypto-notes.md §2.2), so AES-256-GCM — the default — is an AuthEnvelopedData (RFC 5083/
  5084) built here with asn1crypto and ``AESGCM``: the content type id-data holding the DER SignedData
  ContentInfo (what ``openssl cms -encrypt`` writes), a 12-byte nonce, a 16-byte tag, no authenticated
  attributes (OpenSSL 3.0 cannot read them), RSA-OAEP-SHA256 recipients named by issuer and serial number.
  ``openssl cms -decrypt`` opens both kinds; ``envelope_inspect`` accepts both.
* ``receipt_check``: what ``tenderhall bid verify-receipt`` checks, from the receipt bundle and the envelope
  file alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs7

from tenderhall.core.hashing import canonical_json
from tenderhall.core.receipts import ReceiptError, ReceiptPublicKey, receipt_verify
from tenderhall.core.tsa import TimestampError, tsa_token_verify
from tenderhall.ledger.note import NoteError, parse_vkey
from tenderhall.ledger.tlogproof import TlogProofError, check_tlog_proof

BID_JSON = "bid.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a ZIP entry can carry
CIPHERS = ("aes-256-gcm", "aes-256-cbc")
KEY_TRANSPORTS = ("rsa-oaep-sha256", "rsa-pkcs1v15")
BID_EVENTS = frozenset({"bids:bid:submitted", "bids:bid:replaced"})

Cipher = Literal["aes-256-gcm", "aes-256-cbc"]
KeyTransport = Literal["rsa-oaep-sha256", "rsa-pkcs1v15"]
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


# --- the package --------------------------------------------------------------------------------------------


def bid_package(*, bid_json: Mapping[str, Any], documents: Sequence[Path]) -> bytes:
    """The bid package: a ZIP of ``bid.json`` (canonical JSON of ``bid_json``) and the documents, by name.

    The same form and files always give the same bytes. Two documents with the same file name, or one named
    ``bid.json``, are refused (``ValueError``): the opening reads entries by name.
    """
    names: dict[str, Path] = {}
    for document in documents:
        name = document.name
        if name == BID_JSON or name in names:
            raise ValueError(f"two bid files would be named {name!r} in the package; rename one")
        names[name] = document
    form = canonical_json(dict(bid_json))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _zip_add(archive, BID_JSON, form)
        for name in sorted(names):
            _zip_add(archive, name, names[name].read_bytes())
    return buffer.getvalue()


def _zip_add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, whatever machine seals
    entry.external_attr = 0o100644 << 16
    archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


# --- sealing ------------------------------------------------------------------------------------------------


def bid_sign(*, package: bytes, signing_key: SigningKey, signing_certificate: x509.Certificate) -> bytes:
    """The DER ContentInfo of an attached CMS SignedData over ``package`` (SHA-256), with the signer's
    certificate, as ``openssl cms -sign -binary -nodetach`` makes it."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(package)
        .add_signer(signing_certificate, signing_key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


def bid_seal(
    *,
    package: bytes,
    signing_key: SigningKey,
    signing_certificate: x509.Certificate,
    recipients: Sequence[x509.Certificate],
    cipher: Cipher = "aes-256-gcm",
    key_transport: KeyTransport | None = None,
) -> bytes:
    """Sign ``package`` and envelope the SignedData to every recipient (DER).

    ``recipients``: the bidder's own encryption certificate and the tender's escrow certificate, RSA keys.
    ``key_transport``: RSA-OAEP-SHA256 by default with AES-256-GCM; AES-256-CBC goes through
    ``cryptography``'s builder, which only knows PKCS#1 v1.5.
    """
    if cipher not in CIPHERS:
        raise ValueError(f"cipher must be one of {', '.join(CIPHERS)}, not {cipher!r}")
    if not recipients:
        raise ValueError("a sealed bid needs at least one recipient")
    for certificate in recipients:
        if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
            raise ValueError(
                f"the recipient {certificate.subject.rfc4514_string()} has no RSA key; "
                "tenderhall accepts RSA encryption certificates only"
            )
    signed = bid_sign(package=package, signing_key=signing_key, signing_certificate=signing_certificate)
    if cipher == "aes-256-cbc":
        if key_transport not in (None, "rsa-pkcs1v15"):
            raise ValueError("AES-256-CBC envelopes are made with RSA PKCS#1 v1.5 key transport only")
        builder = (
            pkcs7.PKCS7EnvelopeBuilder().set_data(signed).set_content_encryption_algorithm(algorithms.AES256)
        )
        for certificate in recipients:
            builder = builder.add_recipient(certificate)
        return builder.encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    return _auth_enveloped(signed, recipients, key_transport=key_transport or "rsa-oaep-sha256")


def _auth_enveloped(
    plaintext: bytes, recipients: Sequence[x509.Certificate], *, key_transport: KeyTransport
) -> bytes:
    if key_transport not in KEY_TRANSPORTS:
        raise ValueError(f"key_transport must be one of {', '.join(KEY_TRANSPORTS)}, not {key_transport!r}")
    content_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    sealed = AESGCM(content_key).encrypt(nonce, plaintext, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    content = asn1_cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [_key_transport(c, content_key, key_transport) for c in recipients],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {
                    "algorithm": "aes256_gcm",
                    # RFC 5084 GCMParameters has the shape of CCMParameters, which asn1crypto knows.
                    "parameters": asn1_algos.CcmParams({"aes_nonce": nonce, "aes_icvlen": 16}),
                },
                "encrypted_content": ciphertext,
            },
            "mac": tag,
        }
    )
    info = asn1_cms.ContentInfo({"content_type": "authenticated_enveloped_data", "content": content})
    return bytes(info.dump())


def _key_transport(
    certificate: x509.Certificate, content_key: bytes, key_transport: KeyTransport
) -> asn1_cms.RecipientInfo:
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # checked by bid_seal
    wrap: padding.AsymmetricPadding
    if key_transport == "rsa-pkcs1v15":
        algorithm = asn1_cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
        wrap = padding.PKCS1v15()
    else:
        algorithm = asn1_cms.KeyEncryptionAlgorithm(
            {
                "algorithm": "rsaes_oaep",
                "parameters": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                },
            }
        )
        wrap = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return asn1_cms.RecipientInfo(
        name="ktri",
        value={
            "version": "v0",
            "rid": asn1_cms.RecipientIdentifier(
                name="issuer_and_serial_number",
                value={
                    "issuer": asn1_x509.Name.load(certificate.issuer.public_bytes()),
                    "serial_number": certificate.serial_number,
                },
            ),
            "key_encryption_algorithm": algorithm,
            "encrypted_key": public_key.encrypt(content_key, wrap),
        },
    )


# --- checking a receipt offline -----------------------------------------------------------------------------


@dataclass
class ReceiptReport:
    """What ``receipt_check`` found: the checks that passed, and the problems (empty = all good)."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def receipt_check(
    *,
    receipt: dict[str, Any],
    token: bytes,
    envelope: bytes,
    receipt_public_key: ReceiptPublicKey,
    tsa_roots: Sequence[bytes],
    proof: str | None,
    log_vkey: str | None,
) -> list[str]:
    """Every problem with a bid's receipt, offline (empty = all good); see ``receipt_report``."""
    return receipt_report(
        receipt=receipt,
        token=token,
        envelope=envelope,
        receipt_public_key=receipt_public_key,
        tsa_roots=tsa_roots,
        proof=proof,
        log_vkey=log_vkey,
    ).problems


def receipt_report(
    *,
    receipt: dict[str, Any],
    token: bytes,
    envelope: bytes,
    receipt_public_key: ReceiptPublicKey,
    tsa_roots: Sequence[bytes],
    proof: str | None,
    log_vkey: str | None,
) -> ReceiptReport:
    """Check a bid's receipt against the envelope file, offline.

    1. the platform's signature over the receipt (``receipt_public_key``);
    2. the receipt's ``envelope_sha256`` (and ``envelope_size``) are the file's;
    3. the RFC 3161 ``token`` stamps the file's SHA-256 and chains to one of ``tsa_roots`` (DER) at its
       genTime, and its genTime is the receipt's ``submitted_at`` (to the millisecond);
    4. with a C2SP tlog-proof: it verifies against ``log_vkey``, and its leaf is the bid's submission (or
       replacement) event naming the same bid token and envelope hash. Without one, the report says the
       proof is still to come (not a problem: the leaf is integrated shortly after the submission).
    """
    report = ReceiptReport()
    digest = hashlib.sha256(envelope).digest()
    try:
        receipt_verify(receipt, public_key=receipt_public_key)
    except ReceiptError as error:
        report.problems.append(f"receipt signature: {error.message}")
    else:
        report.passed.append(f"the receipt is signed by the platform key {receipt['signature']['key_id']}")

    claimed = receipt.get("envelope_sha256") if isinstance(receipt, Mapping) else None
    if claimed != digest.hex():
        report.problems.append(
            f"envelope: the receipt is for the envelope with SHA-256 {claimed}, this file's is {digest.hex()}"
        )
    elif receipt.get("envelope_size") not in (None, len(envelope)):
        report.problems.append(
            f"envelope: the receipt says {receipt.get('envelope_size')} bytes, this file has {len(envelope)}"
        )
    else:
        report.passed.append(
            f"the receipt names this envelope (SHA-256 {digest.hex()}, {len(envelope)} bytes)"
        )

    _check_token(report, receipt, token, digest, tsa_roots)
    if proof is None:
        report.passed.append("no ledger proof yet: the leaf is not integrated; fetch the receipt again later")
    else:
        _check_proof(report, receipt, proof, log_vkey, digest)
    return report


def _check_token(
    report: ReceiptReport, receipt: Mapping[str, Any], token: bytes, digest: bytes, roots: Sequence[bytes]
) -> None:
    if not roots:
        report.problems.append("timestamp: no TSA root certificate to check the token against")
        return
    try:
        info = tsa_token_verify(token, digest=digest, trust_roots=roots)
    except TimestampError as error:
        report.problems.append(f"timestamp: {error.message}")
        return
    except ValueError as error:
        report.problems.append(f"timestamp: the TSA root is not a DER certificate ({error})")
        return
    submitted_at = receipt.get("submitted_at") if isinstance(receipt, Mapping) else None
    try:
        moment = datetime.fromisoformat(str(submitted_at))
    except ValueError:
        report.problems.append(f"timestamp: the receipt's submitted_at {submitted_at!r} is not a time")
        return
    if moment.utcoffset() is None or abs((moment - info.gen_time).total_seconds()) >= 0.001:
        report.problems.append(
            f"timestamp: the token's time {info.gen_time.isoformat()} is not the receipt's {submitted_at}"
        )
        return
    report.passed.append(
        f"the RFC 3161 token stamps this envelope at {info.gen_time.isoformat()} (TSA {info.tsa_subject}, "
        f"serial {info.serial})"
    )


def _check_proof(
    report: ReceiptReport, receipt: Mapping[str, Any], proof: str, log_vkey: str | None, digest: bytes
) -> None:
    if not log_vkey:
        report.problems.append("ledger: a proof was given without the log's verifier key (vkey)")
        return
    try:
        checked = check_tlog_proof(proof, parse_vkey(log_vkey))
    except (TlogProofError, NoteError) as error:
        report.problems.append(f"ledger: the proof does not verify: {error}")
        return
    try:
        event = json.loads(checked.leaf)
        kind, bid = event.get("type"), event.get("subjects", {}).get("bid")
        logged = event.get("hashes", {}).get("envelope")
    except (ValueError, AttributeError):
        report.problems.append(f"ledger: leaf {checked.index} is not a tenderhall event")
        return
    expected_bid = receipt.get("bid") if isinstance(receipt, Mapping) else None
    if kind not in BID_EVENTS or bid != expected_bid:
        report.problems.append(
            f"ledger: leaf {checked.index} is {kind} of {bid}, not the submission of bid {expected_bid}"
        )
    elif logged != f"sha256:{digest.hex()}":
        report.problems.append(
            f"ledger: leaf {checked.index} logs the envelope {logged}, not this file's sha256:{digest.hex()}"
        )
    else:
        size = checked.verified.checkpoint.size
        report.passed.append(
            f"the ledger holds the submission as leaf {checked.index} of {size} "
            f"(checkpoint signed by {checked.verified.checkpoint.origin})"
        )


# --- the receipt bundle (what `tenderhall bid submit` saves) ------------------------------------------------


@dataclass(frozen=True)
class ReceiptBundle:
    """The receipt endpoint's answer, read: everything ``receipt_check`` needs besides the envelope."""

    receipt: dict[str, Any]
    token: bytes
    proof: str | None
    log_vkey: str | None
    receipt_public_key: ReceiptPublicKey
    tsa_roots: list[bytes]


def receipt_bundle_read(data: Mapping[str, Any]) -> ReceiptBundle:
    """Read a saved receipt bundle (``GET /api/v1/bids/bids/{id}/receipt``); ``ValueError`` says what is
    missing or unreadable."""
    if not isinstance(data, Mapping) or not isinstance(data.get("receipt"), dict):
        raise ValueError("not a receipt bundle: it has no 'receipt' object")
    try:
        token = base64.b64decode(str(data.get("timestamp_token") or ""), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the bundle's timestamp_token is not base64") from error
    if not token:
        raise ValueError("the bundle has no timestamp_token")
    try:
        key = serialization.load_pem_public_key(str(data.get("receipt_public_key") or "").encode())
    except ValueError as error:
        raise ValueError("the bundle's receipt_public_key is not a PEM public key") from error
    if not isinstance(key, ReceiptPublicKey):
        raise ValueError("the bundle's receipt_public_key is neither Ed25519 nor EC P-256")
    try:
        roots = [
            certificate.public_bytes(serialization.Encoding.DER)
            for certificate in x509.load_pem_x509_certificates(str(data.get("tsa_root") or "").encode())
        ]
    except ValueError as error:
        raise ValueError("the bundle's tsa_root is not a PEM certificate") from error
    proof, vkey = data.get("tlog_proof"), data.get("log_vkey")
    return ReceiptBundle(
        receipt=data["receipt"],
        token=token,
        proof=proof if isinstance(proof, str) and proof else None,
        log_vkey=vkey if isinstance(vkey, str) and vkey else None,
        receipt_public_key=key,
        tsa_roots=roots,
    )
