"""Opening API: name the officials who hold a tender's escrow opening key."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.core import clock
from tenderhall.opening import services

router = Router(tags=["opening"])


class EscrowPlanIn(Schema):
    official_ids: list[int]
    k: int


class EscrowPlanOut(Schema):
    tender_id: int
    official_ids: list[int]
    k: int


@router.put(
    "/tenders/{tender_id}/escrow-plan",
    response=EscrowPlanOut,
    operation_id="escrow_plan_set",
    auth=authenticated(Scope.PROCEDURES_WRITE),
)
def escrow_plan_set(request: HttpRequest, tender_id: int, payload: EscrowPlanIn) -> EscrowPlanOut:
    """Before publication: the opening officials (each with a current encryption certificate) and how many
    of them it takes to rebuild the escrow key. At publication the key is made and split among them."""
    plan = services.escrow_plan_set(
        actor=request_user(request),
        tender_id=tender_id,
        official_ids=payload.official_ids,
        k=payload.k,
        now=clock.now(),
    )
    return EscrowPlanOut(
        tender_id=plan.tender_id, official_ids=sorted(plan.officials.values_list("pk", flat=True)), k=plan.k
    )
