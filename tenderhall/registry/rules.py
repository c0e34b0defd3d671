"""Registry rules: which identifier an entity kind needs, and what a change to an entity means. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from tenderhall.accounts.rules import phone_problem
from tenderhall.core.codes import CodeCheck, check_region_code, check_resident_id, check_uscc
from tenderhall.core.codes_messages import code_check_message
from tenderhall.registry.choices import EntityKind, SubRegistry

# Changing one of these on an approved entity sends it back to the operator for review.
REVIEWED_FIELDS = frozenset({"kind", "name", "identifier", "region_code", "legal_representative"})
EDITABLE_FIELDS = ("name", "region_code", "address", "legal_representative", "contact_phone", "tags")
INDIVIDUAL_BUSINESS_PREFIX = "92"
# A contact phone may also be a landline with its area code (0 and 2 or 3 digits, then 7 or 8) and perhaps
# an extension, or a 400 or 800 number; besides what a person's phone may be (accounts.rules.phone_problem:
# a mainland mobile, an international +number). Spaces, hyphens, brackets and 转 (extension) are left out.
_PHONE_SEPARATORS = re.compile(r"[\s\-()转]")
_FIXED_LINES = re.compile(r"^(0[0-9]{9,11}([0-9]{1,6})?|[48]00[0-9]{7})$")


def contact_phone_problem(phone: str) -> str | None:
    """None when ``phone`` (as stored: full-width forms already ASCII) is a number someone can call."""
    compact = _PHONE_SEPARATORS.sub("", phone)
    if _FIXED_LINES.match(compact) or phone_problem(compact) is None:
        return None
    return gettext(
        "Enter a number someone can call: a mobile number, a landline with its area code (such as "
        "0755-88886666), a 400 or 800 number, or an international +number."
    )


def identifier_check(kind: str, identifier: str) -> CodeCheck:
    if kind == EntityKind.NATURAL_PERSON:
        return check_resident_id(identifier)
    return check_uscc(identifier)


def entity_problems(fields: Mapping[str, Any]) -> dict[str, str]:
    """Per-field problems of an entity's registration data; the same reasons on the form and in the API."""
    problems: dict[str, str] = {}
    kind = fields.get("kind", "")
    if kind not in EntityKind.values:
        problems["kind"] = gettext("Choose the kind of entity: %(kinds)s.") % {
            "kinds": ", ".join(EntityKind.values)
        }
    if not str(fields.get("name", "")).strip():
        problems["name"] = gettext("Enter the registered name.")
    identifier = str(fields.get("identifier", "")).strip().upper()
    if kind in EntityKind.values:
        check = identifier_check(kind, identifier)
        if not check.valid:
            problems["identifier"] = code_check_message(check)
        elif kind != EntityKind.NATURAL_PERSON:
            is_individual = identifier.startswith(INDIVIDUAL_BUSINESS_PREFIX)
            if kind == EntityKind.INDIVIDUAL_BUSINESS and not is_individual:
                problems["identifier"] = gettext(
                    "An individual business's code starts with 92; check the kind or the code."
                )
            elif kind != EntityKind.INDIVIDUAL_BUSINESS and is_individual:
                problems["identifier"] = gettext(
                    "Codes starting with 92 belong to individual businesses: choose that kind."
                )
    region = str(fields.get("region_code", "")).strip()
    region_check = check_region_code(region)
    if not region_check.valid:
        problems["region_code"] = code_check_message(region_check)
    if kind != EntityKind.NATURAL_PERSON and not str(fields.get("legal_representative", "")).strip():
        problems["legal_representative"] = gettext("Enter the legal representative or person in charge.")
    phone = str(fields.get("contact_phone", ""))
    if phone and (problem := contact_phone_problem(phone)):
        problems["contact_phone"] = problem
    tags = fields.get("tags", [])
    unknown = [t for t in tags if t not in SubRegistry.values] if isinstance(tags, list) else ["?"]
    if unknown:
        problems["tags"] = gettext("Unknown sub-registries %(tags)s: use %(choices)s.") % {
            "tags": ", ".join(map(str, unknown)),
            "choices": ", ".join(SubRegistry.values),
        }
    return problems


def default_region(kind: str, identifier: str) -> str:
    """The region code carried by the identifier: USCC positions 3-8, resident ID positions 1-6."""
    identifier = identifier.strip().upper()
    return identifier[:6] if kind == EntityKind.NATURAL_PERSON else identifier[2:8]


def needs_review(changed: set[str]) -> bool:
    return bool(changed & REVIEWED_FIELDS)
