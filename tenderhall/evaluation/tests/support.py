"""A tender under evaluation with three bids, an expert pool with accounts and signing certificates, and
helpers that drive the evaluation through its services."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.bids.models import Bid
from tenderhall.core.models import AuditEntry
from tenderhall.evaluation import committees, pool, workspace
from tenderhall.evaluation.models import Committee, EvaluatedBid, Evaluation, Member
from tenderhall.ledger.canonical import canonical_json
from tenderhall.ledger.models import Leaf
from tenderhall.ledger.sources import leaf_source
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender
from tenderhall.procedures.tests.support import NOW, Signer, World, accept_for_user, make_signer, make_world
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity, uscc

__all__ = ["NOW"]

EVALUATION_AT = NOW + timedelta(days=26)  # after the bid deadline of the procedures' test world
_numbers = itertools.count(700)

COMPREHENSIVE = {
    "method": "comprehensive",
    "price_weight": "0.30",
    "factors": [
        {"code": "tech", "name": "技术方案", "weight": "0.50", "full": "50"},
        {"code": "biz", "name": "商务", "weight": "0.20", "full": "20"},
    ],
}


@dataclass
class Scene:
    world: World
    third_bidder: User
    third_entity: MarketEntity
    bids: list[Bid]
    experts: dict[str, User] = field(default_factory=dict)  # code → account
    signers: dict[int, Signer] = field(default_factory=dict)  # user id → signer
    evaluation: Evaluation | None = None

    @property
    def tender(self) -> Any:
        return self.world.tender

    @property
    def lot(self) -> Any:
        return self.world.tender.lots.get()

    @property
    def ev(self) -> Evaluation:
        assert self.evaluation is not None
        return self.evaluation

    @property
    def agency(self) -> User:
        return self.world.agency_user

    @property
    def tenderee(self) -> User:
        return self.world.tenderee_user


def make_bid(lot: Any, entity: MarketEntity, user: User, *, at: datetime) -> Bid:
    content = f"envelope of {entity.identifier}".encode()
    bid = Bid(
        lot=lot,
        entity=entity,
        submitted_by=user,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_encryption="aes-256-gcm",
        submitted_at=at,
        bond_amount=Decimal(150_000),
        bond_payer_account="6222000011112222",
    )
    bid.envelope.save(f"bid-{next(_numbers)}.p7m", ContentFile(content), save=False)
    bid.save()
    return bid


def make_scene(*, experts: int = 7) -> Scene:
    world = make_world(status=TenderStatus.EVALUATION)
    third_bidder = make_user(now=NOW)
    third_entity = make_entity(
        registrant=third_bidder,
        role=Role.BIDDER,
        approved_by=world.operator,
        name="汉江市政工程有限公司",
        now=NOW,
    )
    lot = world.tender.lots.get()
    bids = [
        make_bid(lot, entity, user, at=NOW + timedelta(days=5))
        for entity, user in (
            (world.bidder_entity, world.bidder),
            (world.other_bidder_entity, world.other_bidder),
            (third_entity, third_bidder),
        )
    ]
    scene = Scene(world=world, third_bidder=third_bidder, third_entity=third_entity, bids=bids)
    add_experts(scene, experts)
    return scene


def expert_csv(rows: list[dict[str, str]]) -> bytes:
    header = list(pool.COLUMNS)
    lines = [",".join(header)]
    lines += [",".join(row.get(column, "") for column in header) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def add_experts(
    scene: Scene, count: int, *, specialty: str = "A0101", region: str = "110101", **extra: str
) -> list[str]:
    if count == 0:
        return []
    users = [make_user(now=NOW, two_factor=True) for _ in range(count)]  # the expert role requires it
    rows = []
    codes = []
    for user in users:
        code = f"E{next(_numbers):04d}"
        codes.append(code)
        rows.append(
            {
                "code": code,
                "full_name": user.full_name,
                "username": user.username,
                "specialties": specialty,
                "region_code": region,
                "employer_identifier": uscc(next(_numbers), region="110100"),
                "title": "高级工程师",
                "years": "12",
                **extra,
            }
        )
    pool.expert_import_csv(actor=scene.world.operator, data=expert_csv(rows), now=NOW)
    for code, user in zip(codes, users, strict=True):
        scene.experts[code] = user
    return codes


def signer_for(scene: Scene, user: User) -> Signer:
    if user.pk not in scene.signers:
        signer = make_signer(common_name=user.full_name, serial_number=f"EXP{user.pk:06d}", now=NOW)
        accept_for_user(signer, user=user, now=NOW)
        scene.signers[user.pk] = signer
    return scene.signers[user.pk]


def set_up(
    scene: Scene, config: dict[str, Any] | None = None, prices: tuple[str, ...] = ("100", "120", "150")
) -> Evaluation:
    evaluation = committees.evaluation_setup(
        actor=scene.agency, lot_id=scene.lot.pk, config=config or COMPREHENSIVE, now=EVALUATION_AT
    )
    if not evaluation.bids.exists():  # the opened bids, as the opening record would give them
        committees.evaluation_bids_load(
            evaluation,
            [
                (bid.pk, bid.entity_id, Decimal(price), 365)
                for bid, price in zip(scene.bids, prices, strict=True)
            ],
        )
    scene.evaluation = evaluation
    return evaluation


def drawn_committee(scene: Scene, *, experts: int = 5, representatives: int = 0, **options: Any) -> Committee:
    assert scene.evaluation is not None
    committee = committees.committee_create(
        actor=scene.agency,
        evaluation_id=scene.evaluation.pk,
        specialty="A01",
        experts=experts,
        representatives=representatives,
        now=EVALUATION_AT,
        **options,
    )
    return committees.committee_draw(actor=scene.agency, committee_id=committee.pk, now=EVALUATION_AT)


def code_of(member: Member) -> str:
    assert member.expert is not None
    return member.expert.code


def seated(committee: Committee) -> list[Member]:
    return list(
        committee.members.exclude(status="declined")
        .select_related("expert", "user")
        .order_by("kind", "position")
    )


def declare_all(scene: Scene, committee: Committee) -> None:
    assert scene.evaluation is not None
    for member in seated(committee):
        text = committees.declaration_text(member)
        committees.member_declare(
            actor=member.user,
            evaluation_id=scene.evaluation.pk,
            signature=signer_for(scene, member.user).pkcs7(text.encode()),
            now=EVALUATION_AT,
        )


def score_all(scene: Scene, committee: Committee, table: dict[int, dict[str, list[str]]]) -> None:
    """``table``: bid index → factor → one score per seated member, in seat order; then everyone hands in."""
    assert scene.evaluation is not None
    bids = list(EvaluatedBid.objects.filter(evaluation=scene.evaluation).order_by("bid_id"))
    members = seated(committee)
    for index, factors in table.items():
        for factor, values in factors.items():
            for member, value in zip(members, values, strict=True):
                workspace.score_set(
                    actor=member.user,
                    evaluation_id=scene.evaluation.pk,
                    bid_id=bids[index].pk,
                    factor=factor,
                    value=value,
                    now=EVALUATION_AT,
                )
    for member in members:
        workspace.member_submit(actor=member.user, evaluation_id=scene.evaluation.pk, now=EVALUATION_AT)


def leaves(event_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(leaf.data)) for leaf in Leaf.objects.filter(event_type=event_type).order_by("index")
    ]


def leaf_problems(prefix: str = "evaluation:") -> list[str]:
    """Every leaf of the evaluation rebuilt from the live rows with its registered source."""
    problems: list[str] = []
    for leaf in Leaf.objects.filter(event_type__startswith=prefix).order_by("index"):
        source = leaf_source(leaf.event_type)
        assert source is not None, leaf.event_type
        event = json.loads(bytes(leaf.data))
        rebuilt = source(event)
        if isinstance(rebuilt, list):
            problems.extend(rebuilt)
        elif canonical_json(rebuilt) != bytes(leaf.data):
            problems.append(f"leaf {leaf.index} ({leaf.event_type}) differs from the live data")
    return problems


def counts() -> dict[str, int]:
    from tenderhall.evaluation import models

    tables: list[Any] = [
        models.Expert,
        models.Evaluation,
        models.Committee,
        models.Member,
        models.EvaluatedBid,
        models.ComplianceMark,
        models.Score,
        models.BidClarification,
        models.Report,
        models.ReportSignature,
        models.Publicity,
        models.Award,
        models.Contract,
        models.BondRefund,
        AuditEntry,
        Leaf,
    ]
    state = {t.__name__: t.objects.count() for t in tables}
    state["declared"] = models.Member.objects.filter(status="declared").count()
    state["submitted"] = models.Member.objects.filter(submitted_at__isnull=False).count()
    state["tenders"] = hash(tuple(Tender.objects.order_by("pk").values_list("pk", "status")))
    return state


def concluded(
    scene: Scene, scores: dict[int, dict[str, list[str]]], prices: tuple[str, ...] = ("100", "120", "150")
) -> Committee:
    """The lot set up with ``prices``, its committee drawn and declared, ``scores`` given, and concluded."""
    set_up(scene, prices=prices)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(scene, committee, scores)
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    return committee
