"""Property: whatever a tender's public history, its releases make a valid OCDS package. Random facts
(names, amounts, lots, parties with and without USCC) and random sequences of changes of every kind go
through the pure mapping and the real schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.exchange import validation
from tenderhall.exchange.ocds_mapping import (
    ACTION_STATUS,
    NOTICE_TAG,
    Change,
    ChangeKind,
    LotFacts,
    Org,
    TenderFacts,
    releases,
)
from tenderhall.exchange.packaging import package_head, release_package_chunks

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
text = st.text(min_size=1, max_size=30)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999.99"), places=2)
orgs = st.builds(
    Org,
    name=text,
    uscc=st.sampled_from(["", "91350100M000100Y43", "121200004013590816"]),
    number=st.integers(1, 10**6),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[TenderFacts, list[Change]]:
    code = "E350100202600000" + str(draw(st.integers(1, 9))) + "001"
    lots = tuple(
        LotFacts(
            code=f"{code}{i:03d}",
            name=draw(text),
            estimate=draw(money),
            duration_days=draw(st.none() | st.integers(1, 2000)),
        )
        for i in range(1, draw(st.integers(1, 3)) + 1)
    )
    facts = TenderFacts(
        ocid=f"ocds-xxxxxx-{code}",
        code=code,
        title=draw(text),
        description=draw(st.text(max_size=50)),
        procedure_type=draw(
            st.sampled_from(["works_open", "single_source", "competitive_negotiation", "unknown"])
        ),
        method_details=draw(text),
        works=draw(st.booleans()),
        project_code=code[:17],
        project_name=draw(text),
        budget=draw(money),
        funding_source=draw(st.text(max_size=20)),
        buyer=draw(orgs),
        agency=draw(st.none() | orgs),
        lots=lots,
    )
    moment = START
    record = {
        "timeline": {
            "documents_from": START.isoformat(),
            "bid_deadline": (START + timedelta(days=20)).isoformat(),
        },
        "lots": [{"code": lot.code, "estimate": str(lot.estimate)} for lot in lots],
        "documents": [{"name": draw(text), "sha256": "ab" * 32}],
    }
    changes = [Change(0, moment, ChangeKind.PUBLISHED, record)]
    for index in range(1, draw(st.integers(0, 12)) + 1):
        moment += timedelta(hours=draw(st.integers(0, 200)))
        kind = draw(st.sampled_from(list(ChangeKind)[1:]))
        details: dict[str, Any]
        if kind == ChangeKind.STATUS:
            action = draw(st.sampled_from([*ACTION_STATUS, "resumed"]))
            details = {"action": action}
            if action == "bidding_closed":
                details["bid_counts"] = {lot.code: draw(st.integers(0, 50)) for lot in lots}
        elif kind == ChangeKind.NOTICE:
            details = {
                "id": index,
                "kind": draw(st.sampled_from([*NOTICE_TAG, "future_kind"])),
                "title": draw(text),
                "corrects": draw(st.none() | st.integers(1, 5)),
                "clarification": draw(st.booleans()),
                "text": draw(st.text(max_size=20)),
                "reason": draw(st.text(max_size=20)),
            }
        elif kind == ChangeKind.CLARIFICATION:
            after = moment + timedelta(days=draw(st.integers(0, 10)))
            details = {
                "id": index,
                "text": draw(text),
                "affects_bids": draw(st.booleans()),
                "deadline_before": moment.isoformat(),
                "deadline_after": after.isoformat(),
            }
        elif kind == ChangeKind.DOCUMENT:
            details = {"name": draw(text), "sha256": f"{index:064x}"}
        elif kind == ChangeKind.OPENING:
            details = {
                "bids": [
                    {
                        "id": f"bid-{index}-{i}",
                        "lot": draw(st.sampled_from(lots)).code,
                        "bidder": draw(orgs),
                        "price": draw(st.none() | money),
                        "outcome": draw(st.sampled_from(["opened", "revoked", "withdrawn", "pending"])),
                    }
                    for i in range(draw(st.integers(0, 4)))
                ]
            }
        elif kind == ChangeKind.AWARD:
            lot = draw(st.sampled_from(lots))
            details = {
                "id": f"award-{lot.code}",
                "lot": lot.code,
                "supplier": draw(orgs),
                "value": draw(st.none() | money),
                "duration_days": draw(st.none() | st.integers(1, 900)),
            }
        else:
            lot = draw(st.sampled_from(lots))
            details = {
                "id": f"contract-{lot.code}",
                "award_id": f"award-{lot.code}",
                "value": draw(money),
                "signed_at": moment,
                "duration_days": draw(st.none() | st.integers(1, 900)),
            }
        changes.append(Change(index, moment, kind, details))
    return facts, changes


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_any_public_history_makes_a_valid_release_package(history: tuple[TenderFacts, list[Change]]) -> None:
    facts, changes = history
    made = list(releases(facts, changes, notice_url="https://ggzy.example.org/notices/{id}/"))
    assert len(made) == len(changes)  # one release per change
    assert len({r["id"] for r in made}) == len(made)
    head = package_head(uri="https://ggzy.example.org/ocds", published_at=START, publisher_name="示例")
    package = json.loads("".join(release_package_chunks(head, made)))
    assert validation.package_errors(package) == []


def test_nothing_before_the_publication_makes_a_release() -> None:
    org = Org(name="招标人", uscc="", number=1)
    facts = TenderFacts(
        ocid="o",
        code="E",
        title="t",
        description="",
        procedure_type="works_open",
        method_details="公开招标",
        works=True,
        project_code="P",
        project_name="p",
        budget=Decimal(1),
        funding_source="",
        buyer=org,
        agency=None,
        lots=(),
    )
    early = Change(0, START, ChangeKind.DOCUMENT, {"name": "草稿文件", "sha256": "0" * 64})
    assert list(releases(facts, [early])) == []
