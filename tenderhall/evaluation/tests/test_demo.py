"""`tenderhall demo-data --evaluations` leaves a tender at each stage of the evaluation, made with real keys
and signatures, and the log verifies on it; a second run changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from tenderhall.core import clock
from tenderhall.evaluation.models import Contract, Evaluation, Member, Report
from tenderhall.ledger.models import Leaf
from tenderhall.procedures.models import Tender

pytestmark = pytest.mark.django_db
DEMO_NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: DEMO_NOW)


def test_demo_evaluations_cover_every_stage_and_verify():
    # when
    out = io.StringIO()
    call_command("demo-data", "--evaluations", stdout=out)
    # then one tender per stage, in the status that stage means
    stages = {
        evaluation.lot.tender.name: (evaluation.lot.tender.status, evaluation.status)
        for evaluation in Evaluation.objects.select_related("lot__tender")
    }
    assert stages == {
        "江城市东湖中学体育馆改造施工": ("evaluation", "committee"),
        "江城市青山区人民医院门诊楼改造施工": ("evaluation", "scoring"),
        "江城市汉正街地下通道改造施工": ("evaluation", "reported"),
        "江城市沙湖公园步道改造施工": ("publicity", "reported"),
        "江城市江汉路步行街改造施工": ("awarded", "reported"),
        "江城市光谷第三小学教学楼改造施工": ("contracted", "reported"),
    }
    assert Member.objects.filter(status="invited").count() == 5  # the drawn committee awaits its experts
    assert Report.objects.filter(signed_at__isnull=False).count() == 4
    assert Contract.objects.get().differences == []
    # and the whole log verifies against the rows and files
    verified = io.StringIO()
    call_command("ledger", "verify", stdout=verified)
    assert verified.getvalue().rstrip().endswith("OK: the log verifies"), verified.getvalue()
    # a second run adds nothing
    leaves, tenders = Leaf.objects.count(), Tender.objects.count()
    call_command("demo-data", "--evaluations", stdout=io.StringIO())
    assert (Leaf.objects.count(), Tender.objects.count()) == (leaves, tenders)
