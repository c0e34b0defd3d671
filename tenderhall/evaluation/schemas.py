from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema


class ImportOut(Schema):
    created: int
    updated: int


class ExpertOut(Schema):
    code: str
    full_name: str
    specialties: list[str]
    region_code: str
    employer_name: str
    title: str
    years: int
    available: bool
    credit: int
    has_account: bool


class EvaluationSetupIn(Schema):
    """The method and its parameters; numbers as strings or numbers (decimal)."""

    method: str
    places: int = 2
    price_weight: Decimal | None = None
    factors: list[dict[str, Any]] = Field(default_factory=list)
    k: Decimal | None = None
    e_above: Decimal | None = None
    e_below: Decimal | None = None
    full_price_marks: Decimal | None = None
    price_share: Decimal | None = None
    trimming: str = "none"
    triggers: dict[str, Decimal | None] = Field(default_factory=dict)
    aggregation: str = "mean"
    trim_from: int = Field(default=5, ge=3, le=99)


class SeatOut(Schema):
    """A seat as the committee shows it before the result: the code, never the person (names stay secret
    until the candidates are published)."""

    position: int
    kind: str
    code: str | None
    status: str
    name: str | None


class TiedBidOut(Schema):
    bid_id: int
    bidder: str
    key: str  # SHA-256 (hex) of the sealed bid: the draw's ticket is SHA-256(seed ‖ key)


class TieDrawOut(Schema):
    """The tie-break draw for the first place (docs/evaluation.md): the seed only once revealed; ``tied`` is
    empty until the conclusion, and stays empty when no tie for the first place arose."""

    evaluation_id: int
    lot_code: str
    commitment: str
    committed_at: datetime
    tied: list[TiedBidOut]  # sorted by key
    order: list[int]  # evaluated bid ids in draw order: the award order of the tied bids
    seed: str | None
    drawn_at: datetime | None
    revealed_at: datetime | None


class EvaluationOut(Schema):
    id: int
    lot_id: int
    lot_code: str
    method: str
    config: dict[str, Any]
    status: str
    committee_id: int | None
    seats: list[SeatOut]
    results: dict[str, Any] | None
    # the results' ranking and candidates in award order: a tie for the first place ordered by its draw
    ranking: list[dict[str, Any]] | None
    candidates: list[int] | None
    tie_pending: bool
    report_sha256: str | None


class CommitteeCreateIn(Schema):
    specialty: str
    experts: int = Field(ge=1, le=99)
    representatives: int = Field(default=0, ge=0, le=99)
    avoid_same_region: bool = False
    pairing_limit: int | None = Field(default=None, ge=1, le=999)
    pairing_days: int = Field(default=365, ge=1, le=3650)


class DrawRecordOut(Schema):
    """What anyone needs to redo the draw (docs/evaluation.md): the seed only once revealed."""

    committee_id: int
    lot_code: str
    commitment: str
    committed_at: datetime
    eligible_hash: str
    eligible: list[str]
    drawn: list[str]
    replacements: list[dict[str, Any]]
    seed: str | None
    revealed_at: datetime | None


class RepresentativeIn(Schema):
    user_id: int


class DeclineIn(Schema):
    reason: str
    conflict: bool = False


class MemberOut(Schema):
    id: int
    position: int
    kind: str
    status: str


class MarkIn(Schema):
    ground: str
    reason: str


class ScoreIn(Schema):
    factor: str
    value: Decimal


class WorkBidOut(Schema):
    """A bid as a member sees it at work, with this member's own marks and scores only."""

    id: int
    bidder: str
    price: Decimal
    duration_days: int | None
    form: dict[str, Any] | None
    low_price_triggers: list[dict[str, Any]]
    my_marks: dict[str, str]
    my_scores: dict[str, Decimal]
    clarifications: list[dict[str, Any]]


class ClarificationAskIn(Schema):
    question: str
    kind: str = "general"


class ClarificationAnswerIn(Schema):
    answer: str


class FindingIn(Schema):
    accepted: bool


class ClarificationOut(Schema):
    id: int
    bid_id: int
    lot_code: str
    kind: str
    question: str
    asked_at: datetime
    answer: str
    answered_at: datetime | None
    accepted: bool | None


class ReportOut(Schema):
    evaluation_id: int
    sha256: str
    created_at: datetime
    signatures: int
    signed_at: datetime | None


class PublicityOut(Schema):
    tender_id: int
    starts_at: datetime
    ends_at: datetime
    notice_id: int


class AwardIn(Schema):
    bid_id: int
    reason: str = ""


class AwardOut(Schema):
    id: int
    evaluation_id: int
    winner_bid_id: int
    winner: str
    decided_at: datetime
    contract_due_at: datetime


class ContractOut(Schema):
    id: int
    amount: Decimal
    duration_days: int | None
    signed_on: datetime
    sha256: str
    late: bool
    differences: list[dict[str, Any]]


class RefundOut(Schema):
    id: int
    bid_id: int
    bidder: str
    amount: Decimal
    due_at: datetime
    refunded_at: datetime | None
