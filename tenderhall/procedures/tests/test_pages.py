"""The agency's pages: register a project, create a tender, add a lot, set the timeline, upload signed
documents, publish (and see each broken limit), then answer a question with a clarification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import load_pem_x509_certificate
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.tests.factories import make_user
from tenderhall.procedures import clarifications, services
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Project, Tender, TenderDocument
from tenderhall.procedures.tests.factories import PUBLISH_AT, make_draft_tender, make_parties
from tenderhall.procedures.tests.support import accept_for_entity, make_signer

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_agency_registers_a_project_and_creates_a_tender_from_the_pages():
    # given
    parties = make_parties()
    client = signed_in(parties.agency_user)
    # when
    response = client.post(
        "/procedures/",
        {
            "name": "江城市图书馆改造工程",
            "sector": "works",
            "region_code": "420100",
            "tenderee_id": parties.tenderee.pk,
            "agency_id": parties.agency.pk,
            "budget": "3000000",
        },
    )
    project = Project.objects.get()
    created = client.post(
        f"/procedures/projects/{project.pk}/", {"name": "图书馆改造施工", "procedure_type": "works_open"}
    )
    # then
    assert response.headers["Location"] == f"/procedures/projects/{project.pk}/"
    tender = Tender.objects.get()
    assert created.headers["Location"] == f"/procedures/tenders/{tender.pk}/manage/"
    page = client.get(f"/procedures/tenders/{tender.pk}/manage/").content.decode()
    assert tender.code in page
    assert signed_in(make_user()).get(f"/procedures/tenders/{tender.pk}/manage/").status_code == 404


def test_publishing_a_short_timeline_from_the_page_shows_each_violation(monkeypatch):
    parties = make_parties()
    tender = make_draft_tender(parties, days_to_deadline=10)
    from tenderhall.procedures.tests.factories import attach_signed_document

    attach_signed_document(parties, tender)
    monkeypatch.setattr("tenderhall.core.clock.now", lambda: PUBLISH_AT)
    client = signed_in(parties.agency_user)
    client.post(f"/procedures/tenders/{tender.pk}/publish")
    page = client.get(f"/procedures/tenders/{tender.pk}/manage/").content.decode()
    assert 'id="violations"' in page
    assert "2026-03-24T09:00:00+08:00" in page
    tender.refresh_from_db()
    assert tender.status == TenderStatus.DRAFT


def test_signed_documents_upload_from_the_page_and_a_bad_signature_is_refused(monkeypatch):
    parties = make_parties()
    tender = make_draft_tender(parties)
    monkeypatch.setattr("tenderhall.core.clock.now", lambda: PUBLISH_AT)
    signer = make_signer(
        common_name=parties.agency.name, serial_number=parties.agency.identifier, now=PUBLISH_AT
    )
    accept_for_entity(signer, actor=parties.agency_user, entity=parties.agency, now=PUBLISH_AT)
    content = "招标文件全文".encode() * 100
    key = serialization.load_pem_private_key(signer.key_pem, password=None)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(load_pem_x509_certificate(signer.cert_pem), key, hashes.SHA256())  # type: ignore[arg-type]
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    client = signed_in(parties.agency_user)
    # a signature over other bytes is refused and nothing is stored
    client.post(
        f"/procedures/tenders/{tender.pk}/documents",
        {
            "name": "招标文件",
            "file": SimpleUploadedFile("a.pdf", content + b"!"),
            "signature": SimpleUploadedFile("a.p7s", signature),
        },
    )
    assert not TenderDocument.objects.exists()
    client.post(
        f"/procedures/tenders/{tender.pk}/documents",
        {
            "name": "招标文件",
            "file": SimpleUploadedFile("a.pdf", content),
            "signature": SimpleUploadedFile("a.p7s", signature),
        },
    )
    document = TenderDocument.objects.get()
    assert document.size == len(content)
    assert document.sha256 in client.get(f"/procedures/tenders/{tender.pk}/manage/").content.decode()


def test_the_agency_answers_a_question_without_learning_who_asked(monkeypatch):
    # given: a published tender, a bidder who downloaded and asked
    from tenderhall.procedures.documents import document_download
    from tenderhall.procedures.tests.factories import attach_signed_document

    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    from tenderhall.procedures.scheduler import procedures_tick

    procedures_tick(now=PUBLISH_AT + timedelta(minutes=1))
    bidder = make_user(username="zhang-asks")
    later = PUBLISH_AT + timedelta(days=1)
    document_download(actor=bidder, document_id=TenderDocument.objects.get().pk, now=later, remote_addr=None)
    question = clarifications.question_ask(
        actor=bidder, tender_id=tender.pk, text="工期能否调整为200日历天？", now=later
    )
    monkeypatch.setattr("tenderhall.core.clock.now", lambda: later + timedelta(hours=1))
    client = signed_in(parties.agency_user)
    page = client.get(f"/procedures/tenders/{tender.pk}/manage/").content.decode()
    assert "工期能否调整为200日历天？" in page
    assert "zhang-asks" not in page
    # when
    client.post(
        f"/procedures/tenders/{tender.pk}/clarifications",
        {"text": "工期不变，仍为180日历天。", "question_ids": [str(question.pk)]},
    )
    # then
    question.refresh_from_db()
    assert question.clarification is not None
    assert question.clarification.text == "工期不变，仍为180日历天。"


def test_the_agency_answers_an_objection_from_its_page_and_the_tender_resumes(monkeypatch):
    # given: a bidder's objection to the documents has suspended the tender
    from datetime import UTC, datetime

    from tenderhall.accounts.tests.factories import enable_two_factor
    from tenderhall.procedures.choices import ObjectionSubject
    from tenderhall.procedures.objections import objection_raise
    from tenderhall.procedures.tests.support import make_world

    world = make_world()
    raised = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    objection = objection_raise(
        actor=world.bidder,
        tender_id=world.tender.pk,
        entity_id=world.bidder_entity.pk,
        subject=ObjectionSubject.DOCUMENTS,
        text="评分标准排斥潜在投标人。",
        now=raised,
    )
    world.tender.refresh_from_db()
    assert world.tender.status == TenderStatus.SUSPENDED
    enable_two_factor(world.agency_user)
    monkeypatch.setattr("tenderhall.core.clock.now", lambda: raised + timedelta(days=1))
    client = signed_in(world.agency_user)
    assert (
        "评分标准排斥潜在投标人。"
        in client.get(f"/procedures/tenders/{world.tender.pk}/manage/").content.decode()
    )
    # when
    client.post(
        f"/procedures/tenders/{world.tender.pk}/objections/{objection.pk}/answer",
        {"answer": "评分标准已按澄清修改。"},
    )
    # then
    objection.refresh_from_db()
    world.tender.refresh_from_db()
    assert (objection.answer, world.tender.status) == ("评分标准已按澄清修改。", TenderStatus.BIDDING)


def test_the_regulator_accepts_and_decides_a_complaint_from_its_desk_and_nobody_else_can(monkeypatch):
    from datetime import UTC, datetime

    from tenderhall.accounts.tests.factories import enable_two_factor
    from tenderhall.procedures.choices import ComplaintStatus
    from tenderhall.procedures.objections import complaint_file
    from tenderhall.procedures.tests.support import make_world

    world = make_world()
    filed = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    complaint = complaint_file(
        actor=world.bidder,
        tender_id=world.tender.pk,
        entity_id=world.bidder_entity.pk,
        text="评标委员会组成违法。",
        known_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        now=filed,
    )
    monkeypatch.setattr("tenderhall.core.clock.now", lambda: filed + timedelta(days=1))
    signed_in(world.bidder).post(f"/procedures/complaints/{complaint.pk}/", {"action": "accept"})
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.SUBMITTED
    if not world.regulator.two_factor_enabled:
        enable_two_factor(world.regulator)
    desk = signed_in(world.regulator)
    assert "评标委员会组成违法。" in desk.get("/procedures/complaints/").content.decode()
    desk.post(f"/procedures/complaints/{complaint.pk}/", {"action": "accept"})
    desk.post(
        f"/procedures/complaints/{complaint.pk}/", {"action": "dismiss", "text": "评标委员会组成符合规定。"}
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.outcome) == (ComplaintStatus.DISMISSED, "评标委员会组成符合规定。")


def test_the_tenderee_follows_the_projects_its_agency_runs_without_managing_them():
    parties = make_parties()
    tender = make_draft_tender(parties)
    client = signed_in(parties.tenderee_user)
    page = client.get("/procedures/").content.decode()
    assert tender.project.code in page
    assert f"/tenders/{tender.pk}/" in page
    assert f"/procedures/tenders/{tender.pk}/manage/" not in page
    assert client.get(f"/procedures/tenders/{tender.pk}/manage/").status_code == 404
    assert client.get(f"/tenders/{tender.pk}/").status_code == 200  # the draft is visible to its tenderee
