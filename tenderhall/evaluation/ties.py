"""The tie-break draw for the first place (并列第一), from a seed committed before any score exists.

The chain the tender documents declare, executed by the platform in this order and never by anyone's choice:
the primary figure (total score, or evaluated price), then the lower tender price (scoring.py), then a draw.
Only the tie for the first place is drawn: the award goes to the first-ranked candidate (条例 art. 55; and
87号令 art. 68: a tie at the award is broken by the method the documents name, else by a random draw). A tie
lower down stays 并列 (scoring.py says why).

Step by step, each a ledger leaf in the transaction of the change it records:

1. ``evaluation_setup`` commits a fresh seed (``evaluation:tie:committed``, seeds.py) before the committee is
   even drawn: when the commitment is public nobody, the platform included, can know which bids will tie.
2. ``evaluation_conclude`` ranks the bids. When the first place is shared, the tied bids are fixed with the
   results (whose hash is logged): each is known by its **key**, the SHA-256 (hex) of its sealed bid, as the
   bidder's receipt and the opening record show it. Otherwise the seed is revealed unused
   (``evaluation:tie:revealed``).
3. ``tie_draw`` (the tender's agency, or an operator) reveals the seed (``evaluation:tie:drawn``) and orders
   the tied bids by ``draw.draw_order(seed, keys)``: by ``SHA-256(seed ‖ key)``, then by key. That order is
   the award order: the report, the candidates' notice and the award use it, and the report waits for it.
4. A tender terminated before then reveals the seed unused (seeds.py).

The leaves carry the commitment and the seed only, never the keys: the result stays confidential until the
candidates are published; then the record (``GET …/evaluations/{id}/tie-draw``) lists keys, bidders and
order, and anyone can redo the draw (docs/evaluation.md has the shell recipe).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict
from tenderhall.evaluation import draw, seeds
from tenderhall.evaluation.choices import EvaluationStatus
from tenderhall.evaluation.models import EvaluatedBid, Evaluation, TieDraw
from tenderhall.evaluation.scoring import Ranked, first_place_tie
from tenderhall.evaluation.selectors import access_evaluation_for_manager
from tenderhall.procedures.choices import TenderStatus


class TieState(Conflict):
    code = "tie_state"


class TieUnsettled(Conflict):
    code = "tie_unsettled"


def _subjects(evaluation: Evaluation) -> dict[str, str]:
    return {"evaluation": str(evaluation.pk), "lot": evaluation.lot.code}


def tie_commit(*, actor: User, evaluation: Evaluation, now: datetime) -> TieDraw:
    """Commit the lot's tie-break seed (step 1), in the caller's transaction."""
    seed, commitment = seeds.seed_new()
    tie = TieDraw.objects.create(evaluation=evaluation, seed=seed, commitment=commitment, committed_at=now)
    seeds.seed_committed(
        event_type="evaluation:tie:committed",
        subjects=_subjects(evaluation),
        commitment=commitment,
        actor=f"user:{actor.pk}",
        now=now,
    )
    audit_record(
        actor=actor,
        action="evaluation:tie:committed",
        subject_type="evaluation",
        subject_id=evaluation.pk,
        at=now,
        changes={"commitment": [None, commitment]},
    )
    return tie


def ranked_of(ranking: list[dict[str, Any]]) -> list[Ranked[int]]:
    """The results' ranking rows as :class:`Ranked` values."""
    return [Ranked(int(e["bid"]), int(e["rank"]), bool(e["tied"])) for e in ranking]


def tie_fix(*, actor: User, evaluation: Evaluation, ranking: list[dict[str, Any]], now: datetime) -> TieDraw:
    """At the conclusion (step 2), in its transaction: fix the bids tied for the first place, or reveal the
    seed unused. An evaluation set up before tie draws existed commits its seed here instead."""
    tie = TieDraw.objects.select_for_update(of=("self",)).filter(evaluation=evaluation).first()
    if tie is None:
        tie = tie_commit(actor=actor, evaluation=evaluation, now=now)
    tied = first_place_tie(ranked_of(ranking))
    if not tied:
        seeds.tie_seed_reveal_unused(tie, lot_code=evaluation.lot.code, now=now)
        return tie
    keys = dict(EvaluatedBid.objects.filter(pk__in=tied).values_list("pk", "bid__sha256"))
    tie.tied = sorted(({"bid": pk, "key": keys[pk]} for pk in tied), key=lambda t: str(t["key"]))
    tie.save(update_fields=["tied"])
    return tie


def tie_pending(tie: TieDraw | None) -> bool:
    """A tie for the first place waits for its draw (its seed not revealed: neither drawn nor terminated)."""
    return tie is not None and bool(tie.tied) and tie.revealed_at is None


def tie_draw(*, actor: User, evaluation_id: int, now: datetime) -> TieDraw:
    """Draw the order of the bids tied for the first place (step 3): the seed committed at the set-up is
    revealed and the tied bids' keys sorted by their tickets; the ranks follow the draw order."""
    access_evaluation_for_manager(actor=actor, evaluation_id=evaluation_id)
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update(of=("self",))
            .select_related("lot__tender")
            .get(pk=evaluation_id)
        )
        tie = TieDraw.objects.select_for_update(of=("self",)).filter(evaluation=evaluation).first()
        if tie is not None and tie.drawn_at is not None:
            raise TieState(gettext("The tie has been drawn already."))
        if not tie_pending(tie) or evaluation.status != EvaluationStatus.CONCLUDED:
            raise TieState(gettext("No tie for the first place waits for a draw."))
        assert tie is not None
        if evaluation.lot.tender.status != TenderStatus.EVALUATION:
            raise TieState(
                gettext("The tie is drawn while the tender is being evaluated; it is %(status)s.")
                % {"status": evaluation.lot.tender.status}
            )
        seed = bytes(tie.seed)
        bids = {str(t["key"]): int(t["bid"]) for t in tie.tied}
        order = [bids[key] for key in draw.draw_order(seed, sorted(bids))]
        tie.order = order
        tie.drawn_at = tie.revealed_at = now
        tie.drawn_by = actor
        tie.save(update_fields=["order", "drawn_at", "revealed_at", "drawn_by"])
        for rank, bid_id in enumerate(order, start=1):
            EvaluatedBid.objects.filter(pk=bid_id).update(rank=rank)
        seeds.seed_revealed(
            event_type="evaluation:tie:drawn",
            subjects=_subjects(evaluation),
            seed=seed,
            commitment=tie.commitment,
            actor=f"user:{actor.pk}",
            now=now,
            data={"tied": len(order)},
        )
        audit_record(
            actor=actor,
            action="evaluation:tie:drawn",
            subject_type="evaluation",
            subject_id=evaluation.pk,
            at=now,
            changes={"order": [None, order]},
        )
    return tie
