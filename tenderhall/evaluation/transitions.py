"""Moving the tender through the evaluation's part of the workflow: lock held by the caller, the workflow
asked, the step saved with its ledger leaf and audit entry in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from tenderhall.accounts.models import User
from tenderhall.core.audit import audit_record
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures import workflow
from tenderhall.procedures.models import Tender
from tenderhall.procedures.selectors import tender_snapshot


def tender_step(*, actor: User, tender: Tender, event: str, now: datetime, open_objections: int = 0) -> None:
    before = tender.status
    snapshot = workflow.TenderSnapshot.of(tender, open_objections=open_objections)
    after = workflow.advance(snapshot, event, now=now)
    tender.status, tender.suspended_from = after.status, after.suspended_from
    tender.next_check_at = workflow.next_check_at(tender_snapshot(tender))
    tender.save(update_fields=["status", "suspended_from", "next_check_at"])
    ledger_append(
        event_type=workflow.action_name(event),
        subjects={"tender": str(tender.pk)},
        hashes={},
        actor=f"user:{actor.pk}",
        at=now,
        data={"from": before, "to": tender.status, "code": tender.code},
    )
    audit_record(
        actor=actor,
        action=workflow.action_name(event),
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes={"status": [before, tender.status]},
    )
