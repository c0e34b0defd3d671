"""From a tender's public history to OCDS 1.1.5 releases. Pure: values in, JSON-ready dicts out.

One release per public change of a contracting process (a tender: ocid ``<prefix>-<tender code>``). The
changes come in ledger order (see ``exchange.sources``), each as a :class:`Change` of one :class:`ChangeKind`;
the release for a change is the state of the process *after* it, so that releases read alone are complete and
the compiled release of a record is the latest state. Nothing before the tender's publication is public, so
changes before ``PUBLISHED`` make no release.

Identifiers:

* ocid: ``<prefix>-<tender code>`` (the 20-character 招标项目编号 of the national data spec);
* release id: ``<tender code>-<ledger leaf index>``: the leaf that recorded the change is numbered once and
  forever (the log is append-only), so the id is stable across exports and unique per change;
* parties: ``CN-SAIC-<USCC>`` with ``identifier {"scheme": "CN-SAIC", "id": USCC}``; an entity without a
  USCC (a natural person) gets ``TH-ENTITY-<n>`` and no identifier, so no identity number is ever published.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
SCHEME = "CN-SAIC"

# 交易方式 → the closed OCDS method codelist. Open tendering is `open`; invited tendering is `limited` (the
# tenderee chooses whom to invite); the procurement methods with a public call for suppliers are `selective`;
# single source is `direct`. The Chinese name goes to procurementMethodDetails.
METHOD: Mapping[str, str] = {
    "works_open": "open",
    "works_open_prequalified": "open",
    "procurement_open": "open",
    "works_invited": "limited",
    "works_invited_prequalified": "limited",
    "competitive_negotiation": "selective",
    "competitive_consultation": "selective",
    "request_for_quotation": "selective",
    "single_source": "direct",
}
METHODS = frozenset({"open", "selective", "limited", "direct"})

# Platform tender status → OCDS tender status (closed codelist); the Chinese label goes in statusDetails.
TENDER_STATUS: Mapping[str, str] = {
    "published": "active",
    "bidding": "active",
    "bidding_closed": "active",
    "opening": "active",
    "evaluation": "active",
    "publicity": "active",
    "suspended": "active",
    "awarded": "complete",
    "contracted": "complete",
    "closed": "complete",
    "cancelled": "cancelled",
    "failed": "unsuccessful",
}
STATUS_LABEL: Mapping[str, str] = {
    "published": "已发布",
    "bidding": "投标中",
    "bidding_closed": "投标截止",
    "opening": "开标中",
    "evaluation": "评标中",
    "publicity": "公示中",
    "suspended": "暂停",
    "awarded": "已定标",
    "contracted": "已签合同",
    "closed": "已结束",
    "cancelled": "已终止",
    "failed": "流标",
}
# Workflow actions (ledger ``procedures:tender:<action>``) → the status they lead to (resume: see the fold).
ACTION_STATUS: Mapping[str, str] = {
    "documents_opened": "bidding",
    "bidding_closed": "bidding_closed",
    "opening_started": "opening",
    "failed": "failed",
    "evaluation_started": "evaluation",
    "candidates_published": "publicity",
    "awarded": "awarded",
    "contract_signed": "contracted",
    "closed": "closed",
    "suspended": "suspended",
    "cancelled": "cancelled",
}
NOTICE_DOCUMENT_TYPE: Mapping[str, str] = {
    "tender": "tenderNotice",
    "prequalification": "tenderNotice",
    "amendment": "clarifications",
    "candidates": "evaluationReports",
    "result": "awardNotice",
    "termination": "cancellationDetails",
    "opening_record": "bidders",
    "failed": "tenderNotice",
}
# The tag of the release a published notice makes, by notice kind.
NOTICE_TAG: Mapping[str, str] = {
    "tender": "tenderUpdate",
    "prequalification": "tenderUpdate",
    "amendment": "tenderUpdate",  # the amendment itself comes with its clarification (tenderAmendment)
    "candidates": "awardUpdate",
    "result": "awardUpdate",
    "termination": "tenderCancellation",
    "opening_record": "tenderUpdate",
    "failed": "tenderUpdate",
}
# An opened bid's outcome (opening app) → bid status (bids extension codelist).
BID_STATUS: Mapping[str, str] = {
    "opened": "valid",
    "revoked": "withdrawn",
    "withdrawn": "withdrawn",
    "pending": "pending",
}
# Extensions whose fields the releases use (lots, bid statistics and details); the core schema allows them.
EXTENSIONS = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
)


class ChangeKind(StrEnum):
    PUBLISHED = "published"  # the tender was published: its committed record
    DOCUMENT = "document"  # a tender document was added or replaced after publication
    NOTICE = "notice"  # a notice was published
    CLARIFICATION = "clarification"  # a clarification or amendment (澄清/修改), maybe moving the deadline
    STATUS = "status"  # a workflow step
    OPENING = "opening"  # the opening record (开标记录): the bids opened, with bidder and price
    AWARD = "award"  # an award decided (中标)
    CONTRACT = "contract"  # a contract signed


@dataclass(frozen=True)
class Org:
    """A party: its name, its USCC (empty when it has none that may be published) and a local number."""

    name: str
    uscc: str
    number: int

    @property
    def party_id(self) -> str:
        return f"{SCHEME}-{self.uscc}" if self.uscc else f"TH-ENTITY-{self.number}"

    def reference(self) -> dict[str, str]:
        return {"id": self.party_id, "name": self.name}


@dataclass(frozen=True)
class LotFacts:
    code: str
    name: str
    estimate: Decimal
    duration_days: int | None


@dataclass(frozen=True)
class TenderFacts:
    """What does not change over a tender's life, as the exporter publishes it."""

    ocid: str
    code: str
    title: str
    description: str
    procedure_type: str
    method_details: str
    works: bool
    project_code: str
    project_name: str
    budget: Decimal
    funding_source: str
    buyer: Org
    agency: Org | None
    lots: tuple[LotFacts, ...]


@dataclass(frozen=True)
class Change:
    """One public change: the ledger leaf that recorded it (index, time) and what it says."""

    index: int
    at: datetime
    kind: ChangeKind
    details: Mapping[str, Any] = field(default_factory=dict)


def release_id(tender_code: str, index: int) -> str:
    return f"{tender_code}-{index}"


def ocid_for(prefix: str, tender_code: str) -> str:
    return f"{prefix}-{tender_code}"


def timestamp(moment: datetime | str) -> str:
    """RFC 3339 with the Beijing offset, to the second: ``2026-03-02T09:30:00+08:00``."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        msg = f"a naive datetime cannot be published: {value!r}"
        raise ValueError(msg)
    return value.astimezone(LOCAL).isoformat(timespec="seconds")


def amount(value: Decimal | str) -> dict[str, Any]:
    number = Decimal(value)
    return {
        "amount": int(number) if number == number.to_integral_value() else float(number),
        "currency": CURRENCY,
    }


def _party(org: Org, roles: Iterable[str]) -> dict[str, Any]:
    party: dict[str, Any] = {"id": org.party_id, "name": org.name, "roles": sorted(set(roles))}
    if org.uscc:
        party["identifier"] = {"scheme": SCHEME, "id": org.uscc, "legalName": org.name}
    return party


def _add_party(state: dict[str, Any], org: Org, role: str) -> None:
    for party in state["parties"]:
        if party["id"] == org.party_id:
            party["roles"] = sorted({*party["roles"], role})
            return
    state["parties"].append(_party(org, [role]))


def _initial(facts: TenderFacts, change: Change) -> dict[str, Any]:
    record = change.details
    timeline = record.get("timeline", {})
    procuring = facts.agency or facts.buyer
    state: dict[str, Any] = {"parties": []}
    _add_party(state, facts.buyer, "buyer")
    _add_party(state, procuring, "procuringEntity")
    state["buyer"] = facts.buyer.reference()
    state["planning"] = {
        "budget": {
            "id": facts.project_code,
            "description": facts.funding_source or facts.project_name,
            "amount": amount(facts.budget),
            "project": facts.project_name,
            "projectID": facts.project_code,
        }
    }
    estimates = {lot["code"]: lot["estimate"] for lot in record.get("lots", ())}
    lots = [
        {
            "id": lot.code,
            "title": lot.name,
            "status": "active",
            "value": amount(estimates.get(lot.code, lot.estimate)),
            **({"contractPeriod": {"durationInDays": lot.duration_days}} if lot.duration_days else {}),
        }
        for lot in facts.lots
    ]
    tender: dict[str, Any] = {
        "id": facts.code,
        "title": facts.title,
        "status": TENDER_STATUS["published"],
        "statusDetails": STATUS_LABEL["published"],
        "procurementMethod": METHOD.get(facts.procedure_type, "open"),
        "procurementMethodDetails": facts.method_details,
        "procuringEntity": procuring.reference(),
        "value": amount(sum((Decimal(v) for v in estimates.values()), Decimal(0)) or facts.budget),
        "lots": lots,
        "documents": [
            _document(
                f"document-{d['sha256'][:16]}", "biddingDocuments", d["name"], change.at, sha256=d["sha256"]
            )
            for d in record.get("documents", ())
        ],
    }
    if facts.description:
        tender["description"] = facts.description
    if facts.works:
        tender["mainProcurementCategory"] = "works"
    period: dict[str, str] = {}
    if timeline.get("documents_from"):
        period["startDate"] = timestamp(timeline["documents_from"])
    if timeline.get("bid_deadline"):
        period["endDate"] = timestamp(timeline["bid_deadline"])
    if period:
        tender["tenderPeriod"] = period
    state["tender"] = tender
    return state


def _document(
    ident: str, kind: str, title: str, at: datetime, *, sha256: str = "", url: str = ""
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": ident,
        "documentType": kind,
        "title": title,
        "datePublished": timestamp(at),
        "language": "zh",
    }
    if sha256:
        document["description"] = f"SHA-256 {sha256}"
    if url:
        document["url"] = url
    return document


def _set_status(state: dict[str, Any], status: str) -> None:
    state["tender"]["status"] = TENDER_STATUS[status]
    state["tender"]["statusDetails"] = STATUS_LABEL[status]
    lot_status = {"cancelled": "cancelled", "failed": "unsuccessful", "awarded": "complete"}.get(status)
    if status in ("contracted", "closed"):
        lot_status = "complete"
    for lot in state["tender"]["lots"] if lot_status else ():
        if lot["status"] == "active":  # a lot that failed on its own stays so
            lot["status"] = lot_status


def _status(state: dict[str, Any], change: Change, memory: dict[str, str]) -> list[str]:
    action = change.details["action"]
    if action == "resumed":
        status = memory.get("before_suspension", "bidding")
    else:
        status = change.details.get("to") or ACTION_STATUS[action]
    if status == "suspended":
        memory["before_suspension"] = memory.get("status", "bidding")
    memory["status"] = status
    _set_status(state, status)
    if action == "bidding_closed":
        _bid_statistics(state, change)
    if status == "cancelled":
        return ["tenderCancellation"]
    return ["tenderUpdate"]


def _bid_statistics(state: dict[str, Any], change: Change) -> None:
    """Counts per lot, known only once bidding closed (the change says so); nothing before."""
    counts: Mapping[str, int] = change.details.get("bid_counts") or {}
    if not counts:
        return
    statistics = [
        {
            "id": f"bids-{code}",
            "measure": "bids",
            "value": counts[code],
            "relatedLot": code,
            "date": timestamp(change.at),
        }
        for code in sorted(counts)
    ]
    statistics.append(
        {"id": "bids-total", "measure": "bids", "value": sum(counts.values()), "date": timestamp(change.at)}
    )
    state.setdefault("bids", {})["statistics"] = statistics


def _notice(state: dict[str, Any], change: Change, notice_url: str) -> list[str]:
    d = change.details
    documents = state["tender"]["documents"]
    url = notice_url.format(id=d["id"]) if notice_url else ""
    documents.append(
        _document(
            f"notice-{d['id']}",
            NOTICE_DOCUMENT_TYPE.get(d["kind"], "tenderNotice"),
            d["title"],
            change.at,
            url=url,
        )
    )
    if d.get("opened_bids") is not None:
        _opening(state, Change(change.index, change.at, ChangeKind.OPENING, {"bids": d["opened_bids"]}))
    for lot in state["tender"]["lots"]:
        if lot["id"] in (d.get("failed_lots") or ()):
            lot["status"] = "unsuccessful"  # too few bids of its own at the opening (流标)
    awarded = [
        _award(state, Change(change.index, award.get("date") or change.at, ChangeKind.AWARD, award))
        for award in d.get("awards") or ()
    ]
    if d["kind"] == "termination" and d.get("reason"):
        state["tender"]["statusDetails"] = f"{STATUS_LABEL['cancelled']}：{d['reason']}"
    if d["kind"] == "amendment" and d.get("corrects") is not None and not d.get("clarification"):
        state["tender"].setdefault("amendments", []).append(
            {
                "id": f"notice-{d['id']}",
                "date": timestamp(change.at),
                "rationale": "公告更正",
                "description": d.get("text") or d["title"],
            }
        )
        return ["tenderAmendment"]
    if awarded:
        return sorted({tag for tags in awarded for tag in tags})
    if d["kind"] in ("candidates", "result") and not state.get("awards"):
        return ["tenderUpdate"]
    return [NOTICE_TAG.get(d["kind"], "tenderUpdate")]


def _clarification(state: dict[str, Any], change: Change) -> list[str]:
    d = change.details
    amendment: dict[str, Any] = {
        "id": f"clarification-{d['id']}",
        "date": timestamp(change.at),
        "rationale": "澄清与修改（影响投标文件编制）" if d.get("affects_bids") else "澄清与修改",
        "description": d.get("text", ""),
    }
    state["tender"].setdefault("amendments", []).append(amendment)
    if d.get("deadline_after") and d.get("deadline_after") != d.get("deadline_before"):
        state["tender"].setdefault("tenderPeriod", {})["endDate"] = timestamp(d["deadline_after"])
    return ["tenderAmendment"]


def _document_change(state: dict[str, Any], change: Change) -> list[str]:
    d = change.details
    state["tender"]["documents"].append(
        _document(
            f"document-{d['sha256'][:16]}", "biddingDocuments", d["name"], change.at, sha256=d["sha256"]
        )
    )
    return ["tenderUpdate"]


def _opening(state: dict[str, Any], change: Change) -> list[str]:
    """The opening record: each opened bid with its bidder, lot, price and outcome (bids extension)."""
    details = []
    tenderers: dict[str, dict[str, str]] = {}
    for bid in change.details["bids"]:
        bidder: Org = bid["bidder"]
        _add_party(state, bidder, "tenderer")
        tenderers[bidder.party_id] = bidder.reference()
        entry: dict[str, Any] = {
            "id": bid["id"],
            "date": timestamp(change.at),
            "status": BID_STATUS.get(bid.get("outcome", ""), "pending"),
            "tenderers": [bidder.reference()],
            "relatedLots": [bid["lot"]],
        }
        if bid.get("price") is not None:
            entry["value"] = amount(bid["price"])
        details.append(entry)
    state.setdefault("bids", {})["details"] = details
    state["tender"]["tenderers"] = [tenderers[key] for key in sorted(tenderers)]
    state["tender"]["numberOfTenderers"] = len(tenderers)
    return ["tenderUpdate"]


def _award(state: dict[str, Any], change: Change) -> list[str]:
    d = change.details
    supplier: Org = d["supplier"]
    _add_party(state, supplier, "supplier")
    awards = state.setdefault("awards", [])
    award: dict[str, Any] = {
        "id": d["id"],
        "status": d.get("status", "active"),
        "date": timestamp(change.at),
        "suppliers": [supplier.reference()],
        "relatedLots": [d["lot"]],
    }
    if d.get("title"):
        award["title"] = d["title"]
    if d.get("value") is not None:
        award["value"] = amount(d["value"])
    if d.get("duration_days"):
        award["contractPeriod"] = {"durationInDays": d["duration_days"]}
    existing = [i for i, a in enumerate(awards) if a["id"] == award["id"]]
    if existing:
        awards[existing[0]] = award
        return ["awardUpdate"]
    awards.append(award)
    return ["award"]


def _contract(state: dict[str, Any], change: Change) -> list[str]:
    d = change.details
    contract: dict[str, Any] = {
        "id": d["id"],
        "awardID": d["award_id"],
        "status": d.get("status", "active"),
        "dateSigned": timestamp(d.get("signed_at") or change.at),
    }
    if d.get("title"):
        contract["title"] = d["title"]
    if d.get("value") is not None:
        contract["value"] = amount(d["value"])
    if d.get("duration_days"):
        contract["period"] = {"durationInDays": d["duration_days"]}
    contracts = state.setdefault("contracts", [])
    existing = [i for i, c in enumerate(contracts) if c["id"] == contract["id"]]
    if existing:
        contracts[existing[0]] = contract
        return ["contractUpdate"]
    contracts.append(contract)
    return ["contract"]


def releases(
    facts: TenderFacts, changes: Sequence[Change], *, notice_url: str = ""
) -> Iterator[dict[str, Any]]:
    """One release per change from the publication on, in ledger order. ``notice_url`` is a format string
    with ``{id}`` for the public page of a notice (empty: no links)."""
    state: dict[str, Any] | None = None
    memory: dict[str, str] = {}
    for change in sorted(changes, key=lambda c: c.index):
        if change.kind == ChangeKind.PUBLISHED:
            state = _initial(facts, change)
            memory["status"] = "published"
            tags = ["planning", "tender"]
        elif state is None:
            continue  # before publication nothing is public
        elif change.kind == ChangeKind.STATUS:
            tags = _status(state, change, memory)
        elif change.kind == ChangeKind.NOTICE:
            tags = _notice(state, change, notice_url)
        elif change.kind == ChangeKind.CLARIFICATION:
            tags = _clarification(state, change)
        elif change.kind == ChangeKind.DOCUMENT:
            tags = _document_change(state, change)
        elif change.kind == ChangeKind.OPENING:
            tags = _opening(state, change)
        elif change.kind == ChangeKind.AWARD:
            tags = _award(state, change)
        else:
            tags = _contract(state, change)
        yield {
            "ocid": facts.ocid,
            "id": release_id(facts.code, change.index),
            "date": timestamp(change.at),
            "tag": tags,
            "initiationType": "tender",
            "language": "zh",
            **copy.deepcopy(state),
        }
