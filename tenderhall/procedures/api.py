"""Procedures API: projects, tenders, lots, the timeline, publication and termination."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core import clock
from tenderhall.procedures import selectors, services
from tenderhall.procedures.models import Lot, Project, Tender
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.schemas import (
    LotIn,
    LotOut,
    NoticeCorrectionIn,
    NoticeOut,
    ProjectOut,
    ProjectRegisterIn,
    TenderCancelIn,
    TenderCreateIn,
    TenderOut,
    TimelineIn,
)

router = Router(tags=["procedures"])
READ, WRITE = Scope.PROCEDURES_READ, Scope.PROCEDURES_WRITE


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(
        id=project.pk,
        code=project.code,
        name=project.name,
        sector=project.sector,
        region_code=project.region_code,
        tenderee_id=project.tenderee_id,
        agency_id=project.agency_id,
        budget=project.budget,
        funding_source=project.funding_source,
        registered_at=project.registered_at,
    )


def lot_out(lot: Lot) -> LotOut:
    return LotOut(
        id=lot.pk,
        code=lot.code,
        name=lot.name,
        estimate=lot.estimate,
        control_price=lot.control_price,
        bid_bond=lot.bid_bond,
        duration_days=lot.duration_days,
    )


def tender_out(tender: Tender) -> TenderOut:
    return TenderOut(
        id=tender.pk,
        code=tender.code,
        name=tender.name,
        project_id=tender.project_id,
        project_code=tender.project.code,
        procedure_type=tender.procedure_type,
        prequalification=procedure_rules(tender.procedure_type).prequalification,
        status=tender.status,
        control_price=tender.control_price,
        description=tender.description,
        notice_publish_at=tender.notice_publish_at,
        documents_from=tender.documents_from,
        documents_until=tender.documents_until,
        bid_deadline=tender.bid_deadline,
        published_at=tender.published_at,
        lots=[lot_out(lot) for lot in tender.lots.all()],
    )


@router.post(
    "/projects", response={201: ProjectOut}, operation_id="project_register", auth=authenticated(WRITE)
)
def project_register(request: HttpRequest, payload: ProjectRegisterIn) -> Status[ProjectOut]:
    """Register a project (进场登记): the agency running it, or the tenderee tendering by itself."""
    project = services.project_register(actor=request_user(request), **payload.dict(), now=clock.now())
    return Status(201, project_out(project))


@router.get(
    "/projects", response=list[ProjectOut], operation_id="project_list_mine", auth=authenticated(READ)
)
def project_list_mine(request: HttpRequest) -> list[ProjectOut]:
    return [project_out(p) for p in selectors.project_list_for_manager(request_user(request))[:200]]


@router.post("/tenders", response={201: TenderOut}, operation_id="tender_create", auth=authenticated(WRITE))
def tender_create(request: HttpRequest, payload: TenderCreateIn) -> Status[TenderOut]:
    actor = request_user(request)
    selectors.access_project_for_manager(actor=actor, project_id=payload.project_id)
    tender = services.tender_create(actor=actor, **payload.dict(), now=clock.now())
    return Status(201, tender_out(tender))


@router.get("/tenders", response=list[TenderOut], operation_id="tender_list", auth=None)
def tender_list(
    request: HttpRequest, status: str | None = None, offset: int = 0, limit: int = 50
) -> list[TenderOut]:
    """Published tenders for everyone; drafts too for their managers and for supervisors."""
    viewer = optional_user(request, READ)
    tenders = selectors.tender_list_for_viewer(viewer).prefetch_related("lots").order_by("-created_at", "-id")
    if status:
        tenders = tenders.filter(status=status)
    start = max(offset, 0)
    return [tender_out(t) for t in tenders[start : start + min(max(limit, 1), 200)]]


@router.get("/tenders/{tender_id}", response=TenderOut, operation_id="tender_get", auth=None)
def tender_get(request: HttpRequest, tender_id: int) -> TenderOut:
    viewer = optional_user(request, READ)
    return tender_out(selectors.access_tender_for_viewer(viewer=viewer, tender_id=tender_id))


@router.post(
    "/tenders/{tender_id}/lots", response={201: LotOut}, operation_id="lot_add", auth=authenticated(WRITE)
)
def lot_add(request: HttpRequest, tender_id: int, payload: LotIn) -> Status[LotOut]:
    actor = request_user(request)
    selectors.access_tender_for_manager(actor=actor, tender_id=tender_id)
    return Status(
        201, lot_out(services.lot_add(actor=actor, tender_id=tender_id, **payload.dict(), now=clock.now()))
    )


@router.put(
    "/tenders/{tender_id}/timeline",
    response=TenderOut,
    operation_id="tender_schedule",
    auth=authenticated(WRITE),
)
def tender_schedule(request: HttpRequest, tender_id: int, payload: TimelineIn) -> TenderOut:
    actor = request_user(request)
    selectors.access_tender_for_manager(actor=actor, tender_id=tender_id)
    return tender_out(
        services.tender_schedule(actor=actor, tender_id=tender_id, **payload.dict(), now=clock.now())
    )


@router.post(
    "/tenders/{tender_id}/publish",
    response=TenderOut,
    operation_id="tender_publish",
    auth=authenticated(WRITE),
)
def tender_publish(request: HttpRequest, tender_id: int) -> TenderOut:
    """Publish the tender. A timeline that breaks a limit is refused with each violation: which limit, by how
    much, and the earliest lawful date."""
    actor = request_user(request)
    selectors.access_tender_for_manager(actor=actor, tender_id=tender_id)
    return tender_out(services.tender_publish(actor=actor, tender_id=tender_id, now=clock.now()))


@router.post(
    "/tenders/{tender_id}/cancel", response=TenderOut, operation_id="tender_cancel", auth=authenticated(WRITE)
)
def tender_cancel(request: HttpRequest, tender_id: int, payload: TenderCancelIn) -> TenderOut:
    actor = request_user(request)
    selectors.access_tender_for_manager(actor=actor, tender_id=tender_id)
    return tender_out(
        services.tender_cancel(actor=actor, tender_id=tender_id, reason=payload.reason, now=clock.now())
    )


@router.post(
    "/notices/{notice_id}/corrections",
    response={201: NoticeOut},
    operation_id="notice_correction_publish",
    auth=authenticated(WRITE),
)
def notice_correction_publish(
    request: HttpRequest, notice_id: int, payload: NoticeCorrectionIn
) -> Status[NoticeOut]:
    """Correct a published notice: a new amendment notice naming it goes out now (the old one stays)."""
    notice = services.notice_correction_publish(
        actor=request_user(request), notice_id=notice_id, text=payload.text, now=clock.now()
    )
    return Status(
        201,
        NoticeOut(
            id=notice.pk,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            publish_at=notice.publish_at,
            published_at=notice.published_at,
            content_hash=notice.content_hash,
            corrects_id=notice.corrects_id,
        ),
    )
