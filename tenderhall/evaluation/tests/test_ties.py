"""The tie-break draw for the first place: the seed committed before any score, the tied bids fixed at the
conclusion, the order drawn and reproducible from the revealed seed with hashlib alone, the award order that
follows; ties that decide nothing drawn never; seeds revealed when the tender is terminated."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tenderhall.core.errors import NotFound
from tenderhall.core.models import AuditEntry
from tenderhall.evaluation import award, committees, draw, reports, selectors, ties
from tenderhall.evaluation.models import Committee, EvaluatedBid, Evaluation, TieDraw
from tenderhall.evaluation.tests.support import (
    EVALUATION_AT,
    Scene,
    concluded,
    counts,
    declare_all,
    drawn_committee,
    leaf_problems,
    leaves,
    make_scene,
    seated,
    set_up,
    signer_for,
)
from tenderhall.ledger.models import Leaf
from tenderhall.procedures import services as procedures
from tenderhall.procedures.choices import TenderStatus

pytestmark = pytest.mark.django_db

EQUAL = {i: {"tech": ["40"] * 5, "biz": ["10"] * 5} for i in range(3)}


def bids(scene: Scene) -> list[EvaluatedBid]:
    return list(EvaluatedBid.objects.filter(evaluation=scene.ev).select_related("bid").order_by("bid_id"))


def event_types() -> list[str]:
    return list(
        Leaf.objects.filter(event_type__startswith="evaluation:")
        .order_by("index")
        .values_list("event_type", flat=True)
    )


def test_the_seed_is_committed_at_the_set_up_before_the_committee_and_any_score():
    # given a tender under evaluation
    scene = make_scene(experts=5)
    # when its lot's evaluation is set up
    set_up(scene)
    # then the tie-break seed's commitment is logged first, the seed kept secret
    tie = TieDraw.objects.get(evaluation=scene.ev)
    assert event_types() == ["evaluation:tie:committed"]
    [leaf] = leaves("evaluation:tie:committed")
    assert leaf["hashes"] == {"seed": tie.commitment}
    assert tie.commitment == "sha256:" + hashlib.sha256(bytes(tie.seed)).hexdigest()
    assert "seed" not in leaf.get("data", {})
    assert (
        AuditEntry.objects.filter(action="evaluation:tie:committed", subject_id=str(scene.ev.pk)).count() == 1
    )


def test_a_tie_for_the_first_place_is_drawn_from_the_seed_and_decides_the_award_order():
    # given two bids with the same price and the same scores: tied for the first place (并列第一)
    scene = make_scene(experts=5)
    committee = concluded(scene, EQUAL, ("100", "100", "150"))
    first, second, third = bids(scene)
    evaluation = Evaluation.objects.get(pk=scene.ev.pk)
    assert [(e["rank"], e["tied"]) for e in (evaluation.results or {})["ranking"]] == [
        (1, True),
        (1, True),
        (3, False),
    ]
    tie = TieDraw.objects.get(evaluation=scene.ev)
    assert tie.tied == [
        {"bid": bid.pk, "key": bid.bid.sha256} for bid in sorted((first, second), key=lambda b: b.bid.sha256)
    ]
    assert (tie.revealed_at, leaves("evaluation:tie:revealed")) == (None, [])
    # the report waits for the draw
    with pytest.raises(ties.TieUnsettled) as raised:
        reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert (raised.value.code, raised.value.status) == ("tie_unsettled", 409)
    # when the agency draws
    drawn = ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    # then the order is the keys sorted by SHA-256(seed ‖ key), recomputed here from the logged seed alone
    [leaf] = leaves("evaluation:tie:drawn")
    seed = bytes.fromhex(leaf["data"]["seed"])
    assert hashlib.sha256(seed).hexdigest() == leaves("evaluation:tie:committed")[0]["hashes"]["seed"][7:]
    keys = {first.bid.sha256: first.pk, second.bid.sha256: second.pk}
    expected = [keys[k] for k in sorted(keys, key=lambda k: (hashlib.sha256(seed + k.encode()).digest(), k))]
    assert drawn.order == expected
    assert leaf["data"] == {"seed": seed.hex(), "tied": 2}
    assert leaf["hashes"] == {"seed": drawn.commitment}
    assert AuditEntry.objects.filter(action="evaluation:tie:drawn").count() == 1
    # the ranking and the candidates follow the draw; the concluded results (their hash logged) do not change
    assert selectors.ranking_settled(evaluation) == [
        {"bid": expected[0], "rank": 1, "tied": False, "drawn": True},
        {"bid": expected[1], "rank": 2, "tied": False, "drawn": True},
        {"bid": third.pk, "rank": 3, "tied": False, "drawn": False},
    ]
    assert selectors.candidates_settled(evaluation) == [*expected, third.pk]
    assert dict(EvaluatedBid.objects.filter(evaluation=scene.ev).values_list("pk", "rank")) == {
        expected[0]: 1,
        expected[1]: 2,
        third.pk: 3,
    }
    assert Evaluation.objects.get(pk=scene.ev.pk).results == evaluation.results
    assert leaf_problems() == []
    # a second draw is refused
    with pytest.raises(ties.TieState):
        ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    # and the report, the candidates' notice and the award take the drawn order
    report = reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert [row["bid"] for row in report.content["ranking"]] == [*expected, third.pk]
    pdf = report.file.open("rb").read()
    for member in seated(committee):
        reports.report_sign(
            actor=member.user,
            evaluation_id=scene.ev.pk,
            signature=signer_for(scene, member.user).pkcs7(pdf),
            now=EVALUATION_AT,
        )
    publicity = award.candidates_publish(actor=scene.agency, tender_id=scene.tender.pk, now=EVALUATION_AT)
    names = {b.pk: b.entity.name for b in bids(scene)}
    listed = publicity.notice.data["candidates"][0]["candidates"]
    assert [(c["rank"], c["bidder"], c["drawn"]) for c in listed] == [
        (1, names[expected[0]], True),
        (2, names[expected[1]], True),
        (3, names[third.pk], False),
    ]
    after = publicity.ends_at
    with pytest.raises(award.NotACandidate, match="first-ranked"):
        award.award_decide(actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=expected[1], now=after)
    decided = award.award_decide(
        actor=scene.tenderee, evaluation_id=scene.ev.pk, bid_id=expected[0], now=after
    )
    assert leaves("evaluation:award:decided")[0]["data"]["first_ranked"] is True
    assert decided.winner_id == expected[0]


def test_without_a_tie_for_the_first_place_the_seed_is_revealed_unused_at_the_conclusion():
    # given bids 2 and 3 tied for the second place only (equal scores, equal prices)
    scene = make_scene(experts=5)
    concluded(scene, EQUAL, ("100", "120", "120"))
    ranking = (Evaluation.objects.get(pk=scene.ev.pk).results or {})["ranking"]
    assert [(e["rank"], e["tied"]) for e in ranking] == [(1, False), (2, True), (2, True)]
    # then nothing waits for a draw: the seed is revealed, the tie for the second place stays 并列
    tie = TieDraw.objects.get(evaluation=scene.ev)
    assert (tie.tied, tie.order, tie.revealed_at) == ([], [], EVALUATION_AT)
    [leaf] = leaves("evaluation:tie:revealed")
    assert leaf["data"] == {"seed": bytes(tie.seed).hex()}
    assert selectors.ranking_settled(Evaluation.objects.get(pk=scene.ev.pk)) == [
        {**e, "drawn": False} for e in ranking
    ]
    before = counts()
    with pytest.raises(ties.TieState) as raised:
        ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert (raised.value.code, raised.value.status) == ("tie_state", 409)
    assert counts() == before
    reports.report_generate(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert leaf_problems() == []


def test_only_the_tenders_managers_draw_and_a_refusal_changes_nothing():
    scene = make_scene(experts=5)
    concluded(scene, EQUAL, ("100", "100", "150"))
    before = counts()
    for someone in (scene.tenderee, scene.world.bidder, scene.world.regulator):
        with pytest.raises(NotFound):
            ties.tie_draw(actor=someone, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert counts() == before
    assert TieDraw.objects.get(evaluation=scene.ev).revealed_at is None


def test_a_terminated_tender_reveals_the_seeds_still_secret():
    # given a committee drawn, at work, and the tie-break seed committed: both seeds secret
    scene = make_scene(experts=5)
    set_up(scene)
    committee = drawn_committee(scene)
    declare_all(scene, committee)
    # when the tender is terminated before the committee concludes
    procedures.tender_cancel(
        actor=scene.agency, tender_id=scene.tender.pk, reason="项目取消", now=EVALUATION_AT
    )
    # then both seeds are revealed in the termination's transaction, marked as such, and check out
    committee = Committee.objects.get(pk=committee.pk)
    tie = TieDraw.objects.get(evaluation=scene.ev)
    assert (committee.revealed_at, tie.revealed_at) == (EVALUATION_AT, EVALUATION_AT)
    [experts] = leaves("evaluation:draw:revealed")
    assert experts["data"] == {"seed": bytes(committee.seed).hex(), "cancelled": True}
    assert draw.seed_commitment(bytes.fromhex(experts["data"]["seed"])) == committee.commitment
    [tie_leaf] = leaves("evaluation:tie:revealed")
    assert tie_leaf["data"] == {"seed": bytes(tie.seed).hex(), "cancelled": True}
    assert AuditEntry.objects.filter(action="evaluation:draw:revealed").count() == 1
    assert AuditEntry.objects.filter(action="evaluation:tie:revealed").count() == 1
    assert leaf_problems() == []


def test_a_terminated_tender_reveals_a_committee_seed_committed_but_never_drawn():
    scene = make_scene(experts=5)
    set_up(scene)
    committee = committees.committee_create(
        actor=scene.agency, evaluation_id=scene.ev.pk, specialty="A01", experts=5, now=EVALUATION_AT
    )
    procedures.tender_cancel(actor=scene.agency, tender_id=scene.tender.pk, reason="终止", now=EVALUATION_AT)
    [leaf] = leaves("evaluation:draw:revealed")
    assert leaf["hashes"] == {"seed": committee.commitment}  # no eligible list: nothing was drawn
    assert leaf_problems() == []


def test_a_terminated_tender_reveals_an_undrawn_tie_seed_and_the_tie_can_no_longer_be_drawn():
    scene = make_scene(experts=5)
    concluded(scene, EQUAL, ("100", "100", "150"))
    procedures.tender_cancel(actor=scene.agency, tender_id=scene.tender.pk, reason="终止", now=EVALUATION_AT)
    assert scene.tender.__class__.objects.get(pk=scene.tender.pk).status == TenderStatus.CANCELLED
    tie = TieDraw.objects.get(evaluation=scene.ev)
    assert (tie.revealed_at, tie.drawn_at, tie.order) == (EVALUATION_AT, None, [])
    assert ties.tie_pending(tie) is False
    assert len(leaves("evaluation:draw:revealed")) == 1  # the experts' seed: revealed at the conclusion only
    with pytest.raises(ties.TieState):
        ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    assert leaf_problems() == []


def test_a_drawn_order_changed_in_the_database_is_found_by_the_ledger_check():
    scene = make_scene(experts=5)
    concluded(scene, EQUAL, ("100", "100", "150"))
    tie = ties.tie_draw(actor=scene.agency, evaluation_id=scene.ev.pk, now=EVALUATION_AT)
    TieDraw.objects.filter(pk=tie.pk).update(order=list(reversed(tie.order)))
    assert leaf_problems() == [
        f"evaluation {scene.ev.pk}: the tie draw redone from its seed gives another order"
    ]


def test_the_documented_shell_recipe_orders_the_tied_bids(tmp_path: Path):
    # the recipe of docs/evaluation.md, verbatim: one line per key, "ticket key", sorted
    seed = bytes(range(32))
    keys = sorted(hashlib.sha256(str(n).encode()).hexdigest() for n in range(3))
    (tmp_path / "seed.bin").write_bytes(seed)
    (tmp_path / "keys.txt").write_text("".join(f"{key}\n" for key in keys))
    out = subprocess.run(  # noqa: S602  # the documented recipe, verbatim
        "while read -r key; do printf '%s' \"$key\" | cat seed.bin - | sha256sum | "
        'sed "s/ .*/ $key/"; done < keys.txt | LC_ALL=C sort',
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    order = [line.split()[1] for line in out.stdout.decode().splitlines()]
    assert order == draw.draw_order(seed, keys)
