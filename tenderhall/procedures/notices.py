"""Notices built from structured data. A notice's text is rendered from its data when it is created; once
published it never changes (a correction is a new notice that names the old one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from tenderhall.accounts.models import User
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.procedures.choices import NoticeKind
from tenderhall.procedures.models import Notice, Tender
from tenderhall.procedures.rules import procedure_rules

LEGAL_TIME_ZONE = ZoneInfo("Asia/Shanghai")


class NoticeNotPublished(Conflict):
    code = "notice_not_published"


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LEGAL_TIME_ZONE).strftime("%Y年%m月%d日 %H:%M") if moment else "—"


def notice_data(tender: Tender, kind: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The structured content of a notice: what the text says, as data (also exported as open data)."""
    project = tender.project
    return {
        "kind": kind,
        "project": {
            "code": project.code,
            "name": project.name,
            "region_code": project.region_code,
            "budget": str(project.budget),
            "funding_source": project.funding_source,
        },
        "tender": {
            "code": tender.code,
            "name": tender.name,
            "procedure_type": tender.procedure_type,
            "description": tender.description,
            "control_price": str(tender.control_price) if tender.control_price is not None else None,
        },
        "tenderee": {"name": project.tenderee.name, "identifier": project.tenderee.identifier},
        "agency": (
            {"name": project.agency.name, "identifier": project.agency.identifier}
            if project.agency is not None
            else None
        ),
        "lots": [
            {
                "code": lot.code,
                "name": lot.name,
                "estimate": str(lot.estimate),
                "bid_bond": str(lot.bid_bond),
                "duration_days": lot.duration_days,
            }
            for lot in tender.lots.order_by("code")
        ],
        "timeline": {
            "documents_from": tender.documents_from.isoformat() if tender.documents_from else None,
            "documents_until": tender.documents_until.isoformat() if tender.documents_until else None,
            "bid_deadline": tender.bid_deadline.isoformat() if tender.bid_deadline else None,
        },
        **(extra or {}),
    }


def notice_text(tender: Tender, kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """Title and body in Chinese, the language of the notice as published, whatever the request's language."""
    with translation.override("zh-hans"):
        label = str(NoticeKind(kind).label)
    title = f"{tender.name}{label}"
    rules = procedure_rules(tender.procedure_type)
    lines = [
        f"项目名称：{data['project']['name']}（项目编号 {data['project']['code']}）",
        f"招标项目：{tender.name}（编号 {tender.code}）",
        f"交易方式：{rules.name_zh}",
        f"招标人：{data['tenderee']['name']}",
    ]
    if data["agency"]:
        lines.append(f"招标代理机构：{data['agency']['name']}")
    if tender.description:
        lines.append(f"招标范围：{tender.description}")
    for lot in data["lots"]:
        lines.append(
            f"标段（包）{lot['code']}：{lot['name']}，"
            f"估算价 {lot['estimate']} 元，投标保证金 {lot['bid_bond']} 元"
        )
    if kind in (NoticeKind.TENDER, NoticeKind.PREQUALIFICATION):
        lines += [
            f"招标文件获取时间：{_local(tender.documents_from)} 至 {_local(tender.documents_until)}，"
            "在本平台登录后直接下载，无需报名。",
            f"投标截止时间（开标时间）：{_local(tender.bid_deadline)}，在本平台加密递交、不见面开标。",
        ]
    if kind == NoticeKind.AMENDMENT:
        lines.append(f"澄清与修改：{data.get('text', '')}")
        if data.get("deadline_after") and data.get("deadline_after") != data.get("deadline_before"):
            lines.append(f"投标截止时间调整为：{_local(datetime.fromisoformat(data['deadline_after']))}")
    if kind == NoticeKind.TERMINATION:
        lines.append(f"终止原因：{data.get('reason', '')}")
    if kind == NoticeKind.FAILED:
        lines.append(
            f"投标截止时间 {_local(tender.bid_deadline)} 时，递交投标文件的投标人少于 "
            f"{data.get('minimum_bids')} 家（{data.get('bid_count')} 家），"
            "依法不予开标，本次招标失败（流标）。"
        )
    if kind == NoticeKind.OPENING_RECORD:
        lines += _opening_record_lines(data.get("record") or {})
    if kind == NoticeKind.CANDIDATES:
        lines += _candidates_lines(data)
    if kind == NoticeKind.RESULT:
        lines += [
            f"标段（包）{award['lot']}：中标人 {award['winner']}（统一社会信用代码 {award['identifier']}），"
            f"中标价 {award['price']} 元"
            for award in data.get("awards", [])
        ]
    return title, "\n".join(lines)


def _candidates_lines(data: dict[str, Any]) -> list[str]:
    """中标候选人公示: the publicity period, then per lot the ranked candidates and the committee."""
    publicity = data.get("publicity") or {}
    lines = []
    if publicity:
        starts, ends = (datetime.fromisoformat(publicity[k]) for k in ("starts_at", "ends_at"))
        lines.append(
            f"公示期：{_local(starts)} 至 {_local(ends)}；对评标结果有异议的，请在公示期内通过本平台提出。"
        )
    for lot in data.get("candidates", []):
        lines.append(f"标段（包）{lot['lot']}：")
        lines += [
            f"  第{c['rank']}名{'（并列）' if c.get('tied') else ''}：{c['bidder']}，投标报价 {c['price']} 元"
            for c in lot.get("candidates", [])
        ]
        if lot.get("committee"):
            lines.append(f"  评标委员会：{'、'.join(lot['committee'])}")
    return lines


def _opening_record_lines(record: dict[str, Any]) -> list[str]:
    """The opening record (开标记录表) as text: per lot, each bid with its outcome and the fields read."""
    lines = [f"开标时间：{record.get('opened_at', '')}"]
    for lot in record.get("lots", []):
        if lot.get("failed"):
            lines.append(f"标段（包）{lot['code']}：投标人 {lot['bid_count']} 家，不足法定数量，不予开标。")
            continue
        lines.append(f"标段（包）{lot['code']}：")
        for bid in lot.get("bids", []):
            if bid.get("outcome") == "opened":
                lines.append(
                    f"  {bid['bidder']}：投标报价 {bid.get('price') or '—'} 元，"
                    f"工期 {bid.get('duration_days') or '—'} 日历天"
                )
            else:
                lines.append(f"  {bid['bidder']}：{bid.get('outcome_label', bid.get('outcome'))}")
    return lines


def notice_create(
    *,
    tender: Tender,
    kind: str,
    publish_at: datetime,
    actor: User,
    now: datetime,
    extra: dict[str, Any] | None = None,
    corrects: Notice | None = None,
) -> Notice:
    """Create a notice to be published at ``publish_at``; the scheduler publishes it, with its ledger leaf."""
    if not transaction.get_connection().in_atomic_block:
        msg = "notices are created in the transaction of the change they announce"
        raise RuntimeError(msg)
    data = notice_data(tender, kind, extra)
    title, body = notice_text(tender, kind, data)
    content = {"title": title, "body": body, "data": data, "kind": kind, "tender": tender.code}
    notice = Notice.objects.create(
        tender=tender,
        kind=kind,
        title=title,
        body=body,
        data=data,
        region_code=tender.project.region_code,
        sector=tender.project.sector,
        procedure_type=tender.procedure_type,
        publish_at=publish_at,
        content_hash="sha256:" + sha256_hex(canonical_json(content)),
        corrects=corrects,
        search_text=search_text(title, body),
        created_by=actor,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="procedures:notice:created",
        subject_type="notice",
        subject_id=notice.pk,
        at=now,
        changes={"kind": [None, kind], "publish_at": [None, publish_at.isoformat()]},
    )
    return notice


def search_text(title: str, body: str) -> str:
    """The text the portal searches: title and body, whitespace folded."""
    return " ".join(f"{title}\n{body}".split())


def notice_content_hash(notice: Notice) -> str:
    content = {
        "title": notice.title,
        "body": notice.body,
        "data": notice.data,
        "kind": notice.kind,
        "tender": notice.tender.code,
    }
    return "sha256:" + sha256_hex(canonical_json(content))


def notice_correct(*, actor: User, notice: Notice, extra: dict[str, Any], now: datetime) -> Notice:
    """A correction: a new amendment notice naming the notice it corrects; the old one stays as published."""
    if notice.published_at is None:
        raise NoticeNotPublished(gettext("This notice is not published yet: change the tender instead."))
    return notice_create(
        tender=notice.tender,
        kind=NoticeKind.AMENDMENT,
        publish_at=now,
        actor=actor,
        now=now,
        extra=extra,
        corrects=notice,
    )
