from __future__ import annotations

import itertools
from datetime import datetime

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import NOW, make_user
from tenderhall.core.codes import org_code_check_char, uscc_check_char
from tenderhall.registry import services
from tenderhall.registry.choices import EntityKind
from tenderhall.registry.models import MarketEntity

_sequence = itertools.count(1)


def uscc(n: int, prefix: str = "91", region: str = "420100") -> str:
    org_body = f"MA{n:06d}"
    body = prefix + region + org_body + org_code_check_char(org_body)
    return body + uscc_check_char(body)


def make_entity(
    *,
    registrant: User | None = None,
    role: str = Role.BIDDER,
    approved_by: User | None = None,
    name: str | None = None,
    kind: str = EntityKind.LEGAL_PERSON,
    now: datetime = NOW,
) -> MarketEntity:
    n = next(_sequence)
    registrant = registrant or make_user(now=now)
    entity = services.entity_register(
        actor=registrant,
        kind=kind,
        name=name or f"测试建设有限公司{n}",
        identifier=uscc(n, "92" if kind == EntityKind.INDIVIDUAL_BUSINESS else "91"),
        role=role,
        legal_representative="张三",
        now=now,
    )
    if approved_by is not None:
        entity = services.entity_approve(actor=approved_by, entity_id=entity.pk, now=now)
    return entity


def make_operator(now: datetime = NOW) -> User:
    return make_user(role=Role.OPERATOR, now=now)
