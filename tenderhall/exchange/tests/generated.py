"""Generated edge cases: published tenders written as rows with their real ledger leaves (as the services
write them), in every procedure type, with and without an agency, a natural person as tenderee, amounts
with cents, several lots, terminations, failures, clarifications, and an opening record. Fast enough to
make hundreds for the streaming test."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.bids.models import Bid
from tenderhall.evaluation.models import Award, Contract, EvaluatedBid, Evaluation
from tenderhall.ledger.services import LedgerEvent, ledger_append_batch
from tenderhall.opening.models import OpenedBid, OpeningLot, OpeningSession
from tenderhall.procedures.models import Clarification, Lot, Notice, Project, Tender
from tenderhall.procedures.rules import PROCEDURE_TYPES
from tenderhall.registry.choices import EntityKind, EntityStatus
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import uscc

_numbers = itertools.count(1)
PERSON_ID = "11010519491231002X"  # the GB 11643-1999 example: must never appear in an export


@dataclass(frozen=True)
class Case:
    procedure_type: str = "works_open"
    agency: bool = True
    natural_person_tenderee: bool = False
    lots: int = 1
    budget: Decimal = Decimal("12800000")
    estimate: Decimal = Decimal("1234567.89")
    ending: str = ""  # "", "cancelled", "failed", "clarified", "opened"
    bids: int = 3  # opened: bids on the first lot, from the generator's first bidders (add more to have more)


def entity(name: str, *, person: bool = False, by: User, at: datetime) -> MarketEntity:
    n = next(_numbers)
    return MarketEntity.objects.create(
        kind=EntityKind.NATURAL_PERSON if person else EntityKind.LEGAL_PERSON,
        name=name,
        identifier=PERSON_ID if person else uscc(90000 + n),
        region_code="420100",
        status=EntityStatus.APPROVED,
        registered_by=by,
        registered_at=at,
    )


def at_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class Generator:
    def __init__(self, *, at: datetime) -> None:
        self.at = at
        self.user = make_user(now=at)
        self.agency = entity("示例招标代理有限公司", by=self.user, at=at)
        self.tenderee = entity("示例市城市建设投资有限公司", by=self.user, at=at)
        self.person: MarketEntity | None = None
        self.bidders = [entity(f"示例投标人{i}有限公司", by=self.user, at=at) for i in range(3)]

    def tender(self, case: Case) -> Tender:
        n = next(_numbers)
        at = self.at + timedelta(minutes=n)
        tenderee = self.tenderee
        if case.natural_person_tenderee:
            self.person = self.person or entity("张三", person=True, by=self.user, at=at)
            tenderee = self.person
        with transaction.atomic():
            project = Project.objects.create(
                code=f"E420100{2026:04d}{n:06d}",
                name=f"生成项目{n}",
                sector="works" if case.procedure_type.startswith("works") else "procurement",
                region_code="420100",
                tenderee=tenderee,
                agency=self.agency if case.agency else None,
                budget=case.budget,
                funding_source="财政资金" if n % 2 else "",
                registered_by=self.user,
                registered_at=at,
            )
            deadline = at + timedelta(days=21)
            tender = Tender.objects.create(
                project=project,
                code=project.code + "001",
                name=f"生成招标项目{n}",
                procedure_type=case.procedure_type,
                status="bidding",
                description="" if n % 3 else "生成的招标范围说明",
                documents_from=at,
                documents_until=deadline,
                bid_deadline=deadline,
                notice_publish_at=at,
                created_by=self.user,
                created_at=at,
                published_at=at,
            )
            lots = [
                Lot.objects.create(
                    tender=tender,
                    code=f"{tender.code}{i:03d}",
                    name=f"第{i}标段",
                    estimate=case.estimate,
                    duration_days=90 if i % 2 else None,
                )
                for i in range(1, case.lots + 1)
            ]
            tender.published_record = {
                "code": tender.code,
                "timeline": {"documents_from": at.isoformat(), "bid_deadline": deadline.isoformat()},
                "lots": [{"code": lot.code, "name": lot.name, "estimate": str(lot.estimate)} for lot in lots],
                "documents": [{"name": "招标文件.pdf", "sha256": f"{n:064x}", "sm3": f"{n:064x}"}],
            }
            tender.save(update_fields=["published_record"])
            events = [
                self._event("procedures:tender:published", tender, at),
                *self._ending(case, tender, lots, deadline),
            ]
            ledger_append_batch(events=events)
        return tender

    def _event(
        self,
        kind: str,
        tender: Tender,
        at: datetime,
        data: Mapping[str, object] | None = None,
        **subjects: str,
    ) -> LedgerEvent:
        return LedgerEvent(kind, {**subjects, "tender": str(tender.pk)}, {}, "system:test", at, data)

    def _notice(self, tender: Tender, kind: str, at: datetime, **data: object) -> Notice:
        return Notice.objects.create(
            tender=tender,
            kind=kind,
            title=f"{tender.name}公告",
            body="正文",
            data=data,
            region_code="420100",
            sector="works",
            procedure_type=tender.procedure_type,
            publish_at=at,
            published_at=at,
            content_hash="sha256:" + "0" * 64,
            created_by=self.user,
            created_at=at,
        )

    def _ending(self, case: Case, tender: Tender, lots: list[Lot], deadline: datetime) -> list[LedgerEvent]:
        closed = deadline + timedelta(seconds=1)
        if case.ending == "cancelled":
            notice = self._notice(tender, "termination", closed, reason="资金未落实")
            return [
                self._event("procedures:tender:cancelled", tender, closed, {"reason": "资金未落实"}),
                self._event(
                    "procedures:notice:published",
                    tender,
                    closed,
                    {"kind": "termination"},
                    notice=str(notice.pk),
                ),
            ]
        if case.ending == "clarified":
            moment = deadline - timedelta(days=16)
            timeline = {"documents_from": at_iso(tender.documents_from), "bid_deadline": deadline.isoformat()}
            notice = self._notice(
                tender,
                "amendment",
                moment,
                text="更正工程量清单",
                timeline=timeline,
                deadline_before=deadline.isoformat(),
                deadline_after=(deadline + timedelta(days=5)).isoformat(),
            )
            clarification = Clarification.objects.create(
                tender=tender,
                text="更正工程量清单",
                affects_bids=True,
                published_at=moment,
                deadline_before=deadline,
                deadline_after=deadline + timedelta(days=5),
                notice=notice,
                published_by=self.user,
            )
            data = {
                "deadline_before": deadline.isoformat(),
                "deadline_after": (deadline + timedelta(days=5)).isoformat(),
            }
            return [
                self._event(
                    "procedures:notice:published",
                    tender,
                    moment,
                    {"kind": "amendment"},
                    notice=str(notice.pk),
                ),
                self._event(
                    "procedures:clarification:published",
                    tender,
                    moment,
                    data,
                    clarification=str(clarification.pk),
                ),
            ]
        if case.ending == "awarded":
            return self._awarded(tender, lots, deadline)
        if case.ending in ("failed", "opened"):
            bids = [
                self._bid(lots[0], bidder, deadline)
                for bidder in self.bidders[: 1 if case.ending == "failed" else case.bids]
            ]
            events = [
                self._event(
                    "procedures:tender:documents_opened",
                    tender,
                    deadline - timedelta(days=21),
                    {"to": "bidding"},
                ),
                self._event("procedures:tender:bidding_closed", tender, closed, {"to": "bidding_closed"}),
            ]
            if case.ending == "failed":
                return [*events, self._event("procedures:tender:failed", tender, closed, {"to": "failed"})]
            events.append(self._event("procedures:tender:opening_started", tender, closed, {"to": "opening"}))
            recorded = closed + timedelta(hours=1)
            notice = self._notice(tender, "opening_record", recorded)
            session = OpeningSession.objects.create(
                tender=tender,
                status="recorded",
                started_at=closed,
                decryption_until=recorded,
                escrow_allowed=False,
                record_notice=notice,
                recorded_at=recorded,
            )
            for lot in lots:  # the first lot has the bids; any other fails on its own
                OpeningLot.objects.create(
                    session=session,
                    lot=lot,
                    bid_count=len(bids) if lot == lots[0] else 0,
                    failed=lot != lots[0],
                )
            for i, bid in enumerate(bids):
                OpenedBid.objects.create(
                    session=session,
                    bid=bid,
                    outcome="opened" if i < 2 else "revoked",
                    price=Decimal("1100000.50") + i if i < 2 else None,
                    duration_days=80 if i < 2 else None,
                )
            events.append(
                self._event(
                    "procedures:notice:published",
                    tender,
                    recorded,
                    {"kind": "opening_record"},
                    notice=str(notice.pk),
                )
            )
            return events
        return []

    def _awarded(self, tender: Tender, lots: list[Lot], deadline: datetime) -> list[LedgerEvent]:
        """Every lot awarded to the first bidder, the result notice, then each lot's contract."""
        decided = deadline + timedelta(days=10)
        events = []
        contracts = []
        for i, lot in enumerate(lots):
            evaluation = Evaluation.objects.create(
                lot=lot, method="lowest_price", config={}, created_by=self.user, created_at=deadline
            )
            bid = self._bid(lot, self.bidders[0], deadline)
            winner = EvaluatedBid.objects.create(
                evaluation=evaluation,
                bid=bid,
                entity=self.bidders[0],
                price=Decimal("990000.00") + i,
                duration_days=75,
            )
            award = Award.objects.create(
                evaluation=evaluation,
                winner=winner,
                decided_by=self.user,
                decided_at=decided,
                contract_due_at=decided + timedelta(days=30),
            )
            events.append(self._event("evaluation:award:decided", tender, decided, award=str(award.pk)))
            contracts.append(
                Contract.objects.create(
                    award=award,
                    amount=Decimal("990000.00") + i,
                    duration_days=75,
                    signed_on=decided + timedelta(days=7),
                    sha256="1" * 64,
                    late=False,
                    recorded_by=self.user,
                    recorded_at=decided + timedelta(days=8),
                )
            )
        publicized = deadline + timedelta(days=5)
        self.person = self.person or entity("张三", person=True, by=self.user, at=publicized)
        candidates = self._notice(
            tender,
            "candidates",
            publicized,
            publicity={
                "starts_at": publicized.isoformat(),
                "ends_at": (publicized + timedelta(days=3)).isoformat(),
            },
            candidates=[
                {
                    "lot": lot.code,
                    "candidates": [
                        {
                            "rank": 1,
                            "bidder": self.bidders[0].name,
                            "identifier": self.bidders[0].identifier,
                            "price": "990000.00",
                        },
                        {
                            "rank": 2,
                            "bidder": self.person.name,
                            "identifier": self.person.identifier,
                            "price": "995000.00",
                        },
                    ],
                }
                for lot in lots
            ],
        )
        notice = self._notice(
            tender,
            "result",
            decided,
            awards=[
                {
                    "lot": lot.code,
                    "winner": self.bidders[0].name,
                    "identifier": self.bidders[0].identifier,
                    "price": f"{990000 + i}.00",
                }
                for i, lot in enumerate(lots)
            ],
        )
        events.insert(
            0,
            self._event(
                "procedures:notice:published",
                tender,
                publicized,
                {"kind": "candidates"},
                notice=str(candidates.pk),
            ),
        )
        events += [
            self._event("procedures:tender:awarded", tender, decided, {"to": "awarded"}),
            self._event(
                "procedures:notice:published", tender, decided, {"kind": "result"}, notice=str(notice.pk)
            ),
        ]
        for contract in contracts:
            events.append(
                LedgerEvent(
                    "evaluation:contract:recorded",
                    {"contract": str(contract.pk)},
                    {},
                    None,
                    contract.recorded_at,
                )
            )
        return events

    def _bid(self, lot: Lot, bidder: MarketEntity, deadline: datetime) -> Bid:
        return Bid.objects.create(
            lot=lot,
            entity=bidder,
            submitted_by=self.user,
            envelope="bids/none.p7m",
            size=1,
            sha256="0" * 64,
            content_encryption="aes256-gcm",
            submitted_at=deadline - timedelta(days=1),
            bond_amount=Decimal(0),
            bond_payer_account="6222000000000001",
        )


ALL_CASES = (
    *(Case(procedure_type=key) for key in sorted(PROCEDURE_TYPES)),
    Case(agency=False),
    Case(natural_person_tenderee=True, agency=False),
    Case(lots=3, estimate=Decimal("0.01")),
    Case(ending="cancelled"),
    Case(ending="failed"),
    Case(ending="clarified"),
    Case(ending="opened", lots=2),
    Case(ending="awarded", lots=2),
)
