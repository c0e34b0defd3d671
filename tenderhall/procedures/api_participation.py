"""Procedures API, taking part in a tender: documents, downloads, questions, clarifications, notifications,
objections and complaints. One operation per use case, one service or selector call each; the rules are in
``documents.py``, ``clarifications.py`` and ``objections.py`` (docs/tender-documents.md)."""

from __future__ import annotations

import base64
from datetime import datetime

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core import clock
from tenderhall.core.middleware import client_address
from tenderhall.procedures import clarifications, documents, objections
from tenderhall.procedures.models import (
    Clarification,
    Complaint,
    DocumentDownload,
    Notification,
    Objection,
    Question,
    TenderDocument,
)

router = Router(tags=["procedures"])
READ, WRITE = Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE


# --- schemas ----------------------------------------------------------------------------------------------


class DocumentOut(Schema):
    id: int
    tender_id: int
    name: str
    size: int
    sha256: str
    sm3: str
    signer_subject: str
    signer_fingerprint: str
    uploaded_at: datetime
    superseded_at: datetime | None


class DownloadOut(Schema):
    id: int
    document_id: int
    document_name: str
    user_id: int
    user_full_name: str
    downloaded_at: datetime
    remote_addr: str | None


class QuestionAskIn(Schema):
    text: str


class QuestionOut(Schema):
    """A question as its asker sees it, with the answer once a clarification gives one."""

    id: int
    tender_id: int
    text: str
    asked_at: datetime
    clarification_id: int | None
    answer: str | None


class QuestionForManagerOut(Schema):
    """A question as the tender's managers see it: the text, never the asker."""

    id: int
    text: str
    asked_at: datetime
    clarification_id: int | None


class ClarificationPublishIn(Schema):
    text: str
    affects_bids: bool = False
    question_ids: list[int] = Field(default_factory=list)


class ClarificationOut(Schema):
    id: int
    tender_id: int
    text: str
    affects_bids: bool
    published_at: datetime
    deadline_before: datetime
    deadline_after: datetime
    notice_id: int | None


class NotificationOut(Schema):
    id: int
    tender_id: int | None
    text: str
    created_at: datetime
    read_at: datetime | None


class ObjectionRaiseIn(Schema):
    entity_id: int
    subject: str
    text: str


class ObjectionAnswerIn(Schema):
    answer: str


class ObjectionOut(Schema):
    id: int
    tender_id: int
    subject: str
    entity_id: int
    entity_name: str
    text: str
    raised_at: datetime
    answer_due_at: datetime
    status: str
    answer: str
    answered_at: datetime | None


class ComplaintFileIn(Schema):
    entity_id: int
    text: str
    known_at: datetime | None = None
    objection_id: int | None = None


class ComplaintRejectIn(Schema):
    reason: str


class ComplaintDecideIn(Schema):
    upheld: bool
    outcome: str


class ComplaintOut(Schema):
    id: int
    tender_id: int
    entity_id: int
    entity_name: str
    text: str
    raised_at: datetime
    accept_due_at: datetime
    decision_due_at: datetime | None
    status: str
    outcome: str
    handled_at: datetime | None


def document_out(document: TenderDocument) -> DocumentOut:
    return DocumentOut(
        id=document.pk,
        tender_id=document.tender_id,
        name=document.name,
        size=document.size,
        sha256=document.sha256,
        sm3=document.sm3,
        signer_subject=document.signer_certificate.subject,
        signer_fingerprint=document.signer_certificate.fingerprint,
        uploaded_at=document.uploaded_at,
        superseded_at=document.superseded_at,
    )


def download_out(download: DocumentDownload) -> DownloadOut:
    return DownloadOut(
        id=download.pk,
        document_id=download.document_id,
        document_name=download.document.name,
        user_id=download.user_id,
        user_full_name=download.user.full_name,
        downloaded_at=download.downloaded_at,
        remote_addr=download.remote_addr,
    )


def question_out(question: Question) -> QuestionOut:
    return QuestionOut(
        id=question.pk,
        tender_id=question.tender_id,
        text=question.text,
        asked_at=question.asked_at,
        clarification_id=question.clarification_id,
        answer=question.clarification.text if question.clarification is not None else None,
    )


def clarification_out(clarification: Clarification) -> ClarificationOut:
    return ClarificationOut(
        id=clarification.pk,
        tender_id=clarification.tender_id,
        text=clarification.text,
        affects_bids=clarification.affects_bids,
        published_at=clarification.published_at,
        deadline_before=clarification.deadline_before,
        deadline_after=clarification.deadline_after,
        notice_id=clarification.notice_id,
    )


def notification_out(notification: Notification) -> NotificationOut:
    return NotificationOut(
        id=notification.pk,
        tender_id=notification.tender_id,
        text=notification.text,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def objection_out(objection: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=objection.pk,
        tender_id=objection.tender_id,
        subject=objection.subject,
        entity_id=objection.raised_for_id,
        entity_name=objection.raised_for.name,
        text=objection.text,
        raised_at=objection.raised_at,
        answer_due_at=objection.answer_due_at,
        status=objection.status,
        answer=objection.answer,
        answered_at=objection.answered_at,
    )


def complaint_out(complaint: Complaint) -> ComplaintOut:
    return ComplaintOut(
        id=complaint.pk,
        tender_id=complaint.tender_id,
        entity_id=complaint.raised_for_id,
        entity_name=complaint.raised_for.name,
        text=complaint.text,
        raised_at=complaint.raised_at,
        accept_due_at=complaint.accept_due_at,
        decision_due_at=complaint.decision_due_at,
        status=complaint.status,
        outcome=complaint.outcome,
        handled_at=complaint.handled_at,
    )


# --- documents --------------------------------------------------------------------------------------------


@router.post(
    "/tenders/{tender_id}/documents",
    response={201: DocumentOut},
    operation_id="document_upload",
    auth=authenticated(WRITE),
)
def document_upload(
    request: HttpRequest,
    tender_id: int,
    file: File[UploadedFile],
    signature: File[UploadedFile],
    name: Form[str] = "",
) -> Status[DocumentOut]:
    """Upload a tender document (multipart: ``file``, ``signature`` — the CMS detached signature made with
    ``openssl cms -sign -binary -outform DER`` — and optionally ``name``, else the file's name)."""
    document = documents.document_upload(
        actor=request_user(request),
        tender_id=tender_id,
        name=name or file.name or "",
        file=file,
        signature=signature.read(documents.MAX_SIGNATURE_BYTES + 1),
        now=clock.now(),
    )
    return Status(201, document_out(document))


@router.get(
    "/tenders/{tender_id}/documents", response=list[DocumentOut], operation_id="document_list", auth=None
)
def document_list(request: HttpRequest, tender_id: int) -> list[DocumentOut]:
    """A published tender's documents with their hashes and signers (superseded ones last): public."""
    viewer = optional_user(request, READ)
    return [document_out(d) for d in documents.document_list_for_viewer(viewer=viewer, tender_id=tender_id)]


@router.get(
    "/documents/{document_id}/file",
    response={200: None},
    operation_id="document_download",
    auth=authenticated(READ),
    openapi_extra={
        "responses": {"200": {"description": "The document", "content": {"application/octet-stream": {}}}}
    },
)
def document_download(request: HttpRequest, document_id: int) -> FileResponse:
    """Download a document: any signed-in user, no sign-up for the tender; the download is logged."""
    document = documents.document_download(
        actor=request_user(request),
        document_id=document_id,
        now=clock.now(),
        remote_addr=client_address(request),
    )
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.name)
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(document.sha256)).decode()}:"
    return response


@router.get(
    "/documents/{document_id}/signature",
    response={200: None},
    operation_id="document_signature",
    auth=None,
    openapi_extra={
        "responses": {
            "200": {"description": "CMS SignedData, DER", "content": {"application/pkcs7-signature": {}}}
        }
    },
)
def document_signature(request: HttpRequest, document_id: int) -> HttpResponse:
    """The document's detached signature (DER), for ``openssl cms -verify -binary -inform DER``."""
    document = documents.access_document_for_viewer(
        viewer=optional_user(request, READ), document_id=document_id
    )
    response = HttpResponse(bytes(document.signature), content_type="application/pkcs7-signature")
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.p7s"'
    return response


@router.get(
    "/tenders/{tender_id}/downloads",
    response=list[DownloadOut],
    operation_id="download_list",
    auth=authenticated(READ),
)
def download_list(request: HttpRequest, tender_id: int) -> list[DownloadOut]:
    """Who downloaded the documents: the operator only until the bid deadline; then also the tender's
    managers, its tenderee and the regulators."""
    downloads = documents.download_list(viewer=request_user(request), tender_id=tender_id, now=clock.now())
    return [download_out(d) for d in downloads]


# --- questions and clarifications -------------------------------------------------------------------------


@router.post(
    "/tenders/{tender_id}/questions",
    response={201: QuestionOut},
    operation_id="question_ask",
    auth=authenticated(WRITE),
)
def question_ask(request: HttpRequest, tender_id: int, payload: QuestionAskIn) -> Status[QuestionOut]:
    """Ask about the documents (once downloaded, before the deadline); the agency sees only the text."""
    question = clarifications.question_ask(
        actor=request_user(request), tender_id=tender_id, text=payload.text, now=clock.now()
    )
    return Status(201, question_out(question))


@router.get(
    "/tenders/{tender_id}/questions",
    response=list[QuestionForManagerOut],
    operation_id="question_list_for_manager",
    auth=authenticated(READ),
)
def question_list_for_manager(request: HttpRequest, tender_id: int) -> list[QuestionForManagerOut]:
    """The tender's questions for its managers: text only, never who asked."""
    questions = clarifications.question_list_for_manager(actor=request_user(request), tender_id=tender_id)
    return [
        QuestionForManagerOut(id=q.id, text=q.text, asked_at=q.asked_at, clarification_id=q.clarification_id)
        for q in questions
    ]


@router.get(
    "/tenders/{tender_id}/questions/mine",
    response=list[QuestionOut],
    operation_id="question_list_for_asker",
    auth=authenticated(READ),
)
def question_list_for_asker(request: HttpRequest, tender_id: int) -> list[QuestionOut]:
    questions = clarifications.question_list_for_asker(actor=request_user(request), tender_id=tender_id)
    return [question_out(q) for q in questions]


@router.post(
    "/tenders/{tender_id}/clarifications",
    response={201: ClarificationOut},
    operation_id="clarification_publish",
    auth=authenticated(WRITE),
)
def clarification_publish(
    request: HttpRequest, tender_id: int, payload: ClarificationPublishIn
) -> Status[ClarificationOut]:
    """Publish a clarification or amendment; a late one that affects bids moves the bid deadline."""
    clarification = clarifications.clarification_publish(
        actor=request_user(request),
        tender_id=tender_id,
        text=payload.text,
        affects_bids=payload.affects_bids,
        question_ids=payload.question_ids,
        now=clock.now(),
    )
    return Status(201, clarification_out(clarification))


@router.get(
    "/tenders/{tender_id}/clarifications",
    response=list[ClarificationOut],
    operation_id="clarification_list",
    auth=None,
)
def clarification_list(request: HttpRequest, tender_id: int) -> list[ClarificationOut]:
    viewer = optional_user(request, READ)
    return [
        clarification_out(c) for c in clarifications.clarification_list(viewer=viewer, tender_id=tender_id)
    ]


@router.get(
    "/notifications",
    response=list[NotificationOut],
    operation_id="notifications_for",
    auth=authenticated(READ),
)
def notifications_for(request: HttpRequest, offset: int = 0, limit: int = 50) -> list[NotificationOut]:
    """The signed-in user's notifications, newest first."""
    start = max(offset, 0)
    page = clarifications.notifications_for(request_user(request))[start : start + min(max(limit, 1), 200)]
    return [notification_out(n) for n in page]


@router.post(
    "/notifications/{notification_id}/read",
    response=NotificationOut,
    operation_id="notification_mark_read",
    auth=authenticated(WRITE),
)
def notification_mark_read(request: HttpRequest, notification_id: int) -> NotificationOut:
    notification = clarifications.notification_mark_read(
        actor=request_user(request), notification_id=notification_id, now=clock.now()
    )
    return notification_out(notification)


# --- objections and complaints ----------------------------------------------------------------------------


@router.post(
    "/tenders/{tender_id}/objections",
    response={201: ObjectionOut},
    operation_id="objection_raise",
    auth=authenticated(WRITE),
)
def objection_raise(request: HttpRequest, tender_id: int, payload: ObjectionRaiseIn) -> Status[ObjectionOut]:
    """Object (异议) for an entity you act for as bidder; one to the documents may suspend the tender."""
    objection = objections.objection_raise(
        actor=request_user(request),
        tender_id=tender_id,
        entity_id=payload.entity_id,
        subject=payload.subject,
        text=payload.text,
        now=clock.now(),
    )
    return Status(201, objection_out(objection))


@router.get(
    "/tenders/{tender_id}/objections",
    response=list[ObjectionOut],
    operation_id="objection_list",
    auth=authenticated(READ),
)
def objection_list(request: HttpRequest, tender_id: int) -> list[ObjectionOut]:
    """All objections for the tender's managers, tenderee and supervisors; your entities' own otherwise."""
    found = objections.objection_list_for_viewer(viewer=request_user(request), tender_id=tender_id)
    return [objection_out(o) for o in found]


@router.post(
    "/objections/{objection_id}/answer",
    response=ObjectionOut,
    operation_id="objection_answer",
    auth=authenticated(WRITE),
)
def objection_answer(request: HttpRequest, objection_id: int, payload: ObjectionAnswerIn) -> ObjectionOut:
    """Answer an objection (the tender's managers); the last open one to the documents resumes the tender."""
    objection = objections.objection_answer(
        actor=request_user(request), objection_id=objection_id, answer=payload.answer, now=clock.now()
    )
    return objection_out(objection)


@router.post(
    "/tenders/{tender_id}/complaints",
    response={201: ComplaintOut},
    operation_id="complaint_file",
    auth=authenticated(WRITE),
)
def complaint_file(request: HttpRequest, tender_id: int, payload: ComplaintFileIn) -> Status[ComplaintOut]:
    """Complain (投诉) to the regulator for an entity you act for as bidder, within the procedure's limit."""
    complaint = objections.complaint_file(
        actor=request_user(request),
        tender_id=tender_id,
        entity_id=payload.entity_id,
        text=payload.text,
        known_at=payload.known_at,
        objection_id=payload.objection_id,
        now=clock.now(),
    )
    return Status(201, complaint_out(complaint))


@router.get(
    "/complaints", response=list[ComplaintOut], operation_id="complaint_list", auth=authenticated(READ)
)
def complaint_list(request: HttpRequest, offset: int = 0, limit: int = 50) -> list[ComplaintOut]:
    """Every complaint for regulators and operators; your own and those on tenders you run otherwise."""
    start = max(offset, 0)
    found = objections.complaint_list_for_viewer(viewer=request_user(request))
    return [complaint_out(c) for c in found[start : start + min(max(limit, 1), 200)]]


@router.get(
    "/complaints/{complaint_id}",
    response=ComplaintOut,
    operation_id="complaint_get",
    auth=authenticated(READ),
)
def complaint_get(request: HttpRequest, complaint_id: int) -> ComplaintOut:
    return complaint_out(
        objections.access_complaint_for_viewer(viewer=request_user(request), complaint_id=complaint_id)
    )


@router.post(
    "/complaints/{complaint_id}/accept",
    response=ComplaintOut,
    operation_id="complaint_accept",
    auth=authenticated(WRITE),
)
def complaint_accept(request: HttpRequest, complaint_id: int) -> ComplaintOut:
    """Accept a complaint (regulators); the decision falls due by the procedure's limit."""
    complaint = objections.complaint_accept(
        actor=request_user(request), complaint_id=complaint_id, now=clock.now()
    )
    return complaint_out(complaint)


@router.post(
    "/complaints/{complaint_id}/reject",
    response=ComplaintOut,
    operation_id="complaint_reject",
    auth=authenticated(WRITE),
)
def complaint_reject(request: HttpRequest, complaint_id: int, payload: ComplaintRejectIn) -> ComplaintOut:
    """Refuse to accept a complaint (不予受理), with the reason (regulators)."""
    complaint = objections.complaint_reject(
        actor=request_user(request), complaint_id=complaint_id, reason=payload.reason, now=clock.now()
    )
    return complaint_out(complaint)


@router.post(
    "/complaints/{complaint_id}/decide",
    response=ComplaintOut,
    operation_id="complaint_decide",
    auth=authenticated(WRITE),
)
def complaint_decide(request: HttpRequest, complaint_id: int, payload: ComplaintDecideIn) -> ComplaintOut:
    """Decide an accepted complaint: upheld or dismissed, with the written decision (regulators)."""
    complaint = objections.complaint_decide(
        actor=request_user(request),
        complaint_id=complaint_id,
        upheld=payload.upheld,
        outcome=payload.outcome,
        now=clock.now(),
    )
    return complaint_out(complaint)
