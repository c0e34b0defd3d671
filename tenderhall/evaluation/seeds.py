"""Committed seeds, shared by the evaluation's two draws: the experts (committees.py) and the tie for the
first place (ties.py).

The pattern: a fresh 32-byte seed (``secrets``) whose commitment, ``sha256:<hex of SHA-256(seed)>``, is logged
before anything the seed decides can be known; later the seed itself is logged (revealed), and anyone checks
it against the commitment and redoes the draw with ``draw.draw_order``. A seed is never reused, and none
stays secret for ever: a tender terminated before its evaluation concluded reveals its seeds too
(:func:`seeds_reveal_on_cancel`), so that the record shows what they were and that nothing was drawn.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from tenderhall.core.audit import audit_record
from tenderhall.evaluation import draw
from tenderhall.evaluation.models import Committee, TieDraw
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures.models import Tender
from tenderhall.procedures.workflow import TenderEvent


def seed_new() -> tuple[bytes, str]:
    """A fresh seed and its commitment."""
    seed = secrets.token_bytes(draw.SEED_BYTES)
    return seed, draw.seed_commitment(seed)


def seed_committed(
    *,
    event_type: str,
    subjects: dict[str, str],
    commitment: str,
    actor: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Log the commitment (the seed stays secret)."""
    ledger_append(
        event_type=event_type,
        subjects=subjects,
        hashes={"seed": commitment},
        actor=actor,
        at=now,
        data=data or {},
    )


def seed_revealed(
    *,
    event_type: str,
    subjects: dict[str, str],
    seed: bytes,
    commitment: str,
    actor: str | None,
    now: datetime,
    hashes: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Log the seed next to its commitment; a seed that does not match is a bug, never logged."""
    if draw.seed_commitment(seed) != commitment:
        msg = "the seed does not match its commitment"
        raise ValueError(msg)
    ledger_append(
        event_type=event_type,
        subjects=subjects,
        hashes={"seed": commitment, **(hashes or {})},
        actor=actor,
        at=now,
        data={**(data or {}), "seed": seed.hex()},
    )


def committee_seed_reveal(
    committee: Committee, *, lot_code: str, now: datetime, data: dict[str, Any] | None = None
) -> None:
    """Reveal the experts' draw seed (``evaluation:draw:revealed``); the caller holds the committee's lock."""
    committee.revealed_at = now
    committee.save(update_fields=["revealed_at"])
    seed_revealed(
        event_type="evaluation:draw:revealed",
        subjects={"committee": str(committee.pk), "lot": lot_code},
        seed=bytes(committee.seed),
        commitment=committee.commitment,
        hashes={"eligible": committee.eligible_hash} if committee.eligible is not None else {},
        actor=None,
        now=now,
        data=data,
    )


def tie_seed_reveal_unused(
    tie: TieDraw, *, lot_code: str, now: datetime, data: dict[str, Any] | None = None
) -> None:
    """Reveal a tie-break seed that decided nothing (``evaluation:tie:revealed``); the caller holds its
    lock."""
    tie.revealed_at = now
    tie.save(update_fields=["revealed_at"])
    seed_revealed(
        event_type="evaluation:tie:revealed",
        subjects={"evaluation": str(tie.evaluation_id), "lot": lot_code},
        seed=bytes(tie.seed),
        commitment=tie.commitment,
        actor=None,
        now=now,
        data=data,
    )


def seeds_reveal_on_cancel(tender: Tender, event: str, now: datetime) -> None:
    """A terminated tender (终止招标) reveals every seed of its evaluations still secret, in the transaction
    of the termination: the experts' seed of a committee that had not concluded, and a tie-break seed not
    drawn (an observer of ``core.hooks.tender_transitioned``)."""
    if event != TenderEvent.CANCEL:
        return
    cancelled = {"cancelled": True}
    for committee in (
        Committee.objects.select_for_update(of=("self",))
        .select_related("evaluation__lot")
        .filter(evaluation__lot__tender=tender, revealed_at__isnull=True)
        .order_by("pk")
    ):
        committee_seed_reveal(committee, lot_code=committee.evaluation.lot.code, now=now, data=cancelled)
        audit_record(
            actor=None,
            action="evaluation:draw:revealed",
            subject_type="committee",
            subject_id=committee.pk,
            at=now,
            changes={"revealed_at": [None, now]},
        )
    for tie in (
        TieDraw.objects.select_for_update(of=("self",))
        .select_related("evaluation__lot")
        .filter(evaluation__lot__tender=tender, revealed_at__isnull=True)
        .order_by("pk")
    ):
        tie_seed_reveal_unused(tie, lot_code=tie.evaluation.lot.code, now=now, data=cancelled)
        audit_record(
            actor=None,
            action="evaluation:tie:revealed",
            subject_type="evaluation",
            subject_id=tie.evaluation_id,
            at=now,
            changes={"revealed_at": [None, now]},
        )
