"""Procedure reads and the ``access_*`` fetchers: who manages a tender, what the public may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.core.errors import NotFound
from tenderhall.core.hooks import tender_bid_count
from tenderhall.procedures import workflow
from tenderhall.procedures.choices import ObjectionStatus, ObjectionSubject, TenderStatus
from tenderhall.procedures.models import Notice, Objection, Project, Tender
from tenderhall.procedures.rules import procedure_rules


def managed_entity_ids(user: User) -> set[int]:
    """The entities for which the user acts as tenderee or agency."""
    return {
        entity_id
        for entity_id in RoleGrant.objects.filter(
            user=user, role__in=(Role.TENDEREE, Role.AGENCY), entity__isnull=False
        ).values_list("entity_id", flat=True)
        if entity_id is not None
    }


def can_manage_project(user: User, project: Project) -> bool:
    """The project's agency runs it; the tenderee runs it when it tenders by itself (no agency)."""
    entities = managed_entity_ids(user)
    if project.agency_id is not None:
        return project.agency_id in entities
    return project.tenderee_id in entities


def access_project_for_manager(*, actor: User, project_id: int) -> Project:
    project = Project.objects.select_related("tenderee", "agency").filter(pk=project_id).first()
    if project is None or not (can_manage_project(actor, project) or user_has_role(actor, Role.OPERATOR)):
        raise NotFound(gettext("No such project."))
    return project


def access_tender_for_manager(*, actor: User, tender_id: int) -> Tender:
    tender = Tender.objects.select_related("project").filter(pk=tender_id).first()
    if tender is None or not (
        can_manage_project(actor, tender.project) or user_has_role(actor, Role.OPERATOR)
    ):
        raise NotFound(gettext("No such tender."))
    return tender


def can_see_draft(viewer: User | None, tender: Tender) -> bool:
    return viewer is not None and (
        can_manage_project(viewer, tender.project)
        or tender.project.tenderee_id in managed_entity_ids(viewer)
        or user_supervises(viewer)
    )


def access_tender_for_viewer(*, viewer: User | None, tender_id: int) -> Tender:
    """Published tenders are public; drafts only to their managers, tenderee and supervisors."""
    tender = (
        Tender.objects.select_related("project", "project__tenderee", "project__agency")
        .filter(pk=tender_id)
        .first()
    )
    if tender is None or (tender.status == TenderStatus.DRAFT and not can_see_draft(viewer, tender)):
        raise NotFound(gettext("No such tender."))
    return tender


def project_list_for_manager(user: User) -> QuerySet[Project]:
    """The projects the user runs, and a tenderee's projects that its agency runs for it (to follow)."""
    entities = managed_entity_ids(user)
    return Project.objects.filter(Q(agency_id__in=entities) | Q(tenderee_id__in=entities))


def tender_list_for_viewer(viewer: User | None) -> QuerySet[Tender]:
    tenders = Tender.objects.select_related("project")
    if viewer is not None and user_supervises(viewer):
        return tenders
    public = ~Q(status=TenderStatus.DRAFT)
    if viewer is None:
        return tenders.filter(public)
    entities = managed_entity_ids(viewer)
    return tenders.filter(public | Q(project__agency_id__in=entities) | Q(project__tenderee_id__in=entities))


def notice_list_published() -> QuerySet[Notice]:
    return Notice.objects.filter(published_at__isnull=False).select_related("tender")


def access_notice_published(*, notice_id: int) -> Notice:
    notice = notice_list_published().filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(gettext("No such notice."))
    return notice


# Objections that suspend the procedure while open (on the works track): to the documents (条例 art. 22) and
# to the result published for the candidates' publicity (条例 art. 54).
SUSPENDING_SUBJECTS = (ObjectionSubject.DOCUMENTS, ObjectionSubject.RESULT)


def open_suspending_objections(tender: Tender, subject: str | None = None) -> int:
    """Open objections to the documents or to the result (or to ``subject`` only)."""
    subjects = (subject,) if subject else SUSPENDING_SUBJECTS
    return Objection.objects.filter(tender=tender, subject__in=subjects, status=ObjectionStatus.OPEN).count()


def tender_snapshot(tender: Tender, *, bid_count: int | None = None) -> workflow.TenderSnapshot:
    """The workflow's view of the tender: its bids (the most any one lot holds, counted by the bids app),
    its rules' minimum bids and its open objections to the documents or the result."""
    return workflow.TenderSnapshot.of(
        tender,
        bid_count=tender_bid_count(tender) if bid_count is None else bid_count,
        min_bids=procedure_rules(tender.procedure_type).minimum_bids,
        open_objections=open_suspending_objections(tender),
    )
