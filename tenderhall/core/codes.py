"""Checks of Chinese identifiers: USCC, organisation code, resident ID number, passport number, region code.

Pure: no ORM, no clock, no Django. Besides the arguments, the only input is the administrative division
table (GB/T 2260, historic codes included) that python-stdnum installs as ``stdnum/cn/loc.dat``, read once.

Every check returns a :class:`CodeCheck`. A failure carries a stable ``reason_code`` (for the web layer to
translate), an English ``reason`` a person can act on, and in ``details`` the values that the reason names.
Only the first failure is reported, in this order: length, characters, structure (authority, category,
region, birth date), check character, embedded organisation code. Rules and decisions: ``docs/codes.md``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from types import MappingProxyType
from typing import NoReturn

from stdnum.cn import ric

KINDS = ("uscc", "org_code", "resident_id", "passport", "region", "unknown")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100 characters, values 0-30 in this order: no I, O, S, V, Z."""
_USCC_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

_ORG_VALUE = {char: value for value, char in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_DIGITS = frozenset("0123456789")
_CHECK_DIGITS = _DIGITS | {"X"}
_ALPHANUMERIC = frozenset(_ORG_VALUE)

# 登记管理部门码 -> (部门, {机构类别码: 类别}): GB 32100-2015 and the authority codes A and N added later.
USCC_AUTHORITIES: Mapping[str, tuple[str, Mapping[str, str]]] = MappingProxyType(
    {
        "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直管群众团体", "9": "其他"}),
        "2": ("外交", {"1": "外国常住新闻机构", "9": "其他"}),
        "3": (
            "司法行政",
            {
                "1": "律师执业机构",
                "2": "公证处",
                "3": "基层法律服务所",
                "4": "司法鉴定机构",
                "5": "仲裁委员会",
                "9": "其他",
            },
        ),
        "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
        "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
        "6": (
            "旅游",
            {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地代表机构", "9": "其他"},
        ),
        "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
        "8": ("工会", {"1": "基层工会", "9": "其他"}),
        "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
        "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
        "N": (
            "农业",
            {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
        ),
        "Y": ("其他", {"1": "其他"}),
    }
)
LETTER_AUTHORITIES = frozenset({"A", "N", "Y"})
"""Authorities whose codes get a warning, not a rejection, when the embedded organisation code fails."""

NATIONAL_REGION = "100000"
"""Region part of USCCs issued by national-level registration authorities; not a GB/T 2260 entry."""

USCC_FIRST_YEAR = 2015
"""Unified social credit codes were first issued in 2015 (GB 32100-2015)."""

EARLIEST_BIRTH_YEAR = 1850
"""Resident ID numbers were first issued in 1984; nobody then alive was born before this year."""


@dataclass(frozen=True)
class CodeCheck:
    code: str
    """The normalized code: stripped, full-width forms made ASCII, upper-case, hyphen removed (org codes)."""
    kind: str
    """One of :data:`KINDS`."""
    valid: bool
    reason_code: str
    """Empty when valid; otherwise a stable snake_case code listed in docs/codes.md."""
    reason: str
    """Empty when valid; otherwise an English sentence naming what is wrong."""
    warnings: tuple[str, ...] = ()
    """English sentences about doubts that do not make a valid code invalid (none on invalid codes)."""
    warning_codes: tuple[str, ...] = ()
    """Stable snake_case codes of ``warnings``, in the same order."""
    details: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """Decoded facts (authority, category, region, org_code, birth_date, sex, ...) as far as the checks
    got, plus the values that ``reason`` names (position, character, expected, found, ...)."""


_FULL_WIDTH = {codepoint: codepoint - 0xFEE0 for codepoint in range(0xFF01, 0xFF5F)}
_ASCII_UPPER = {codepoint: codepoint - 32 for codepoint in range(ord("a"), ord("z") + 1)}


def normalize(raw: str) -> str:
    """Strip whitespace, turn full-width forms (input methods in full-width mode) into ASCII, upper-case a-z.

    Only ASCII letters change case, so no other character can turn into an accepted one.
    """
    return raw.translate(_FULL_WIDTH).strip().translate(_ASCII_UPPER)


# --- check characters ------------------------------------------------------------------------------------


def uscc_check_char(body17: str) -> str:
    """GB 32100 check character of the first 17 characters of a USCC (ValueError if they are not)."""
    if len(body17) != 17 or any(char not in _USCC_VALUE for char in body17):
        raise ValueError(f"a USCC body is 17 characters of {USCC_ALPHABET}, not {body17!r}")
    total = sum(_USCC_VALUE[char] * weight for char, weight in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """GB 11714 check character of the 8-character body of an organisation code (ValueError if it is not)."""
    if len(body8) != 8 or any(char not in _ORG_VALUE for char in body8):
        raise ValueError(f"an organisation code body is 8 characters of 0-9 and A-Z, not {body8!r}")
    total = sum(_ORG_VALUE[char] * weight for char, weight in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def resident_id_check_char(body17: str) -> str:
    """GB 11643 check character of the 17 digits before it in a resident ID number (ValueError if not)."""
    if len(body17) != 17 or not set(body17) <= _DIGITS:
        raise ValueError(f"a resident ID body is 17 digits, not {body17!r}")
    return str(ric.calc_check_digit(body17 + "0"))


# --- the region table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    name: str
    first_year: int | None
    last_year: int | None


_PROVINCE_LINE = re.compile(r'(\d{2}) province="[^"]*"')
_COUNTY_LINE = re.compile(r'  (\d{4}) county="([^"]*)"')
_NAME = re.compile(r"(?:\[(\d{4})?-(\d{4})?\])?([^\[\],]+)")
_PLACEHOLDERS = frozenset(
    {"市辖区", "县", "市区", "郊区", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位"}
)


def _parse_names(text: str) -> tuple[_Name, ...]:
    names = []
    for part in text.split(","):
        match = _NAME.fullmatch(part)
        if match is None:
            raise ValueError(f"unexpected region name {part!r} in stdnum/cn/loc.dat")
        first, last, name = match.groups()
        names.append(_Name(name, int(first) if first else None, int(last) if last else None))
    return tuple(names)


@cache
def _regions() -> Mapping[str, tuple[_Name, ...]]:
    """Six-digit code -> its names over time, from the table that python-stdnum installs."""
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    table: dict[str, tuple[_Name, ...]] = {}
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE_LINE.fullmatch(line):
            province = match.group(1)
        elif (match := _COUNTY_LINE.fullmatch(line)) and province:
            table[province + match.group(1)] = _parse_names(match.group(2))
        else:
            raise ValueError(f"unexpected line {line!r} in stdnum/cn/loc.dat")
    return MappingProxyType(table)


def region_codes() -> frozenset[str]:
    """Every code in the table, current and withdrawn."""
    return frozenset(_regions())


def region_name(code: str) -> str | None:
    """The latest name of a GB/T 2260 code with its province and prefecture, e.g. ``江西省 九江市 德安县``.

    Placeholder levels such as 市辖区 are left out of the path. None for a code that is not in the table.
    """
    regions = _regions()
    if code not in regions:
        return None
    names: list[str] = []
    for level in dict.fromkeys((code[:2] + "0000", code[:4] + "00", code)):
        if (level_names := regions.get(level)) is None:
            continue
        name = level_names[-1].name
        if (level == code or name not in _PLACEHOLDERS) and name not in names:
            names.append(name)
    return " ".join(names)


def region_withdrawn_after(code: str) -> int | None:
    """The last year a code was in use, or None while it still is (and for unknown codes)."""
    last_years = [name.last_year for name in _regions().get(code, ())]
    if not last_years or None in last_years:
        return None
    return max(year for year in last_years if year is not None)


# --- how a check runs ------------------------------------------------------------------------------------


class _Failed(Exception):
    def __init__(self, reason_code: str, reason: str, details: Mapping[str, str]) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason
        self.details = details


@dataclass
class _Checking:
    """The state of one check: the code, the facts decoded so far and the warnings raised so far."""

    code: str
    details: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, reason_code: str, reason: str, **details: str) -> NoReturn:
        raise _Failed(reason_code, reason, details)

    def warn(self, warning_code: str, text: str) -> None:
        self.warnings.append((warning_code, text))

    def require_length(self, length: int, expected: str) -> None:
        if len(self.code) != length:
            self.fail(
                "bad_length",
                f"{_characters(len(self.code))}, expected {expected}",
                length=str(len(self.code)),
            )

    def require_characters(
        self,
        allowed: Collection[str],
        description: str,
        *,
        start: int = 0,
        stop: int | None = None,
        **details: str,
    ) -> None:
        """Positions ``start`` to ``stop`` (0-based, half-open) hold only ``allowed`` characters."""
        for index in range(start, len(self.code) if stop is None else stop):
            if (char := self.code[index]) not in allowed:
                self.fail(
                    "bad_character",
                    f"character {index + 1} is {char!r}, expected {description}",
                    position=str(index + 1),
                    character=char,
                    **details,
                )

    def require_check_char(self, position: int, expected: str, reason_code: str, reason: str) -> None:
        """The character at ``position`` (0-based) is ``expected``; ``reason`` may use {found}, {expected}."""
        found = self.code[position]
        if found != expected:
            self.fail(
                reason_code, reason.format(found=found, expected=expected), expected=expected, found=found
            )


def _characters(count: int) -> str:
    return "1 character" if count == 1 else f"{count} characters"


def _run(raw: str, kind: str, steps: Callable[[_Checking], None]) -> CodeCheck:
    checking = _Checking(normalize(raw))
    try:
        steps(checking)
    except _Failed as failure:
        return CodeCheck(
            code=checking.code,
            kind=kind,
            valid=False,
            reason_code=failure.reason_code,
            reason=failure.reason,
            details=MappingProxyType({**checking.details, **failure.details}),
        )
    return CodeCheck(
        code=checking.code,
        kind=kind,
        valid=True,
        reason_code="",
        reason="",
        warnings=tuple(text for _, text in checking.warnings),
        warning_codes=tuple(warning_code for warning_code, _ in checking.warnings),
        details=MappingProxyType(checking.details),
    )


# --- USCC (GB 32100) -------------------------------------------------------------------------------------


def check_uscc(code: str) -> CodeCheck:
    """统一社会信用代码: alphabet, authority and category, region digits, check character, embedded org code.

    A region code missing from the table, or withdrawn before 2015, is a warning: new regions appear before
    the table knows them, and the table's years are not authoritative. An embedded organisation code that
    fails GB 11714 makes the code invalid for digit authorities and is a warning for the letter authorities
    A, N and Y.
    """
    return _run(code, "uscc", _uscc_steps)


def _uscc_steps(checking: _Checking) -> None:
    checking.require_length(18, "18")
    code = checking.code
    not_in_alphabet = "a digit or one of ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"
    checking.require_characters(_USCC_VALUE, not_in_alphabet, stop=17)
    expected = uscc_check_char(code[:17])
    checking.require_characters(
        _USCC_VALUE,
        f"{not_in_alphabet}; the check character for this code is {expected}",
        start=17,
        expected=expected,
    )

    authority, category, region, org_code = code[0], code[1], code[2:8], code[8:17]
    if authority not in USCC_AUTHORITIES:
        checking.fail(
            "unknown_authority",
            f"registration authority {authority} does not exist: expected one of {''.join(USCC_AUTHORITIES)}",
            authority=authority,
        )
    authority_name, categories = USCC_AUTHORITIES[authority]
    checking.details.update(authority=authority, authority_name=authority_name)
    if category not in categories:
        checking.fail(
            "unknown_category",
            f"entity category {category} does not exist for registration authority {authority} "
            f"({authority_name}): expected one of {', '.join(categories)}",
            category=category,
        )
    checking.details.update(category=category, category_name=categories[category])
    checking.require_characters(_DIGITS, "a digit (positions 3-8 are a region code)", start=2, stop=8)
    checking.details["region"] = region
    name = "全国" if region == NATIONAL_REGION else region_name(region)
    if name is None:
        checking.warn("unknown_region", f"region code {region} is not in the GB/T 2260 table")
    else:
        checking.details["region_name"] = name
        last_year = region_withdrawn_after(region)
        if last_year is not None and last_year < USCC_FIRST_YEAR:
            checking.warn(
                "withdrawn_region",
                f"region code {region} ({name}) was withdrawn after {last_year}, "
                f"before unified social credit codes were issued ({USCC_FIRST_YEAR})",
            )

    checking.require_check_char(
        17, expected, "bad_check_digit", "check character is {found}, expected {expected}"
    )

    checking.details["org_code"] = org_code
    expected_org = org_code_check_char(org_code[:8])
    embedded = (
        f"the embedded organisation code {org_code} ends in {{found}}, expected {{expected}} (GB 11714)"
    )
    if authority not in LETTER_AUTHORITIES:
        checking.require_check_char(16, expected_org, "bad_embedded_org_code", embedded)
    elif org_code[8] != expected_org:
        checking.warn("bad_embedded_org_code", embedded.format(found=org_code[8], expected=expected_org))


# --- organisation code (GB 11714) ------------------------------------------------------------------------


def check_org_code(code: str) -> CodeCheck:
    """组织机构代码: 8 digits or capital letters, then a check character 0-9 or X; ``12345678-9`` is fine."""
    return _run(code, "org_code", _org_code_steps)


def _org_code_steps(checking: _Checking) -> None:
    if len(checking.code) == 10 and checking.code[8] == "-":
        checking.code = checking.code[:8] + checking.code[9]
    checking.require_length(9, "9 (or 10 with a hyphen before the check character)")
    checking.require_characters(_ALPHANUMERIC, "a digit or a capital letter", stop=8)
    expected = org_code_check_char(checking.code[:8])
    checking.require_characters(
        _CHECK_DIGITS,
        f"a digit or X; the check character for this code is {expected}",
        start=8,
        expected=expected,
    )
    checking.require_check_char(
        8, expected, "bad_check_digit", "check character is {found}, expected {expected}"
    )


# --- resident ID number (GB 11643) -----------------------------------------------------------------------


def check_resident_id(code: str, *, today: datetime.date | None = None) -> CodeCheck:
    """公民身份号码: digits, birth date, region, check character; given ``today``, no birth in the future.

    The region must be in the table, current or withdrawn; a code withdrawn before the birth year is a
    warning (the number is given at registration, which can come long after birth, but not before it).
    """
    return _run(code, "resident_id", partial(_resident_id_steps, today=today))


def _resident_id_steps(checking: _Checking, *, today: datetime.date | None) -> None:
    code = checking.code
    if len(code) == 15 and set(code) <= _DIGITS:
        checking.fail(
            "obsolete_15_digit",
            "15-digit identity numbers were replaced by 18-digit ones "
            "(first-generation cards ceased to be valid in 2013): use the 18-digit number",
        )
    checking.require_length(18, "18")
    checking.require_characters(_DIGITS, "a digit", stop=17)
    expected = resident_id_check_char(code[:17])
    checking.require_characters(
        _CHECK_DIGITS, f"a digit or X; the check character for this number is {expected}", expected=expected
    )

    birth_date = _birth_date(code)
    if birth_date is None:
        checking.fail(
            "bad_birth_date",
            f"positions 7-14 ({code[6:14]}) are not a date of birth YYYYMMDD",
            birth_date=code[6:14],
        )
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        checking.fail(
            "bad_birth_date",
            f"date of birth {birth_date.isoformat()} is before {EARLIEST_BIRTH_YEAR}",
            birth_date=birth_date.isoformat(),
        )
    if today is not None and birth_date > today:
        checking.fail(
            "future_birth_date",
            f"date of birth {birth_date.isoformat()} is in the future",
            birth_date=birth_date.isoformat(),
        )
    checking.details.update(birth_date=birth_date.isoformat(), sex="M" if int(code[16]) % 2 else "F")

    region = code[:6]
    if (name := region_name(region)) is None:
        checking.fail(
            "unknown_region",
            f"region code {region} (positions 1-6) is not in the GB/T 2260 table",
            region=region,
        )
    checking.details.update(region=region, region_name=name)
    last_year = region_withdrawn_after(region)
    if last_year is not None and last_year < birth_date.year:
        checking.warn(
            "withdrawn_region",
            f"region code {region} ({name}) was withdrawn after {last_year}, "
            f"before the birth year {birth_date.year}",
        )

    checking.require_check_char(
        17, expected, "bad_check_digit", "check character is {found}, expected {expected}"
    )


def _birth_date(code: str) -> datetime.date | None:
    digits = code[6:14]
    if not set(digits) <= _DIGITS:
        return None
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


# --- passport number -------------------------------------------------------------------------------------

_COUNTRY = re.compile(r"[A-Z]{3}")
_CHINESE_PASSPORT = re.compile(r"[EGPSD](?:\d{8}|[A-Z]\d{7})")


def check_passport(number: str, country: str) -> CodeCheck:
    """A format check only: passport numbers carry no check character of their own.

    ``country`` is the ISO 3166-1 alpha-3 code of the issuing state. Any number is 5-20 digits and capital
    letters; a Chinese one (CHN) is E, G, P, S or D followed by 8 digits, or by a letter and 7 digits.
    """
    return _run(number, "passport", partial(_passport_steps, country=normalize(country)))


def _passport_steps(checking: _Checking, *, country: str) -> None:
    if not _COUNTRY.fullmatch(country):
        checking.fail(
            "bad_country",
            f"issuing country {country!r} is not an ISO 3166-1 alpha-3 code such as CHN",
            country=country,
        )
    checking.details["country"] = country
    if not 5 <= len(checking.code) <= 20:
        checking.fail(
            "bad_length",
            f"{_characters(len(checking.code))}, expected 5 to 20",
            length=str(len(checking.code)),
        )
    checking.require_characters(_ALPHANUMERIC, "a digit or a capital letter")
    if country == "CHN" and not _CHINESE_PASSPORT.fullmatch(checking.code):
        checking.fail(
            "bad_format",
            "a Chinese passport number is E, G, P, S or D followed by 8 digits, "
            "or by a letter and 7 digits (e.g. E12345678, EA1234567)",
        )


# --- region code (GB/T 2260) -----------------------------------------------------------------------------


def check_region_code(code: str) -> CodeCheck:
    """行政区划代码: 6 digits known to the table; a withdrawn code is valid with a warning."""
    return _run(code, "region", _region_steps)


def _region_steps(checking: _Checking) -> None:
    checking.require_length(6, "6")
    checking.require_characters(_DIGITS, "a digit")
    code = checking.code
    checking.details["region"] = code
    if (name := region_name(code)) is None:
        checking.fail("unknown_region", f"region code {code} is not in the GB/T 2260 table")
    checking.details["region_name"] = name
    if (last_year := region_withdrawn_after(code)) is not None:
        checking.warn("withdrawn_region", f"region code {code} ({name}) was withdrawn after {last_year}")


# --- detection -------------------------------------------------------------------------------------------


def check_any(code: str) -> CodeCheck:
    """Guess the kind from the shape and check the code as that kind (never a passport: that needs a country).

    * 9 characters, or 10 with a hyphen before the last: organisation code.
    * 15 digits: an obsolete resident ID number (invalid).
    * 18 characters: a USCC valid without warnings is a USCC, else a valid resident ID is a resident ID,
      else a USCC valid with warnings is a USCC. (About one all-digit resident ID in 700 is also a valid
      USCC, e.g. 110105195001013504; its USCC reading has an unknown region, so the resident ID wins.)
      When it is neither, the failure reported is that of the likelier kind: a resident ID when the first
      17 characters are digits and positions 7-14 are a date, else a USCC when every character is in the
      USCC alphabet, else a resident ID when the first 17 are digits, else a USCC. When the code has the
      shape of both (17 digits, then a digit or X), the reason also gives the other kind's failure.
    * anything else: kind ``unknown``, reason code ``bad_length``.
    """
    code = normalize(code)
    if len(code) == 9 or (len(code) == 10 and code[8] == "-"):
        return check_org_code(code)
    if len(code) == 15 and set(code) <= _DIGITS:
        return check_resident_id(code)
    if len(code) == 18:
        return _check_eighteen(code)
    expected = "18 (USCC or resident ID) or 9 (organisation code, 10 with a hyphen)"
    return _run(code, "unknown", lambda checking: checking.require_length(18, expected))


def _check_eighteen(code: str) -> CodeCheck:
    as_uscc = check_uscc(code)
    if as_uscc.valid and not as_uscc.warnings:
        return as_uscc
    as_resident_id = check_resident_id(code)
    if as_resident_id.valid:
        return as_resident_id
    if as_uscc.valid:
        return as_uscc
    digits_first = set(code[:17]) <= _DIGITS
    uscc_shape = set(code) <= _USCC_VALUE.keys()
    primary, other = as_uscc, as_resident_id
    if digits_first and (_birth_date(code) is not None or not uscc_shape):
        primary, other = as_resident_id, as_uscc
    if not (uscc_shape and digits_first and code[17] in _CHECK_DIGITS):
        return primary
    other_name = "a USCC" if other.kind == "uscc" else "a resident ID"
    return CodeCheck(
        code=primary.code,
        kind=primary.kind,
        valid=False,
        reason_code=primary.reason_code,
        reason=f"{primary.reason} (as {other_name}: {other.reason})",
        details=primary.details,
    )
