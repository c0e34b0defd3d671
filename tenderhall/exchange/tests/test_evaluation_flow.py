"""Awards and contracts made by the evaluation app's own services (report, candidates' publicity, award,
contract) reach OCDS and the national datasets: the tender's record validates and carries them, and the
candidates, results and contract rows keep the field formats."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from tenderhall.evaluation import award, reports, workspace
from tenderhall.evaluation.models import EvaluatedBid, Report
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    Scene,
    declare_all,
    drawn_committee,
    make_scene,
    score_all,
    seated,
    set_up,
    signer_for,
)
from tenderhall.exchange import validation
from tenderhall.exchange.export import ocds_export
from tenderhall.exchange.national import DATASETS, field_problems
from tenderhall.exchange.national_sources import ROWS
from tenderhall.exchange.tests.support import PREFIX
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures.services import tender_record

pytestmark = pytest.mark.django_db


def published(scene: Scene) -> None:
    """The scene's tender is made as rows; its publication leaf is what tender_publish would have logged."""
    tender = scene.tender
    with transaction.atomic():
        tender.published_record = tender_record(tender)
        tender.save(update_fields=["published_record"])
        ledger_append(
            event_type="procedures:tender:published",
            subjects={"tender": str(tender.pk), "project": str(tender.project_id)},
            hashes={},
            actor=None,
            at=tender.published_at,
            data={"code": tender.code},
        )


def awarded_and_contracted(scene: Scene) -> EvaluatedBid:
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    score_all(
        scene,
        committee,
        {
            0: {"tech": ["30"] * 5, "biz": ["10"] * 5},
            1: {"tech": ["45"] * 5, "biz": ["20"] * 5},
            2: {"tech": ["40"] * 5, "biz": ["15"] * 5},
        },
    )
    workspace.evaluation_conclude(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    pdf = report.file.open("rb").read()
    for member in seated(committee):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    assert Report.objects.get(pk=report.pk).signed_at is not None
    publicity = award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    after = publicity.ends_at + timedelta(hours=1)
    first = EvaluatedBid.objects.get(evaluation=scene.ev, rank=1)
    award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=first.pk, now=after)
    award.contract_record(
        actor=scene.tenderee,
        evaluation_id=scene.ev.pk,
        amount=Decimal("119.50"),
        duration_days=360,
        signed_on=after + timedelta(days=10),
        document=b"contract text",
        now=after + timedelta(days=10),
    )
    return first


def test_the_evaluation_services_awards_and_contract_reach_ocds_and_the_national_datasets(
    settings: Any,
) -> None:
    settings.TENDERHALL_OCID_PREFIX = PREFIX
    # given a tender evaluated, its candidates published, awarded and its contract recorded by the services
    scene = make_scene(experts=5)
    published(scene)
    winner = awarded_and_contracted(scene)
    tender, lot = scene.tender, scene.lot
    # when everything is exported as records
    out = io.StringIO()
    ocds_export(out=out, records=True, now=EVALUATION_AT)
    package = json.loads(out.getvalue())
    # then the package is valid and the tender's record has the award and the contract
    assert validation.package_errors(package) == []
    (record,) = [r for r in package["records"] if r["ocid"] == f"{PREFIX}-{tender.code}"]
    tags = [r["tag"] for r in record["releases"]]
    assert tags.index(["award"]) < tags.index(["contract"])  # the award with the result, then the contract
    assert record["releases"][-1]["tender"]["statusDetails"] == "已签合同"
    compiled = record["compiledRelease"]
    (awarded,) = compiled["awards"]
    assert awarded["id"] == f"award-{lot.code}"
    assert awarded["suppliers"] == [{"id": f"CN-SAIC-{winner.entity.identifier}", "name": winner.entity.name}]
    assert Decimal(str(awarded["value"]["amount"])) == winner.price
    (contract,) = compiled["contracts"]
    assert (contract["awardID"], contract["value"]) == (awarded["id"], {"amount": 119.5, "currency": "CNY"})
    assert contract["period"] == {"durationInDays": 360}
    assert compiled["tender"]["status"] == "complete"
    # and the national datasets have the candidates, the result and the contract, each row conforming
    rows = {key: [r for r in ROWS[key]() if r.get("TENDER_PROJECT_CODE") == tender.code] for key in DATASETS}
    assert [r["WIN_CANDIDATE_ORDER"] for r in rows["candidates_notice"]] == ["1", "2", "3"]
    assert rows["candidates_notice"][0]["WIN_CANDIDATE_NAME"] == winner.entity.name
    assert [(r["WIN_BIDDER_NAME"], r["WIN_BIDDER_CODE"]) for r in rows["result_notice"]] == [
        (winner.entity.name, winner.entity.identifier)
    ]
    assert [(r["WIN_BIDDER_NAME"], r["CONTRACT_AMOUNT"], r["TIME_LIMIT"]) for r in rows["contract"]] == [
        (winner.entity.name, "119.50", "360")
    ]
    for key, found in rows.items():
        for row in found:
            assert field_problems(DATASETS[key], row) == [], (key, row)
