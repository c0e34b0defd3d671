"""Tender documents: signed upload (openssl and cryptography as independent signers), every refusal with its
code and nothing stored, amendments after publication, logged downloads and the downloaders' secrecy."""

from __future__ import annotations

import hashlib
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile

from tenderhall.accounts import services as account_services
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.models import AuditEntry
from tenderhall.procedures import documents
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.documents import (
    document_download,
    document_upload,
    download_list,
    downloaders_visible_to,
)
from tenderhall.procedures.models import Clarification, DocumentDownload, Notification, TenderDocument
from tenderhall.procedures.tests.support import (
    DEADLINE,
    DOCUMENT,
    NOW,
    World,
    accept_for_entity,
    accept_for_user,
    download,
    leaf_source_problems,
    leaves,
    make_ec_signer,
    make_signer,
    make_world,
    state,
    stored_files,
)

pytestmark = pytest.mark.django_db

BILL = "工程量清单 bill of quantities\n".encode() * 500


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def upload(
    world: World, content: bytes, signature: bytes, *, name: str = "工程量清单.xlsx", now=NOW, actor=None
):
    return document_upload(
        actor=actor or world.agency_user,
        tender_id=world.tender.pk,
        name=name,
        file=io.BytesIO(content),
        signature=signature,
        now=now,
    )


def refused(world: World, content: bytes, signature: bytes, **kwargs) -> DomainError:
    """Upload and expect a refusal that leaves no row, no file, no leaf and no audit entry."""
    before = state()
    with pytest.raises(DomainError) as caught:
        upload(world, content, signature, **kwargs)
    assert state() == before
    return caught.value


# --- accepted signatures ----------------------------------------------------------------------------------


def test_a_document_signed_by_openssl_is_stored_with_its_sha256_and_sm3_ledger_leaf_and_audit_entry():
    # given a draft tender and its agency's accepted signing certificate
    world = make_world(status=TenderStatus.DRAFT)
    signature = world.signer.openssl(BILL)
    # when
    document = upload(world, BILL, signature)
    # then the row says what was stored ...
    assert document.name == "工程量清单.xlsx"
    assert document.size == len(BILL)
    assert document.sha256 == hashlib.sha256(BILL).hexdigest()
    assert document.sm3 == sm3_hex(BILL)
    assert bytes(document.signature) == signature
    assert document.signer_certificate.entity_id == world.agency.pk
    assert document.superseded_at is None
    assert document.uploaded_at == NOW
    # ... the stored file holds exactly the bytes, under a name that is not the user's
    with document.file.open("rb") as stored:
        assert stored.read() == BILL
    assert document.file.name.startswith("tender-documents/2026/03/")
    assert document.file.name.endswith(".xlsx")
    assert "工程量清单" not in document.file.name
    # ... and the ledger and the audit trail have it
    leaf = leaves("procedures:document:uploaded")[-1]
    assert leaf["subjects"] == {"document": str(document.pk), "tender": str(world.tender.pk)}
    assert leaf["hashes"] == {"sha256": f"sha256:{document.sha256}", "sm3": f"sm3:{document.sm3}"}
    assert leaf["actor"] == f"user:{world.agency_user.pk}"
    assert leaf["data"] == {"name": "工程量清单.xlsx", "size": len(BILL), "replaces": []}
    entry = AuditEntry.objects.filter(action="procedures:document:uploaded").latest("pk")
    assert entry.actor_id == world.agency_user.pk
    assert entry.changes["sha256"] == [None, document.sha256]
    # and a draft's document is no amendment
    assert not Clarification.objects.exists()


def test_the_sm3_digest_agrees_with_the_openssl_cli(tmp_path: Path):
    world = make_world(status=TenderStatus.DRAFT)
    document = upload(world, BILL, world.signer.openssl(BILL))
    (tmp_path / "bill").write_bytes(BILL)
    result = subprocess.run(
        ["openssl", "dgst", "-sm3", str(tmp_path / "bill")], check=True, capture_output=True
    )
    assert result.stdout.decode().split("= ")[1].strip() == document.sm3


def test_a_pem_signature_from_openssl_is_accepted_and_kept_as_der():
    world = make_world(status=TenderStatus.DRAFT)
    signature = world.signer.openssl(BILL, pem=True)
    assert signature.startswith(b"-----BEGIN CMS-----")
    document = upload(world, BILL, signature)
    assert bytes(document.signature) == documents.signed_der(signature)
    assert bytes(document.signature)[0] == 0x30


def test_a_signature_from_the_cryptography_pkcs7_builder_is_accepted():
    world = make_world(status=TenderStatus.DRAFT)
    document = upload(world, BILL, world.signer.pkcs7(BILL))
    assert document.sha256 == hashlib.sha256(BILL).hexdigest()


def test_a_signature_without_signed_attributes_is_checked_over_the_files_digest(tmp_path: Path):
    # given openssl's -noattr signature: the RSA signature is over the file's digest itself
    world = make_world(status=TenderStatus.DRAFT)
    (tmp_path / "bill").write_bytes(BILL)
    command = [
        "openssl",
        "cms",
        "-sign",
        "-binary",
        "-noattr",
        "-in",
        str(tmp_path / "bill"),
        "-signer",
        str(world.signer.cert_path),
        "-inkey",
        str(world.signer.key_path),
        "-outform",
        "DER",
    ]
    signature = subprocess.run(command, check=True, capture_output=True).stdout
    assert len(cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signed_attrs"]) == 0
    # when / then: accepted over the file, refused over another
    assert upload(world, BILL, signature).sha256 == hashlib.sha256(BILL).hexdigest()
    assert refused(world, BILL + b"x", signature, name="other.pdf").code == "signature_invalid"


def test_an_ecdsa_signature_made_by_openssl_is_accepted():
    world = make_world(status=TenderStatus.DRAFT)
    signer = make_ec_signer(common_name="张三", serial_number="EC-1", now=NOW - timedelta(days=3))
    accept_for_user(signer, user=world.agency_user, now=NOW - timedelta(days=3))
    document = upload(world, BILL, signer.openssl(BILL))
    assert document.signer_certificate.user_id == world.agency_user.pk


def sm3_signed_data(content: bytes, cert_pem: bytes, key_pem: bytes) -> bytes:
    """A detached SignedData with SM3 as digest, ECDSA over the signed attributes (openssl refuses to make
    one, so it is built here from its ASN.1)."""
    certificate = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    )
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "message_digest", "values": [bytes.fromhex(sm3_hex(content))]}),
        ]
    )
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": documents.SM3_OID}),
            "signed_attrs": attributes,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "ecdsa"}),
            "signature": key.sign(attributes.dump(), ec.ECDSA(hashes.SM3())),
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": documents.SM3_OID})],
            "encap_content_info": {"content_type": "data"},
            "certificates": [certificate],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def test_a_signature_with_the_sm3_digest_is_checked_against_the_files_sm3():
    # given an EC signing certificate and a SignedData whose digest algorithm is SM3
    world = make_world(status=TenderStatus.DRAFT)
    signer = make_ec_signer(common_name="张三", serial_number="EC-2", now=NOW - timedelta(days=3))
    accept_for_user(signer, user=world.agency_user, now=NOW - timedelta(days=3))
    # when / then: over the right file it is accepted, over another it is a digest mismatch
    assert upload(world, BILL, sm3_signed_data(BILL, signer.cert_pem, signer.key_pem)).sm3 == sm3_hex(BILL)
    error = refused(world, BILL + b"!", sm3_signed_data(BILL, signer.cert_pem, signer.key_pem), name="b.pdf")
    assert error.code == "digest_mismatch"
    assert error.details["algorithm"] == "sm3"


def test_the_uploaders_own_accepted_certificate_is_accepted_too():
    world = make_world(status=TenderStatus.DRAFT)
    personal = make_signer(common_name="李四", serial_number="P-1", now=NOW - timedelta(days=3))
    certificate = accept_for_user(personal, user=world.agency_user, now=NOW - timedelta(days=3))
    assert upload(world, BILL, personal.openssl(BILL)).signer_certificate_id == certificate.pk


# --- refused signatures: each with its code, nothing stored -----------------------------------------------


def test_a_tampered_file_is_refused_as_digest_mismatch():
    world = make_world(status=TenderStatus.DRAFT)
    error = refused(world, BILL[:-1] + b"?", world.signer.openssl(BILL))
    assert error.code == "digest_mismatch"
    assert error.status == 422
    assert error.details == {
        "algorithm": "sha256",
        "file_digest": hashlib.sha256(BILL[:-1] + b"?").hexdigest(),
    }


def test_a_signature_value_made_by_another_key_is_refused_as_signature_invalid():
    # given the agency's signature with its signature value replaced by another key's over the same file
    world = make_world(status=TenderStatus.DRAFT)
    other = make_signer(common_name="王五", serial_number="X-1", now=NOW - timedelta(days=3))
    genuine = cms.ContentInfo.load(world.signer.openssl(BILL))
    forged = cms.ContentInfo.load(other.openssl(BILL))
    genuine["content"]["signer_infos"][0]["signature"] = forged["content"]["signer_infos"][0][
        "signature"
    ].native
    # when / then
    error = refused(world, BILL, genuine.dump(force=True))
    assert error.code == "signature_invalid"
    assert error.details == {"reason": "bad_signature"}


def test_a_signer_whose_certificate_is_not_accepted_is_refused():
    world = make_world(status=TenderStatus.DRAFT)
    stranger = make_signer(common_name="赵六", serial_number="X-2", now=NOW - timedelta(days=3))
    error = refused(world, BILL, stranger.openssl(BILL))
    assert error.code == "signer_not_accepted"
    assert error.details == {"reason": "unknown"}
    assert "赵六" in error.message


def test_the_certificate_of_another_tenders_agency_is_not_accepted():
    world = make_world(status=TenderStatus.DRAFT)
    other_agency = make_signer(common_name="远东", serial_number=world.other_agency.identifier, now=NOW)
    accept_for_entity(other_agency, actor=world.other_agency_user, entity=world.other_agency, now=NOW)
    assert refused(world, BILL, other_agency.openssl(BILL)).code == "signer_not_accepted"


def test_a_revoked_certificate_is_refused_with_the_reason():
    world = make_world(status=TenderStatus.DRAFT)
    certificate = world.document.signer_certificate
    account_services.certificate_revoke(actor=world.agency_user, certificate=certificate, now=NOW)
    error = refused(world, BILL, world.signer.openssl(BILL))
    assert (error.code, error.details) == ("signer_not_accepted", {"reason": "revoked"})


def test_an_expired_certificate_is_refused_with_the_reason():
    world = make_world(status=TenderStatus.DRAFT)
    later = NOW + timedelta(days=400)
    world.tender.bid_deadline = later + timedelta(days=30)
    world.tender.save(update_fields=["bid_deadline"])
    error = refused(world, BILL, world.signer.openssl(BILL), now=later)
    assert (error.code, error.details) == ("signer_not_accepted", {"reason": "expired"})


@pytest.mark.parametrize(
    ("signature", "words"),
    [
        (b"", "empty"),
        (b"\x00garbage\xff" * 10, "not a CMS structure"),
        (b"-----BEGIN CMS-----\nnot base64 at all\n-----END CMS-----\n", "not a CMS structure"),
    ],
)
def test_garbage_is_refused_as_not_cms(signature: bytes, words: str):
    world = make_world(status=TenderStatus.DRAFT)
    error = refused(world, BILL, signature)
    assert error.code == "signature_not_cms"
    assert words in error.message


def test_an_attached_signature_or_an_encrypted_file_is_not_a_detached_signature(tmp_path: Path):
    world = make_world(status=TenderStatus.DRAFT)
    (tmp_path / "bill").write_bytes(BILL)
    attached = subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            str(tmp_path / "bill"),
            "-signer",
            str(world.signer.cert_path),
            "-inkey",
            str(world.signer.key_path),
            "-outform",
            "DER",
        ],
        check=True,
        capture_output=True,
    ).stdout
    enveloped = subprocess.run(
        [
            "openssl",
            "cms",
            "-encrypt",
            "-binary",
            "-aes256",
            "-in",
            str(tmp_path / "bill"),
            "-outform",
            "DER",
            str(world.signer.cert_path),
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert "detached" in refused(world, BILL, attached).message
    assert (
        refused(world, BILL, enveloped).message
        == "The file is a CMS enveloped_data, not a signature (SignedData)."
    )


def test_a_file_over_the_limit_is_refused_while_streaming_and_the_partial_file_is_deleted(monkeypatch):
    # given a limit of 1000 bytes and a stream that does not say its size
    world = make_world(status=TenderStatus.DRAFT)
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1000)
    # when / then
    error = refused(world, BILL, world.signer.openssl(BILL))
    assert (error.code, error.status) == ("document_too_large", 413)
    assert error.details == {"limit_bytes": 1000}


def test_an_upload_that_declares_a_size_over_the_limit_is_refused_before_it_is_read(monkeypatch):
    world = make_world(status=TenderStatus.DRAFT)
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1000)
    before = state()
    with pytest.raises(DomainError) as caught:
        document_upload(
            actor=world.agency_user,
            tender_id=world.tender.pk,
            name="big.pdf",
            file=SimpleUploadedFile("big.pdf", BILL),
            signature=world.signer.openssl(BILL),
            now=NOW,
        )
    assert caught.value.code == "document_too_large"
    assert state() == before


def test_a_refusal_inside_the_transaction_deletes_the_stored_file(monkeypatch):
    # given a ledger that fails after the file is stored and the row written
    world = make_world(status=TenderStatus.DRAFT)
    files = stored_files()

    def broken(**kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(documents, "ledger_append", broken)
    # when
    with pytest.raises(RuntimeError, match="ledger down"):
        upload(world, BILL, world.signer.openssl(BILL))
    # then
    assert stored_files() == files
    assert TenderDocument.objects.count() == 2


# --- who may upload, and when -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("bidder", "permission_denied"),
        ("other_agency", "permission_denied"),
        ("regulator", "permission_denied"),
    ],
)
def test_only_the_tenders_managers_upload(who: str, code: str):
    world = make_world()
    error = refused(world, BILL, world.signer.openssl(BILL), actor=world.users[who])
    assert error.code == code


def test_a_draft_of_another_agency_is_not_found():
    world = make_world(status=TenderStatus.DRAFT)
    error = refused(world, BILL, world.signer.openssl(BILL), actor=world.other_agency_user)
    assert isinstance(error, NotFound)


def test_no_document_is_added_once_the_bid_deadline_has_come():
    world = make_world()
    error = refused(world, BILL, world.signer.openssl(BILL), now=DEADLINE)
    assert error.code == "document_upload_closed"


def test_a_document_uploaded_after_publication_is_an_amendment_replacing_its_namesake_told_to_downloaders():
    # given a tender on issue, downloaded by one bidder twice, 10 days before its deadline
    world = make_world()
    download(world, world.bidder)
    download(world, world.bidder)
    at = NOW + timedelta(days=15)  # 17 March: too late for the 15-day amendment limit
    # when the agency uploads a new version of the tender documents
    revised = DOCUMENT + b"revised"
    document = upload(world, revised, world.signer.openssl(revised), name="招标文件.pdf", now=at)
    # then the old version is superseded, not deleted
    world.document.refresh_from_db()
    assert world.document.superseded_at == at
    assert document.superseded_at is None
    assert leaves("procedures:document:uploaded")[-1]["data"]["replaces"] == [world.document.pk]
    # and a clarification went out that moved the deadline to the earliest lawful date
    clarification = Clarification.objects.get()
    assert clarification.affects_bids is True
    assert clarification.deadline_before == DEADLINE
    assert clarification.deadline_after == datetime(2026, 4, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    assert document.sha256 in clarification.text
    world.tender.refresh_from_db()
    assert world.tender.bid_deadline == clarification.deadline_after
    assert clarification.notice is not None
    assert clarification.notice.kind == NoticeKind.AMENDMENT
    assert clarification.notice.published_at == at
    # and the downloader is told once
    assert list(Notification.objects.values_list("user_id", flat=True)) == [world.bidder.pk]


# --- download and secrecy ---------------------------------------------------------------------------------


def test_any_signed_in_user_downloads_a_published_tenders_documents_and_the_download_is_logged():
    world = make_world()
    document = document_download(
        actor=world.other_bidder, document_id=world.document.pk, now=NOW, remote_addr="198.51.100.4"
    )
    assert document.pk == world.document.pk
    logged = DocumentDownload.objects.get()
    assert (logged.user_id, logged.downloaded_at, logged.remote_addr) == (
        world.other_bidder.pk,
        NOW,
        "198.51.100.4",
    )


def test_a_drafts_documents_are_not_found_for_the_public():
    world = make_world(status=TenderStatus.DRAFT)
    with pytest.raises(NotFound):
        download(world, world.bidder)
    assert not DocumentDownload.objects.exists()


def test_after_the_issue_period_only_those_who_hold_the_documents_fetch_them_again():
    # given one bidder who downloaded during the issue period
    world = make_world()
    download(world, world.bidder)
    after = DEADLINE - timedelta(days=6)  # documents_until
    assert world.tender.documents_until == after
    # when / then
    assert download(world, world.bidder, now=after).pk == world.document.pk
    with pytest.raises(DomainError) as caught:
        download(world, world.other_bidder, now=after)
    assert caught.value.code == "documents_not_available"
    assert DocumentDownload.objects.filter(user=world.other_bidder).count() == 0


@pytest.mark.parametrize(
    ("who", "before_deadline", "after_deadline"),
    [
        ("operator", True, True),
        ("agency", False, True),
        ("tenderee", False, True),
        ("regulator", False, True),
        ("bidder", False, False),
        ("other_bidder", False, False),
        ("other_agency", False, False),
    ],
)
def test_the_downloaders_stay_secret_until_the_deadline_from_all_but_the_operator(
    who, before_deadline, after_deadline
):
    world = make_world()
    download(world, world.bidder)
    viewer = world.users[who]
    assert (
        downloaders_visible_to(viewer, world.tender, DEADLINE - timedelta(microseconds=1)) is before_deadline
    )
    assert downloaders_visible_to(viewer, world.tender, DEADLINE) is after_deadline


def test_the_download_list_is_not_found_for_those_who_may_not_see_it():
    world = make_world()
    download(world, world.bidder)
    with pytest.raises(NotFound):
        download_list(viewer=world.agency_user, tender_id=world.tender.pk, now=NOW)
    listed = download_list(viewer=world.operator, tender_id=world.tender.pk, now=NOW)
    assert [(d.user_id, d.document_id) for d in listed] == [(world.bidder.pk, world.document.pk)]
    assert len(download_list(viewer=world.agency_user, tender_id=world.tender.pk, now=DEADLINE)) == 1


# --- ledger verify ----------------------------------------------------------------------------------------


def test_the_leaf_sources_rebuild_the_document_and_clarification_leaves_and_name_a_changed_file_or_row():
    # given an amendment document after publication (a document leaf and a clarification leaf)
    world = make_world()
    revised = DOCUMENT + b"revised"
    upload(world, revised, world.signer.openssl(revised), name="招标文件.pdf", now=NOW + timedelta(days=1))
    assert leaf_source_problems() == []
    # when the stored file of the first document is changed
    path = Path(world.document.file.path)
    original = path.read_bytes()
    path.write_bytes(original + b"!")
    # then verify names it
    assert leaf_source_problems() == [
        f"document {world.document.pk}: the row's hashes differ from the stored file's"
    ]
    # and when the file is back but a clarification's text was edited in the database
    path.write_bytes(original)
    Clarification.objects.update(text="另一段文字")
    [problem] = leaf_source_problems()
    assert problem.endswith("(procedures:clarification:published) differs from the live data")
