"""Identifier check reasons in the active language: English word for word as codes.py, Chinese in full.

The vectors are those of data-standards.md §5.4 and docs/codes.md, plus one code for every reason and warning
code of every kind, so that each message of codes_messages.py is rendered at least once.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import translation

from tenderhall.core.codes import (
    CodeCheck,
    check_any,
    check_org_code,
    check_passport,
    check_region_code,
    check_resident_id,
    check_uscc,
)
from tenderhall.core.codes_messages import code_check_message, code_check_warnings

CJK = re.compile(r"[\u4e00-\u9fff]")
TODAY = datetime.date(2026, 3, 2)

INVALID = [
    # data-standards.md §5.4
    check_uscc("91350100M000100Y4Z"),
    check_uscc("91110000600037341N"),
    check_uscc("9111000060003IOZSV"),
    check_uscc("A1110000600037341L"),
    # every USCC reason
    check_uscc("91350100M000100Y4"),
    check_uscc("B1110000600037341L"),
    check_uscc("95110000600037341L"),
    check_uscc("91AB0000600037341L"),
    check_uscc("91350100M000100Y56"),
    # organisation codes
    check_org_code("12345678Y"),
    check_org_code("12345678"),
    check_org_code("1234567*8"),
    check_org_code("12345678-9"),
    # resident ID numbers
    check_resident_id("110105194912310021"),
    check_resident_id("11010519491231002Y"),
    check_resident_id("1101051949123100AX"),
    check_resident_id("11010519491231002"),
    check_resident_id("110105209013310025"),
    check_resident_id("110105184901010014"),
    check_resident_id("990101209001010015"),
    check_resident_id("123456789012345"),
    check_resident_id("110105209001010017", today=TODAY),
    # passports
    check_passport("X12345678", "CHN"),
    check_passport("123456789012345678901", "USA"),
    check_passport("E1234", "CHN"),
    check_passport("AB1", "USA"),
    check_passport("E12345678", "CN"),
    check_passport("AB-12345", "USA"),
    # region codes
    check_region_code("990000"),
    check_region_code("11010"),
    check_region_code("11A105"),
    # detection, including a code with the shape of both kinds, read either way
    check_any("110105194912310021"),
    check_any("911100006000373410"),
    check_any("9135010"),
    check_any("A"),
    check_any(""),
]

WITH_WARNINGS = [
    check_uscc("N2330784MF0000001X"),  # §5.4: embedded organisation code wrong, letter authority
    check_uscc("91660000MA1K3BTP27"),
    check_uscc("91110103MA1K3BTP2H"),
    check_resident_id("110103209001010014"),
    check_region_code("110103"),
]


def _label(check: CodeCheck) -> str:
    return f"{check.kind}:{check.code}:{check.reason_code}"


def test_the_vectors_cover_every_reason_and_warning_code():
    # then
    assert {check.reason_code for check in INVALID} == {
        "bad_length",
        "bad_character",
        "bad_check_digit",
        "unknown_authority",
        "unknown_category",
        "bad_embedded_org_code",
        "bad_birth_date",
        "future_birth_date",
        "unknown_region",
        "obsolete_15_digit",
        "bad_country",
        "bad_format",
    }
    assert {code for check in WITH_WARNINGS for code in check.warning_codes} == {
        "unknown_region",
        "withdrawn_region",
        "bad_embedded_org_code",
    }
    assert not any(check.valid for check in INVALID)
    assert all(check.valid for check in WITH_WARNINGS)


@pytest.mark.parametrize("check", INVALID, ids=_label)
def test_in_english_the_message_is_the_reason_of_codes_py(check):
    # when
    with translation.override("en"):
        message = code_check_message(check)

    # then
    assert message == check.reason


@pytest.mark.parametrize("check", INVALID, ids=_label)
def test_in_chinese_every_reason_is_translated(check):
    # when
    with translation.override("zh-hans"):
        message = code_check_message(check)

    # then: the English reason is kept only when a reason has no translation, which none lacks
    assert message != check.reason
    assert CJK.search(message)


@pytest.mark.parametrize("check", WITH_WARNINGS, ids=_label)
def test_warnings_are_the_english_of_codes_py_and_are_translated(check):
    # when
    with translation.override("en"):
        english = code_check_warnings(check)
    with translation.override("zh-hans"):
        chinese = code_check_warnings(check)

    # then
    assert english == check.warnings
    assert len(chinese) == len(check.warnings)
    assert all(CJK.search(warning) and warning not in check.warnings for warning in chinese)


@pytest.mark.parametrize(
    ("check", "chinese"),
    [
        (check_uscc("91110000600037341N"), "校验码为N，应为L"),
        (
            check_uscc("91350100M000100Y4Z"),
            "第18位是'Z'，应为数字或ABCDEFGHJKLMNPQRTUWXY中的字母（不含I、O、S、V、Z）；该代码的校验码应为3",
        ),
        (check_uscc("B1110000600037341L"), "登记管理部门代码B不存在，应为123456789ANY之一"),
        (
            check_uscc("95110000600037341L"),
            "登记管理部门代码9（工商）下没有机构类别代码5，应为1, 2, 3之一",
        ),
        (check_uscc("91350100M000100Y4"), "共17个字符，应为18个"),
        (check_resident_id("110105184901010014"), "出生日期1849-01-01早于1850年"),
        (check_resident_id("990101209001010015"), "第1至6位的行政区划代码990101不在GB/T 2260代码表中"),
        (check_region_code("990000"), "行政区划代码990000不在GB/T 2260代码表中"),
        (
            check_any("110105194912310021"),
            "校验码为1，应为X（若作为统一社会信用代码：校验码为1，应为B）",
        ),
        (check_passport("E12345678", "CN"), "签发国家'CN'不是ISO 3166-1三字母代码（如CHN）"),
    ],
    ids=lambda value: value if isinstance(value, str) else _label(value),
)
def test_chinese_messages(check, chinese):
    with translation.override("zh-hans"):
        assert code_check_message(check) == chinese


def test_a_valid_code_has_no_message():
    assert code_check_message(check_uscc("91350100M000100Y43")) == ""
    assert code_check_warnings(check_uscc("91350100M000100Y43")) == ()


def test_a_reason_worded_differently_from_codes_py_is_shown_as_codes_py_gives_it():
    # given: a reason this module does not know the words of (as if codes.py had reworded it)
    check = CodeCheck(
        code="91110000600037341N",
        kind="uscc",
        valid=False,
        reason_code="bad_check_digit",
        reason="the last character should be L",
        details={"expected": "L", "found": "N"},
    )

    # when
    with translation.override("zh-hans"):
        message = code_check_message(check)

    # then: rather the English than a translation of other words
    assert message == "the last character should be L"
