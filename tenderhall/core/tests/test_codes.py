"""Identifier checks: known-answer vectors (docs/codes.md), then properties, with python-stdnum as the oracle.

Vectors are the GB worked examples, python-stdnum's published examples and synthetic codes. Synthetic
resident ID numbers carry birth years before 1900 or after 2089, so that none can be a living person's.
"""

from __future__ import annotations

import datetime
import doctest
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import numdb
from stdnum.cn import ric, uscc

from tenderhall.core.codes import (
    KINDS,
    USCC_ALPHABET,
    USCC_AUTHORITIES,
    CodeCheck,
    check_any,
    check_org_code,
    check_passport,
    check_region_code,
    check_resident_id,
    check_uscc,
    normalize,
    org_code_check_char,
    region_codes,
    region_name,
    resident_id_check_char,
    uscc_check_char,
)

# --- USCC: the known-answer table of docs/codes.md ------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # GB 32100-2015 worked example, corrected
        "91110000600037341L",  # python-stdnum doctest
        "121200004013590816",  # 事业单位, prefix 12
        "9144030071526726XG",  # embedded organisation code ends in X
        "91310115MA1K3BTP2B",  # new-style MA 主体标识码
        "92340602MA2PBQAH7E",  # 个体工商户, prefix 92
        "913205056082348768",  # all digits, still a USCC
        "91620105L015101280",
        "N2330784MF0000005A",  # letter authority N, synthetic
        "Y1110000MF0000013G",  # letter authority Y, synthetic
    ],
)
def test_published_and_synthetic_usccs_are_valid_without_warnings(code):
    # when
    result = check_uscc(code)

    # then
    assert (result.code, result.kind, result.valid, result.reason_code, result.reason) == (
        code,
        "uscc",
        True,
        "",
        "",
    )
    assert result.warnings == ()
    assert result.warning_codes == ()


def test_the_gb_worked_example_decodes_into_its_parts():
    # when
    result = check_uscc("91350100M000100Y43")

    # then
    assert result.details == {
        "authority": "9",
        "authority_name": "工商",
        "category": "1",
        "category_name": "企业",
        "region": "350100",
        "region_name": "福建省 福州市",
        "org_code": "M000100Y4",
    }


def test_the_gb_example_as_printed_ends_in_a_character_outside_the_alphabet_and_names_the_right_one():
    # when
    result = check_uscc("91350100M000100Y4Z")

    # then
    assert not result.valid
    assert result.reason_code == "bad_character"
    assert result.reason == (
        "character 18 is 'Z', expected a digit or one of ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z); "
        "the check character for this code is 3"
    )
    assert result.details == {"position": "18", "character": "Z", "expected": "3"}


def test_a_wrong_check_character_names_the_expected_one():
    # when
    result = check_uscc("91110000600037341N")

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "bad_check_digit",
        "check character is N, expected L",
    )
    assert result.details["expected"] == "L"
    assert result.details["found"] == "N"


def test_letters_outside_the_alphabet_are_bad_characters_at_the_first_position_found():
    # when
    result = check_uscc("9111000060003IOZSV")

    # then
    assert (result.valid, result.reason_code) == (False, "bad_character")
    assert result.details == {"position": "14", "character": "I"}


def test_authority_a_is_accepted_but_the_stdnum_doctest_code_fails_its_check_character():
    # when
    result = check_uscc("A1110000600037341L")

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "bad_check_digit",
        "check character is L, expected K",
    )
    assert result.details["authority_name"] == "中央军委改革和编制办公室"
    assert result.details["category_name"] == "军队事业单位"


def test_stdnum_rejects_letter_authorities_which_is_why_tenderhall_implements_gb_32100_itself():
    # given a synthetic code correct under GB 32100 and GB 11714
    code = "N2330784MF0000005A"

    # then
    assert not uscc.is_valid(code)
    assert check_uscc(code).valid


def test_a_letter_authority_with_a_wrong_embedded_org_code_is_valid_with_a_warning():
    # when
    result = check_uscc("N2330784MF0000001X")

    # then
    assert (result.valid, result.reason_code) == (True, "")
    assert result.warning_codes == ("bad_embedded_org_code",)
    assert result.warnings == ("the embedded organisation code MF0000001 ends in 1, expected 5 (GB 11714)",)
    assert result.details["org_code"] == "MF0000001"


def test_authority_a_with_a_wrong_embedded_org_code_is_valid_with_a_warning():
    # when
    result = check_uscc("A1110000MF0000001X")

    # then
    assert result.valid
    assert result.warning_codes == ("bad_embedded_org_code",)


def test_a_digit_authority_with_a_wrong_embedded_org_code_is_invalid():
    # given the GB example with its embedded check character changed from 4 to 5, and a matching C18
    code = "91350100M000100Y56"

    # when
    result = check_uscc(code)

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "bad_embedded_org_code",
        "the embedded organisation code M000100Y5 ends in 5, expected 4 (GB 11714)",
    )
    assert result.details["expected"] == "4"
    assert result.details["found"] == "5"


def test_an_unknown_authority_is_invalid():
    # when
    result = check_uscc("B1110000600037341L")

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "unknown_authority",
        "registration authority B does not exist: expected one of 123456789ANY",
    )
    assert result.details == {"authority": "B"}


def test_a_category_the_authority_does_not_have_is_invalid():
    # when
    result = check_uscc("95110000600037341L")

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "unknown_category",
        "entity category 5 does not exist for registration authority 9 (工商): expected one of 1, 2, 3",
    )
    assert result.details == {"authority": "9", "authority_name": "工商", "category": "5"}


def test_letters_in_the_region_code_are_bad_characters():
    # when
    result = check_uscc("91AB0000600037341L")

    # then
    assert (result.valid, result.reason_code, result.reason) == (
        False,
        "bad_character",
        "character 3 is 'A', expected a digit (positions 3-8 are a region code)",
    )


def test_a_region_code_missing_from_the_table_is_a_warning_only():
    # when
    result = check_uscc("91660000MA1K3BTP27")

    # then
    assert result.valid
    assert result.warning_codes == ("unknown_region",)
    assert result.warnings == ("region code 660000 is not in the GB/T 2260 table",)
    assert "region_name" not in result.details


def test_a_region_withdrawn_before_2015_is_a_warning_only():
    # given 110103 (崇文区), withdrawn after 2010
    code = "91110103MA1K3BTP2H"

    # when
    result = check_uscc(code)

    # then
    assert result.valid
    assert result.warning_codes == ("withdrawn_region",)
    assert result.warnings == (
        "region code 110103 (北京市 崇文区) was withdrawn after 2010, "
        "before unified social credit codes were issued (2015)",
    )


def test_the_national_level_region_is_accepted_without_a_warning():
    # when
    result = check_uscc("91100000MA1K3BTP2W")

    # then
    assert result.valid
    assert result.warnings == ()
    assert result.details["region_name"] == "全国"


def test_uscc_input_is_normalized_before_checking():
    # given lower case, surrounding blanks and full-width characters from an input method
    raw = " ９１３５０１００ｍ０００１００ｙ４３\u3000"

    # when
    result = check_uscc(raw)

    # then
    assert result.code == "91350100M000100Y43"
    assert result.valid


def test_a_uscc_of_the_wrong_length_is_rejected_before_anything_else():
    # when
    result = check_uscc("91350100M000100Y4")

    # then
    assert (result.reason_code, result.reason, dict(result.details)) == (
        "bad_length",
        "17 characters, expected 18",
        {"length": "17"},
    )


def test_check_character_functions_reject_bodies_they_cannot_weigh():
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_char("91350100M000100Y")
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_char("91350100M000100YI")
    with pytest.raises(ValueError, match="8 characters"):
        org_code_check_char("1234567-")
    with pytest.raises(ValueError, match="17 digits"):
        resident_id_check_char("1101051949123100X")


def test_a_code_check_is_frozen_and_hashable():
    # given
    result = check_uscc("91350100M000100Y43")

    # then
    assert isinstance(result, CodeCheck)
    assert hash(result) == hash(check_uscc("91350100M000100Y43"))
    with pytest.raises(TypeError):
        result.details["region"] = "110000"  # type: ignore[index]  # proving the mapping is read-only


# --- organisation code (GB 11714) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("123456788", "123456788"),
        ("12345678-8", "123456788"),
        ("71526726X", "71526726X"),  # check value 10 is written X
        ("000000000", "000000000"),  # check value 11 is written 0
        ("mf0000005", "MF0000005"),
        ("M000100Y4", "M000100Y4"),
        ("12345678－8", "123456788"),  # full-width hyphen
    ],
)
def test_valid_organisation_codes(raw, code):
    # when
    result = check_org_code(raw)

    # then
    assert (result.code, result.kind, result.valid, result.reason_code) == (code, "org_code", True, "")


@pytest.mark.parametrize(
    ("raw", "reason_code", "reason"),
    [
        ("12345678-9", "bad_check_digit", "check character is 9, expected 8"),
        ("12345678Y", "bad_character", "character 9 is 'Y', expected a digit or X; the check character for "
         "this code is 8"),
        ("1234567*8", "bad_character", "character 8 is '*', expected a digit or a capital letter"),
        ("1234567-88", "bad_length", "10 characters, expected 9 (or 10 with a hyphen before the check "
         "character)"),
        ("12345678", "bad_length", "8 characters, expected 9 (or 10 with a hyphen before the check "
         "character)"),
    ],
)  # fmt: skip
def test_invalid_organisation_codes(raw, reason_code, reason):
    # when
    result = check_org_code(raw)

    # then
    assert (result.valid, result.reason_code, result.reason) == (False, reason_code, reason)


# --- resident ID number (GB 11643) ---------------------------------------------------------------------


def test_the_gb_11643_example_is_a_woman_born_1949_12_31_in_chaoyang():
    # when
    result = check_resident_id("11010519491231002X")

    # then
    assert (result.kind, result.valid, result.reason_code, result.warnings) == ("resident_id", True, "", ())
    assert result.details == {
        "birth_date": "1949-12-31",
        "sex": "F",
        "region": "110105",
        "region_name": "北京市 朝阳区",
    }


def test_the_stdnum_example_is_a_man_born_1991_01_01_in_dean():
    # when
    result = check_resident_id("360426199101010071")

    # then
    assert result.valid
    assert result.details == {
        "birth_date": "1991-01-01",
        "sex": "M",
        "region": "360426",
        "region_name": "江西省 九江市 德安县",
    }


def test_a_lower_case_x_is_accepted():
    assert check_resident_id("11010519491231002x").code == "11010519491231002X"
    assert check_resident_id("11010519491231002x").valid


@pytest.mark.parametrize(
    ("code", "reason_code", "reason"),
    [
        ("110105194912310021", "bad_check_digit", "check character is 1, expected X"),
        ("11010519491231002Y", "bad_character", "character 18 is 'Y', expected a digit or X; the check "
         "character for this number is X"),
        ("1101051949123100AX", "bad_character", "character 17 is 'A', expected a digit"),
        ("11010519491231002", "bad_length", "17 characters, expected 18"),
        ("110105209013310025", "bad_birth_date", "positions 7-14 (20901331) are not a date of birth "
         "YYYYMMDD"),
        ("11010520910229002X", "bad_birth_date", "positions 7-14 (20910229) are not a date of birth "
         "YYYYMMDD"),
        ("110105184901010014", "bad_birth_date", "date of birth 1849-01-01 is before 1850"),
        ("990101209001010015", "unknown_region", "region code 990101 (positions 1-6) is not in the GB/T 2260 "
         "table"),
        ("123456789012345", "obsolete_15_digit", "15-digit identity numbers were replaced by 18-digit ones "
         "(first-generation cards ceased to be valid in 2013): use the 18-digit number"),
    ],
)  # fmt: skip
def test_invalid_resident_ids(code, reason_code, reason):
    # when
    result = check_resident_id(code)

    # then
    assert (result.kind, result.valid, result.reason_code, result.reason) == (
        "resident_id",
        False,
        reason_code,
        reason,
    )


def test_february_29_of_a_leap_year_is_a_date_of_birth():
    assert check_resident_id("110105209202290027").details["birth_date"] == "2092-02-29"


def test_a_birth_date_after_today_is_invalid_only_when_today_is_given():
    # given a synthetic number of someone "born" 2090-01-01
    code = "110105209001010017"

    # when
    without_today = check_resident_id(code)
    with_today = check_resident_id(code, today=datetime.date(2089, 12, 31))
    on_the_day = check_resident_id(code, today=datetime.date(2090, 1, 1))

    # then
    assert without_today.valid
    assert (with_today.valid, with_today.reason_code, with_today.reason) == (
        False,
        "future_birth_date",
        "date of birth 2090-01-01 is in the future",
    )
    assert on_the_day.valid


def test_the_sex_follows_the_parity_of_the_sequence_number():
    assert check_resident_id("110105209001010017").details["sex"] == "M"
    assert check_resident_id("110105209001010025").details["sex"] == "F"


def test_a_region_withdrawn_before_the_birth_year_is_a_warning():
    # given 110103 (崇文区), withdrawn after 2010, and a birth in 2090
    code = "110103209001010014"

    # when
    result = check_resident_id(code)

    # then
    assert result.valid
    assert result.warning_codes == ("withdrawn_region",)
    assert result.warnings == (
        "region code 110103 (北京市 崇文区) was withdrawn after 2010, before the birth year 2090",
    )


def test_a_region_created_after_the_birth_year_is_accepted_unlike_stdnum():
    # given 德安县, listed from 1983, and a birth in 1880: numbers are given at registration, not at birth
    code = "360426188001010070"

    # when
    result = check_resident_id(code)

    # then
    assert result.valid
    assert result.warnings == ()
    assert not ric.is_valid(code)


# --- passport numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "country", "code"),
    [
        ("E12345678", "CHN", "E12345678"),
        ("ea1234567", "chn", "EA1234567"),
        ("G12345678", "CHN", "G12345678"),
        ("D12345678", "CHN", "D12345678"),
        ("PE1234567", "CHN", "PE1234567"),
        ("AB12345", "USA", "AB12345"),
        ("12345678901234567890", "DEU", "12345678901234567890"),
    ],
)
def test_valid_passport_numbers(number, country, code):
    # when
    result = check_passport(number, country)

    # then
    assert (result.code, result.kind, result.valid) == (code, "passport", True)
    assert result.details == {"country": country.upper()}


@pytest.mark.parametrize(
    ("number", "country", "reason_code"),
    [
        ("E1234567", "CHN", "bad_format"),
        ("X12345678", "CHN", "bad_format"),
        ("E123456789", "CHN", "bad_format"),
        ("AB12", "USA", "bad_length"),
        ("123456789012345678901", "USA", "bad_length"),
        ("AB-12345", "USA", "bad_character"),
        ("E12345678", "CN", "bad_country"),
        ("E12345678", "", "bad_country"),
    ],
)
def test_invalid_passport_numbers(number, country, reason_code):
    # when
    result = check_passport(number, country)

    # then
    assert (result.kind, result.valid, result.reason_code) == ("passport", False, reason_code)


def test_a_chinese_passport_failure_says_what_the_format_is():
    assert check_passport("X12345678", "CHN").reason == (
        "a Chinese passport number is E, G, P, S or D followed by 8 digits, "
        "or by a letter and 7 digits (e.g. E12345678, EA1234567)"
    )


# --- region codes (GB/T 2260) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110000", "北京市"),
        ("110105", "北京市 朝阳区"),
        ("110100", "北京市 市辖区"),
        ("350100", "福建省 福州市"),
        ("360426", "江西省 九江市 德安县"),
        ("429004", "湖北省 仙桃市"),  # the placeholder 省直辖县级行政单位 is left out
        ("110103", "北京市 崇文区"),  # withdrawn: still named
        ("120110", "天津市 东丽区"),  # renamed: the latest name
        ("660000", None),
        ("100000", None),
    ],
)
def test_region_names(code, name):
    assert region_name(code) == name


def test_check_region_code_accepts_current_and_withdrawn_codes_and_rejects_unknown_ones():
    # when
    current = check_region_code("110105")
    withdrawn = check_region_code("110103")
    unknown = check_region_code("990000")
    short = check_region_code("11010")
    letters = check_region_code("11A105")

    # then
    assert (current.kind, current.valid, current.warnings) == ("region", True, ())
    assert current.details == {"region": "110105", "region_name": "北京市 朝阳区"}
    assert (withdrawn.valid, withdrawn.warning_codes) == (True, ("withdrawn_region",))
    assert withdrawn.warnings == ("region code 110103 (北京市 崇文区) was withdrawn after 2010",)
    assert (unknown.valid, unknown.reason_code, unknown.reason) == (
        False,
        "unknown_region",
        "region code 990000 is not in the GB/T 2260 table",
    )
    assert (short.reason_code, letters.reason_code) == ("bad_length", "bad_character")


def test_the_region_table_is_the_one_stdnum_reads():
    # given stdnum's own reader of the same file
    database = numdb.get("cn/loc")

    # when
    codes = region_codes()

    # then every province, prefecture and county code is there, and stdnum finds each one
    assert len(codes) == 6885
    assert {"110000", "350100", "360426", "110103"} <= codes
    for code in codes:
        parts = database.info(code)
        assert [len(part) for part, _ in parts] == [2, 4], code
        assert "county" in parts[1][1], code


# --- detection (check_any) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "valid", "reason_code"),
    [
        ("913205056082348768", "uscc", True, ""),  # all digits, a USCC
        ("91350100M000100Y43", "uscc", True, ""),
        ("N2330784MF0000001X", "uscc", True, ""),
        ("11010519491231002X", "resident_id", True, ""),
        ("360426199101010071", "resident_id", True, ""),
        ("110105209001012960", "resident_id", True, ""),  # also a valid USCC, but with an unknown region
        ("91660000MA1K3BTP27", "uscc", True, ""),  # valid with a warning, and no resident ID
        ("123456788", "org_code", True, ""),
        ("12345678-8", "org_code", True, ""),
        ("91110000600037341N", "uscc", False, "bad_check_digit"),  # positions 7-14 are no date
        ("9111000060003IOZSV", "uscc", False, "bad_character"),
        ("11010519491231002Y", "resident_id", False, "bad_character"),  # 17 digits and a date
        ("110105194912310021", "resident_id", False, "bad_check_digit"),
        ("123456789012345", "resident_id", False, "obsolete_15_digit"),
        ("12345678-9", "org_code", False, "bad_check_digit"),
        ("9135010", "unknown", False, "bad_length"),
        ("", "unknown", False, "bad_length"),
    ],
)
def test_check_any_detects_the_kind(raw, kind, valid, reason_code):
    # when
    result = check_any(raw)

    # then
    assert (result.kind, result.valid, result.reason_code) == (kind, valid, reason_code)


def test_a_code_valid_both_ways_reads_as_a_resident_id_when_its_uscc_reading_has_warnings():
    # given
    code = "110105209001012960"

    # then
    assert check_uscc(code).valid
    assert check_uscc(code).warning_codes == ("unknown_region",)
    assert check_any(code) == check_resident_id(code)


def test_when_both_shapes_fail_the_reason_gives_both_readings():
    # when
    result = check_any("110105194912310021")

    # then
    assert result.reason == "check character is 1, expected X (as a USCC: check character is 1, expected B)"
    assert result.details["birth_date"] == "1949-12-31"


def test_an_unknown_length_says_which_lengths_exist():
    assert check_any("9135010").reason == (
        "7 characters, expected 18 (USCC or resident ID) or 9 (organisation code, 10 with a hyphen)"
    )
    assert check_any(" ").reason.startswith("0 characters, expected 18")


# --- python-stdnum's own examples, as installed ------------------------------------------------------------


def _stdnum_examples(module: object) -> list[tuple[str, bool]]:
    """(number, stdnum says valid) for every ``validate('...')`` example in the module's doctests."""
    examples = []
    for test in doctest.DocTestFinder().find(module):
        for example in test.examples:
            if match := re.fullmatch(r"validate\('([^']*)'\)\n", example.source):
                examples.append((match.group(1), example.exc_msg is None))
    return examples


def test_stdnum_uscc_doctest_examples_get_the_same_verdict():
    # given
    examples = _stdnum_examples(uscc)
    assert len(examples) >= 3

    # then
    for number, stdnum_valid in examples:
        assert check_uscc(number).valid == stdnum_valid, number


def test_stdnum_ric_doctest_examples_get_the_same_verdict():
    # given
    examples = _stdnum_examples(ric)
    assert examples

    # then
    for number, stdnum_valid in examples:
        assert check_resident_id(number).valid == stdnum_valid, number


# --- properties --------------------------------------------------------------------------------------------

uscc_chars = st.sampled_from(USCC_ALPHABET)
region_strategy = st.sampled_from(sorted(region_codes()))


@st.composite
def valid_uscc_bodies(draw):
    """17 characters with a real authority, category and region, and a correct embedded organisation code."""
    authority = draw(st.sampled_from(sorted(USCC_AUTHORITIES)))
    category = draw(st.sampled_from(sorted(USCC_AUTHORITIES[authority][1])))
    org_body = "".join(draw(st.lists(uscc_chars, min_size=8, max_size=8)))
    return authority + category + draw(region_strategy) + org_body + org_code_check_char(org_body)


@st.composite
def valid_resident_id_bodies(draw):
    region = draw(region_strategy)
    birth = draw(st.dates(min_value=datetime.date(1850, 1, 1), max_value=datetime.date(2099, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return f"{region}{birth:%Y%m%d}{sequence:03d}"


@settings(max_examples=300, deadline=None)
@given(body=valid_uscc_bodies(), position=st.integers(min_value=0, max_value=17), data=st.data())
def test_a_valid_uscc_fails_after_any_single_character_change(body, position, data):
    # given
    code = body + uscc_check_char(body)
    others = st.sampled_from(USCC_ALPHABET + "IOSVZ-a ").filter(lambda c: normalize(c) != code[position])
    replacement = data.draw(others)
    changed = code[:position] + replacement + code[position + 1 :]

    # when
    original, result = check_uscc(code), check_uscc(changed)

    # then
    assert original.valid
    assert set(original.warning_codes) <= {"withdrawn_region"}
    assert not result.valid
    assert result.reason_code in {
        "bad_length",  # a blank at either end is stripped
        "bad_character",
        "bad_check_digit",
        "unknown_authority",
        "unknown_category",
    }


digit_prefixed_uscc_bodies = st.builds(
    lambda digits, rest: digits + rest,
    st.text(string.digits, min_size=8, max_size=8),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


@settings(max_examples=500, deadline=None)
@given(body=digit_prefixed_uscc_bodies, last=uscc_chars, use_computed=st.booleans())
def test_the_gb_32100_check_character_agrees_with_stdnum_on_digit_prefixed_codes(body, last, use_computed):
    # given a code whose check character is right about half the time
    code = body + (uscc_check_char(body) if use_computed else last)

    # when
    result = check_uscc(code)

    # then
    assert uscc_check_char(body) == uscc.calc_check_digit(body)
    assert uscc.is_valid(code) == (code[17] == uscc_check_char(body))
    if result.valid:
        assert uscc.is_valid(code)
    if uscc.is_valid(code):
        assert result.reason_code in {"", "unknown_authority", "unknown_category", "bad_embedded_org_code"}
    else:
        assert result.reason_code in {"bad_check_digit", "unknown_authority", "unknown_category"}


@settings(max_examples=300, deadline=None)
@given(body=st.text(string.digits + string.ascii_uppercase, min_size=8, max_size=8), data=st.data())
def test_an_organisation_code_fails_after_any_change_of_one_digit_into_another(body, data):
    # given (GB 11714's mod 11 cannot see a letter swapped for one 11 values away, e.g. 0 and B)
    code = body + org_code_check_char(body)
    digit_positions = [index for index, char in enumerate(code) if char in string.digits]
    if not digit_positions:
        return
    position = data.draw(st.sampled_from(digit_positions))
    replacement = data.draw(st.sampled_from(string.digits).filter(lambda c: c != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]

    # then
    assert check_org_code(code).valid
    assert not check_org_code(changed).valid


@settings(max_examples=300, deadline=None)
@given(body=valid_resident_id_bodies(), position=st.integers(min_value=0, max_value=17), data=st.data())
def test_a_valid_resident_id_fails_after_any_single_character_change(body, position, data):
    # given
    code = body + resident_id_check_char(body)
    replacement = data.draw(st.sampled_from(string.digits + "X").filter(lambda c: c != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]

    # when
    original, result = check_resident_id(code), check_resident_id(changed)

    # then
    assert original.valid
    assert not result.valid


@settings(max_examples=300, deadline=None)
@given(body=valid_resident_id_bodies(), last=st.sampled_from(string.digits + "X"))
def test_resident_ids_stdnum_accepts_are_accepted_with_the_same_check_character(body, last):
    # given
    code = body + last

    # when
    result = check_resident_id(code)

    # then
    assert resident_id_check_char(body) == ric.calc_check_digit(code)
    if ric.is_valid(code):
        assert result.valid
    if result.valid:
        assert last == ric.calc_check_digit(code)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=24))
def test_check_any_never_raises_and_answers_consistently(raw):
    # when
    result = check_any(raw)

    # then
    assert result.kind in KINDS
    assert result.code == normalize(raw) or result.kind == "org_code"
    assert result.valid == (result.reason_code == "") == (result.reason == "")
    assert len(result.warnings) == len(result.warning_codes)
    assert result.valid or result.warnings == ()
