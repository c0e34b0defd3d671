"""One shape for indicators over native and imported data: compiled releases (OCDS), one per contracting
process. An indicator is a function of compiled releases; it runs unchanged over the platform's own
processes and over what other publishers' files brought in, however messy (see ``importer``)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from tenderhall.exchange.models import ImportedRecord, ImportedRelease
from tenderhall.exchange.ocds_merge import compile_releases
from tenderhall.exchange.selectors import all_records


class Source(StrEnum):
    NATIVE = "native"
    IMPORTED = "imported"


def compiled_releases(*, source: Source) -> Iterator[dict[str, Any]]:
    """Compiled releases of every contracting process of ``source``, one at a time."""
    if source == Source.NATIVE:
        for record in all_records():
            yield record["compiledRelease"]
        return
    ocids = ImportedRelease.objects.order_by("ocid").values_list("ocid", flat=True).distinct()
    compiled_ocids = set()
    for ocid in ocids.iterator():
        releases = (
            ImportedRelease.objects.filter(ocid=ocid).order_by("date", "pk").values_list("data", flat=True)
        )
        compiled_ocids.add(ocid)
        yield compile_releases(list(releases))
    # records whose publisher gave only the compiled release (its releases linked, not embedded)
    for imported in ImportedRecord.objects.exclude(compiled=None).order_by("ocid", "pk").iterator():
        if imported.ocid not in compiled_ocids and isinstance(imported.compiled, dict):
            compiled_ocids.add(imported.ocid)
            yield imported.compiled
