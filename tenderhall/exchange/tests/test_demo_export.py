"""The whole demo data — tenders published, at the opening and at every evaluation stage to the contract —
exports as OCDS release and record packages with no schema error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tenderhall.exchange.tests.support import use_clock
from tenderhall.exchange.validation import package_errors
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender

pytestmark = pytest.mark.django_db


def test_every_package_of_the_whole_demo_data_validates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # given: the demo data as `make run` loads it
    use_clock(monkeypatch)
    call_command("demo-data", stdout=io.StringIO())
    statuses = set(Tender.objects.values_list("status", flat=True))
    assert {TenderStatus.BIDDING, TenderStatus.OPENING, TenderStatus.EVALUATION} <= statuses
    assert {TenderStatus.PUBLICITY, TenderStatus.AWARDED, TenderStatus.CONTRACTED} <= statuses
    # when
    for name, extra in (("releases.json", []), ("records.json", ["--records"])):
        call_command("export-ocds", *extra, "-o", str(tmp_path / name), stdout=io.StringIO())
    # then: 0 errors against the official 1.1.5 schema, awards and contracts included
    releases = json.loads((tmp_path / "releases.json").read_text())
    records = json.loads((tmp_path / "records.json").read_text())
    assert package_errors(releases) == []
    assert package_errors(records) == []
    compiled = [record["compiledRelease"] for record in records["records"]]
    assert len(compiled) == Tender.objects.exclude(status=TenderStatus.DRAFT).count()
    assert any(release.get("awards") for release in compiled)
    assert any(release.get("contracts") for release in compiled)
