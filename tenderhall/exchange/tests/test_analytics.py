"""Indicators run on native and imported data alike: both give compiled releases of one shape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tenderhall.exchange.analytics import Source, compiled_releases
from tenderhall.exchange.importer import ocds_import
from tenderhall.exchange.tests.generated import Case, Generator
from tenderhall.exchange.tests.support import NOW

pytestmark = pytest.mark.django_db
SAMPLES = (
    Path(__file__).resolve().parent / "samples"
)  # the publishers' files of shared/ocds/samples, as they are


def method_shares(compiled: Iterable[dict[str, Any]]) -> Counter[str]:
    """A toy indicator: contracting processes by procurement method, whatever the data's quality."""
    counts: Counter[str] = Counter()
    for release in compiled:
        tender = release.get("tender")
        method = tender.get("procurementMethod") if isinstance(tender, dict) else None
        counts[method if isinstance(method, str) else "(none)"] += 1
    return counts


def test_one_indicator_runs_over_native_and_imported_processes() -> None:
    # given native tenders and every publisher sample imported
    generator = Generator(at=NOW - timedelta(days=30))
    for case in (Case(), Case(procedure_type="single_source"), Case(procedure_type="works_invited")):
        generator.tender(case)
    for path in sorted(SAMPLES.glob("*.json")):
        ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    # when the same indicator runs over both
    native = list(compiled_releases(source=Source.NATIVE))
    imported = list(compiled_releases(source=Source.IMPORTED))
    # then both are compiled releases, one per process
    assert all(r["tag"] == ["compiled"] for r in native)
    assert all("compiled" in r["tag"] for r in imported)  # Jalisco's own compiled release keeps its tags
    assert len(native) == 3
    assert len(imported) == 7
    assert method_shares(native) == Counter({"open": 1, "direct": 1, "limited": 1})
    shares = method_shares(imported)
    assert sum(shares.values()) == 7
    assert shares["公開取得報價單或企劃書"] == 1  # Taiwan's label kept as published: an indicator sees it
