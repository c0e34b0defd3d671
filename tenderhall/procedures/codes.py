"""Project, tender and lot codes in the national data spec's layout, from counters that only grow.

* project code, 17 characters: sector letter (E works, G procurement, Q other), the 6-digit GB/T 2260 region
  code, the 4-digit year of registration, a 6-digit sequence per sector, region and year;
* tender code, 20: the project code and a 3-digit sequence within the project;
* lot code, 23: the tender code and a 3-digit sequence within the tender.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.core.errors import Conflict
from tenderhall.procedures.choices import SECTOR_LETTERS
from tenderhall.procedures.models import CodeCounter


class CodeSpaceExhausted(Conflict):
    code = "code_space_exhausted"


def _next(scope: str, *, width: int) -> str:
    """The next number in ``scope``, zero-padded; the caller's transaction holds the counter's lock."""
    if not transaction.get_connection().in_atomic_block:
        msg = "codes are drawn inside the transaction that stores them"
        raise RuntimeError(msg)
    CodeCounter.objects.get_or_create(scope=scope)
    counter = CodeCounter.objects.select_for_update().get(scope=scope)
    value = counter.next_value
    if value >= 10**width:
        raise CodeSpaceExhausted(
            gettext("All %(count)s codes of %(scope)s are used.") % {"count": 10**width - 1, "scope": scope}
        )
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return f"{value:0{width}d}"


def project_code_next(*, sector: str, region_code: str, year: int) -> str:
    prefix = f"{SECTOR_LETTERS[sector]}{region_code}{year:04d}"
    return prefix + _next(prefix, width=6)


def tender_code_next(project_code: str) -> str:
    return project_code + _next(project_code, width=3)


def lot_code_next(tender_code: str) -> str:
    return tender_code + _next(tender_code, width=3)
