"""Rows of the national data spec's datasets from the platform's public records: published tenders and
notices, published opening records (opening app), and contracts of awarded tenders (evaluation app, through
:data:`CONTRACT_SOURCES`). Where no record exists, no row is made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.apps import apps

from tenderhall.exchange import conf
from tenderhall.exchange.national import code, spec_amount, spec_datetime
from tenderhall.exchange.ocds_mapping import STATUS_LABEL
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
        for lot in tender.lots.order_by("code"):
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


def _notices(kinds: tuple[str, ...]) -> Iterator[tuple[Notice, str]]:
    """Published notices of public tenders, tender by tender, with the tender's lot codes."""
    for tender in _one_by_one():
        sections = ",".join(tender.lots.order_by("code").values_list("code", flat=True))
        notices = Notice.objects.filter(tender=tender, kind__in=kinds, published_at__isnull=False)
        for notice in notices.select_related("tender").order_by("published_at", "pk"):
            yield notice, sections


def tender_notice_rows() -> Iterator[Row]:
    """招标公告 and 资格预审公告, their corrections (更正) and clarifications (澄清)."""
    clarification_model = apps.get_model("procedures", "Clarification")
    clarified = set(clarification_model.objects.exclude(notice=None).values_list("notice_id", flat=True))
    for notice, sections in _notices(("tender", "prequalification", "amendment")):
        first = notice.kind != "amendment"
        original = notice if first else (notice.corrects or _first_notice(notice.tender))
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


def _first_notice(tender: Tender) -> Notice | None:
    return (
        Notice.objects.filter(
            tender=tender, kind__in=("tender", "prequalification"), published_at__isnull=False
        )
        .order_by("published_at", "pk")
        .first()
    )


def _spec_iso(value: object) -> str:
    return spec_datetime(datetime.fromisoformat(value)) if isinstance(value, str) and value else ""


def opening_record_rows() -> Iterator[Row]:
    """开标记录: each bid of each published opening record (opening app), with its outcome."""
    try:
        session_model = apps.get_model("opening", "OpeningSession")
        opened_model = apps.get_model("opening", "OpenedBid")
    except LookupError:
        return
    for tender in _one_by_one():
        session = session_model.objects.filter(
            tender=tender, record_notice__published_at__isnull=False
        ).first()
        if session is None:
            continue
        published_at = session.record_notice.published_at if session.record_notice else None
        rows = opened_model.objects.filter(session=session).select_related("bid__lot", "bid__entity")
        for row in rows.order_by("bid__lot__code", "bid__submitted_at", "pk"):
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
                "BID_OPEN_TIME": spec_datetime(session.started_at),
                "RECORD_PUBLISH_TIME": spec_datetime(published_at),
            }


def published_org_code(name: str, identifier: object) -> str:
    """The code of an entity named in a notice's data: its USCC if it is a registered organisation, never
    a natural person's identity number (the notice data holds whatever identifier the entity has)."""
    if not isinstance(identifier, str) or not identifier:
        return ""
    entity = MarketEntity.objects.filter(identifier=identifier, name=name).first()
    return org_code(entity)


def candidates_notice_rows() -> Iterator[Row]:
    """One row per candidate of each lot as the publicity notice published them (its data); a notice
    without candidate data gives one notice-level row."""
    for notice, sections in _notices(("candidates",)):
        base = _notice_base(notice, sections)
        publicity = notice.data.get("publicity") or {}
        base["PUBLICITY_START_TIME"] = _spec_iso(publicity.get("starts_at"))
        base["PUBLICITY_END_TIME"] = _spec_iso(publicity.get("ends_at"))
        rows = [
            {
                **base,
                "BID_SECTION_CODE": str(lot.get("lot", "")),
                "WIN_CANDIDATE_ORDER": str(candidate.get("rank", "")),
                "WIN_CANDIDATE_NAME": str(candidate.get("bidder", "")),
                "WIN_CANDIDATE_CODE": published_org_code(
                    str(candidate.get("bidder", "")), candidate.get("identifier")
                ),
                "BID_PRICE": spec_amount(candidate.get("price")),
            }
            for lot in notice.data.get("candidates") or ()
            for candidate in lot.get("candidates") or ()
        ]
        yield from rows or [base]


def result_notice_rows() -> Iterator[Row]:
    """One row per awarded lot as the result notice published it (its data); else one notice-level row."""
    for notice, sections in _notices(("result",)):
        base = _notice_base(notice, sections)
        rows = [
            {
                **base,
                "BID_SECTION_CODE": str(award.get("lot", "")),
                "WIN_BIDDER_NAME": str(award.get("winner", "")),
                "WIN_BIDDER_CODE": published_org_code(str(award.get("winner", "")), award.get("identifier")),
                "WIN_BID_PRICE": spec_amount(award.get("price")),
            }
            for award in notice.data.get("awards") or ()
        ]
        yield from rows or [base]


def evaluation_contract_rows(tender: Tender) -> Iterator[Row]:
    """合同 from the evaluation app's contracts, once the tender's result notice is published."""
    try:
        contract_model = apps.get_model("evaluation", "Contract")
    except LookupError:
        return
    if not Notice.objects.filter(tender=tender, kind="result", published_at__isnull=False).exists():
        return
    contracts = contract_model.objects.filter(award__evaluation__lot__tender=tender).select_related(
        "award__evaluation__lot", "award__winner__entity"
    )
    tenderee = tender.project.tenderee
    for contract in contracts.order_by("award__evaluation__lot__code"):
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


# Where 合同 rows come from: the evaluation app's contracts; another source may be added (or replace it).
CONTRACT_SOURCES: list[Callable[[Tender], Iterator[Row]]] = [evaluation_contract_rows]


# Chinese whatever the language of the command: the data spec is written in Chinese.
def contract_rows() -> Iterator[Row]:
    for source in CONTRACT_SOURCES:
        for tender in _one_by_one():
            yield from source(tender)


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
