"""The draw is reproducible from its revealed seed, and every avoidance rule keeps the right expert out."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.evaluation import draw
from tenderhall.evaluation.draw import Avoidance, DrawContext, ExpertFacts, MakeUpError, Track

SEED = bytes(range(32))
CODES = [f"E{n:04d}" for n in range(1, 11)]


def test_the_commitment_is_the_sha256_of_the_seed():
    assert draw.seed_commitment(SEED) == "sha256:" + hashlib.sha256(SEED).hexdigest()
    assert draw.seed_commitment(SEED) == (
        "sha256:630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    )


def test_the_draw_order_is_the_codes_sorted_by_their_tickets_known_answer():
    # tickets recomputed here the way the documentation tells anyone to
    expected = sorted(CODES, key=lambda c: hashlib.sha256(SEED + c.encode()).digest())
    assert draw.draw_order(SEED, CODES) == expected
    assert draw.draw(SEED, CODES, 5) == expected[:5]


def test_one_ticket_recomputed_with_the_shell_as_documented(tmp_path: Path):
    (tmp_path / "seed.bin").write_bytes(SEED)
    out = subprocess.run(  # noqa: S602  # the documented one-liner, verbatim
        "printf '%s' E0003 | cat seed.bin - | sha256sum",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode().split()[0] == draw.ticket(SEED, "E0003").hex()


def test_a_replacement_is_the_next_code_in_the_draw_order():
    order = draw.draw_order(SEED, CODES)
    assert draw.replacement(SEED, CODES, order[:5]) == order[5]
    assert draw.replacement(SEED, CODES, order) is None


def test_the_list_hash_covers_the_codes_each_followed_by_a_newline():
    assert draw.list_hash(["E1", "E2"]) == "sha256:" + hashlib.sha256(b"E1\nE2\n").hexdigest()


def test_too_few_eligible_experts_for_the_seats_is_an_error():
    with pytest.raises(MakeUpError, match="only 3 experts are eligible for 5 seats"):
        draw.draw(SEED, CODES[:3], 5)


def test_the_eligible_list_must_be_sorted_and_the_seed_full_length():
    with pytest.raises(ValueError, match="sorted"):
        draw.draw_order(SEED, ["E2", "E1"])
    with pytest.raises(ValueError, match="32 bytes"):
        draw.draw_order(b"short", CODES)


@given(st.binary(min_size=32, max_size=32), st.sets(st.text(min_size=1, max_size=6), min_size=5, max_size=30))
def test_any_seed_draws_distinct_eligible_codes_and_the_same_seed_the_same_ones(seed: bytes, codes: set[str]):
    eligible = sorted(codes)
    drawn = draw.draw(seed, eligible, 5)
    assert len(set(drawn)) == 5
    assert set(drawn) <= set(eligible)
    assert draw.draw(seed, eligible, 5) == drawn


BASE = DrawContext(
    specialty="A01",
    bidders=frozenset({"U10", "U11"}),
    bidder_affiliates=frozenset({"U10", "U11", "U12"}),
    tenderee_side=frozenset({"U20", "U21"}),
    project_region="420100",
)


def expert(**overrides: object) -> ExpertFacts:
    values: dict[str, object] = {"code": "E1", "specialties": ("A0102",), "region_code": "110000"}
    values.update(overrides)
    return ExpertFacts(**values)  # type: ignore[arg-type]  # test overrides


@pytest.mark.parametrize(
    ("facts", "context", "reasons"),
    [
        ({}, BASE, []),
        ({"specialties": ("B01",)}, BASE, [Avoidance.SPECIALTY]),
        ({"available": False}, BASE, [Avoidance.UNAVAILABLE]),
        ({"credit": 59}, BASE, [Avoidance.UNAVAILABLE]),
        ({"years": 7}, DrawContext(**{**BASE.__dict__, "min_years": 8}), [Avoidance.UNQUALIFIED]),
        ({"years": 8}, DrawContext(**{**BASE.__dict__, "min_years": 8}), []),
        ({"employers": frozenset({"U11"})}, BASE, [Avoidance.BIDDER_EMPLOYER]),
        ({"employers": frozenset({"U12"})}, BASE, [Avoidance.BIDDER_AFFILIATE]),
        ({"employers": frozenset({"U20"})}, BASE, [Avoidance.TENDEREE_STAFF]),
        ({"employers": frozenset({"U21"})}, BASE, [Avoidance.TENDEREE_STAFF]),
        ({"region_code": "420102"}, BASE, []),
        (
            {"region_code": "420102"},
            DrawContext(**{**BASE.__dict__, "avoid_same_region": True}),
            [Avoidance.SAME_REGION],
        ),
        ({"region_code": "420500"}, DrawContext(**{**BASE.__dict__, "avoid_same_region": True}), []),
        (
            {},
            DrawContext(**{**BASE.__dict__, "pairing_counts": {"E1": 3}, "pairing_limit": 3}),
            [Avoidance.AGENCY_PAIRING],
        ),
        ({}, DrawContext(**{**BASE.__dict__, "pairing_counts": {"E1": 2}, "pairing_limit": 3}), []),
        ({"conflicts": frozenset({"U10"})}, BASE, [Avoidance.DECLARED_CONFLICT]),
        ({"conflicts": frozenset({"U21"})}, BASE, [Avoidance.DECLARED_CONFLICT]),
        ({"conflicts": frozenset({"U99"})}, BASE, []),
        ({}, DrawContext(**{**BASE.__dict__, "refused": frozenset({"E1"})}), [Avoidance.DECLARED_CONFLICT]),
    ],
)
def test_each_avoidance_rule(facts: dict[str, object], context: DrawContext, reasons: list[Avoidance]):
    assert draw.avoidance_reasons(expert(**facts), context) == reasons


def test_the_eligible_list_is_sorted_and_names_why_the_others_are_out():
    experts = [expert(code="E3"), expert(code="E1"), expert(code="E2", employers=frozenset({"U10"}))]
    assert draw.eligible_list(experts, BASE) == (["E1", "E3"], {"E2": [Avoidance.BIDDER_EMPLOYER]})


@pytest.mark.parametrize(
    ("track", "experts", "representatives", "large", "message"),
    [
        (Track.WORKS, 5, 0, False, None),
        (Track.WORKS, 4, 1, False, None),
        (Track.WORKS, 5, 2, False, None),
        (Track.WORKS, 3, 0, False, "at least 5"),
        (Track.WORKS, 4, 2, False, "odd"),
        (Track.WORKS, 3, 2, False, "two thirds"),
        (Track.PROCUREMENT, 5, 0, True, "at least 7"),
        (Track.PROCUREMENT, 5, 2, True, None),
    ],
)
def test_committee_make_up(
    track: Track, experts: int, representatives: int, large: bool, message: str | None
):
    if message is None:
        draw.check_make_up(track=track, experts=experts, representatives=representatives, large=large)
    else:
        with pytest.raises(MakeUpError, match=message):
            draw.check_make_up(track=track, experts=experts, representatives=representatives, large=large)
