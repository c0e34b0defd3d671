"""The reasons and warnings of identifier checks in the active language: the web layer's side of codes.py.

``tenderhall.core.codes`` stays free of Django, so its ``reason`` and ``warnings`` are English. Here each
``reason_code`` (and warning code) gets a translatable message filled in from ``CodeCheck.details``. The
English message is the module's own sentence, word for word; rendering it in English and comparing with
``check.reason`` guards the two against drifting apart: when they differ (codes.py worded a reason anew and
this module was not updated), the English reason is shown rather than a translation of something else.
Catalogues: docs/translations.md. Reason codes and their details: docs/codes.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from django.utils import translation
from django.utils.translation import gettext, ngettext

from tenderhall.core.codes import (
    EARLIEST_BIRTH_YEAR,
    USCC_AUTHORITIES,
    USCC_FIRST_YEAR,
    CodeCheck,
    check_resident_id,
    check_uscc,
    org_code_check_char,
    region_withdrawn_after,
)


def code_check_message(check: CodeCheck) -> str:
    """Why ``check`` failed, in the active language; empty for a valid code."""
    if check.valid:
        return ""
    return _guarded(partial(_reason, check), check.reason)


def code_check_warnings(check: CodeCheck) -> tuple[str, ...]:
    """The warnings of a valid ``check``, in the active language and in the same order."""
    return tuple(
        _guarded(partial(_warning, check, code), english)
        for code, english in zip(check.warning_codes, check.warnings, strict=True)
    )


def _guarded(render: Callable[[], str | None], english: str) -> str:
    with translation.override("en"):
        rendered_in_english = render()
    if rendered_in_english != english:
        return english
    message = render()
    return english if message is None else message


def _reason(check: CodeCheck) -> str | None:
    message = _single_reason(check)
    if message is None or check.kind not in ("uscc", "resident_id"):
        return message
    with translation.override("en"):
        combined = _single_reason(check) != check.reason
    if not combined:
        return message
    # check_any on a code with the shape of both kinds: the reason also gives the other reading's failure.
    if check.kind == "uscc":
        other = _single_reason(check_resident_id(check.code))
        template = gettext("%(reason)s (as a resident ID: %(other_reason)s)")
    else:
        other = _single_reason(check_uscc(check.code))
        template = gettext("%(reason)s (as a USCC: %(other_reason)s)")
    return None if other is None else template % {"reason": message, "other_reason": other}


def _single_reason(check: CodeCheck) -> str | None:  # noqa: PLR0911, PLR0912  # a case per reason code
    details = check.details
    match check.reason_code:
        case "bad_length":
            return _bad_length(check.kind, int(details["length"]))
        case "bad_character":
            return _bad_character(check.kind, details)
        case "bad_check_digit":
            return gettext("check character is %(found)s, expected %(expected)s") % details
        case "bad_embedded_org_code":
            return (
                gettext(
                    "the embedded organisation code %(org_code)s ends in %(found)s, expected %(expected)s "
                    "(GB 11714)"
                )
                % details
            )
        case "unknown_authority":
            return gettext(
                "registration authority %(authority)s does not exist: expected one of %(authorities)s"
            ) % {"authority": details["authority"], "authorities": "".join(USCC_AUTHORITIES)}
        case "unknown_category":
            authority = details["authority"]
            return gettext(
                "entity category %(category)s does not exist for registration authority %(authority)s "
                "(%(authority_name)s): expected one of %(categories)s"
            ) % {
                "category": details["category"],
                "authority": authority,
                "authority_name": details["authority_name"],
                "categories": ", ".join(USCC_AUTHORITIES[authority][1]),
            }
        case "obsolete_15_digit":
            return gettext(
                "15-digit identity numbers were replaced by 18-digit ones "
                "(first-generation cards ceased to be valid in 2013): use the 18-digit number"
            )
        case "bad_birth_date" if "-" in details["birth_date"]:
            return gettext("date of birth %(birth_date)s is before %(year)s") % {
                "birth_date": details["birth_date"],
                "year": EARLIEST_BIRTH_YEAR,
            }
        case "bad_birth_date":
            return gettext("positions 7-14 (%(birth_date)s) are not a date of birth YYYYMMDD") % details
        case "future_birth_date":
            return gettext("date of birth %(birth_date)s is in the future") % details
        case "unknown_region" if check.kind == "resident_id":
            return gettext("region code %(region)s (positions 1-6) is not in the GB/T 2260 table") % details
        case "unknown_region":
            return gettext("region code %(region)s is not in the GB/T 2260 table") % details
        case "bad_country":
            return gettext("issuing country %(country)s is not an ISO 3166-1 alpha-3 code such as CHN") % {
                "country": repr(details["country"])
            }
        case "bad_format":
            return gettext(
                "a Chinese passport number is E, G, P, S or D followed by 8 digits, "
                "or by a letter and 7 digits (e.g. E12345678, EA1234567)"
            )
    return None


def _bad_length(kind: str, length: int) -> str | None:
    values = {"count": length}
    match kind:
        case "uscc" | "resident_id":
            return (
                ngettext("%(count)d character, expected 18", "%(count)d characters, expected 18", length)
                % values
            )
        case "org_code":
            return (
                ngettext(
                    "%(count)d character, expected 9 (or 10 with a hyphen before the check character)",
                    "%(count)d characters, expected 9 (or 10 with a hyphen before the check character)",
                    length,
                )
                % values
            )
        case "passport":
            return (
                ngettext(
                    "%(count)d character, expected 5 to 20", "%(count)d characters, expected 5 to 20", length
                )
                % values
            )
        case "region":
            return (
                ngettext("%(count)d character, expected 6", "%(count)d characters, expected 6", length)
                % values
            )
        case "unknown":
            return (
                ngettext(
                    "%(count)d character, expected 18 (USCC or resident ID) "
                    "or 9 (organisation code, 10 with a hyphen)",
                    "%(count)d characters, expected 18 (USCC or resident ID) "
                    "or 9 (organisation code, 10 with a hyphen)",
                    length,
                )
                % values
            )
    return None


def _bad_character(kind: str, details: Mapping[str, str]) -> str | None:  # noqa: PLR0911  # one per shape
    values = {"position": details["position"], "character": repr(details["character"])}
    check_char = "expected" in details
    match kind:
        case "uscc" if "authority_name" in details:
            return (
                gettext(
                    "character %(position)s is %(character)s, expected a digit "
                    "(positions 3-8 are a region code)"
                )
                % values
            )
        case "uscc" if check_char:
            return gettext(
                "character %(position)s is %(character)s, expected a digit or one of "
                "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z); the check character for this code is %(expected)s"
            ) % {**values, "expected": details["expected"]}
        case "uscc":
            return (
                gettext(
                    "character %(position)s is %(character)s, expected a digit or one of "
                    "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"
                )
                % values
            )
        case "org_code" if check_char:
            return gettext(
                "character %(position)s is %(character)s, expected a digit or X; "
                "the check character for this code is %(expected)s"
            ) % {**values, "expected": details["expected"]}
        case "resident_id" if check_char:
            return gettext(
                "character %(position)s is %(character)s, expected a digit or X; "
                "the check character for this number is %(expected)s"
            ) % {**values, "expected": details["expected"]}
        case "org_code" | "passport":
            return (
                gettext("character %(position)s is %(character)s, expected a digit or a capital letter")
                % values
            )
        case "resident_id" | "region":
            return gettext("character %(position)s is %(character)s, expected a digit") % values
    return None


def _warning(check: CodeCheck, warning_code: str) -> str | None:
    details = check.details
    match warning_code:
        case "unknown_region":
            return gettext("region code %(region)s is not in the GB/T 2260 table") % details
        case "withdrawn_region":
            values = {
                "region": details["region"],
                "region_name": details["region_name"],
                "last_year": region_withdrawn_after(details["region"]),
            }
            if check.kind == "uscc":
                return gettext(
                    "region code %(region)s (%(region_name)s) was withdrawn after %(last_year)s, "
                    "before unified social credit codes were issued (%(first_year)s)"
                ) % {**values, "first_year": USCC_FIRST_YEAR}
            if check.kind == "resident_id":
                return gettext(
                    "region code %(region)s (%(region_name)s) was withdrawn after %(last_year)s, "
                    "before the birth year %(birth_year)s"
                ) % {**values, "birth_year": details["birth_date"][:4]}
            return (
                gettext("region code %(region)s (%(region_name)s) was withdrawn after %(last_year)s") % values
            )
        case "bad_embedded_org_code":
            org_code = details["org_code"]
            return gettext(
                "the embedded organisation code %(org_code)s ends in %(found)s, expected %(expected)s "
                "(GB 11714)"
            ) % {"org_code": org_code, "found": org_code[8], "expected": org_code_check_char(org_code[:8])}
    return None
