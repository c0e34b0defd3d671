"""Procedure writes: project registration, tenders and lots, the timeline, publication and termination.

Each service locks the row it changes, asks the workflow, saves with ``update_fields``, appends its ledger
leaf and audit entry in the same transaction and sets ``next_check_at`` for the scheduler.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import entity_ids_for_user, user_has_role
from tenderhall.core.audit import audit_record, diff
from tenderhall.core.codes import check_region_code, normalize
from tenderhall.core.codes_messages import code_check_message
from tenderhall.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.core.hooks import tender_published, tender_transitioned
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import codes, notices, workflow
from tenderhall.procedures.calendar import calendar_load
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus
from tenderhall.procedures.deadlines import Timeline, timeline_violations
from tenderhall.procedures.models import Lot, Notice, Project, Tender
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.scheduler import notice_publish
from tenderhall.procedures.selectors import access_tender_for_manager, can_manage_project, tender_snapshot
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.models import MarketEntity

BID_BOND_MAX_SHARE = Decimal("0.02")  # 条例 art. 26, 政采条例 art. 33: at most 2 % of the estimate
TIMELINE_FIELDS = (
    "notice_publish_at",
    "documents_from",
    "documents_until",
    "bid_deadline",
    "prequalification_deadline",
)


class TenderInvalid(InvalidInput):
    code = "tender_invalid"


class TenderBreaksLimits(DomainError):
    code = "tender_breaks_limits"
    status = 422


class TenderNotDraft(DomainError):
    code = "tender_not_draft"
    status = 409


def _problems(problems: dict[str, str]) -> None:
    if problems:
        raise TenderInvalid(next(iter(problems.values())), details={"fields": problems})


def _approved_entity(entity_id: int | None, field: str, problems: dict[str, str]) -> MarketEntity | None:
    if entity_id is None:
        return None
    entity = MarketEntity.objects.filter(pk=entity_id, status=EntityStatus.APPROVED).first()
    if entity is None:
        problems[field] = gettext("Choose an approved market entity.")
    return entity


def project_register(
    *,
    actor: User,
    name: str,
    sector: str,
    region_code: str,
    tenderee_id: int,
    budget: Decimal,
    now: datetime,
    agency_id: int | None = None,
    funding_source: str = "",
) -> Project:
    """Register a project (进场登记) for a tenderee, run by its agency or by the tenderee itself."""
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = gettext("Enter the project's name.")
    if sector not in Sector.values:
        problems["sector"] = gettext("Choose the sector: %(sectors)s.") % {
            "sectors": ", ".join(Sector.values)
        }
    region_code = normalize(region_code)  # one form for the check, the row and the project code
    region = check_region_code(region_code)
    if not region.valid:
        problems["region_code"] = code_check_message(region)
    if budget <= 0:
        problems["budget"] = gettext("The budget must be a positive amount.")
    tenderee = _approved_entity(tenderee_id, "tenderee_id", problems)
    agency = _approved_entity(agency_id, "agency_id", problems)
    _problems(problems)
    assert tenderee is not None
    acting_for = entity_ids_for_user(actor)
    runner = agency if agency is not None else tenderee
    if runner.pk not in acting_for or not user_has_role(actor, Role.AGENCY if agency else Role.TENDEREE):
        raise PermissionDenied(
            gettext("Only the agency running the project, or the tenderee tendering by itself, registers it.")
        )
    with transaction.atomic():
        project = Project.objects.create(
            code=codes.project_code_next(sector=sector, region_code=region_code, year=now.year),
            name=name.strip(),
            sector=sector,
            region_code=region_code,
            tenderee=tenderee,
            agency=agency,
            budget=budget,
            funding_source=funding_source.strip(),
            registered_by=actor,
            registered_at=now,
        )
        audit_record(
            actor=actor,
            action="procedures:project:registered",
            subject_type="project",
            subject_id=project.pk,
            at=now,
            changes=diff({}, {"code": project.code, "name": project.name, "budget": str(budget)}),
        )
    return project


def _lock_tender(actor: User, tender_id: int) -> Tender:
    tender = Tender.objects.select_for_update().select_related("project").get(pk=tender_id)
    if not (can_manage_project(actor, tender.project) or user_has_role(actor, Role.OPERATOR)):
        raise PermissionDenied(gettext("Only the tender's agency (or tenderee) may change it."))
    return tender


def _require_draft(tender: Tender) -> None:
    if tender.status != TenderStatus.DRAFT:
        raise TenderNotDraft(
            gettext("The tender is published: change it with a clarification or amendment, not by editing.")
        )


def tender_create(
    *,
    actor: User,
    project_id: int,
    name: str,
    procedure_type: str,
    now: datetime,
    control_price: Decimal | None = None,
    description: str = "",
) -> Tender:
    rules = procedure_rules(procedure_type)
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = gettext("Enter the tender's name.")
    if control_price is not None and control_price <= 0:
        problems["control_price"] = gettext("The ceiling price must be a positive amount.")
    _problems(problems)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        if not (can_manage_project(actor, project) or user_has_role(actor, Role.OPERATOR)):
            raise PermissionDenied(gettext("Only the project's agency (or tenderee) creates its tenders."))
        if rules.track != project.sector:
            raise TenderInvalid(
                gettext(
                    "The procedure %(procedure)s belongs to the %(track)s track; this project is %(sector)s."
                )
                % {"procedure": procedure_type, "track": rules.track, "sector": project.sector},
                details={"fields": {"procedure_type": "track"}},
            )
        tender = Tender.objects.create(
            project=project,
            code=codes.tender_code_next(project.code),
            name=name.strip(),
            procedure_type=procedure_type,
            control_price=control_price,
            description=description.strip(),
            created_by=actor,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="procedures:tender:created",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes=diff({}, {"code": tender.code, "name": tender.name, "procedure_type": procedure_type}),
        )
    return tender


def lot_add(
    *,
    actor: User,
    tender_id: int,
    name: str,
    estimate: Decimal,
    now: datetime,
    control_price: Decimal | None = None,
    bid_bond: Decimal = Decimal(0),
    duration_days: int | None = None,
) -> Lot:
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = gettext("Enter the lot's name.")
    if estimate <= 0:
        problems["estimate"] = gettext("The estimate must be a positive amount.")
    if bid_bond < 0:
        problems["bid_bond"] = gettext("The bid bond cannot be negative.")
    elif estimate > 0 and bid_bond > estimate * BID_BOND_MAX_SHARE:
        problems["bid_bond"] = gettext(
            "The bid bond may be at most 2%% of the estimate, here %(maximum)s yuan."
        ) % {"maximum": (estimate * BID_BOND_MAX_SHARE).quantize(Decimal("0.01"))}
    if control_price is not None and control_price <= 0:
        problems["control_price"] = gettext("The ceiling price must be a positive amount.")
    _problems(problems)
    with transaction.atomic():
        tender = _lock_tender(actor, tender_id)
        _require_draft(tender)
        lot = Lot.objects.create(
            tender=tender,
            code=codes.lot_code_next(tender.code),
            name=name.strip(),
            estimate=estimate,
            control_price=control_price,
            bid_bond=bid_bond,
            duration_days=duration_days,
        )
        audit_record(
            actor=actor,
            action="procedures:lot:added",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes={
                "lot": [None, lot.code],
                "estimate": [None, str(estimate)],
                "bid_bond": [None, str(bid_bond)],
            },
        )
    return lot


def tender_schedule(
    *,
    actor: User,
    tender_id: int,
    notice_publish_at: datetime,
    documents_from: datetime,
    documents_until: datetime,
    bid_deadline: datetime,
    now: datetime,
    prequalification_deadline: datetime | None = None,
    decryption_minutes: int = 60,
) -> Tender:
    """Set a draft tender's timeline, and the length of its opening's decryption window; the limits are
    checked when it is published."""
    problems: dict[str, str] = {}
    if not notice_publish_at <= documents_from < documents_until <= bid_deadline:
        problems["bid_deadline"] = gettext(
            "The timeline must run: notice, documents from, documents until, bid deadline (in that order)."
        )
    _problems(problems)
    with transaction.atomic():
        tender = _lock_tender(actor, tender_id)
        _require_draft(tender)
        fields = (*TIMELINE_FIELDS, "decryption_minutes")
        before = {f: getattr(tender, f) for f in fields}
        tender.notice_publish_at, tender.documents_from = notice_publish_at, documents_from
        tender.documents_until, tender.bid_deadline = documents_until, bid_deadline
        tender.prequalification_deadline = prequalification_deadline
        tender.decryption_minutes = decryption_minutes
        tender.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="procedures:tender:scheduled",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes=diff(before, {f: getattr(tender, f) for f in fields}),
        )
    return tender


def tender_record(tender: Tender) -> dict[str, Any]:
    """What a published tender commits to: its timeline, lots and documents, as hashed into the ledger."""
    return {
        "code": tender.code,
        "name": tender.name,
        "procedure_type": tender.procedure_type,
        "prequalification": procedure_rules(tender.procedure_type).prequalification,
        "control_price": str(tender.control_price) if tender.control_price is not None else None,
        "timeline": {
            f: getattr(tender, f).isoformat() if getattr(tender, f) else None for f in TIMELINE_FIELDS
        },
        "decryption_minutes": tender.decryption_minutes,
        "lots": [
            {
                "code": lot.code,
                "name": lot.name,
                "estimate": str(lot.estimate),
                "bid_bond": str(lot.bid_bond),
                "control_price": str(lot.control_price) if lot.control_price is not None else None,
            }
            for lot in tender.lots.order_by("code")
        ],
        "documents": [
            {"name": d.name, "sha256": d.sha256, "sm3": d.sm3}
            for d in tender.documents.filter(superseded_at__isnull=True).order_by("id")
        ],
    }


def tender_publish(*, actor: User, tender_id: int, now: datetime) -> Tender:
    """Publish a draft tender whose timeline keeps every limit of its procedure type; its notice goes out
    at the notice time (now, if that has come)."""
    with transaction.atomic():
        tender = _lock_tender(actor, tender_id)
        _require_draft(tender)
        if not tender.lots.exists():
            raise TenderInvalid(
                gettext("Add at least one lot before publishing."), details={"fields": {"lots": "none"}}
            )
        if not tender.documents.filter(superseded_at__isnull=True).exists():
            raise TenderInvalid(
                gettext("Upload the signed tender documents before publishing."),
                details={"fields": {"documents": "none"}},
            )
        if tender.bid_deadline is None or tender.notice_publish_at is None:
            raise TenderInvalid(
                gettext("Set the timeline before publishing."), details={"fields": {"timeline": "none"}}
            )
        assert tender.documents_from is not None
        assert tender.documents_until is not None
        rules = procedure_rules(tender.procedure_type)
        calendar = calendar_load()
        # Published later than planned: the notice goes out now, and no document is out before its notice.
        # The limits are checked against these real times.
        tender.notice_publish_at = max(tender.notice_publish_at, now)
        tender.documents_from = max(tender.documents_from, tender.notice_publish_at)
        if tender.documents_from >= tender.documents_until:
            raise TenderBreaksLimits(
                gettext("The documents would be available only until %(until)s: set a later timeline.")
                % {"until": tender.documents_until.isoformat()},
                details={"fields": {"documents_until": "past"}},
            )
        timeline = Timeline(
            notice_published_at=tender.notice_publish_at,
            documents_from=tender.documents_from,
            documents_until=tender.documents_until,
            bid_deadline=tender.bid_deadline,
            prequalification_deadline=tender.prequalification_deadline,
        )
        violations = timeline_violations(rules, timeline, calendar=calendar)
        if violations:
            first = violations[0]
            raise TenderBreaksLimits(
                gettext("The timeline breaks %(count)s limit(s): %(first)s")
                % {"count": len(violations), "first": first.message},
                details={"violations": [v.as_dict() for v in violations]},
            )
        tender.status = workflow.transition(tender_snapshot(tender), workflow.TenderEvent.PUBLISH, now=now)
        tender.published_at = now
        tender.rules_version, tender.calendar_version = rules.version, calendar.version
        tender.next_check_at = workflow.next_check_at(tender_snapshot(tender))
        record = tender.published_record = tender_record(tender)
        tender.save(
            update_fields=[
                "status",
                "notice_publish_at",
                "documents_from",
                "published_at",
                "rules_version",
                "calendar_version",
                "next_check_at",
                "published_record",
            ]
        )
        ledger_append(
            event_type="procedures:tender:published",
            subjects={"tender": str(tender.pk), "project": str(tender.project_id)},
            hashes={"tender": "sha256:" + sha256_hex(canonical_json(record))},
            actor=f"user:{actor.pk}",
            at=now,
            data={"code": tender.code, "bid_deadline": record["timeline"]["bid_deadline"]},
        )
        audit_record(
            actor=actor,
            action="procedures:tender:published",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes={"status": [TenderStatus.DRAFT, tender.status]},
        )
        tender_published(tender, now)  # the opening app makes the escrow opening key, in this transaction
        kind = NoticeKind.PREQUALIFICATION if rules.prequalification else NoticeKind.TENDER
        notice = notices.notice_create(
            tender=tender, kind=kind, publish_at=max(tender.notice_publish_at, now), actor=actor, now=now
        )
        notice_publish(notice.pk, now=now)  # at once if its time has come; else the scheduler does it
    return tender


def tender_cancel(*, actor: User, tender_id: int, reason: str, now: datetime) -> Tender:
    """Terminate a tender (终止招标) with a termination notice."""
    if not reason.strip():
        raise TenderInvalid(
            gettext("Give the reason for the termination."), details={"fields": {"reason": "required"}}
        )
    with transaction.atomic():
        tender = _lock_tender(actor, tender_id)
        before = tender.status
        after = workflow.advance(tender_snapshot(tender), workflow.TenderEvent.CANCEL, now=now)
        tender.status, tender.suspended_from, tender.next_check_at = after.status, after.suspended_from, None
        tender.save(update_fields=["status", "suspended_from", "next_check_at"])
        # Notices still waiting for their time are withdrawn with the tender.
        tender.notices.filter(published_at__isnull=True).delete()
        ledger_append(
            event_type="procedures:tender:cancelled",
            subjects={"tender": str(tender.pk)},
            hashes={},
            actor=f"user:{actor.pk}",
            at=now,
            data={"code": tender.code, "reason": reason.strip()},
        )
        audit_record(
            actor=actor,
            action="procedures:tender:cancelled",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes={"status": [before, tender.status], "reason": [None, reason.strip()]},
        )
        tender_transitioned(tender, workflow.TenderEvent.CANCEL, now)  # evaluation reveals its seeds
        if before != TenderStatus.DRAFT:
            termination = notices.notice_create(
                tender=tender,
                kind=NoticeKind.TERMINATION,
                publish_at=now,
                actor=actor,
                now=now,
                extra={"reason": reason.strip()},
            )
            notice_publish(termination.pk, now=now)
    return tender


def notice_correction_publish(*, actor: User, notice_id: int, text: str, now: datetime) -> Notice:
    """Correct a published notice with a new amendment notice that names it; the old one is never changed."""
    if not text.strip():
        raise TenderInvalid(gettext("Say what the correction is."), details={"fields": {"text": "required"}})
    with transaction.atomic():
        notice = Notice.objects.select_related("tender").filter(pk=notice_id).first()
        if notice is None:
            raise NotFound(gettext("No such notice."))
        # those who do not run the tender learn nothing more than for a missing notice
        access_tender_for_manager(actor=actor, tender_id=notice.tender_id)
        _lock_tender(actor, notice.tender_id)
        correction = notices.notice_correct(
            actor=actor, notice=notice, extra={"text": text.strip(), "corrects": notice.title}, now=now
        )
        notice_publish(correction.pk, now=now)
    correction.refresh_from_db()
    return correction
