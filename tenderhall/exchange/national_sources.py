"""Rows of the national data spec's datasets from the platform's public records: published tenders and
notices, published opening records (opening app), and contracts of awarded tenders (evaluation app, through
:data:`CONTRACT_SOURCES`). Where no record exists, no row is made.

Tenders come in batches (:func:`~tenderhall.exchange.selectors.published_tender_batches`) and what each
dataset reads besides is read for the whole batch at once: a dataset costs a fixed number of queries per
batch, however many tenders, notices, bids or candidates the batch holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.apps import apps

from tenderhall.exchange import conf
from tenderhall.exchange.national import code, spec_amount, spec_datetime
from tenderhall.exchange.ocds_mapping import STATUS_LABEL
from tenderhall.exchange.selectors import published_tender_batches
from tenderhall.exchange.selectors import published_tenders_one_by_one as _one_by_one
from tenderhall.procedures.choices import Sector
from tenderhall.procedures.models import Notice, Tender
from tenderhall.procedures.rules import PROCEDURE_TYPES
from tenderhall.registry.choices import EntityKind
from tenderhall.registry.models import MarketEntity

Row = dict[str, str]
SECTOR_ZH: dict[str, str] = {
    Sector.WORKS: "工程建设",
    Sector.PROCUREMENT: "政府采购",
    Sector.OTHER: "其他交易",
}
MONEY = {"CURRENCY_CODE": code("CURRENCY_CODE", "CNY"), "PRICE_UNIT": code("PRICE_UNIT", "yuan")}


def org_code(entity: MarketEntity | None) -> str:
    """A USCC, never a natural person's identity number."""
    if entity is None or entity.kind == EntityKind.NATURAL_PERSON:
        return ""
    return entity.identifier


def project_rows() -> Iterator[Row]:
    seen: set[int] = set()
    for tender in _one_by_one():
        project = tender.project
        if project.pk in seen:
            continue
        seen.add(project.pk)
        yield {
            "PROJECT_CODE": project.code,
            "PROJECT_NAME": project.name,
            "REGION_CODE": project.region_code,
            "INDUSTRY": SECTOR_ZH.get(project.sector, ""),
            "LEGAL_PERSON": project.tenderee.name,
            "LEGAL_PERSON_CODE": org_code(project.tenderee),
            "FUND_SOURCE": project.funding_source,
            "TOTAL_INVESTMENT": spec_amount(project.budget),
            **MONEY,
            "CREATE_TIME": spec_datetime(project.registered_at),
        }


def tender_project_rows() -> Iterator[Row]:
    for tender in _one_by_one():
        project = tender.project
        rules = PROCEDURE_TYPES.get(tender.procedure_type)
        yield {
            "TENDER_PROJECT_CODE": tender.code,
            "PROJECT_CODE": project.code,
            "TENDER_PROJECT_NAME": tender.name,
            "TENDER_CONTENT": tender.description,
            "TENDER_MODE": code("TENDER_MODE", tender.procedure_type),
            "TENDER_MODE_NAME": rules.name_zh if rules else tender.procedure_type,
            "TENDER_ORGANIZE_FORM": code("TENDER_ORGANIZE_FORM", "agency" if project.agency_id else "self"),
            "TENDERER_NAME": project.tenderee.name,
            "TENDERER_CODE": org_code(project.tenderee),
            "TENDER_AGENCY_NAME": project.agency.name if project.agency else "",
            "TENDER_AGENCY_CODE": org_code(project.agency),
            "CONTROL_PRICE": spec_amount(tender.control_price),
            **MONEY,
            "REGION_CODE": project.region_code,
            "PUBLISH_TIME": spec_datetime(tender.published_at),
            "STATUS": STATUS_LABEL.get(tender.status, "草稿"),
        }


def section_rows() -> Iterator[Row]:
    for tender in _one_by_one():
        for lot in tender.lots.all():  # prefetched, by code
            yield {
                "BID_SECTION_CODE": lot.code,
                "TENDER_PROJECT_CODE": tender.code,
                "BID_SECTION_NAME": lot.name,
                "CONTRACT_RECKON_PRICE": spec_amount(lot.estimate),
                "LIMIT_PRICE": spec_amount(lot.control_price),
                "MARGIN_AMOUNT": spec_amount(lot.bid_bond),
                "TIME_LIMIT": str(lot.duration_days) if lot.duration_days else "",
                **MONEY,
            }


def _notice_base(notice: Notice, section_codes: str) -> Row:
    return {
        "NOTICE_ID": str(notice.pk),
        "TENDER_PROJECT_CODE": notice.tender.code,
        "BID_SECTION_CODES": section_codes,
        "NOTICE_NAME": notice.title,
        "NOTICE_CONTENT": notice.body,
        "NOTICE_SEND_TIME": spec_datetime(notice.published_at),
        "URL": f"{conf.public_url()}/notices/{notice.pk}/",
    }


def _notices(kinds: tuple[str, ...]) -> Iterator[list[tuple[Tender, str, list[Notice]]]]:
    """Batches of public tenders, each tender with its lot codes and its published notices of ``kinds`` in
    publication order (one query per batch)."""
    for tenders in published_tender_batches():
        found = Notice.objects.filter(tender__in=tenders, kind__in=kinds, published_at__isnull=False)
        of_tender: dict[int, list[Notice]] = defaultdict(list)
        for notice in found.select_related("corrects").order_by("published_at", "pk"):
            of_tender[notice.tender_id].append(notice)
        batch = []
        for tender in tenders:
            for notice in of_tender[tender.pk]:
                notice.tender = tender  # the batch's row: no query per notice
            batch.append((tender, ",".join(lot.code for lot in tender.lots.all()), of_tender[tender.pk]))
        yield batch


def tender_notice_rows() -> Iterator[Row]:
    """招标公告 and 资格预审公告, their corrections (更正) and clarifications (澄清)."""
    clarification_model = apps.get_model("procedures", "Clarification")
    clarified = set(clarification_model.objects.exclude(notice=None).values_list("notice_id", flat=True))
    batches = _notices(("tender", "prequalification", "amendment"))
    for _tender, sections, notices in (each for batch in batches for each in batch):
        first_notice = next((n for n in notices if n.kind in ("tender", "prequalification")), None)
        for notice in notices:
            first = notice.kind != "amendment"
            original = notice if first else (notice.corrects or first_notice)
            nature = "first" if first else ("clarification" if notice.pk in clarified else "correction")
            data: dict[str, Any] = notice.data.get("timeline") or {}
            yield {
                **_notice_base(notice, sections),
                "BULLETIN_TYPE": code("BULLETIN_TYPE", original.kind if original else "tender") or "1",
                "NOTICE_NATURE": code("NOTICE_NATURE", nature),
                "CORRECTED_NOTICE_ID": "" if first or original is None else str(original.pk),
                "DOC_GET_START_TIME": _spec_iso(data.get("documents_from")),
                "DOC_GET_END_TIME": _spec_iso(data.get("documents_until")),
                "BID_DOC_REFER_END_TIME": _spec_iso(
                    notice.data.get("deadline_after") or data.get("bid_deadline")
                ),
                "BID_OPEN_TIME": _spec_iso(notice.data.get("deadline_after") or data.get("bid_deadline")),
            }


def _spec_iso(value: object) -> str:
    return spec_datetime(datetime.fromisoformat(value)) if isinstance(value, str) and value else ""


def opening_record_rows() -> Iterator[Row]:
    """开标记录: each bid of each published opening record (opening app), with its outcome."""
    try:
        session_model = apps.get_model("opening", "OpeningSession")
        opened_model = apps.get_model("opening", "OpenedBid")
    except LookupError:
        return
    for tenders in published_tender_batches():
        sessions: dict[int, Any] = {}  # each tender's first session with a published record
        found = session_model.objects.filter(tender__in=tenders, record_notice__published_at__isnull=False)
        for session in found.select_related("record_notice").order_by("pk"):
            sessions.setdefault(session.tender_id, session)
        opened: dict[int, list[Any]] = defaultdict(list)
        rows = opened_model.objects.filter(session__in=list(sessions.values()))
        for row in rows.select_related("bid__lot", "bid__entity").order_by(
            "bid__lot__code", "bid__submitted_at", "pk"
        ):
            opened[row.session_id].append(row)
        for tender in tenders:
            recorded = sessions.get(tender.pk)
            if recorded is None:
                continue
            published_at = recorded.record_notice.published_at if recorded.record_notice else None
            for row in opened[recorded.pk]:
                yield {
                    "BID_SECTION_CODE": row.bid.lot.code,
                    "TENDER_PROJECT_CODE": tender.code,
                    "BIDDER_NAME": row.bid.entity.name,
                    "BIDDER_CODE": org_code(row.bid.entity),
                    "BID_PRICE": spec_amount(row.price),
                    "PRICE_FORM_CODE": code("PRICE_FORM_CODE", "amount"),
                    **MONEY,
                    "TIME_LIMIT": str(row.duration_days) if row.duration_days else "",
                    "DECRYPT_RESULT": code("OPENING_OUTCOME", row.outcome),
                    "BID_OPEN_TIME": spec_datetime(recorded.started_at),
                    "RECORD_PUBLISH_TIME": spec_datetime(published_at),
                }


def published_org_code(name: str, identifier: object) -> str:
    """The code of an entity named in a notice's data: its USCC if it is a registered organisation, never
    a natural person's identity number (the notice data holds whatever identifier the entity has)."""
    return _PublishedCodes([(name, identifier)]).code(name, identifier)


class _PublishedCodes:
    """:func:`published_org_code` for every (name, identifier) of a batch, with one query."""

    def __init__(self, named: Sequence[tuple[str, object]]) -> None:
        identifiers = {i for _name, i in named if isinstance(i, str) and i}
        self.entities = {e.identifier: e for e in MarketEntity.objects.filter(identifier__in=identifiers)}

    def code(self, name: str, identifier: object) -> str:
        entity = self.entities.get(identifier) if isinstance(identifier, str) else None
        return org_code(entity) if entity is not None and entity.name == name else ""


def _candidates(notice: Notice) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(lot.get("lot", "")), candidate)
        for lot in notice.data.get("candidates") or ()
        for candidate in lot.get("candidates") or ()
    ]


def candidates_notice_rows() -> Iterator[Row]:
    """One row per candidate of each lot as the publicity notice published them (its data); a notice
    without candidate data gives one notice-level row."""
    for batch in _notices(("candidates",)):
        codes = _PublishedCodes(
            [
                (str(candidate.get("bidder", "")), candidate.get("identifier"))
                for _tender, _sections, notices in batch
                for notice in notices
                for _lot, candidate in _candidates(notice)
            ]
        )
        for _tender, sections, notices in batch:
            for notice in notices:
                base = _notice_base(notice, sections)
                publicity = notice.data.get("publicity") or {}
                base["PUBLICITY_START_TIME"] = _spec_iso(publicity.get("starts_at"))
                base["PUBLICITY_END_TIME"] = _spec_iso(publicity.get("ends_at"))
                rows = [
                    {
                        **base,
                        "BID_SECTION_CODE": lot,
                        "WIN_CANDIDATE_ORDER": str(candidate.get("rank", "")),
                        "WIN_CANDIDATE_NAME": str(candidate.get("bidder", "")),
                        "WIN_CANDIDATE_CODE": codes.code(
                            str(candidate.get("bidder", "")), candidate.get("identifier")
                        ),
                        "BID_PRICE": spec_amount(candidate.get("price")),
                    }
                    for lot, candidate in _candidates(notice)
                ]
                yield from rows or [base]


def result_notice_rows() -> Iterator[Row]:
    """One row per awarded lot as the result notice published it (its data); else one notice-level row."""
    for batch in _notices(("result",)):
        codes = _PublishedCodes(
            [
                (str(award.get("winner", "")), award.get("identifier"))
                for _tender, _sections, notices in batch
                for notice in notices
                for award in notice.data.get("awards") or ()
            ]
        )
        for _tender, sections, notices in batch:
            for notice in notices:
                base = _notice_base(notice, sections)
                rows = [
                    {
                        **base,
                        "BID_SECTION_CODE": str(award.get("lot", "")),
                        "WIN_BIDDER_NAME": str(award.get("winner", "")),
                        "WIN_BIDDER_CODE": codes.code(str(award.get("winner", "")), award.get("identifier")),
                        "WIN_BID_PRICE": spec_amount(award.get("price")),
                    }
                    for award in notice.data.get("awards") or ()
                ]
                yield from rows or [base]


def evaluation_contract_rows(tenders: Sequence[Tender]) -> Iterator[Row]:
    """合同 from the evaluation app's contracts of a batch of tenders, of each tender once its result notice
    is published; tender by tender, lot by lot (two queries a batch)."""
    try:
        contract_model = apps.get_model("evaluation", "Contract")
    except LookupError:
        return
    resulted = set(
        Notice.objects.filter(tender__in=tenders, kind="result", published_at__isnull=False).values_list(
            "tender_id", flat=True
        )
    )
    contracts = contract_model.objects.filter(award__evaluation__lot__tender__in=resulted).select_related(
        "award__evaluation__lot", "award__winner__entity"
    )
    of_tender: dict[int, list[Any]] = defaultdict(list)
    for contract in contracts.order_by("award__evaluation__lot__code"):
        of_tender[contract.award.evaluation.lot.tender_id].append(contract)
    for tender in tenders:
        tenderee = tender.project.tenderee
        for contract in of_tender[tender.pk]:
            lot, winner = contract.award.evaluation.lot, contract.award.winner.entity
            yield {
                "CONTRACT_CODE": f"{lot.code}-{contract.pk}",
                "BID_SECTION_CODE": lot.code,
                "TENDER_PROJECT_CODE": tender.code,
                "CONTRACT_NAME": f"{lot.name}合同",
                "TENDERER_NAME": tenderee.name,
                "TENDERER_CODE": org_code(tenderee),
                "WIN_BIDDER_NAME": winner.name,
                "WIN_BIDDER_CODE": org_code(winner),
                "CONTRACT_AMOUNT": spec_amount(contract.amount),
                **MONEY,
                "TIME_LIMIT": str(contract.duration_days) if contract.duration_days else "",
                "SIGN_TIME": spec_datetime(contract.signed_on),
            }


# Where 合同 rows come from, each called with one batch of published tenders at a time: the evaluation
# app's contracts; another source may be added (or replace it).
CONTRACT_SOURCES: list[Callable[[Sequence[Tender]], Iterator[Row]]] = [evaluation_contract_rows]


# Chinese whatever the language of the command: the data spec is written in Chinese.
def contract_rows() -> Iterator[Row]:
    for source in CONTRACT_SOURCES:
        for tenders in published_tender_batches():
            yield from source(tenders)


ROWS: dict[str, Callable[[], Iterator[Row]]] = {
    "project": project_rows,
    "tender_project": tender_project_rows,
    "section": section_rows,
    "tender_notice": tender_notice_rows,
    "opening_record": opening_record_rows,
    "candidates_notice": candidates_notice_rows,
    "result_notice": result_notice_rows,
    "contract": contract_rows,
}
