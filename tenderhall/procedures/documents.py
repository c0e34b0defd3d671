"""Tender documents: signed upload, logged download, and who may see the downloaders.

* **Upload.** The file is streamed to the default storage while SHA-256 and SM3 are computed over the same
  bytes. The agency's CMS detached signature (``openssl cms -sign -binary``, DER or PEM) must verify over
  those bytes: its ``message-digest`` attribute equals the file's digest, its signature over the signed
  attributes verifies with the signer's key, and the signer is an accepted, current signing certificate of
  the uploader or of the tender's agency or tenderee. The row, its ledger leaf and its audit entry commit in
  one transaction; any refusal or failure deletes the stored file. A document uploaded after publication
  is an amendment: it goes out as a clarification (``clarifications.amendment_issue``), which may move the
  bid deadline, and every downloader is told.
* **Download.** Any signed-in user, with no sign-up step for the tender (order 20 ch. 3); every download is
  logged. While the documents are on issue anyone may fetch them; outside that period only those who already
  hold them (and the tender's managers and supervisors) may fetch them again.
* **Secrecy.** Who downloaded, and how many, stays hidden until the bid deadline from everyone but the
  platform operator (order 20 ch. 3).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import IO, Any

from asn1crypto import cms
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, Role
from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import clarifications
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import DocumentDownload, Tender, TenderDocument
from tenderhall.procedures.selectors import access_tender_for_viewer, can_manage_project, managed_entity_ids
from tenderhall.procedures.services import _lock_tender
from tenderhall.procedures.workflow import when

MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024 * 1024  # a detached signature with its certificate chain is a few KiB
MAX_NAME_LENGTH = 200
CHUNK_BYTES = 1024 * 1024
SM3_OID = "1.2.156.10197.1.401"
# Statuses in which documents may be added as an amendment (before the bid deadline).
AMENDABLE = frozenset({TenderStatus.PUBLISHED, TenderStatus.BIDDING, TenderStatus.SUSPENDED})
_DATA_CONTENT_TYPE = "data"


class DocumentTooLarge(DomainError):
    code = "document_too_large"
    status = 413


class SignatureNotCms(DomainError):
    code = "signature_not_cms"
    status = 422


class SignatureInvalid(DomainError):
    code = "signature_invalid"
    status = 422


class DigestMismatch(DomainError):
    code = "digest_mismatch"
    status = 422


class SignerNotAccepted(DomainError):
    code = "signer_not_accepted"
    status = 422


class DocumentUploadClosed(Conflict):
    code = "document_upload_closed"


class DocumentsNotAvailable(Conflict):
    code = "documents_not_available"


# --- pure: reading and checking a CMS detached signature -------------------------------------------------


@dataclass(frozen=True)
class FileDigests:
    size: int
    sha256: bytes
    sm3: bytes

    def by_name(self, name: str) -> bytes:
        return self.sha256 if name == "sha256" else self.sm3


def signature_parse(data: bytes) -> cms.SignedData:
    """The SignedData of a detached CMS signature (DER, or PEM ``CMS``/``PKCS7``), or ``SignatureNotCms``."""
    if not data or not data.strip():
        raise SignatureNotCms(gettext("The signature file is empty; upload the detached CMS signature."))
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureNotCms(
            gettext("The signature file is %(size)s bytes, too large for a detached CMS signature.")
            % {"size": len(data)}
        )
    der = data
    try:
        if asn1_pem.detect(data):
            _kind, _headers, der = asn1_pem.unarmor(data)
        info = cms.ContentInfo.load(der, strict=True)
        content_type = info["content_type"].native
        _ = info.native  # asn1crypto parses lazily: parse everything now, so damage shows here
    except (ValueError, TypeError, KeyError) as error:
        raise SignatureNotCms(
            gettext(
                "The signature is not a CMS structure (%(error)s); make it with "
                "'openssl cms -sign -binary -outform DER'."
            )
            % {"error": error}
        ) from error
    if content_type != "signed_data":
        raise SignatureNotCms(
            gettext("The file is a CMS %(type)s, not a signature (SignedData).") % {"type": content_type}
        )
    signed: cms.SignedData = info["content"]
    encapsulated = signed["encap_content_info"]
    if encapsulated["content_type"].native != _DATA_CONTENT_TYPE:
        raise SignatureNotCms(gettext("The signature must be over plain data (id-data)."))
    if encapsulated["content"].native is not None:
        raise SignatureNotCms(
            gettext(
                "The signature carries the document inside it; upload a detached signature "
                "('openssl cms -sign' without -nodetach)."
            )
        )
    if len(signed["signer_infos"]) == 0:
        raise SignatureNotCms(gettext("The signature has no signer."))
    return signed


@dataclass(frozen=True)
class CandidateCertificate:
    """A certificate the signer may hold: its row id, DER and whether (and why not) it may sign now."""

    id: int
    der: bytes
    problem: str | None  # None: accepted and current; else "revoked", "expired" or "not_yet_valid"


def signature_verify(
    signed: cms.SignedData, *, digests: FileDigests, candidates: Sequence[CandidateCertificate]
) -> CandidateCertificate:
    """Check every signer of ``signed`` over a file with ``digests``; the first signer's certificate.

    Raises ``SignatureInvalid``, ``DigestMismatch`` or ``SignerNotAccepted``.
    """
    first: CandidateCertificate | None = None
    for signer_info in signed["signer_infos"]:
        certificate = _signer_verify(signer_info, signed, digests=digests, candidates=candidates)
        first = first or certificate
    assert first is not None  # signature_parse refuses a signature without signers
    return first


def _signer_verify(
    signer_info: cms.SignerInfo,
    signed: cms.SignedData,
    *,
    digests: FileDigests,
    candidates: Sequence[CandidateCertificate],
) -> CandidateCertificate:
    digest_name = _digest_name(signer_info["digest_algorithm"]["algorithm"].dotted)
    digest = digests.by_name(digest_name)
    attributes = signer_info["signed_attrs"]
    if len(attributes):
        values = {attribute["type"].native: attribute["values"] for attribute in attributes}
        if "message_digest" not in values or "content_type" not in values:
            raise SignatureInvalid(
                gettext("The signature's signed attributes lack the content type or the message digest."),
                details={"reason": "attributes_missing"},
            )
        if values["content_type"][0].native != _DATA_CONTENT_TYPE:
            raise SignatureInvalid(
                gettext("The signature's content type is not id-data."), details={"reason": "content_type"}
            )
        if values["message_digest"][0].native != digest:
            raise DigestMismatch(
                gettext(
                    "The signature was made over other content: its %(algorithm)s digest is not the file's. "
                    "Sign exactly this file, in binary mode ('openssl cms -sign -binary')."
                )
                % {"algorithm": digest_name.upper()},
                details={"algorithm": digest_name, "file_digest": digest.hex()},
            )
        # RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag, not [0].
        message, prehashed = b"\x31" + attributes.dump()[1:], False
    else:  # no signed attributes: the signature is over the content itself, i.e. over its digest
        message, prehashed = digest, True
    certificate = _signer_certificate(signer_info["sid"], signed, candidates)
    _check_signature(signer_info, certificate.der, digest_name, message, prehashed=prehashed)
    return certificate


def _digest_name(oid: str) -> str:
    if oid == "2.16.840.1.101.3.4.2.1":
        return "sha256"
    if oid == SM3_OID:
        return "sm3"
    raise SignatureInvalid(
        gettext("The signature uses the digest %(oid)s; sign with SHA-256 (or SM3).") % {"oid": oid},
        details={"reason": "unsupported_digest", "digest": oid},
    )


def _hash(name: str) -> hashes.HashAlgorithm:
    return hashes.SHA256() if name == "sha256" else hashes.SM3()


def _sid_matches(sid: cms.SignerIdentifier, certificate: asn1_x509.Certificate) -> bool:
    if sid.name == "issuer_and_serial_number":
        chosen = sid.chosen
        return bool(
            certificate.serial_number == chosen["serial_number"].native
            and certificate.issuer == chosen["issuer"]
        )
    return bool(certificate.key_identifier == sid.chosen.native)


def _signer_certificate(
    sid: cms.SignerIdentifier, signed: cms.SignedData, candidates: Sequence[CandidateCertificate]
) -> CandidateCertificate:
    for candidate in candidates:
        if _sid_matches(sid, asn1_x509.Certificate.load(candidate.der)):
            if candidate.problem is not None:
                raise SignerNotAccepted(
                    _problem_message(candidate.problem), details={"reason": candidate.problem}
                )
            return candidate
    embedded = [
        choice.chosen
        for choice in signed["certificates"] or []
        if choice.name == "certificate" and _sid_matches(sid, choice.chosen)
    ]
    who = embedded[0].subject.human_friendly if embedded else gettext("an unknown certificate")
    raise SignerNotAccepted(
        gettext(
            "The signature was made with %(who)s, which is not an accepted signing certificate of yours or "
            "of the tender's agency or tenderee. Upload that certificate first, or sign with an accepted one."
        )
        % {"who": who},
        details={"reason": "unknown"},
    )


def _problem_message(problem: str) -> str:
    if problem == "revoked":
        return gettext("The signing certificate has been revoked; sign with a current certificate.")
    if problem == "expired":
        return gettext("The signing certificate has expired; sign with a current certificate.")
    return gettext("The signing certificate is not valid yet; sign with a current certificate.")


def _check_signature(
    signer_info: cms.SignerInfo, certificate_der: bytes, digest_name: str, message: bytes, *, prehashed: bool
) -> None:
    algorithm = signer_info["signature_algorithm"]
    signature = signer_info["signature"].native
    chosen: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(_hash(digest_name)) if prehashed else _hash(digest_name)
    )
    invalid = SignatureInvalid(
        gettext(
            "The signature does not verify with the signer's certificate: it was altered, or made with "
            "another key."
        ),
        details={"reason": "bad_signature"},
    )
    try:
        public_key = x509.load_der_x509_certificate(certificate_der).public_key()
        kind = algorithm.signature_algo
        _check_hash_agrees(algorithm, digest_name)
        if kind == "rsassa_pkcs1v15" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), chosen)
        elif kind == "rsassa_pss" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, _pss(algorithm["parameters"], digest_name), chosen)
        elif kind == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(chosen))
        else:
            raise SignatureInvalid(
                gettext(
                    "The signature algorithm %(algorithm)s does not fit the signer's key; tenderhall "
                    "verifies RSA (PKCS#1 v1.5 or PSS) and ECDSA signatures."
                )
                % {"algorithm": algorithm["algorithm"].native},
                details={"reason": "unsupported_algorithm"},
            )
    except InvalidSignature:
        raise invalid from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SignatureInvalid(
            gettext("The signature cannot be checked: %(error)s.") % {"error": error},
            details={"reason": "unsupported_algorithm"},
        ) from error


def _check_hash_agrees(algorithm: Any, digest_name: str) -> None:
    """A signature algorithm that names its hash (sha256WithRSAEncryption ...) must name the digest's."""
    try:
        named = algorithm.hash_algo
    except ValueError:  # rsaEncryption, rsassa_pss and the like: the hash comes from elsewhere
        return
    if named != digest_name:
        raise SignatureInvalid(
            gettext(
                "The signature algorithm's hash (%(named)s) differs from the digest algorithm (%(digest)s)."
            )
            % {"named": named, "digest": digest_name},
            details={"reason": "hash_mismatch"},
        )


def _pss(parameters: Any, digest_name: str) -> padding.PSS:
    if parameters["hash_algorithm"]["algorithm"].native != digest_name:
        raise ValueError("the PSS hash differs from the digest algorithm")
    mgf_hash = parameters["mask_gen_algorithm"]["parameters"]["algorithm"].native
    if mgf_hash != digest_name:
        raise ValueError("the PSS mask generation hash differs from the digest algorithm")
    return padding.PSS(
        mgf=padding.MGF1(_hash(digest_name)), salt_length=int(parameters["salt_length"].native)
    )


# --- storage: one pass that stores and hashes -------------------------------------------------------------


class _HashingFile(File):  # type: ignore[type-arg]  # django-stubs' File is generic over AnyStr
    """The upload as the storage reads it: every byte is hashed (SHA-256 and SM3) and counted once, even
    if the storage seeks back and reads again; more than ``limit`` bytes raise ``DocumentTooLarge``."""

    def __init__(self, source: IO[bytes], *, name: str, limit: int) -> None:
        super().__init__(source, name)
        self._source = source
        self._limit = limit
        self._position = 0
        self.hashed = 0
        self._sha256 = hashlib.sha256()
        self._sm3 = hashes.Hash(hashes.SM3())

    def read(self, size: int = -1) -> bytes:
        start = self._position
        if start > self.hashed:
            msg = "the storage skipped part of the upload"
            raise RuntimeError(msg)
        data = self._source.read(size)
        self._position = start + len(data)
        if self._position > self.hashed:
            fresh = data[self.hashed - start :]
            self.hashed = self._position
            if self.hashed > self._limit:
                raise _too_large()
            self._sha256.update(fresh)
            self._sm3.update(fresh)
        return bytes(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = self._source.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        if self._source.seekable():
            self.seek(0)
        while data := self.read(chunk_size or CHUNK_BYTES):
            yield data

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True

    def digests(self) -> FileDigests:
        return FileDigests(size=self.hashed, sha256=self._sha256.digest(), sm3=self._sm3.finalize())


def _too_large() -> DocumentTooLarge:
    return DocumentTooLarge(
        gettext("A tender document may be at most %(limit)s MB; split it into several documents.")
        % {"limit": MAX_DOCUMENT_BYTES // (1024 * 1024)},
        details={"limit_bytes": MAX_DOCUMENT_BYTES},
    )


def _storage_name(name: str, now: datetime) -> str:
    """A fresh path that does not carry the user's file name (only a tidy extension)."""
    suffix = PurePath(name).suffix.lower()
    if not (suffix[1:].isascii() and suffix[1:].isalnum() and len(suffix) <= 10):
        suffix = ""
    return f"tender-documents/{now:%Y/%m}/{secrets.token_hex(16)}{suffix}"


# --- services ---------------------------------------------------------------------------------------------


def _upload_problem(tender: Tender, now: datetime) -> str | None:
    if tender.status == TenderStatus.DRAFT:
        return None
    if tender.status in AMENDABLE and tender.bid_deadline is not None and now < tender.bid_deadline:
        return None
    return gettext(
        "Documents can be added while the tender is a draft, or as an amendment before the bid deadline; "
        "this tender is %(status)s."
    ) % {"status": tender.status}


def _candidates(actor: User, tender: Tender, now: datetime) -> list[CandidateCertificate]:
    owners = Q(user=actor) | Q(entity_id=tender.project.tenderee_id)
    if tender.project.agency_id is not None:
        owners |= Q(entity_id=tender.project.agency_id)
    rows = Certificate.objects.filter(owners, usage=CertificateUsage.SIGNING).order_by("-accepted_at")
    candidates = []
    for row in rows:
        problem = None
        if row.status != CertificateStatus.ACCEPTED:
            problem = "revoked"
        elif now >= row.not_after:
            problem = "expired"
        elif now < row.not_before:
            problem = "not_yet_valid"
        candidates.append(CandidateCertificate(id=row.pk, der=bytes(row.der), problem=problem))
    # Current certificates first, so that a renewed certificate with the same key identifier wins.
    return sorted(candidates, key=lambda c: c.problem is not None)


def document_upload(
    *, actor: User, tender_id: int, name: str, file: IO[bytes], signature: bytes, now: datetime
) -> TenderDocument:
    """Store a tender document signed by the agency (or tenderee); see the module docstring."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            gettext("Give the document a name of 1 to %(max)s characters.") % {"max": MAX_NAME_LENGTH},
            details={"fields": {"name": "length"}},
        )
    # Refuse what needs no reading first: nothing is stored for a request that is denied or malformed.
    tender = access_tender_for_viewer(viewer=actor, tender_id=tender_id)
    if not (can_manage_project(actor, tender.project) or user_has_role(actor, Role.OPERATOR)):
        raise PermissionDenied(gettext("Only the tender's agency (or tenderee) may upload its documents."))
    if (problem := _upload_problem(tender, now)) is not None:
        raise DocumentUploadClosed(problem)
    signed = signature_parse(signature)
    declared = getattr(file, "size", None)
    if isinstance(declared, int) and declared > MAX_DOCUMENT_BYTES:
        raise _too_large()
    storage = default_storage
    stored_name = _storage_name(name, now)
    try:
        upload = _HashingFile(file, name=stored_name, limit=MAX_DOCUMENT_BYTES)
        stored_name = storage.save(stored_name, upload, max_length=100)
        digests = upload.digests()
        if digests.size == 0:
            raise InvalidInput(gettext("The document is empty."), details={"fields": {"file": "empty"}})
        with transaction.atomic():
            tender = _lock_tender(actor, tender_id)
            if (problem := _upload_problem(tender, now)) is not None:
                raise DocumentUploadClosed(problem)
            signer = signature_verify(signed, digests=digests, candidates=_candidates(actor, tender, now))
            return _document_record(
                actor=actor,
                tender=tender,
                name=name,
                stored_name=stored_name,
                digests=digests,
                signature=signed_der(signature),
                signer_id=signer.id,
                now=now,
            )
    except BaseException:
        if storage.exists(stored_name):
            storage.delete(stored_name)
        raise


def signed_der(signature: bytes) -> bytes:
    """The DER of a signature given as DER or PEM (stored as DER, served to ``openssl cms -verify``)."""
    if asn1_pem.detect(signature):
        _kind, _headers, der = asn1_pem.unarmor(signature)
        return bytes(der)
    return signature


def _document_record(
    *,
    actor: User,
    tender: Tender,
    name: str,
    stored_name: str,
    digests: FileDigests,
    signature: bytes,
    signer_id: int,
    now: datetime,
) -> TenderDocument:
    replaced = list(
        TenderDocument.objects.select_for_update().filter(
            tender=tender, name=name, superseded_at__isnull=True
        )
    )
    for old in replaced:
        old.superseded_at = now
        old.save(update_fields=["superseded_at"])
    document = TenderDocument.objects.create(
        tender=tender,
        name=name,
        file=stored_name,
        size=digests.size,
        sha256=digests.sha256.hex(),
        sm3=digests.sm3.hex(),
        signature=signature,
        signer_certificate_id=signer_id,
        uploaded_by=actor,
        uploaded_at=now,
    )
    ledger_append(
        event_type="procedures:document:uploaded",
        subjects={"document": str(document.pk), "tender": str(tender.pk)},
        hashes={"sha256": f"sha256:{document.sha256}", "sm3": f"sm3:{document.sm3}"},
        actor=f"user:{actor.pk}",
        at=now,
        data={"name": name, "size": digests.size, "replaces": [old.pk for old in replaced]},
    )
    audit_record(
        actor=actor,
        action="procedures:document:uploaded",
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes={
            "document": [None, name],
            "sha256": [None, document.sha256],
            "size": [None, digests.size],
            "replaces": [None, [old.pk for old in replaced]],
        },
    )
    if tender.status != TenderStatus.DRAFT:
        verb = "已更新" if replaced else "已补充"
        clarifications.amendment_issue(
            actor=actor,
            tender=tender,
            text=f"招标文件《{name}》{verb}（SHA-256：{document.sha256}；SM3：{document.sm3}），请重新下载。",
            affects_bids=True,
            now=now,
        )
    return document


def _can_fetch_anytime(viewer: User, tender: Tender) -> bool:
    return (
        can_manage_project(viewer, tender.project)
        or tender.project.tenderee_id in managed_entity_ids(viewer)
        or user_supervises(viewer)
        or DocumentDownload.objects.filter(document__tender=tender, user=viewer).exists()
    )


def document_download(
    *, actor: User, document_id: int, now: datetime, remote_addr: str | None
) -> TenderDocument:
    """The document to stream to ``actor``, once the download is logged. No sign-up for the tender."""
    document = TenderDocument.objects.filter(pk=document_id).first()
    if document is None:
        raise NotFound(gettext("No such document."))
    try:
        tender = access_tender_for_viewer(viewer=actor, tender_id=document.tender_id)
    except NotFound:
        raise NotFound(gettext("No such document.")) from None
    on_issue = (tender.documents_from is None or tender.documents_from <= now) and (
        tender.documents_until is None or now < tender.documents_until
    )
    if tender.status != TenderStatus.DRAFT and not on_issue and not _can_fetch_anytime(actor, tender):
        raise DocumentsNotAvailable(
            gettext("The tender documents are issued from %(start)s until %(end)s.")
            % {"start": _moment(tender.documents_from), "end": _moment(tender.documents_until)}
        )
    with transaction.atomic():
        DocumentDownload.objects.create(
            document=document, user=actor, downloaded_at=now, remote_addr=remote_addr
        )
    document.tender = tender
    return document


def _moment(moment: datetime | None) -> str:
    return when(moment) if moment is not None else "—"


def document_list_for_viewer(*, viewer: User | None, tender_id: int) -> QuerySet[TenderDocument]:
    """The documents of a tender the viewer may see (public once published), current ones first."""
    tender = access_tender_for_viewer(viewer=viewer, tender_id=tender_id)
    return (
        TenderDocument.objects.filter(tender=tender)
        .select_related("signer_certificate")
        .order_by("superseded_at", "uploaded_at", "id")
    )


def access_document_for_viewer(*, viewer: User | None, document_id: int) -> TenderDocument:
    document = TenderDocument.objects.select_related("signer_certificate").filter(pk=document_id).first()
    if document is None:
        raise NotFound(gettext("No such document."))
    try:
        access_tender_for_viewer(viewer=viewer, tender_id=document.tender_id)
    except NotFound:
        raise NotFound(gettext("No such document.")) from None
    return document


def downloaders_visible_to(viewer: User, tender: Tender, now: datetime) -> bool:
    """The operator always; from the bid deadline on, also the tender's managers, its tenderee and the
    regulators. Nobody else, ever (order 20 ch. 3: identity and number stay secret until the deadline)."""
    if user_has_role(viewer, Role.OPERATOR):
        return True
    if tender.bid_deadline is None or now < tender.bid_deadline:
        return False
    return (
        can_manage_project(viewer, tender.project)
        or tender.project.tenderee_id in managed_entity_ids(viewer)
        or user_has_role(viewer, Role.REGULATOR)
    )


def download_list(*, viewer: User, tender_id: int, now: datetime) -> QuerySet[DocumentDownload]:
    """Every logged download of the tender's documents, for those who may see them; "not found" otherwise,
    so that nobody learns even that a list exists."""
    tender = Tender.objects.select_related("project").filter(pk=tender_id).first()
    if tender is None or not downloaders_visible_to(viewer, tender, now):
        raise NotFound(gettext("No such download list."))
    return (
        DocumentDownload.objects.filter(document__tender=tender)
        .select_related("user", "document")
        .order_by("downloaded_at", "id")
    )


# --- ledger verify ----------------------------------------------------------------------------------------


def document_uploaded_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """`ledger verify`: the stored file must still hash (SHA-256 and SM3) as logged, and so must the row."""
    document = TenderDocument.objects.filter(pk=event["subjects"]["document"]).first()
    if document is None:
        return [f"document {event['subjects']['document']} no longer exists"]
    name = document.file.name or ""
    if not name or not default_storage.exists(name):
        return [f"document {document.pk}: its file {name} is missing"]
    sha256, sm3, size = hashlib.sha256(), hashes.Hash(hashes.SM3()), 0
    with default_storage.open(name, "rb") as stored:
        for chunk in iter(lambda: stored.read(CHUNK_BYTES), b""):
            sha256.update(chunk)
            sm3.update(chunk)
            size += len(chunk)
    file_hashes = {"sha256": f"sha256:{sha256.hexdigest()}", "sm3": f"sm3:{sm3.finalize().hex()}"}
    row_hashes = {"sha256": f"sha256:{document.sha256}", "sm3": f"sm3:{document.sm3}"}
    if row_hashes != file_hashes:
        return [f"document {document.pk}: the row's hashes differ from the stored file's"]
    return {
        **event,
        "hashes": file_hashes,
        "data": {**event.get("data", {}), "name": document.name, "size": size},
    }


def leaf_sources() -> dict[str, Callable[[dict[str, Any]], dict[str, Any] | list[str]]]:
    """The leaf sources of this module, for ``procedures.ledger_sources.register``."""
    return {"procedures:document:uploaded": document_uploaded_source}
