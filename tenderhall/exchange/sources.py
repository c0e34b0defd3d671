"""Where the releases come from: a tender's public ledger leaves, read with the rows they name.

Only these leaves make releases (the public changes of a published tender): the tender's publication and
workflow steps (``procedures:tender:*``), published notices, clarifications and documents added after
publication. Bids never appear before the deadline: a bid's own leaves are not read at all, and the bid
counts per lot are attached to the ``bidding_closed`` step only, counted as they stood at that moment.

The opening record (opening app) joins the release of its published notice (kind ``opening_record``): the
opened bids with bidder, lot, price and outcome. Awards and contracts (evaluation app) join through
:data:`AWARD_SOURCES`, an interface the evaluation app fills in (see docs/open-data.md); until it does, the
releases carry no awards or contracts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from tenderhall.bids.models import Bid
from tenderhall.exchange import conf
from tenderhall.exchange.ocds_mapping import (
    Change,
    ChangeKind,
    LotFacts,
    Org,
    TenderFacts,
    ocid_for,
    releases,
)
from tenderhall.ledger.models import Leaf
from tenderhall.procedures.choices import Sector
from tenderhall.procedures.models import Clarification, Notice, Tender, TenderDocument
from tenderhall.procedures.rules import PROCEDURE_TYPES
from tenderhall.registry.choices import EntityKind
from tenderhall.registry.models import EntityVersion, MarketEntity

TENDER_EVENTS = frozenset(
    {
        "procedures:tender:published",
        "procedures:tender:documents_opened",
        "procedures:tender:bidding_closed",
        "procedures:tender:opening_started",
        "procedures:tender:failed",
        "procedures:tender:evaluation_started",
        "procedures:tender:candidates_published",
        "procedures:tender:awarded",
        "procedures:tender:contract_signed",
        "procedures:tender:closed",
        "procedures:tender:suspended",
        "procedures:tender:resumed",
        "procedures:tender:cancelled",
    }
)
PUBLIC_EVENTS = TENDER_EVENTS | {
    "procedures:notice:published",
    "procedures:clarification:published",
    "procedures:document:uploaded",
    "evaluation:contract:recorded",
}

# Awards and contracts: callables the evaluation app registers, each giving a tender's award or contract
# changes (ChangeKind.AWARD / CONTRACT, details as ocds_mapping._award / _contract read them).
AWARD_SOURCES: list[Callable[[Tender], list[Change]]] = []


def org_of(entity: MarketEntity, *, at: datetime | None = None) -> Org:
    """The party as the entity's register version at ``at`` read (so that a later change of name does not
    rewrite past releases); the current row without ``at`` or a version. A natural person's identifier is an
    identity number: never published."""
    return orgs_of([(entity, at)])[0]


def orgs_of(wanted: Sequence[tuple[MarketEntity, datetime | None]]) -> list[Org]:
    """:func:`org_of` of each (entity, at), in order, with one query for all of them (none without ``at``):
    a list of bids or awards costs the same however many parties it names."""
    moments = [at for _entity, at in wanted if at is not None]
    versions: dict[int, list[EntityVersion]] = defaultdict(list)
    if moments:
        entity_ids = {entity.pk for entity, at in wanted if at is not None}
        found = EntityVersion.objects.filter(entity__in=entity_ids, changed_at__lte=max(moments))
        for version in found.order_by("entity_id", "-version"):
            versions[version.entity_id].append(version)
    orgs = []
    for entity, at in wanted:
        name, kind, identifier = entity.name, entity.kind, entity.identifier
        # the latest version by then, as versions are listed newest first
        then = None if at is None else next((v for v in versions[entity.pk] if v.changed_at <= at), None)
        if then is not None:
            name = str(then.snapshot.get("name") or name)
            kind = str(then.snapshot.get("kind") or kind)
            identifier = str(then.snapshot.get("identifier") or identifier)
        uscc = "" if kind == EntityKind.NATURAL_PERSON else identifier
        orgs.append(Org(name=name, uscc=uscc, number=entity.pk))
    return orgs


def public_tenders() -> QuerySet[Tender]:
    """Tenders that were ever published (a draft, even a cancelled one, never was)."""
    return Tender.objects.filter(published_at__isnull=False).select_related(
        "project", "project__tenderee", "project__agency"
    )


def tender_facts(tender: Tender) -> TenderFacts:
    project = tender.project
    rules = PROCEDURE_TYPES.get(tender.procedure_type)
    buyer, *agency = orgs_of(
        [(project.tenderee, tender.published_at)]
        + ([(project.agency, tender.published_at)] if project.agency is not None else [])
    )
    return TenderFacts(
        ocid=ocid_for(conf.ocid_prefix(), tender.code),
        code=tender.code,
        title=tender.name,
        description=tender.description,
        procedure_type=tender.procedure_type,
        method_details=rules.name_zh if rules else tender.procedure_type,
        works=project.sector == Sector.WORKS,
        project_code=project.code,
        project_name=project.name,
        budget=project.budget,
        funding_source=project.funding_source,
        buyer=buyer,
        agency=agency[0] if agency else None,
        lots=tuple(
            LotFacts(code=lot.code, name=lot.name, estimate=lot.estimate, duration_days=lot.duration_days)
            for lot in tender.lots.all()  # by code (the lot's ordering), prefetched for a batch of tenders
        ),
    )


def _leaf_event(leaf: Leaf) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(bytes(leaf.data))
    return loaded


def bid_counts_at(tender: Tender, closed_at: datetime) -> dict[str, int]:
    """Bids in force on each lot when bidding closed: submitted by then and not ended (replaced or
    withdrawn) by then. Called only for a tender whose bidding has closed."""
    counts = dict.fromkeys(tender.lots.values_list("code", flat=True), 0)
    in_force = Bid.objects.filter(lot__tender=tender, submitted_at__lte=closed_at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=closed_at)
    )
    for code in in_force.values_list("lot__code", flat=True):
        counts[code] += 1
    return counts


def opened_bids(notice: Notice) -> list[dict[str, Any]] | None:
    """The opened bids of the opening record that ``notice`` published, or None if it published none (or
    the opening app has no such record)."""
    try:
        session_model = apps.get_model("opening", "OpeningSession")
        opened_model = apps.get_model("opening", "OpenedBid")
    except LookupError:
        return None
    session = session_model.objects.filter(record_notice=notice).first()
    if session is None:
        return None
    rows = list(opened_model.objects.filter(session=session).select_related("bid__lot", "bid__entity"))
    bidders = orgs_of([(row.bid.entity, notice.published_at) for row in rows])
    return [
        {
            "id": f"bid-{row.bid.token}",
            "lot": row.bid.lot.code,
            "bidder": bidder,
            "price": row.price,
            "duration_days": row.duration_days,
            "outcome": row.outcome,
        }
        for row, bidder in zip(rows, bidders, strict=True)
    ]


@dataclass(frozen=True)
class _Rows:
    """The rows a tender's leaves name, read once per tender."""

    tender: Tender
    notices: dict[int, Notice]
    clarifications: dict[int, Clarification]
    contracts: dict[int, Any]  # evaluation's Contract by id, with its award's lot

    @property
    def clarified_notices(self) -> set[int]:
        return {c.notice_id for c in self.clarifications.values() if c.notice_id is not None}


def _evaluation_model(name: str) -> Any:
    try:
        return apps.get_model("evaluation", name)
    except LookupError:
        return None


def awards_published(notice: Notice) -> list[dict[str, Any]]:
    """The awards a result notice (中标结果公告) made public: each lot's winner as decided by then."""
    award_model = _evaluation_model("Award")
    if award_model is None or notice.published_at is None:
        return []
    awards = award_model.objects.filter(
        evaluation__lot__tender=notice.tender_id, decided_at__lte=notice.published_at
    ).select_related("winner__entity", "evaluation__lot")
    listed = list(awards.order_by("evaluation__lot__code"))
    suppliers = orgs_of([(award.winner.entity, award.decided_at) for award in listed])
    return [
        {
            "id": f"award-{award.evaluation.lot.code}",
            "lot": award.evaluation.lot.code,
            "title": award.evaluation.lot.name,
            "supplier": supplier,
            "value": award.winner.price,
            "duration_days": award.winner.duration_days,
            "date": award.decided_at,
        }
        for award, supplier in zip(listed, suppliers, strict=True)
    ]


def _contracts(tender: Tender) -> dict[int, Any]:
    contract_model = _evaluation_model("Contract")
    if contract_model is None:
        return {}
    found = contract_model.objects.filter(award__evaluation__lot__tender=tender)
    return {contract.pk: contract for contract in found.select_related("award__evaluation__lot")}


def failed_lots(notice: Notice) -> list[str]:
    """The lots that failed at the opening of the record ``notice`` published (too few bids of their own)."""
    try:
        lot_model = apps.get_model("opening", "OpeningLot")
    except LookupError:
        return []
    failed = lot_model.objects.filter(session__record_notice=notice, failed=True)
    return sorted(failed.values_list("lot__code", flat=True))


def tender_changes(tender: Tender) -> list[Change]:
    """The tender's public changes in ledger order."""
    rows = _Rows(
        tender=tender,
        notices={n.pk: n for n in Notice.objects.filter(tender=tender, published_at__isnull=False)},
        clarifications={c.pk: c for c in Clarification.objects.filter(tender=tender)},
        contracts=_contracts(tender),
    )
    documents = TenderDocument.objects.filter(tender=tender).values_list("pk", flat=True)
    keys = [
        f"tender:{tender.pk}",
        *(f"notice:{pk}" for pk in rows.notices),
        *(f"clarification:{pk}" for pk in rows.clarifications),
        *(f"document:{pk}" for pk in documents),
        *(f"contract:{pk}" for pk in rows.contracts),
    ]
    leaves = Leaf.objects.filter(record_key__in=keys, event_type__in=PUBLIC_EVENTS).order_by("index")
    changes: list[Change] = []
    for leaf in leaves:
        event = _leaf_event(leaf)
        subjects = event.get("subjects", {})
        if subjects.get("tender", str(tender.pk)) != str(tender.pk):
            continue
        change = _change(rows, leaf, event)
        if change is not None:
            changes.append(change)
    for source in AWARD_SOURCES:
        changes.extend(source(tender))
    return sorted(changes, key=lambda c: c.index)


def _change(rows: _Rows, leaf: Leaf, event: dict[str, Any]) -> Change | None:
    kind = leaf.event_type
    if kind == "procedures:tender:published":
        return Change(leaf.index, leaf.appended_at, ChangeKind.PUBLISHED, rows.tender.published_record or {})
    if kind in TENDER_EVENTS:
        return _status_change(rows.tender, leaf, event)
    if kind == "procedures:notice:published":
        return _notice_change(rows, leaf, event)
    if kind == "procedures:clarification:published":
        return _clarification_change(rows, leaf, event)
    if kind == "evaluation:contract:recorded":
        return _contract_change(rows, leaf, event)
    # a document added after publication; those uploaded before it are in the published record
    sha256 = event.get("hashes", {}).get("sha256", "").removeprefix("sha256:")
    name = event.get("data", {}).get("name", "")
    return Change(leaf.index, leaf.appended_at, ChangeKind.DOCUMENT, {"name": name, "sha256": sha256})


def _status_change(tender: Tender, leaf: Leaf, event: dict[str, Any]) -> Change:
    action = leaf.event_type.rsplit(":", 1)[1]
    details: dict[str, Any] = {"action": action}
    if event.get("data", {}).get("to"):
        details["to"] = event["data"]["to"]
    if action == "bidding_closed":
        details["bid_counts"] = bid_counts_at(tender, leaf.appended_at)
    return Change(leaf.index, leaf.appended_at, ChangeKind.STATUS, details)


def _notice_change(rows: _Rows, leaf: Leaf, event: dict[str, Any]) -> Change | None:
    notice = rows.notices.get(int(event["subjects"]["notice"]))
    if notice is None:
        return None
    details: dict[str, Any] = {
        "id": notice.pk,
        "kind": notice.kind,
        "title": notice.title,
        "corrects": notice.corrects_id,
        "clarification": notice.pk in rows.clarified_notices,
        "text": notice.data.get("text", ""),
        "reason": notice.data.get("reason", ""),
    }
    if notice.kind == "opening_record":
        details["opened_bids"] = opened_bids(notice)
        details["failed_lots"] = failed_lots(notice)
    if notice.kind == "result":
        details["awards"] = awards_published(notice)
    return Change(leaf.index, leaf.appended_at, ChangeKind.NOTICE, details)


def _clarification_change(rows: _Rows, leaf: Leaf, event: dict[str, Any]) -> Change | None:
    clarification = rows.clarifications.get(int(event["subjects"]["clarification"]))
    if clarification is None:
        return None
    data = event.get("data", {})
    details = {
        "id": clarification.pk,
        "text": clarification.text,
        "affects_bids": clarification.affects_bids,
        "deadline_before": data.get("deadline_before"),
        "deadline_after": data.get("deadline_after"),
    }
    return Change(leaf.index, leaf.appended_at, ChangeKind.CLARIFICATION, details)


def _contract_change(rows: _Rows, leaf: Leaf, event: dict[str, Any]) -> Change | None:
    """A signed contract, public once its award is (the tender's result notice is out)."""
    contract = rows.contracts.get(int(event["subjects"]["contract"]))
    result_out = any(n.kind == "result" for n in rows.notices.values())
    if contract is None or not result_out:
        return None
    lot = contract.award.evaluation.lot
    details = {
        "id": f"contract-{lot.code}",
        "award_id": f"award-{lot.code}",
        "title": f"{lot.name}合同",
        "value": contract.amount,
        "duration_days": contract.duration_days,
        "signed_at": contract.signed_on,
    }
    return Change(leaf.index, leaf.appended_at, ChangeKind.CONTRACT, details)


def tender_of_leaf(event: dict[str, Any]) -> str | None:
    """The tender a public leaf belongs to (its ``tender`` subject, or through its contract)."""
    subjects = event.get("subjects", {})
    if "tender" in subjects:
        return str(subjects["tender"])
    contract_model = _evaluation_model("Contract")
    if "contract" in subjects and contract_model is not None:
        tender_id = (
            contract_model.objects.filter(pk=int(subjects["contract"]))
            .values_list("award__evaluation__lot__tender_id", flat=True)
            .first()
        )
        return None if tender_id is None else str(tender_id)
    return None


def notice_url() -> str:
    return conf.public_url() + "/notices/{id}/"


def tender_releases(tender: Tender) -> Iterator[dict[str, Any]]:
    return releases(tender_facts(tender), tender_changes(tender), notice_url=notice_url())
