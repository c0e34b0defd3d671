"""How `ledger verify` recomputes the evaluation's leaves from the live rows and stored files.

The draw is checked by redoing it: the drawn codes must follow from the stored seed and eligible list, the
eligible list must hash as logged, and a revealed seed must match the commitment logged before the draw. The
tie-break draw likewise: the stored tied bids must be the ones the stored results rank first together, and the
stored order must follow from the seed.
"""

from __future__ import annotations

from typing import Any

from tenderhall.core.hashing import sha256_hex
from tenderhall.evaluation import draw
from tenderhall.evaluation.models import (
    Award,
    Committee,
    Contract,
    EvaluatedBid,
    Evaluation,
    Member,
    Report,
    TieDraw,
)
from tenderhall.evaluation.scoring import first_place_tie
from tenderhall.evaluation.ties import ranked_of
from tenderhall.evaluation.workspace import results_hash
from tenderhall.ledger.sources import register_leaf_source, stored_file_sha256


def _committee(event: dict[str, Any]) -> Committee | None:
    return Committee.objects.filter(pk=event["subjects"]["committee"]).first()


def draw_committed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    committee = _committee(event)
    if committee is None:
        return [f"committee {event['subjects']['committee']} no longer exists"]
    if draw.seed_commitment(bytes(committee.seed)) != committee.commitment:
        return [f"committee {committee.pk}: its seed no longer matches its commitment"]
    return {**event, "hashes": {"seed": committee.commitment}}


def draw_drawn(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    committee = _committee(event)
    if committee is None or committee.eligible is None:
        return [f"committee {event['subjects']['committee']} or its eligible list no longer exists"]
    redone = draw.draw_order(bytes(committee.seed), committee.eligible)[: committee.experts]
    if redone != event.get("data", {}).get("drawn"):
        return [f"committee {committee.pk}: the draw redone from its seed gives other experts"]
    return {**event, "hashes": {"seed": committee.commitment, "eligible": draw.list_hash(committee.eligible)}}


def draw_replaced(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    committee = _committee(event)
    if committee is None:
        return [f"committee {event['subjects']['committee']} no longer exists"]
    data = event.get("data", {})
    codes = dict(committee.members.values_list("expert__code", "status"))
    if codes.get(data.get("declined")) != "declined" or (
        data.get("replacement") is not None and data["replacement"] not in codes
    ):
        return [f"committee {committee.pk}: its seats no longer show the logged replacement"]
    return {**event, "hashes": {"seed": committee.commitment}}


def draw_revealed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    committee = _committee(event)
    if committee is None:
        return [f"committee {event['subjects']['committee']} no longer exists"]
    seed = bytes(committee.seed)
    if draw.seed_commitment(bytes.fromhex(event.get("data", {}).get("seed", ""))) != committee.commitment:
        return [f"committee {committee.pk}: the revealed seed does not match the commitment"]
    hashes = {"seed": committee.commitment}
    if committee.eligible is not None:  # drawn; a tender terminated before the draw reveals the seed alone
        hashes["eligible"] = draw.list_hash(committee.eligible)
    return {**event, "hashes": hashes, "data": {**event.get("data", {}), "seed": seed.hex()}}


def _tie(event: dict[str, Any]) -> TieDraw | None:
    return (
        TieDraw.objects.select_related("evaluation")
        .filter(evaluation_id=event["subjects"]["evaluation"])
        .first()
    )


def tie_committed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    tie = _tie(event)
    if tie is None:
        return [f"the tie draw of evaluation {event['subjects']['evaluation']} no longer exists"]
    if draw.seed_commitment(bytes(tie.seed)) != tie.commitment:
        return [f"evaluation {tie.evaluation_id}: its tie-break seed no longer matches its commitment"]
    return {**event, "hashes": {"seed": tie.commitment}}


def _tie_revealed(event: dict[str, Any], tie: TieDraw) -> dict[str, Any]:
    return {
        **event,
        "hashes": {"seed": tie.commitment},
        "data": {**event.get("data", {}), "seed": bytes(tie.seed).hex()},
    }


def tie_revealed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    tie = _tie(event)
    if tie is None:
        return [f"the tie draw of evaluation {event['subjects']['evaluation']} no longer exists"]
    if tie.order:
        return [f"evaluation {tie.evaluation_id}: a tie-break seed revealed unused has a draw order"]
    return _tie_revealed(event, tie)


def tie_drawn(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    tie = _tie(event)
    if tie is None or tie.evaluation.results is None:
        return [f"the tie draw of evaluation {event['subjects']['evaluation']} no longer exists"]
    first = first_place_tie(ranked_of(tie.evaluation.results.get("ranking", [])))
    keys = dict(EvaluatedBid.objects.filter(pk__in=first).values_list("pk", "bid__sha256"))
    tied = {str(t["key"]): int(t["bid"]) for t in tie.tied}
    if tied != {keys.get(pk): pk for pk in first}:
        return [
            f"evaluation {tie.evaluation_id}: the tied bids are not those its results rank first together"
        ]
    redone = [tied[key] for key in draw.draw_order(bytes(tie.seed), sorted(tied))]
    if redone != tie.order or event.get("data", {}).get("tied") != len(redone):
        return [f"evaluation {tie.evaluation_id}: the tie draw redone from its seed gives another order"]
    return _tie_revealed(event, tie)


def member_declared(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    member = Member.objects.filter(pk=event["subjects"]["member"]).first()
    if member is None or member.declaration_signature is None:
        return [f"member {event['subjects']['member']} or its declaration no longer exists"]
    return {
        **event,
        "hashes": {
            "declaration": "sha256:" + sha256_hex(member.declaration.encode()),
            "signature": "sha256:" + sha256_hex(bytes(member.declaration_signature)),
        },
    }


def scores_concluded(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    evaluation = Evaluation.objects.filter(pk=event["subjects"]["evaluation"]).first()
    if evaluation is None or evaluation.results is None:
        return [f"evaluation {event['subjects']['evaluation']} or its results no longer exist"]
    return {**event, "hashes": {"results": results_hash(evaluation.results)}}


def report_signed(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    report = Report.objects.filter(pk=event["subjects"]["report"]).first()
    if report is None:
        return [f"report {event['subjects']['report']} no longer exists"]
    stored = stored_file_sha256(report.file.name or "")
    if stored is None:
        return [f"report {report.pk}: its stored PDF is missing"]
    return {**event, "hashes": {"report": f"sha256:{stored}"}}


def award_decided(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    award = Award.objects.select_related("winner__entity").filter(pk=event["subjects"]["award"]).first()
    if award is None:
        return [f"award {event['subjects']['award']} no longer exists"]
    data = {
        **event.get("data", {}),
        "winner": award.winner.entity.public_identifier,
        "price": str(award.winner.price),
    }
    return {**event, "data": data}


def contract_recorded(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    contract = Contract.objects.filter(pk=event["subjects"]["contract"]).first()
    if contract is None:
        return [f"contract {event['subjects']['contract']} no longer exists"]
    data = {**event.get("data", {}), "amount": str(contract.amount), "late": contract.late}
    return {**event, "hashes": {"document": f"sha256:{contract.sha256}"}, "data": data}


SOURCES = {
    "evaluation:draw:committed": draw_committed,
    "evaluation:draw:drawn": draw_drawn,
    "evaluation:draw:replaced": draw_replaced,
    "evaluation:draw:revealed": draw_revealed,
    "evaluation:tie:committed": tie_committed,
    "evaluation:tie:revealed": tie_revealed,
    "evaluation:tie:drawn": tie_drawn,
    "evaluation:member:declared": member_declared,
    "evaluation:scores:concluded": scores_concluded,
    "evaluation:report:signed": report_signed,
    "evaluation:award:decided": award_decided,
    "evaluation:contract:recorded": contract_recorded,
}


def register() -> None:
    for event_type, source in SOURCES.items():
        register_leaf_source(event_type, source)
