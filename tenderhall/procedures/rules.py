"""Procedure types as rules values. Pure: no ORM, no clock.

Every procedure type is one frozen :class:`ProcedureRules` value: its legal track, names, statutory time
limits (each a :class:`Limit` with its unit, anchor, direction, counting settings, legal source and
verification status), minimum bids, evaluation methods and whether escrow opening is allowed. Code asks the
value, never the procedure type's name, so a new procedure type is mostly a new value in
:data:`PROCEDURE_TYPES`.

Decisions (``docs/procedures-rules.md`` explains each):

* Prequalification (资格预审) is a separate procedure type, not a flag on the tender: ``works_open`` and
  ``works_invited`` are post-qualification (资格后审); ``works_open_prequalified`` and
  ``works_invited_prequalified`` add the prequalification limits. A tender stores one key and its rules are
  complete.
* Limits carry stable role keys shared by all procedure types (``bid_preparation``, ``amendment``,
  ``objection`` ...), so the deadline engine finds "the amendment limit" of any type.
* On the non-tender procurement methods the first-response deadline (首次响应文件截止) plays the bid deadline.
* Escrow opening is allowed for every type whose bids or responses are sealed (all but 单一来源), a design
  choice; whether a tender uses it is still up to its documents.
* Verification markers follow shared/reference/statutory-rules.md; limits of 竞争性谈判, 竞争性磋商, 询价 and
  单一来源 are not in that reference and are marked unverified.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tenderhall.core.errors import DomainError

RULES_VERSION = "2026.1"
"""Bump when any limit changes, so that stored deadlines say which rules computed them."""


class UnknownProcedureType(DomainError):
    code = "unknown_procedure_type"
    status = 422

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Unknown procedure type {key!r}: choose one of {', '.join(PROCEDURE_TYPES)}.",
            details={"procedure_type": key, "choices": list(PROCEDURE_TYPES)},
        )


class Track(StrEnum):
    WORKS = "works"  # 招标投标法 track
    PROCUREMENT = "procurement"  # 政府采购法 track


class Unit(StrEnum):
    CALENDAR_DAYS = "calendar_days"  # 日
    WORKING_DAYS = "working_days"  # 工作日

    @property
    def words(self) -> str:
        return "calendar days" if self is Unit.CALENDAR_DAYS else "working days"


class Kind(StrEnum):
    MINIMUM = "minimum"  # at least `amount` between anchor and constrained moment ("不得少于", "N日前")
    WITHIN = "within"  # the constrained act is due within `amount` after the anchor ("N日内")


class Direction(StrEnum):
    AFTER = "after"  # the constrained moment comes after the anchor
    BEFORE = "before"  # the constrained moment comes before the anchor (e.g. before the bid deadline)


class RollOver(StrEnum):
    """民法典 art. 203: a period whose last day is a statutory rest day ends on the day after the rest."""

    NONE = "none"  # no roll-over
    HOLIDAYS = "holidays"  # only published public-holiday periods count as rest
    REST_DAYS = "rest_days"  # every rest day of the calendar (holidays and ordinary weekends) counts


class Verification(StrEnum):
    VERIFIED = "V"  # checked against a consolidated statute text
    SECONDARY = "S"  # seen in a secondary source
    UNVERIFIED = "unverified"  # not re-read against any text: check the official text
    DESIGN = "design"  # a platform choice, not a legal requirement


class Event(StrEnum):
    """Moments that limits connect. The first seven are the fields of a proposed timeline."""

    NOTICE_PUBLISHED = "notice_published"
    DOCUMENTS_FROM = "documents_from"
    DOCUMENTS_UNTIL = "documents_until"
    BID_DEADLINE = "bid_deadline"
    PREQUALIFICATION_DOCUMENTS_FROM = "prequalification_documents_from"
    PREQUALIFICATION_DOCUMENTS_UNTIL = "prequalification_documents_until"
    PREQUALIFICATION_DEADLINE = "prequalification_deadline"
    NOTICE_ENDS = "notice_ends"
    AMENDMENT_ISSUED = "amendment_issued"
    PREQUALIFICATION_AMENDMENT_ISSUED = "prequalification_amendment_issued"
    OBJECTION_GROUNDS_KNOWN = "objection_grounds_known"
    OBJECTION_RAISED = "objection_raised"
    PREQUALIFICATION_OBJECTION_RAISED = "prequalification_objection_raised"
    OBJECTION_ANSWERED = "objection_answered"
    OBJECTION_ANSWER_PERIOD_ENDED = "objection_answer_period_ended"
    ENQUIRY_RECEIVED = "enquiry_received"
    ENQUIRY_ANSWERED = "enquiry_answered"
    BID_WITHDRAWN = "bid_withdrawn"
    WITHDRAWN_BOND_REFUNDED = "withdrawn_bond_refunded"
    EVALUATION_ENDED = "evaluation_ended"
    REPORT_RECEIVED = "report_received"
    REPORT_DELIVERED = "report_delivered"
    PUBLICITY_STARTS = "publicity_starts"
    PUBLICITY_ENDS = "publicity_ends"
    RESULT_OBJECTION_RAISED = "result_objection_raised"
    RESULT_OBJECTION_ANSWERED = "result_objection_answered"
    WINNER_DETERMINED = "winner_determined"
    AWARD_NOTICE_ISSUED = "award_notice_issued"
    SUPERVISION_REPORTED = "supervision_reported"
    CONTRACT_SIGNED = "contract_signed"
    CONTRACT_PUBLISHED = "contract_published"
    CONTRACT_FILED = "contract_filed"
    BONDS_REFUNDED = "bonds_refunded"
    UNSUCCESSFUL_BONDS_REFUNDED = "unsuccessful_bonds_refunded"
    COMPLAINT_GROUNDS_KNOWN = "complaint_grounds_known"
    COMPLAINT_FILED = "complaint_filed"
    COMPLAINT_RECEIVED = "complaint_received"
    COMPLAINT_ACCEPTANCE_DECIDED = "complaint_acceptance_decided"
    COMPLAINT_ACCEPTED = "complaint_accepted"
    COMPLAINT_DECIDED = "complaint_decided"
    SUSPENSION_STARTS = "suspension_starts"
    SUSPENSION_ENDS = "suspension_ends"


TIMELINE_EVENTS = frozenset(
    {
        Event.NOTICE_PUBLISHED,
        Event.DOCUMENTS_FROM,
        Event.DOCUMENTS_UNTIL,
        Event.BID_DEADLINE,
        Event.PREQUALIFICATION_DOCUMENTS_FROM,
        Event.PREQUALIFICATION_DOCUMENTS_UNTIL,
        Event.PREQUALIFICATION_DEADLINE,
    }
)


class EvaluationMethod(StrEnum):
    LOWEST_EVALUATED_PRICE = "lowest_evaluated_price"  # 经评审的最低投标价法 / 最低评标价法
    COMPREHENSIVE = "comprehensive"  # 综合评估法 / 综合评分法
    LOWEST_PRICE = "lowest_price"  # 竞争性谈判, 询价: equal quality and service, lowest price
    NEGOTIATED = "negotiated"  # 单一来源: price agreed with the one supplier


@dataclass(frozen=True)
class Limit:
    """One statutory time limit between an anchor moment and a constrained moment.

    Periods are counted forward in time from the earlier of the two moments, on Asia/Shanghai calendar dates
    (民法典 art. 201: the day it starts on is not counted unless ``start_day_counts``). ``end_day_counts``
    (MINIMUM limits only) says whether the day of the later moment counts towards ``amount``; when it does
    not, the period must have run in full, to 24:00 of its last day, before the later moment. ``roll_over``
    applies 民法典 art. 203 to the last day; ``closes_at`` ends the last day at close of business, not 24:00.
    """

    key: str
    ref: str  # row of shared/reference/statutory-rules.md, "" if the row is not there
    title_zh: str
    rule: str  # English sentence stating the limit, used in refusals
    constrains: str  # English name of the constrained moment, e.g. "bid deadline"
    kind: Kind
    direction: Direction
    amount: int
    unit: Unit
    anchor: Event
    constrained: Event
    source: str
    verification: Verification
    start_day_counts: bool = False
    end_day_counts: bool = False
    roll_over: RollOver = RollOver.REST_DAYS
    closes_at: datetime.time | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError(f"limit {self.key}: amount must be at least 1")
        if self.kind is Kind.WITHIN and self.direction is not Direction.AFTER:
            raise ValueError(f"limit {self.key}: a WITHIN limit runs after its anchor")
        if self.kind is Kind.WITHIN and self.end_day_counts:
            raise ValueError(f"limit {self.key}: end_day_counts only applies to MINIMUM limits")
        if self.kind is Kind.MINIMUM and self.closes_at is not None:
            raise ValueError(f"limit {self.key}: closes_at only applies to WITHIN limits")

    @property
    def on_timeline(self) -> bool:
        """Whether a proposed tender timeline holds both moments, so that publication can check it."""
        return self.anchor in TIMELINE_EVENTS and self.constrained in TIMELINE_EVENTS


@dataclass(frozen=True)
class ProcedureRules:
    key: str
    track: Track
    name_zh: str
    name_en: str
    prequalification: bool
    limits: tuple[Limit, ...]
    minimum_bids: int  # fewer bids (responses) at the deadline: no opening, the procedure fails (流标)
    minimum_bids_source: str
    minimum_bids_verification: Verification
    evaluation_methods: tuple[EvaluationMethod, ...]
    sealed_bids: bool
    escrow_opening_allowed: bool
    version: str = RULES_VERSION
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = [limit.key for limit in self.limits]
        if len(keys) != len(set(keys)):
            raise ValueError(f"procedure type {self.key}: duplicate limit keys")

    def find_limit(self, key: str) -> Limit | None:
        return next((limit for limit in self.limits if limit.key == key), None)

    def limit(self, key: str) -> Limit:
        if (found := self.find_limit(key)) is None:
            raise KeyError(f"procedure type {self.key} has no limit {key!r}")
        return found

    @property
    def timeline_limits(self) -> tuple[Limit, ...]:
        return tuple(limit for limit in self.limits if limit.on_timeline)


_V, _U = Verification.VERIFIED, Verification.UNVERIFIED
_CAL, _WORK = Unit.CALENDAR_DAYS, Unit.WORKING_DAYS

_TB = "招标投标法"
_TBR = "招标投标法实施条例"
_GP = "政府采购法"
_GPR = "政府采购法实施条例"
_ORDER_74 = "政府采购非招标采购方式管理办法 (财政部令第74号)"
_CONSULTATION = "政府采购竞争性磋商采购方式管理暂行办法 (财库〔2014〕214号)"
_NOT_IN_REFERENCE = "Not in shared/reference/statutory-rules.md: check the official text."


def _minimum_after(**fields: Any) -> Limit:
    """A period that protects bidders: the later moment may come no earlier than the full period allows."""
    return Limit(kind=Kind.MINIMUM, direction=Direction.AFTER, **fields)


def _within(**fields: Any) -> Limit:
    """An act due within a period after its anchor."""
    return Limit(kind=Kind.WITHIN, direction=Direction.AFTER, **fields)


def _amendment(*, amount: int, unit: Unit, documents: str, **fields: Any) -> Limit:
    """A clarification or amendment that may affect bid preparation must leave bidders the full period."""
    return Limit(
        key="amendment",
        title_zh="澄清或者修改",
        rule=(
            f"A clarification or amendment of the {documents} that may affect bid preparation must be issued "
            f"at least {amount} {unit.words} before the bid deadline; otherwise the deadline is extended"
        ),
        constrains="moment of the amendment",
        kind=Kind.MINIMUM,
        direction=Direction.BEFORE,
        amount=amount,
        unit=unit,
        anchor=Event.BID_DEADLINE,
        constrained=Event.AMENDMENT_ISSUED,
        **fields,
    )


# fmt: off
# --- Tendering law track (招标投标法, 实施条例) ------------------------------------------------------------

_WORKS_DOCUMENTS = (
    _minimum_after(
        key="documents_available", ref="T1", title_zh="招标文件发售期",
        rule="Tender documents must be issued for at least 5 calendar days",
        constrains="end of the documents' issue period",
        amount=5, unit=_CAL, anchor=Event.DOCUMENTS_FROM, constrained=Event.DOCUMENTS_UNTIL,
        source=f"{_TBR} art. 16", verification=_V,
    ),
    _minimum_after(
        key="bid_preparation", ref="T3", title_zh="招标文件发出至投标截止",
        rule="The bid deadline must be at least 20 calendar days after the tender documents are first issued",
        constrains="bid deadline",
        amount=20, unit=_CAL, anchor=Event.DOCUMENTS_FROM, constrained=Event.BID_DEADLINE,
        source=f"{_TB} art. 24", verification=_V,
    ),
    _amendment(
        amount=15, unit=_CAL, documents="tender documents", ref="T4",
        source=f"{_TB} art. 23; {_TBR} art. 21", verification=_V,
    ),
    Limit(
        key="objection", ref="T7", title_zh="对招标文件提出异议",
        rule="An objection to the tender documents must be raised at least 10 calendar days before the "
        "bid deadline",
        constrains="moment of the objection",
        kind=Kind.MINIMUM, direction=Direction.BEFORE,
        amount=10, unit=_CAL, anchor=Event.BID_DEADLINE, constrained=Event.OBJECTION_RAISED,
        source=f"{_TBR} art. 22", verification=_V,
        end_day_counts=True, roll_over=RollOver.NONE,
        note="Read in the objector's favour: the deadline's day counts and nothing rolls over, so the "
        "cut-off is the end of the 10th day before the deadline's day.",
    ),
    _within(
        key="objection_answer", ref="T8", title_zh="异议答复",
        rule="The tenderer must answer an objection within 3 calendar days of receiving it; tendering is "
        "suspended until it does",
        constrains="answer to the objection",
        amount=3, unit=_CAL, anchor=Event.OBJECTION_RAISED, constrained=Event.OBJECTION_ANSWERED,
        source=f"{_TBR} art. 22", verification=_V,
    ),
)

_WORKS_PREQUALIFICATION = (
    _minimum_after(
        key="prequalification_documents_available", ref="T1", title_zh="资格预审文件发售期",
        rule="Prequalification documents must be issued for at least 5 calendar days",
        constrains="end of the prequalification documents' issue period",
        amount=5, unit=_CAL,
        anchor=Event.PREQUALIFICATION_DOCUMENTS_FROM, constrained=Event.PREQUALIFICATION_DOCUMENTS_UNTIL,
        source=f"{_TBR} art. 16", verification=_V,
    ),
    _minimum_after(
        key="prequalification_application", ref="T2", title_zh="资格预审申请文件提交",
        rule="The prequalification application deadline must be at least 5 calendar days after the "
        "prequalification documents stop being issued",
        constrains="prequalification application deadline",
        amount=5, unit=_CAL,
        anchor=Event.PREQUALIFICATION_DOCUMENTS_UNTIL, constrained=Event.PREQUALIFICATION_DEADLINE,
        source=f"{_TBR} art. 17", verification=_V,
    ),
    Limit(
        key="prequalification_amendment", ref="T5", title_zh="资格预审文件澄清或者修改",
        rule="A clarification or amendment of the prequalification documents that may affect applications "
        "must be issued at least 3 calendar days before the application deadline; otherwise the deadline "
        "is extended",
        constrains="moment of the amendment",
        kind=Kind.MINIMUM, direction=Direction.BEFORE,
        amount=3, unit=_CAL,
        anchor=Event.PREQUALIFICATION_DEADLINE, constrained=Event.PREQUALIFICATION_AMENDMENT_ISSUED,
        source=f"{_TBR} art. 21", verification=_V,
    ),
    Limit(
        key="prequalification_objection", ref="T6", title_zh="对资格预审文件提出异议",
        rule="An objection to the prequalification documents must be raised at least 2 calendar days "
        "before the application deadline",
        constrains="moment of the objection",
        kind=Kind.MINIMUM, direction=Direction.BEFORE,
        amount=2, unit=_CAL,
        anchor=Event.PREQUALIFICATION_DEADLINE, constrained=Event.PREQUALIFICATION_OBJECTION_RAISED,
        source=f"{_TBR} art. 22", verification=_V,
        end_day_counts=True, roll_over=RollOver.NONE,
    ),
)

_WORKS_AFTER_DEADLINE = (
    _within(
        key="withdrawal_bond_refund", ref="T10", title_zh="撤回投标退还保证金",
        rule="The bid bond of a withdrawn bid must be refunded within 5 calendar days of the written "
        "withdrawal",
        constrains="refund of the bid bond",
        amount=5, unit=_CAL, anchor=Event.BID_WITHDRAWN, constrained=Event.WITHDRAWN_BOND_REFUNDED,
        source=f"{_TBR} art. 35", verification=_V,
    ),
    _within(
        key="candidates_publicity_start", ref="T14", title_zh="中标候选人公示开始",
        rule="The winning candidates must be published within 3 calendar days of receiving the evaluation "
        "report",
        constrains="start of the candidates' publicity",
        amount=3, unit=_CAL, anchor=Event.REPORT_RECEIVED, constrained=Event.PUBLICITY_STARTS,
        source=f"{_TBR} art. 54", verification=_V,
    ),
    _minimum_after(
        key="candidates_publicity", ref="T14", title_zh="中标候选人公示期",
        rule="The publicity of the winning candidates must last at least 3 calendar days",
        constrains="end of the candidates' publicity",
        amount=3, unit=_CAL, anchor=Event.PUBLICITY_STARTS, constrained=Event.PUBLICITY_ENDS,
        source=f"{_TBR} art. 54", verification=_V,
    ),
    _within(
        key="result_objection_answer", ref="T15", title_zh="评标结果异议答复",
        rule="The tenderer must answer an objection to the evaluation result within 3 calendar days of "
        "receiving it; the procedure is suspended until it does",
        constrains="answer to the objection",
        amount=3, unit=_CAL,
        anchor=Event.RESULT_OBJECTION_RAISED, constrained=Event.RESULT_OBJECTION_ANSWERED,
        source=f"{_TBR} art. 54", verification=_V,
    ),
    _within(
        key="contract", ref="T16", title_zh="订立合同",
        rule="The contract must be signed within 30 calendar days of the award notice",
        constrains="signature of the contract",
        amount=30, unit=_CAL, anchor=Event.AWARD_NOTICE_ISSUED, constrained=Event.CONTRACT_SIGNED,
        source=f"{_TB} art. 46; {_TBR} art. 57", verification=_V,
    ),
    _within(
        key="bond_refund", ref="T17", title_zh="退还投标保证金",
        rule="Bid bonds must be refunded, with interest, within 5 calendar days of the contract being signed",
        constrains="refund of the bid bonds",
        amount=5, unit=_CAL, anchor=Event.CONTRACT_SIGNED, constrained=Event.BONDS_REFUNDED,
        source=f"{_TBR} art. 57", verification=_V,
    ),
    _within(
        key="award_report", ref="T18", title_zh="招标投标情况书面报告",
        rule="The written report to the supervision department is due within 15 calendar days of "
        "determining the winner",
        constrains="report to the supervision department",
        amount=15, unit=_CAL, anchor=Event.WINNER_DETERMINED, constrained=Event.SUPERVISION_REPORTED,
        source=f"{_TB} art. 47", verification=_V,
    ),
    _within(
        key="complaint", ref="T19", title_zh="投诉",
        rule="A complaint must be filed within 10 calendar days of knowing or having to know of the grounds",
        constrains="filing of the complaint",
        amount=10, unit=_CAL, anchor=Event.COMPLAINT_GROUNDS_KNOWN, constrained=Event.COMPLAINT_FILED,
        source=f"{_TBR} art. 60", verification=_V,
        note="For matters that need an objection first (实施条例 arts. 22, 44, 54) the objection's "
        "answer period is not counted: pass those days as excluded_days.",
    ),
    _within(
        key="complaint_acceptance", ref="T20", title_zh="投诉受理",
        rule="The supervision department must decide within 3 working days whether to accept a complaint",
        constrains="decision on accepting the complaint",
        amount=3, unit=_WORK, anchor=Event.COMPLAINT_RECEIVED, constrained=Event.COMPLAINT_ACCEPTANCE_DECIDED,
        source=f"{_TBR} art. 61", verification=_V,
    ),
    _within(
        key="complaint_decision", ref="T21", title_zh="投诉处理决定",
        rule="The supervision department must decide a complaint within 30 working days of accepting it",
        constrains="decision on the complaint",
        amount=30, unit=_WORK, anchor=Event.COMPLAINT_ACCEPTED, constrained=Event.COMPLAINT_DECIDED,
        source=f"{_TBR} art. 61", verification=_V,
        note="Time for testing, appraisal or expert review is excluded (unverified: check the official "
        "text).",
    ),
)
# fmt: on


def _works(key: str, name_zh: str, name_en: str, *, prequalification: bool, invited: bool) -> ProcedureRules:
    notes = ("Invitations go to at least 3 specific legal persons (招标投标法 art. 17, unverified).",)
    return ProcedureRules(
        key=key,
        track=Track.WORKS,
        name_zh=name_zh,
        name_en=name_en,
        prequalification=prequalification,
        limits=(_WORKS_PREQUALIFICATION if prequalification else ())
        + _WORKS_DOCUMENTS
        + _WORKS_AFTER_DEADLINE,
        minimum_bids=3,
        minimum_bids_source=f"{_TBR} art. 44",
        minimum_bids_verification=_V,
        evaluation_methods=(EvaluationMethod.LOWEST_EVALUATED_PRICE, EvaluationMethod.COMPREHENSIVE),
        sealed_bids=True,
        escrow_opening_allowed=True,
        notes=notes if invited else (),
    )


# fmt: off
# --- Government procurement track (政府采购法, 政采条例, 87号令, 74号令, 214号) --------------------------

_PROCUREMENT_COMMON = (
    _within(
        key="objection", ref="G15", title_zh="质疑",
        rule="A challenge must be raised within 7 working days of knowing or having to know of the harm",
        constrains="moment of the challenge",
        amount=7, unit=_WORK, anchor=Event.OBJECTION_GROUNDS_KNOWN, constrained=Event.OBJECTION_RAISED,
        source=f"{_GP} art. 52", verification=_V,
        note="For the procurement documents the period runs from obtaining them or from the end of their "
        "notice period (政府采购质疑和投诉办法, 财政部令第94号, art. 11: unverified).",
    ),
    _within(
        key="objection_answer", ref="G16", title_zh="质疑答复",
        rule="The purchaser must answer a challenge within 7 working days of receiving it",
        constrains="answer to the challenge",
        amount=7, unit=_WORK, anchor=Event.OBJECTION_RAISED, constrained=Event.OBJECTION_ANSWERED,
        source=f"{_GP} art. 53", verification=_V,
    ),
    _within(
        key="enquiry_answer", ref="G14", title_zh="询问答复",
        rule="An enquiry must be answered within 3 working days",
        constrains="answer to the enquiry",
        amount=3, unit=_WORK, anchor=Event.ENQUIRY_RECEIVED, constrained=Event.ENQUIRY_ANSWERED,
        source=f"{_GPR} art. 52", verification=_V,
    ),
    _within(
        key="evaluation_report", ref="G8", title_zh="送交评审报告",
        rule="The evaluation report must reach the purchaser within 2 working days of the end of the "
        "evaluation",
        constrains="delivery of the evaluation report",
        amount=2, unit=_WORK, anchor=Event.EVALUATION_ENDED, constrained=Event.REPORT_DELIVERED,
        source=f"{_GPR} art. 43", verification=_V,
    ),
    _within(
        key="award_decision", ref="G9", title_zh="确定中标或者成交供应商",
        rule="The purchaser must determine the winner within 5 working days of receiving the evaluation "
        "report",
        constrains="determination of the winner",
        amount=5, unit=_WORK, anchor=Event.REPORT_RECEIVED, constrained=Event.WINNER_DETERMINED,
        source=f"{_GPR} art. 43", verification=_V,
    ),
    _within(
        key="award_notice", ref="G10", title_zh="发出中标、成交通知书并公告结果",
        rule="The award notice must be issued and the result published within 2 working days of "
        "determining the winner",
        constrains="award notice",
        amount=2, unit=_WORK, anchor=Event.WINNER_DETERMINED, constrained=Event.AWARD_NOTICE_ISSUED,
        source=f"{_GPR} art. 43", verification=_V,
    ),
    _within(
        key="contract", ref="G11", title_zh="签订政府采购合同",
        rule="The contract must be signed within 30 calendar days of the award notice",
        constrains="signature of the contract",
        amount=30, unit=_CAL, anchor=Event.AWARD_NOTICE_ISSUED, constrained=Event.CONTRACT_SIGNED,
        source=f"{_GP} art. 46", verification=_V,
    ),
    _within(
        key="contract_publication", ref="G12", title_zh="合同公告",
        rule="The contract must be published within 2 working days of being signed",
        constrains="publication of the contract",
        amount=2, unit=_WORK, anchor=Event.CONTRACT_SIGNED, constrained=Event.CONTRACT_PUBLISHED,
        source=f"{_GPR} art. 50", verification=_V,
    ),
    _within(
        key="contract_filing", ref="G13", title_zh="合同备案",
        rule="A copy of the contract must be filed with the finance department within 7 working days of "
        "signing",
        constrains="filing of the contract",
        amount=7, unit=_WORK, anchor=Event.CONTRACT_SIGNED, constrained=Event.CONTRACT_FILED,
        source=f"{_GP} art. 47", verification=_V,
    ),
    _within(
        key="complaint", ref="G17", title_zh="投诉",
        rule="A complaint must be filed within 15 working days after the challenge answer period ends",
        constrains="filing of the complaint",
        amount=15, unit=_WORK, anchor=Event.OBJECTION_ANSWER_PERIOD_ENDED, constrained=Event.COMPLAINT_FILED,
        source=f"{_GP} art. 55", verification=_V,
    ),
    _within(
        key="complaint_decision", ref="G18", title_zh="投诉处理决定",
        rule="The finance department must decide a complaint within 30 working days of receiving it",
        constrains="decision on the complaint",
        amount=30, unit=_WORK, anchor=Event.COMPLAINT_RECEIVED, constrained=Event.COMPLAINT_DECIDED,
        source=f"{_GP} art. 56", verification=_V,
    ),
    _within(
        key="complaint_suspension", ref="G19", title_zh="暂停采购活动",
        rule="Procurement suspended while a complaint is handled must resume within 30 calendar days",
        constrains="end of the suspension",
        amount=30, unit=_CAL, anchor=Event.SUSPENSION_STARTS, constrained=Event.SUSPENSION_ENDS,
        source=f"{_GP} art. 57", verification=_V,
    ),
)

_PROCUREMENT_OPEN_LIMITS = (
    _minimum_after(
        key="notice_period", ref="G5", title_zh="招标公告期限",
        rule="The tender notice must stay published for 5 working days",
        constrains="end of the notice period",
        amount=5, unit=_WORK, anchor=Event.NOTICE_PUBLISHED, constrained=Event.NOTICE_ENDS,
        source="政府采购货物和服务招标投标管理办法 (财政部令第87号)", verification=_U,
    ),
    _minimum_after(
        key="documents_available", ref="G3", title_zh="招标文件提供期限",
        rule="Tender documents must be available for at least 5 working days from when they are first issued",
        constrains="end of the documents' availability",
        amount=5, unit=_WORK, anchor=Event.DOCUMENTS_FROM, constrained=Event.DOCUMENTS_UNTIL,
        source=f"{_GPR} art. 31", verification=_V,
    ),
    _minimum_after(
        key="bid_preparation", ref="G1", title_zh="招标文件发出至投标截止",
        rule="The bid deadline must be at least 20 calendar days after the tender documents are first issued",
        constrains="bid deadline",
        amount=20, unit=_CAL, anchor=Event.DOCUMENTS_FROM, constrained=Event.BID_DEADLINE,
        source=f"{_GP} art. 35", verification=_V,
    ),
    _amendment(
        amount=15, unit=_CAL, documents="tender documents", ref="G4",
        source=f"{_GPR} art. 31", verification=_V,
    ),
    _within(
        key="unsuccessful_bond_refund", ref="G6", title_zh="退还未中标人投标保证金",
        rule="Bid bonds of unsuccessful bidders must be refunded within 5 working days of the award notice",
        constrains="refund of the bid bonds",
        amount=5, unit=_WORK, anchor=Event.AWARD_NOTICE_ISSUED, constrained=Event.UNSUCCESSFUL_BONDS_REFUNDED,
        source=f"{_GPR} art. 33", verification=_V,
    ),
    _within(
        key="bond_refund", ref="G7", title_zh="退还中标人投标保证金",
        rule="The winner's bid bond must be refunded within 5 working days of the contract being signed",
        constrains="refund of the winner's bid bond",
        amount=5, unit=_WORK, anchor=Event.CONTRACT_SIGNED, constrained=Event.BONDS_REFUNDED,
        source=f"{_GPR} art. 33", verification=_V,
    ),
)

_NEGOTIATION_LIMITS = (
    _minimum_after(
        key="bid_preparation", ref="", title_zh="谈判文件发出至首次响应文件截止",
        rule="The first-response deadline must be at least 3 working days after the negotiation documents "
        "are issued",
        constrains="first-response deadline",
        amount=3, unit=_WORK, anchor=Event.DOCUMENTS_FROM, constrained=Event.BID_DEADLINE,
        source=f"{_ORDER_74} art. 29", verification=_U, note=_NOT_IN_REFERENCE,
    ),
    _amendment(
        amount=3, unit=_WORK, documents="negotiation documents", ref="",
        source=f"{_ORDER_74} art. 29", verification=_U, note=_NOT_IN_REFERENCE,
    ),
)

_CONSULTATION_LIMITS = (
    _minimum_after(
        key="documents_available", ref="", title_zh="磋商文件发售期限",
        rule="Consultation documents must be issued for at least 5 working days",
        constrains="end of the documents' issue period",
        amount=5, unit=_WORK, anchor=Event.DOCUMENTS_FROM, constrained=Event.DOCUMENTS_UNTIL,
        source=f"{_CONSULTATION} art. 10", verification=_U, note=_NOT_IN_REFERENCE,
    ),
    _minimum_after(
        key="bid_preparation", ref="", title_zh="磋商文件发出至首次响应文件截止",
        rule="The first-response deadline must be at least 10 calendar days after the consultation "
        "documents are issued",
        constrains="first-response deadline",
        amount=10, unit=_CAL, anchor=Event.DOCUMENTS_FROM, constrained=Event.BID_DEADLINE,
        source=f"{_CONSULTATION} art. 10", verification=_U, note=_NOT_IN_REFERENCE,
    ),
    _amendment(
        amount=5, unit=_CAL, documents="consultation documents", ref="",
        source=f"{_CONSULTATION} art. 10", verification=_U, note=_NOT_IN_REFERENCE,
    ),
)

_QUOTATION_LIMITS = (
    _minimum_after(
        key="bid_preparation", ref="", title_zh="询价通知书发出至响应文件截止",
        rule="The response deadline must be at least 3 working days after the request for quotation is "
        "issued",
        constrains="response deadline",
        amount=3, unit=_WORK, anchor=Event.DOCUMENTS_FROM, constrained=Event.BID_DEADLINE,
        source=f"{_ORDER_74} art. 45", verification=_U, note=_NOT_IN_REFERENCE,
    ),
    _amendment(
        amount=3, unit=_WORK, documents="request for quotation", ref="",
        source=f"{_ORDER_74} art. 46", verification=_U, note=_NOT_IN_REFERENCE,
    ),
)

_SINGLE_SOURCE_LIMITS = (
    _minimum_after(
        key="single_source_publicity", ref="", title_zh="单一来源公示期",
        rule="The single-source publicity must last at least 5 working days before the negotiation with "
        "the supplier",
        constrains="negotiation deadline",
        amount=5, unit=_WORK, anchor=Event.NOTICE_PUBLISHED, constrained=Event.BID_DEADLINE,
        source=f"{_GPR} art. 38", verification=_U,
        note="The regulation requires it above the open-tender threshold when only one supplier can "
        "deliver; the platform applies it to every single-source procedure (design). " + _NOT_IN_REFERENCE,
    ),
)
# fmt: on


def _procurement(
    key: str,
    name_zh: str,
    name_en: str,
    *,
    limits: tuple[Limit, ...],
    minimum_bids: int,
    minimum_bids_source: str,
    evaluation_methods: tuple[EvaluationMethod, ...],
    sealed_bids: bool = True,
    notes: tuple[str, ...] = (),
) -> ProcedureRules:
    return ProcedureRules(
        key=key,
        track=Track.PROCUREMENT,
        name_zh=name_zh,
        name_en=name_en,
        prequalification=False,
        limits=limits + _PROCUREMENT_COMMON,
        minimum_bids=minimum_bids,
        minimum_bids_source=minimum_bids_source,
        minimum_bids_verification=_U,
        evaluation_methods=evaluation_methods,
        sealed_bids=sealed_bids,
        escrow_opening_allowed=sealed_bids,
        notes=notes,
    )


PROCEDURE_TYPES: Mapping[str, ProcedureRules] = MappingProxyType(
    {
        rules.key: rules
        for rules in (
            _works(
                "works_open",
                "公开招标（资格后审）",
                "open tendering, post-qualification",
                prequalification=False,
                invited=False,
            ),
            _works(
                "works_open_prequalified",
                "公开招标（资格预审）",
                "open tendering with prequalification",
                prequalification=True,
                invited=False,
            ),
            _works(
                "works_invited",
                "邀请招标（资格后审）",
                "invited tendering, post-qualification",
                prequalification=False,
                invited=True,
            ),
            _works(
                "works_invited_prequalified",
                "邀请招标（资格预审）",
                "invited tendering with prequalification",
                prequalification=True,
                invited=True,
            ),
            _procurement(
                "procurement_open",
                "公开招标",
                "open tender (government procurement)",
                limits=_PROCUREMENT_OPEN_LIMITS,
                minimum_bids=3,
                minimum_bids_source=f"{_GP} art. 36(1)",
                evaluation_methods=(EvaluationMethod.LOWEST_EVALUATED_PRICE, EvaluationMethod.COMPREHENSIVE),
            ),
            _procurement(
                "competitive_negotiation",
                "竞争性谈判",
                "competitive negotiation",
                limits=_NEGOTIATION_LIMITS,
                minimum_bids=3,
                minimum_bids_source=f"{_GP} art. 38(3)",
                evaluation_methods=(EvaluationMethod.LOWEST_PRICE,),
            ),
            _procurement(
                "competitive_consultation",
                "竞争性磋商",
                "competitive consultation",
                limits=_CONSULTATION_LIMITS,
                minimum_bids=3,
                minimum_bids_source=_CONSULTATION,
                evaluation_methods=(EvaluationMethod.COMPREHENSIVE,),
                notes=(
                    "Government-purchased services and research projects may go ahead with 2 suppliers "
                    "(财库〔2015〕124号, unverified); not modelled.",
                ),
            ),
            _procurement(
                "request_for_quotation",
                "询价",
                "request for quotation",
                limits=_QUOTATION_LIMITS,
                minimum_bids=3,
                minimum_bids_source=f"{_GP} art. 40(2)",
                evaluation_methods=(EvaluationMethod.LOWEST_PRICE,),
            ),
            _procurement(
                "single_source",
                "单一来源",
                "single source",
                limits=_SINGLE_SOURCE_LIMITS,
                minimum_bids=1,
                minimum_bids_source=f"{_GP} arts. 31, 39",
                evaluation_methods=(EvaluationMethod.NEGOTIATED,),
                sealed_bids=False,
                notes=(
                    "No statutory amendment limit: an amendment leaves the negotiation deadline as it is.",
                ),
            ),
        )
    }
)


def procedure_rules(key: str) -> ProcedureRules:
    try:
        return PROCEDURE_TYPES[key]
    except KeyError:
        raise UnknownProcedureType(key) from None
