"""The national data spec's core datasets (公共资源交易平台系统数据规范 V2.0): fields, field formats
and writers (JSON, CSV). Pure: rows in, text out; rows are built in ``national_sources``.

The full V2.0 text is not public. Dataset numbers, table names and the field formats below follow the
provincial implementation described in shared/reference/data-standards.md §6 (Fujian 数据规范4.0):

* 项目编号 17 characters, 招标项目编号 20, 标段（包）编号 23 (the platform's codes already have this layout);
* times ``yyyyMMddHHmmss`` and dates ``yyyyMMdd``, in Beijing time;
* amounts with at most 14 integer and 6 decimal digits, with a separate currency code and price unit;
* region codes 6 digits (GB/T 2260); organisation codes: a USCC (18) or an organisation code (9).

Field names known from that implementation are used as they are (PROJECT_CODE, TENDER_PROJECT_CODE,
BID_SECTION_CODE, UNIFIED_DEAL_CODE, TENDERER_CODE, WIN_BIDDER_CODE, TENDER_MODE, TENDER_ORGANIZE_FORM,
PRICE_FORM_CODE, PRICE_UNIT, NOTICE_NATURE, BULLETIN_TYPE ...); the others are named in the same style and
are provisional. Code values come from ``data/national-codes.json`` (swappable).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
CODES_FILE = Path(__file__).resolve().parent / "data" / "national-codes.json"


class Kind(StrEnum):
    PROJECT_CODE = "project_code"  # 17
    TENDER_CODE = "tender_code"  # 20
    SECTION_CODE = "section_code"  # 23
    SECTION_CODES = "section_codes"  # 23, comma-separated
    REGION = "region"  # 6 digits
    ORG_CODE = "org_code"  # USCC or organisation code, ≤ 18
    DATETIME = "datetime"  # yyyyMMddHHmmss
    AMOUNT = "amount"  # ≤ 14 integer digits, ≤ 6 decimals
    INTEGER = "integer"
    CODE = "code"  # a value of a code list
    TEXT = "text"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind
    max_length: int = 0  # for TEXT and CODE; 0: no limit
    required: bool = False


@dataclass(frozen=True)
class Dataset:
    key: str
    data_no: str
    table: str
    label: str
    fields: tuple[Field, ...]


F = Field
K = Kind


def R(name: str, label: str, kind: Kind, max_length: int = 0) -> Field:
    """A required field."""
    return Field(name, label, kind, max_length, required=True)


_MONEY = (R("CURRENCY_CODE", "币种", K.CODE, 3), R("PRICE_UNIT", "价格单位", K.CODE, 1))

DATASETS: Mapping[str, Dataset] = {
    d.key: d
    for d in (
        Dataset(
            "project",
            "500",
            "PROJECT",
            "项目",
            (
                F("PROJECT_CODE", "项目编号", K.PROJECT_CODE, required=True),
                R("PROJECT_NAME", "项目名称", K.TEXT, 200),
                F("REGION_CODE", "项目所在行政区域代码", K.REGION, required=True),
                F("INDUSTRY", "行业", K.TEXT, 20),
                R("LEGAL_PERSON", "项目法人/招标人名称", K.TEXT, 200),
                F("LEGAL_PERSON_CODE", "项目法人/招标人代码", K.ORG_CODE),
                F("FUND_SOURCE", "资金来源", K.TEXT, 200),
                F("TOTAL_INVESTMENT", "项目预算/估算", K.AMOUNT, required=True),
                *_MONEY,
                F("CREATE_TIME", "进场登记时间", K.DATETIME, required=True),
            ),
        ),
        Dataset(
            "tender_project",
            "501",
            "TENDER_PROJECT",
            "招标项目",
            (
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                F("PROJECT_CODE", "项目编号", K.PROJECT_CODE, required=True),
                R("TENDER_PROJECT_NAME", "招标项目名称", K.TEXT, 200),
                F("TENDER_CONTENT", "招标内容与范围", K.TEXT, 4000),
                F("TENDER_MODE", "招标方式", K.CODE, 2),
                R("TENDER_MODE_NAME", "交易方式名称", K.TEXT, 50),
                R("TENDER_ORGANIZE_FORM", "招标组织形式", K.CODE, 1),
                R("TENDERER_NAME", "招标人名称", K.TEXT, 200),
                F("TENDERER_CODE", "招标人代码", K.ORG_CODE),
                F("TENDER_AGENCY_NAME", "招标代理机构名称", K.TEXT, 200),
                F("TENDER_AGENCY_CODE", "招标代理机构代码", K.ORG_CODE),
                F("CONTROL_PRICE", "最高投标限价", K.AMOUNT),
                *_MONEY,
                F("REGION_CODE", "行政区域代码", K.REGION, required=True),
                F("PUBLISH_TIME", "发布时间", K.DATETIME, required=True),
                R("STATUS", "状态", K.TEXT, 20),
            ),
        ),
        Dataset(
            "section",
            "502",
            "SECTION",
            "标段（包）",
            (
                F("BID_SECTION_CODE", "标段（包）编号", K.SECTION_CODE, required=True),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                R("BID_SECTION_NAME", "标段（包）名称", K.TEXT, 200),
                F("CONTRACT_RECKON_PRICE", "标段估算价", K.AMOUNT, required=True),
                F("LIMIT_PRICE", "最高投标限价", K.AMOUNT),
                F("MARGIN_AMOUNT", "投标保证金", K.AMOUNT, required=True),
                F("TIME_LIMIT", "工期/服务期（日）", K.INTEGER),
                *_MONEY,
            ),
        ),
        Dataset(
            "tender_notice",
            "503",
            "TENDER_ANN_QUA_INQUERY_ANN",
            "招标公告与资格预审公告",
            (
                R("NOTICE_ID", "公告标识", K.TEXT, 40),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                F("BID_SECTION_CODES", "标段（包）编号", K.SECTION_CODES, required=True),
                R("NOTICE_NAME", "公告名称", K.TEXT, 300),
                F("NOTICE_CONTENT", "公告内容", K.TEXT, required=True),
                R("BULLETIN_TYPE", "公告类型", K.CODE, 1),
                R("NOTICE_NATURE", "公告性质", K.CODE, 1),
                F("CORRECTED_NOTICE_ID", "原公告标识", K.TEXT, 40),
                F("NOTICE_SEND_TIME", "公告发布时间", K.DATETIME, required=True),
                F("DOC_GET_START_TIME", "招标文件获取开始时间", K.DATETIME),
                F("DOC_GET_END_TIME", "招标文件获取截止时间", K.DATETIME),
                F("BID_DOC_REFER_END_TIME", "投标截止时间", K.DATETIME),
                F("BID_OPEN_TIME", "开标时间", K.DATETIME),
                F("URL", "公告网址", K.TEXT, 500),
            ),
        ),
        Dataset(
            "opening_record",
            "506",
            "BID_OPEN_RECORD",
            "开标记录",
            (
                F("BID_SECTION_CODE", "标段（包）编号", K.SECTION_CODE, required=True),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                R("BIDDER_NAME", "投标人名称", K.TEXT, 200),
                F("BIDDER_CODE", "投标人代码", K.ORG_CODE),
                F("BID_PRICE", "投标报价", K.AMOUNT),
                R("PRICE_FORM_CODE", "价款形式", K.CODE, 1),
                *_MONEY,
                F("TIME_LIMIT", "工期/服务期（日）", K.INTEGER),
                R("DECRYPT_RESULT", "解密结果", K.CODE, 1),
                F("BID_OPEN_TIME", "开标时间", K.DATETIME, required=True),
                F("RECORD_PUBLISH_TIME", "开标记录公布时间", K.DATETIME, required=True),
            ),
        ),
        Dataset(
            "candidates_notice",
            "511",
            "WIN_CANDIDATE_ANNO",
            "中标候选人公示",
            (
                R("NOTICE_ID", "公告标识", K.TEXT, 40),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                F("BID_SECTION_CODES", "标段（包）编号", K.SECTION_CODES, required=True),
                R("NOTICE_NAME", "公示名称", K.TEXT, 300),
                F("NOTICE_CONTENT", "公示内容", K.TEXT, required=True),
                F("NOTICE_SEND_TIME", "公示发布时间", K.DATETIME, required=True),
                F("PUBLICITY_START_TIME", "公示开始时间", K.DATETIME),
                F("PUBLICITY_END_TIME", "公示结束时间", K.DATETIME),
                F("BID_SECTION_CODE", "候选人所在标段（包）编号", K.SECTION_CODE),
                F("WIN_CANDIDATE_ORDER", "中标候选人排名", K.INTEGER),
                F("WIN_CANDIDATE_NAME", "中标候选人名称", K.TEXT, 200),
                F("WIN_CANDIDATE_CODE", "中标候选人代码", K.ORG_CODE),
                F("BID_PRICE", "投标报价", K.AMOUNT),
                F("URL", "公示网址", K.TEXT, 500),
            ),
        ),
        Dataset(
            "result_notice",
            "513",
            "WIN_RESULT_ANNO",
            "中标结果公告",
            (
                R("NOTICE_ID", "公告标识", K.TEXT, 40),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                F("BID_SECTION_CODES", "标段（包）编号", K.SECTION_CODES, required=True),
                R("NOTICE_NAME", "公告名称", K.TEXT, 300),
                F("NOTICE_CONTENT", "公告内容", K.TEXT, required=True),
                F("NOTICE_SEND_TIME", "公告发布时间", K.DATETIME, required=True),
                F("BID_SECTION_CODE", "中标标段（包）编号", K.SECTION_CODE),
                F("WIN_BIDDER_NAME", "中标人名称", K.TEXT, 200),
                F("WIN_BIDDER_CODE", "中标人代码", K.ORG_CODE),
                F("WIN_BID_PRICE", "中标价", K.AMOUNT),
                F("URL", "公告网址", K.TEXT, 500),
            ),
        ),
        Dataset(
            "contract",
            "512",
            "CONTRACT",
            "合同",
            (
                R("CONTRACT_CODE", "合同编号", K.TEXT, 50),
                F("BID_SECTION_CODE", "标段（包）编号", K.SECTION_CODE, required=True),
                F("TENDER_PROJECT_CODE", "招标项目编号", K.TENDER_CODE, required=True),
                R("CONTRACT_NAME", "合同名称", K.TEXT, 200),
                R("TENDERER_NAME", "招标人名称", K.TEXT, 200),
                F("TENDERER_CODE", "招标人代码", K.ORG_CODE),
                R("WIN_BIDDER_NAME", "中标人名称", K.TEXT, 200),
                F("WIN_BIDDER_CODE", "中标人代码", K.ORG_CODE),
                F("CONTRACT_AMOUNT", "合同金额", K.AMOUNT, required=True),
                *_MONEY,
                F("TIME_LIMIT", "工期/服务期（日）", K.INTEGER),
                F("SIGN_TIME", "合同签订时间", K.DATETIME, required=True),
            ),
        ),
    )
}


@cache
def codes() -> dict[str, dict[str, str]]:
    loaded: dict[str, Any] = json.loads(CODES_FILE.read_text(encoding="utf-8"))
    return {name: values for name, values in loaded.items() if not name.startswith("_")}


def code(code_list: str, key: str) -> str:
    """The code of ``key`` in ``code_list``; empty when the list has none for it."""
    return codes()[code_list].get(key, "")


def spec_datetime(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL).strftime("%Y%m%d%H%M%S") if moment is not None else ""


def spec_amount(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


# --- checks ------------------------------------------------------------------------------------------------

_PATTERNS: Mapping[Kind, re.Pattern[str]] = {
    K.PROJECT_CODE: re.compile(r"[A-Z][0-9]{6}[0-9A-Z]{10}"),
    K.TENDER_CODE: re.compile(r"[A-Z][0-9]{6}[0-9A-Z]{13}"),
    K.SECTION_CODE: re.compile(r"[A-Z][0-9]{6}[0-9A-Z]{16}"),
    K.SECTION_CODES: re.compile(r"[A-Z][0-9]{6}[0-9A-Z]{16}(,[A-Z][0-9]{6}[0-9A-Z]{16})*"),
    K.REGION: re.compile(r"[0-9]{6}"),
    K.ORG_CODE: re.compile(r"[0-9A-Z]{9}|[0-9A-Z]{18}"),
    K.DATETIME: re.compile(r"[0-9]{14}"),
    K.AMOUNT: re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,6})?"),
    K.INTEGER: re.compile(r"[0-9]{1,9}"),
}


def field_problems(dataset: Dataset, row: Mapping[str, str]) -> list[str]:
    """What in ``row`` breaks the dataset's field formats; empty when the row conforms."""
    problems = [f"{name}: not a field of {dataset.table}" for name in row if name not in _names(dataset)]
    for spec in dataset.fields:
        value = row.get(spec.name, "")
        if value == "":
            if spec.required:
                problems.append(f"{spec.name} ({spec.label}): required")
            continue
        pattern = _PATTERNS.get(spec.kind)
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{spec.name} ({spec.label}): {value!r} is not a {spec.kind}")
        if spec.kind == K.DATETIME and not _real_datetime(value):
            problems.append(f"{spec.name} ({spec.label}): {value!r} is not a real time")
        if spec.max_length and len(value) > spec.max_length:
            problems.append(f"{spec.name} ({spec.label}): longer than {spec.max_length}")
    return problems


@cache
def _names(dataset: Dataset) -> frozenset[str]:
    return frozenset(f.name for f in dataset.fields)


def _real_datetime(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")  # noqa: DTZ007  # a format check, no time zone involved
    except ValueError:
        return False
    return True


# --- writers -----------------------------------------------------------------------------------------------


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


def json_chunks(dataset: Dataset, rows: Iterable[Mapping[str, str]]) -> Iterator[str]:
    """``{"dataNo", "table", "name", "fields": [...], "rows": [...]}``, a row at a time."""
    head = {
        "dataNo": dataset.data_no,
        "table": dataset.table,
        "name": dataset.label,
        "fields": [{"name": f.name, "label": f.label} for f in dataset.fields],
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',"rows":['
    for i, row in enumerate(rows):
        ordered = {f.name: row.get(f.name, "") for f in dataset.fields}
        yield ("," if i else "") + json.dumps(ordered, ensure_ascii=False)
    yield "]}\n"


def csv_chunks(dataset: Dataset, rows: Iterable[Mapping[str, str]]) -> Iterator[str]:
    """UTF-8 CSV, one header line of field names, then a line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f.name for f in dataset.fields])
    for row in rows:
        writer.writerow([row.get(f.name, "") for f in dataset.fields])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def chunks(dataset: Dataset, rows: Iterable[Mapping[str, str]], output: Format) -> Iterator[str]:
    return json_chunks(dataset, rows) if output == Format.JSON else csv_chunks(dataset, rows)
