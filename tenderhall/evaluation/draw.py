"""The verifiable random draw of evaluation experts, the avoidance rules and the committee make-up (pure).

The draw, step by step (anyone can redo it from the published record):

1. Before the draw the platform picks a 32-byte random seed and logs only its commitment,
   ``sha256:<hex of SHA-256(seed)>``, as a ledger leaf (``evaluation:draw:committed``).
2. At the draw the platform fixes the **eligible list**: the codes of the pool's experts that pass every
   avoidance rule, sorted in code order (Unicode code points). Its hash, ``sha256:<hex of SHA-256(the codes
   joined by "\\n", with a final "\\n", UTF-8)>``, and the list itself are published with the result.
3. Each eligible code gets the ticket ``SHA-256(seed ‖ code in UTF-8)``; the codes sorted by ticket (as
   unsigned big-endian numbers, then by code) are the **draw order**.
4. The first ``size`` codes of the draw order are drawn. When a drawn expert declines, the next code in the
   draw order that has not yet been drawn replaces them, so replacements are reproducible too.
5. After the draw the seed is revealed in a second leaf (``evaluation:draw:revealed``) with the eligible
   list's hash and the drawn codes: everyone can check the seed against the commitment and recompute steps 3
   and 4, e.g. ``printf '%s' E0001 | cat seed.bin - | sha256sum`` for one ticket.

A committed seed is never reused: a new draw needs a new commitment. The seed, its commitment and
:func:`draw_order` serve the tie-break draw for the first place too (ties.py), with the tied bids' keys for
the codes; seeds.py logs the commitments and the reveals of both.

Avoidance (回避) here is what the platform can decide from its data; each rule names its reason code:

* ``specialty`` — the expert holds no category code under the committee's specialty (prefix match);
* ``unavailable`` — the expert marked themself unavailable, or their credit is below the minimum;
* ``unqualified`` — fewer years of practice than the track asks (8 on the tendering-law track, 招标投标法
  art. 37(3));
* ``bidder_employer`` — the expert works for a bidder or did within the last three years (政采条例 art. 9);
* ``bidder_affiliate`` — the expert's employer is affiliated with a bidder: the same legal representative
  (条例 art. 34) or another declared control relationship;
* ``tenderee_staff`` — the expert works for the tenderee, or for the agency running the tender (87号令
  art. 47);
* ``same_region`` — where the tender asks for it, the expert's region is the project's (same city: the first
  four digits of the region code);
* ``agency_pairing`` — the expert already sat on at least ``pairing_limit`` committees of the same agency
  within the configured period;
* ``declared_conflict`` — the expert declared a conflict with a bidder or the tenderee, or declined this
  committee for a conflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

SEED_BYTES = 32


class Avoidance(StrEnum):
    SPECIALTY = "specialty"
    UNAVAILABLE = "unavailable"
    UNQUALIFIED = "unqualified"
    BIDDER_EMPLOYER = "bidder_employer"
    BIDDER_AFFILIATE = "bidder_affiliate"
    TENDEREE_STAFF = "tenderee_staff"
    SAME_REGION = "same_region"
    AGENCY_PAIRING = "agency_pairing"
    DECLARED_CONFLICT = "declared_conflict"


class Track(StrEnum):
    WORKS = "works"  # 招投标
    PROCUREMENT = "procurement"  # 政府采购


class MakeUpError(ValueError):
    """A committee size or make-up the rules do not allow; the message says which rule."""


@dataclass(frozen=True, kw_only=True)
class ExpertFacts:
    """What the avoidance rules read about one expert of the pool."""

    code: str
    specialties: tuple[str, ...]
    region_code: str
    employers: frozenset[str] = frozenset()  # identifiers: the employer now and in the last 3 years
    conflicts: frozenset[str] = frozenset()  # identifiers the expert declared a conflict with
    available: bool = True
    credit: int = 100
    years: int = 99  # of practice in the field


@dataclass(frozen=True, kw_only=True)
class DrawContext:
    """What the rules compare each expert with, for one committee."""

    specialty: str
    bidders: frozenset[str]  # identifiers (USCC) of the bidders
    bidder_affiliates: frozenset[str]
    tenderee_side: frozenset[str]  # the tenderee and the agency running the tender
    project_region: str
    avoid_same_region: bool = False
    pairing_counts: Mapping[str, int] = field(default_factory=dict)  # code → committees with this agency
    pairing_limit: int | None = None
    refused: frozenset[str] = frozenset()  # codes that declined this committee for a conflict
    min_credit: int = 60
    min_years: int = 0


def avoidance_reasons(expert: ExpertFacts, context: DrawContext) -> list[Avoidance]:
    """Every rule that keeps ``expert`` off this committee (empty: eligible)."""
    reasons: list[Avoidance] = []
    if not any(code.startswith(context.specialty) for code in expert.specialties):
        reasons.append(Avoidance.SPECIALTY)
    if not expert.available or expert.credit < context.min_credit:
        reasons.append(Avoidance.UNAVAILABLE)
    if expert.years < context.min_years:
        reasons.append(Avoidance.UNQUALIFIED)
    if expert.employers & context.bidders:
        reasons.append(Avoidance.BIDDER_EMPLOYER)
    if expert.employers & (context.bidder_affiliates - context.bidders):
        reasons.append(Avoidance.BIDDER_AFFILIATE)
    if expert.employers & context.tenderee_side:
        reasons.append(Avoidance.TENDEREE_STAFF)
    if context.avoid_same_region and expert.region_code[:4] == context.project_region[:4]:
        reasons.append(Avoidance.SAME_REGION)
    if (
        context.pairing_limit is not None
        and context.pairing_counts.get(expert.code, 0) >= context.pairing_limit
    ):
        reasons.append(Avoidance.AGENCY_PAIRING)
    if expert.conflicts & (context.bidders | context.tenderee_side) or expert.code in context.refused:
        reasons.append(Avoidance.DECLARED_CONFLICT)
    return reasons


def eligible_list(
    experts: Iterable[ExpertFacts], context: DrawContext
) -> tuple[list[str], dict[str, list[Avoidance]]]:
    """The sorted eligible codes, and the reasons of every expert left out."""
    eligible: list[str] = []
    excluded: dict[str, list[Avoidance]] = {}
    for expert in experts:
        reasons = avoidance_reasons(expert, context)
        if reasons:
            excluded[expert.code] = reasons
        else:
            eligible.append(expert.code)
    return sorted(eligible), excluded


def seed_commitment(seed: bytes) -> str:
    return "sha256:" + hashlib.sha256(seed).hexdigest()


def list_hash(codes: Sequence[str]) -> str:
    return "sha256:" + hashlib.sha256("".join(f"{code}\n" for code in codes).encode()).hexdigest()


def ticket(seed: bytes, code: str) -> bytes:
    return hashlib.sha256(seed + code.encode()).digest()


def draw_order(seed: bytes, eligible: Sequence[str]) -> list[str]:
    """Every eligible code in draw order (step 3)."""
    if len(seed) != SEED_BYTES:
        msg = f"a draw seed has {SEED_BYTES} bytes"
        raise ValueError(msg)
    if list(eligible) != sorted(set(eligible)):
        msg = "the eligible list must be sorted and without repeats"
        raise ValueError(msg)
    return sorted(eligible, key=lambda code: (ticket(seed, code), code))


def draw(seed: bytes, eligible: Sequence[str], size: int) -> list[str]:
    """The first ``size`` codes of the draw order; fewer eligible experts than seats is an error."""
    order = draw_order(seed, eligible)
    if len(order) < size:
        msg = f"only {len(order)} experts are eligible for {size} seats"
        raise MakeUpError(msg)
    return order[:size]


def replacement(seed: bytes, eligible: Sequence[str], drawn: Iterable[str]) -> str | None:
    """The next code in the draw order not drawn yet (step 4), or None when the list is used up."""
    taken = set(drawn)
    return next((code for code in draw_order(seed, eligible) if code not in taken), None)


def check_make_up(*, track: Track, experts: int, representatives: int, large: bool = False) -> None:
    """Committee size and make-up: at least 5 members (7 on the procurement track for a large or complex
    project), an odd number, and experts at least two thirds of the members."""
    size = experts + representatives
    minimum = 7 if track == Track.PROCUREMENT and large else 5
    if experts < 0 or representatives < 0:
        msg = "member counts cannot be negative"
        raise MakeUpError(msg)
    if size < minimum:
        msg = f"a committee has at least {minimum} members, this one {size}"
        raise MakeUpError(msg)
    if size % 2 == 0:
        msg = f"a committee has an odd number of members, this one {size}"
        raise MakeUpError(msg)
    if 3 * experts < 2 * size:
        msg = f"experts are at least two thirds of a committee: {experts} of {size} are too few"
        raise MakeUpError(msg)
