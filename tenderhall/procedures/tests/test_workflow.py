"""The workflow table and its guards: every row, each guard at its boundary, properties over random paths."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.procedures.choices import TenderStatus as S
from tenderhall.procedures.management.commands.procedures import mermaid_diagram
from tenderhall.procedures.workflow import (
    REMEMBERED,
    SUSPENDABLE,
    TABLE,
    TERMINAL,
    TenderEvent,
    TenderSnapshot,
    TransitionRefused,
    action_name,
    advance,
    allowed_events,
    due_event,
    next_check_at,
    transition,
    when,
)

E = TenderEvent
US = timedelta(microseconds=1)
# Beijing time: the notice on 20 April, documents from 21 April to 1 May, bids until 20 May 09:30.
NOTICE_AT = datetime(2026, 4, 20, 1, 0, tzinfo=UTC)
DOCUMENTS_FROM = datetime(2026, 4, 21, 1, 0, tzinfo=UTC)
DOCUMENTS_UNTIL = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 5, 20, 1, 30, tzinfo=UTC)
BEFORE = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # before anything in the timeline
AFTER = DEADLINE + timedelta(days=1)


def snap(status: str = S.DRAFT, **changes: object) -> TenderSnapshot:
    """A tender with a complete timeline, enough bids and no open objections, unless told otherwise."""
    base = TenderSnapshot(
        status=status,
        notice_publish_at=NOTICE_AT,
        documents_from=DOCUMENTS_FROM,
        documents_until=DOCUMENTS_UNTIL,
        bid_deadline=DEADLINE,
        bid_count=3,
        min_bids=3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]  # test helper: fields by keyword


def refusal(snapshot: TenderSnapshot, event: str, now: datetime) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as caught:
        transition(snapshot, event, now=now)
    return caught.value


# --- the table ------------------------------------------------------------------------------------

MAIN_FLOW = {
    (S.DRAFT, E.PUBLISH): S.PUBLISHED,
    (S.PUBLISHED, E.OPEN_DOCUMENTS): S.BIDDING,
    (S.BIDDING, E.CLOSE_BIDDING): S.BIDDING_CLOSED,
    (S.BIDDING_CLOSED, E.START_OPENING): S.OPENING,
    (S.BIDDING_CLOSED, E.FAIL): S.FAILED,
    (S.OPENING, E.START_EVALUATION): S.EVALUATION,
    (S.EVALUATION, E.PUBLISH_CANDIDATES): S.PUBLICITY,
    (S.EVALUATION, E.FAIL): S.FAILED,
    (S.PUBLICITY, E.AWARD): S.AWARDED,
    (S.AWARDED, E.SIGN_CONTRACT): S.CONTRACTED,
    (S.CONTRACTED, E.CLOSE): S.CLOSED,
}
WORKING = [S.PUBLISHED, S.BIDDING, S.BIDDING_CLOSED, S.OPENING, S.EVALUATION, S.PUBLICITY, S.AWARDED]


def test_the_table_holds_the_main_flow_suspension_and_cancellation_and_nothing_else():
    expected = {
        **MAIN_FLOW,
        **{(status, E.SUSPEND): S.SUSPENDED for status in [*WORKING, S.CONTRACTED]},
        (S.SUSPENDED, E.RESUME): REMEMBERED,
        **{(status, E.CANCEL): S.CANCELLED for status in [S.DRAFT, *WORKING, S.CONTRACTED, S.SUSPENDED]},
    }
    assert dict(TABLE) == expected
    assert len(TABLE) == 11 + 8 + 1 + 10
    assert {S.CLOSED, S.CANCELLED, S.FAILED} == TERMINAL
    assert set(SUSPENDABLE) == {*WORKING, S.CONTRACTED}


def _ready(status: str, event: str) -> tuple[TenderSnapshot, datetime]:
    """A snapshot and a moment at which the row (status, event) passes its guard."""
    if event == E.PUBLISH:
        return snap(status), BEFORE
    if status == S.BIDDING_CLOSED and event == E.FAIL:
        return snap(status, bid_count=2), AFTER
    if status == S.SUSPENDED:
        return snap(status, suspended_from=S.BIDDING), AFTER
    return snap(status), AFTER


@pytest.mark.parametrize(("status", "event"), list(TABLE))
def test_every_row_of_the_table_leads_to_its_target(status, event):
    # given
    snapshot, now = _ready(status, event)
    # when
    target = transition(snapshot, event, now=now)
    # then
    assert target == (S.BIDDING if TABLE[(status, event)] == REMEMBERED else TABLE[(status, event)])
    assert type(target) is str


@pytest.mark.parametrize(("status", "event"), [(s, e) for s in S for e in E if (s, e) not in TABLE])
def test_a_pair_missing_from_the_table_is_refused_with_the_status_event_and_reason(status, event):
    # when
    refused = refusal(snap(status, suspended_from=S.BIDDING), event, AFTER)
    # then
    assert refused.code == "transition_refused"
    assert refused.status == 409
    assert refused.details["status"] == status
    assert refused.details["event"] == event
    assert refused.details["reason"] == ("terminal" if status in TERMINAL else "not_allowed")


def test_the_refusals_of_missing_rows_say_where_the_event_is_possible():
    assert refusal(snap(S.DRAFT), E.CLOSE_BIDDING, AFTER).message == (
        "The tender is draft: close_bidding is possible only from bidding."
    )
    assert refusal(snap(S.DRAFT), E.SUSPEND, AFTER).message == (
        "The tender is draft: suspend is possible only from published, bidding, bidding_closed, opening, "
        "evaluation, publicity, awarded, contracted."
    )
    assert refusal(snap(S.FAILED), E.CANCEL, AFTER).message == (
        "The tender is failed, which is final: it cannot take cancel."
    )


def test_an_unknown_event_is_refused_with_the_list_of_events():
    refused = refusal(snap(S.BIDDING), "reopen", AFTER)
    assert refused.details == {"status": "bidding", "event": "reopen", "reason": "unknown_event"}
    assert refused.message == (
        "There is no workflow event reopen; the events are publish, open_documents, close_bidding, "
        "start_opening, fail, start_evaluation, publish_candidates, award, sign_contract, close, suspend, "
        "resume, cancel."
    )


def test_every_event_has_a_ledger_and_audit_action():
    assert action_name(E.CLOSE_BIDDING) == "procedures:tender:bidding_closed"
    assert action_name(E.OPEN_DOCUMENTS) == "procedures:tender:documents_opened"
    assert action_name(E.PUBLISH) == "procedures:tender:published"
    assert len({action_name(event) for event in E}) == len(E)


# --- guards at their boundaries -------------------------------------------------------------------


def test_documents_open_exactly_at_documents_from_and_not_a_microsecond_before():
    # given
    snapshot = snap(S.PUBLISHED)
    # then
    assert transition(snapshot, E.OPEN_DOCUMENTS, now=DOCUMENTS_FROM) == S.BIDDING
    refused = refusal(snapshot, E.OPEN_DOCUMENTS, DOCUMENTS_FROM - US)
    assert refused.details["reason"] == "not_yet"
    assert refused.message == (
        "The tender is published: the documents cannot be made available before 2026-04-21 09:00."
    )


def test_bidding_closes_exactly_at_the_deadline_and_not_a_microsecond_before():
    # given
    snapshot = snap(S.BIDDING)
    # then
    assert transition(snapshot, E.CLOSE_BIDDING, now=DEADLINE) == S.BIDDING_CLOSED
    refused = refusal(snapshot, E.CLOSE_BIDDING, DEADLINE - US)
    assert refused.details == {"status": "bidding", "event": "close_bidding", "reason": "not_yet"}
    assert (
        refused.message == "The tender is bidding: bidding cannot close before the deadline 2026-05-20 09:30."
    )


def test_publication_needs_a_complete_timeline():
    # when
    refused = refusal(snap(S.DRAFT, documents_until=None, bid_deadline=None), E.PUBLISH, BEFORE)
    # then
    assert refused.details["reason"] == "timeline_incomplete"
    assert refused.message == (
        "The tender is draft: it cannot be published until its timeline is complete; "
        "set documents_until, bid_deadline."
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"notice_publish_at": DOCUMENTS_FROM + US},
        {"documents_until": DOCUMENTS_FROM},
        {"documents_until": DEADLINE + US},
    ],
)
def test_publication_needs_the_timeline_in_order(changes):
    assert refusal(snap(S.DRAFT, **changes), E.PUBLISH, BEFORE).details["reason"] == "timeline_out_of_order"


def test_a_timeline_may_share_its_boundaries():
    # given: the notice and the documents on the same moment, the documents until the deadline
    snapshot = snap(S.DRAFT, notice_publish_at=DOCUMENTS_FROM, documents_until=DEADLINE)
    # then
    assert transition(snapshot, E.PUBLISH, now=BEFORE) == S.PUBLISHED


def test_publication_is_possible_until_a_microsecond_before_the_deadline():
    assert transition(snap(S.DRAFT), E.PUBLISH, now=DEADLINE - US) == S.PUBLISHED
    refused = refusal(snap(S.DRAFT), E.PUBLISH, DEADLINE)
    assert refused.details["reason"] == "deadline_passed"
    assert refused.message == (
        "The tender is draft: it cannot be published, its bid deadline 2026-05-20 09:30 has passed."
    )


def test_opening_needs_the_minimum_of_bids_and_failing_needs_fewer():
    # given
    enough, short = snap(S.BIDDING_CLOSED, bid_count=3), snap(S.BIDDING_CLOSED, bid_count=2)
    # then
    assert transition(enough, E.START_OPENING, now=AFTER) == S.OPENING
    assert transition(short, E.FAIL, now=AFTER) == S.FAILED
    assert refusal(short, E.START_OPENING, AFTER).message == (
        "The tender is bidding_closed: opening needs at least 3 bids and there are 2; "
        "the tender fails instead."
    )
    assert refusal(enough, E.FAIL, AFTER).message == (
        "The tender is bidding_closed: it cannot fail with 3 bids, 3 are enough to open."
    )


def test_a_single_source_procedure_opens_with_one_bid():
    assert (
        transition(snap(S.BIDDING_CLOSED, bid_count=1, min_bids=1), E.START_OPENING, now=AFTER) == S.OPENING
    )


def test_evaluation_can_fail_whatever_the_count_of_bids():
    assert transition(snap(S.EVALUATION, bid_count=5), E.FAIL, now=AFTER) == S.FAILED


def test_resume_waits_until_no_objection_is_open():
    # given
    suspended = snap(S.SUSPENDED, suspended_from=S.BIDDING)
    # then
    assert transition(suspended, E.RESUME, now=AFTER) == S.BIDDING
    refused = refusal(replace(suspended, open_objections=1), E.RESUME, AFTER)
    assert refused.details["reason"] == "objections_open"
    assert refused.message == "The tender is suspended: it cannot resume while 1 objections are open."


@pytest.mark.parametrize("remembered", ["", S.DRAFT, S.SUSPENDED, S.CLOSED, "nonsense"])
def test_resume_is_refused_when_the_remembered_status_is_not_one_to_return_to(remembered):
    refused = refusal(snap(S.SUSPENDED, suspended_from=remembered), E.RESUME, AFTER)
    assert refused.details["reason"] == "suspended_from_unknown"


def test_the_award_waits_until_no_objection_is_open():
    assert transition(snap(S.PUBLICITY), E.AWARD, now=AFTER) == S.AWARDED
    refused = refusal(snap(S.PUBLICITY, open_objections=2), E.AWARD, AFTER)
    assert refused.message == (
        "The tender is publicity: the award cannot be decided while 2 objections are open."
    )


def test_moments_read_in_beijing_time_with_seconds_only_when_there_are_some():
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert when(DEADLINE) == "2026-05-20 09:30"
    assert when(DEADLINE + timedelta(seconds=5)) == "2026-05-20 09:30:05"
    assert when(DEADLINE - US) == "2026-05-20 09:29:59.999999"


# --- advance, allowed events, the timed events ----------------------------------------------------


def test_suspend_remembers_the_status_and_resume_forgets_it():
    # when
    suspended = advance(snap(S.EVALUATION), E.SUSPEND, now=AFTER)
    resumed = advance(suspended, E.RESUME, now=AFTER)
    # then
    assert (suspended.status, suspended.suspended_from) == (S.SUSPENDED, S.EVALUATION)
    assert (resumed.status, resumed.suspended_from) == (S.EVALUATION, "")


def test_cancelling_a_suspended_tender_forgets_where_it_was():
    cancelled = advance(snap(S.SUSPENDED, suspended_from=S.BIDDING), E.CANCEL, now=AFTER)
    assert (cancelled.status, cancelled.suspended_from) == (S.CANCELLED, "")


def test_allowed_events_are_the_rows_whose_guards_pass_now():
    assert allowed_events(snap(S.DRAFT), now=BEFORE) == ["publish", "cancel"]
    assert allowed_events(snap(S.BIDDING), now=DEADLINE - US) == ["suspend", "cancel"]
    assert allowed_events(snap(S.BIDDING), now=DEADLINE) == ["close_bidding", "suspend", "cancel"]
    assert allowed_events(snap(S.BIDDING_CLOSED, bid_count=0), now=AFTER) == ["fail", "suspend", "cancel"]
    assert allowed_events(snap(S.SUSPENDED, suspended_from=S.OPENING, open_objections=1), now=AFTER) == [
        "cancel"
    ]
    assert allowed_events(snap(S.CLOSED), now=AFTER) == []


@pytest.mark.parametrize(
    ("status", "now", "event"),
    [
        (S.PUBLISHED, DOCUMENTS_FROM - US, None),
        (S.PUBLISHED, DOCUMENTS_FROM, "open_documents"),
        (S.BIDDING, DEADLINE - US, None),
        (S.BIDDING, DEADLINE, "close_bidding"),
        (S.DRAFT, AFTER, None),
        (S.BIDDING_CLOSED, AFTER, "start_opening"),  # snap() holds 3 bids, the minimum
        (S.SUSPENDED, AFTER, None),
        (S.CLOSED, AFTER, None),
    ],
)
def test_the_due_event_is_the_timed_one_whose_moment_has_come(status, now, event):
    assert due_event(snap(status, suspended_from=S.BIDDING), now=now) == event


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (S.DRAFT, None),
        (S.PUBLISHED, DOCUMENTS_FROM),
        (S.BIDDING, DEADLINE),
        (S.BIDDING_CLOSED, DEADLINE),  # deadline = opening: due at once
        (S.SUSPENDED, None),
        (S.CANCELLED, None),
    ],
)
def test_the_next_check_is_the_moment_of_the_next_timed_event(status, expected):
    assert next_check_at(snap(status, suspended_from=S.BIDDING)) == expected


def test_at_the_deadline_a_tender_with_too_few_bids_fails_instead_of_opening():
    assert due_event(snap(S.BIDDING_CLOSED, bid_count=2), now=DEADLINE) == "fail"
    assert due_event(snap(S.BIDDING_CLOSED, bid_count=3), now=DEADLINE) == "start_opening"
    assert due_event(snap(S.BIDDING_CLOSED, bid_count=1, min_bids=1), now=DEADLINE) == "start_opening"
    assert due_event(snap(S.BIDDING_CLOSED, bid_count=0), now=DEADLINE - US) is None


def test_a_published_tender_without_documents_from_has_nothing_due():
    snapshot = snap(S.PUBLISHED, documents_from=None)
    assert (due_event(snapshot, now=AFTER), next_check_at(snapshot)) == (None, None)


class FakeRow:
    status = S.SUSPENDED
    suspended_from = S.OPENING
    notice_publish_at = NOTICE_AT
    documents_from = DOCUMENTS_FROM
    documents_until = DOCUMENTS_UNTIL
    bid_deadline = DEADLINE


def test_a_snapshot_of_a_row_takes_its_status_timeline_and_the_given_counts():
    assert TenderSnapshot.of(FakeRow(), bid_count=4, min_bids=1, open_objections=2) == snap(
        S.SUSPENDED, suspended_from=S.OPENING, bid_count=4, min_bids=1, open_objections=2
    )


# --- properties -----------------------------------------------------------------------------------

# hypothesis takes naive bounds and makes the values aware with timezones=
moments = st.datetimes(
    min_value=NOTICE_AT.replace(month=1, tzinfo=None),
    max_value=DEADLINE.replace(month=12, tzinfo=None),
    timezones=st.just(UTC),
)
statuses = st.sampled_from(list(S))
events = st.sampled_from([*E, "reopen"])


@st.composite
def snapshots(draw: st.DrawFn) -> TenderSnapshot:
    timeline = sorted(draw(st.lists(moments, min_size=4, max_size=4)))
    return TenderSnapshot(
        status=draw(statuses),
        suspended_from=draw(st.sampled_from(["", *S])),
        notice_publish_at=draw(st.sampled_from([timeline[0], None])),
        documents_from=timeline[1],
        documents_until=timeline[2],
        bid_deadline=draw(st.sampled_from([timeline[3], None])),
        bid_count=draw(st.integers(0, 6)),
        min_bids=draw(st.integers(1, 4)),
        open_objections=draw(st.integers(0, 2)),
    )


@given(snapshot=snapshots(), event=events, now=moments)
def test_nothing_leaves_a_terminal_status(snapshot, event, now):
    if snapshot.status in TERMINAL:
        with pytest.raises(TransitionRefused):
            transition(snapshot, event, now=now)
        assert allowed_events(snapshot, now=now) == []


@given(snapshot=snapshots(), event=events, now=moments)
def test_an_accepted_event_follows_a_row_of_the_table_and_a_refused_one_says_why(snapshot, event, now):
    try:
        target = transition(snapshot, event, now=now)
    except TransitionRefused as refused:
        details, message = refused.details, refused.message
        assert (details["status"], details["event"]) == (snapshot.status, event)
        assert message.startswith(("The tender is ", "There is no workflow event"))
        return
    row = TABLE[(snapshot.status, event)]
    assert target == (snapshot.suspended_from if row == REMEMBERED else row)
    assert target in set(S)


@given(snapshot=snapshots(), now=moments)
def test_a_due_event_is_always_accepted_and_due_exactly_when_its_check_has_come(snapshot, now):
    event = due_event(snapshot, now=now)
    check = next_check_at(snapshot)
    assert (event is not None) == (check is not None and now >= check)
    if event is not None:
        transition(snapshot, event, now=now)


@given(snapshot=snapshots(), now=moments)
def test_any_tender_not_finished_can_be_cancelled(snapshot, now):
    if snapshot.status not in TERMINAL:
        assert transition(snapshot, E.CANCEL, now=now) == S.CANCELLED


@given(snapshot=snapshots(), now=moments)
def test_suspend_then_resume_returns_to_the_remembered_status(snapshot, now):
    if snapshot.status in SUSPENDABLE and not snapshot.open_objections:
        suspended = advance(snapshot, E.SUSPEND, now=now)
        assert advance(suspended, E.RESUME, now=now) == replace(snapshot, suspended_from="")


@given(
    steps=st.lists(st.tuples(events, st.integers(0, 40 * 24)), max_size=40),
    bid_count=st.integers(0, 5),
    start=st.sampled_from([BEFORE, NOTICE_AT, DEADLINE]),
)
def test_on_any_path_opening_comes_only_after_bidding_closed_at_the_deadline(steps, bid_count, start):
    # given: a draft tender, and a path of events tried at moments that only move forward
    snapshot, now = snap(S.DRAFT, bid_count=bid_count), start
    closed_at: datetime | None = None
    for event, hours in steps:
        now += timedelta(hours=hours)
        try:
            after = advance(snapshot, event, now=now)
        except TransitionRefused:
            continue
        # then
        if after.status == S.BIDDING_CLOSED and snapshot.status == S.BIDDING:
            closed_at = now
            assert now >= DEADLINE
        if after.status == S.OPENING and snapshot.status != S.SUSPENDED:
            assert snapshot.status == S.BIDDING_CLOSED
            assert closed_at is not None
            assert closed_at >= DEADLINE
            assert snapshot.bid_count >= snapshot.min_bids
        assert snapshot.status not in TERMINAL
        snapshot = after


def _reachable(start: str, *, without: frozenset[str] = frozenset()) -> set[str]:
    """Statuses reachable in the table from ``start`` (resume may lead back to any suspendable status)."""
    seen, queue = {start}, deque([start])
    while queue:
        status = queue.popleft()
        for (source, event), target in TABLE.items():
            if source != status or event in without:
                continue
            for reached in SUSPENDABLE if target == REMEMBERED else {target}:
                if reached not in seen:
                    seen.add(reached)
                    queue.append(reached)
    return seen


@pytest.mark.parametrize("status", list(S))
def test_every_status_can_reach_a_terminal_one_even_without_cancelling(status):
    assert _reachable(status) & TERMINAL
    assert _reachable(status, without=frozenset({E.CANCEL})) & TERMINAL


def test_every_status_is_reachable_from_draft():
    assert _reachable(S.DRAFT) == set(S)


# --- the diagram in docs/workflow.md --------------------------------------------------------------

WORKFLOW_DOC = Path(settings.BASE_DIR) / "docs" / "workflow.md"


def test_the_diagram_command_prints_the_mermaid_state_diagram_of_the_table():
    # when
    out = StringIO()
    call_command("procedures", "diagram", stdout=out)
    # then
    text = out.getvalue()
    assert text == mermaid_diagram()
    assert text.startswith("stateDiagram-v2\n    [*] --> draft\n    draft --> published : publish\n")
    for (status, event), target in TABLE.items():
        if event not in {E.SUSPEND, E.CANCEL}:
            shown = "suspend_from" if target == REMEMBERED else target
            assert f"    {status} --> {shown} : {event}" in text
    assert "    suspend_from --> suspended : suspend\n" in text
    assert "    cancel_from --> cancelled : cancel\n" in text


def test_docs_workflow_md_shows_the_diagram_the_command_generates_now():
    # given
    found = re.search(r"```mermaid\n(.*?)```\n", WORKFLOW_DOC.read_text(encoding="utf-8"), re.DOTALL)
    # then
    assert found is not None, "docs/workflow.md has lost its mermaid block"
    assert found.group(1) == mermaid_diagram(), (
        "the workflow changed: run `tenderhall procedures diagram --out docs/workflow.md`, review the words"
    )


def test_the_diagram_command_replaces_the_mermaid_block_of_a_markdown_file(tmp_path):
    # given
    doc = tmp_path / "workflow.md"
    doc.write_text("# Title\n\n```mermaid\nold\n```\n\nAfter.\n", encoding="utf-8")
    fresh = tmp_path / "new.mmd"
    # when
    call_command("procedures", "diagram", "--out", str(doc), stdout=StringIO())
    call_command("procedures", "diagram", "--out", str(fresh), stdout=StringIO())
    # then
    assert doc.read_text(encoding="utf-8") == f"# Title\n\n```mermaid\n{mermaid_diagram()}```\n\nAfter.\n"
    assert fresh.read_text(encoding="utf-8") == mermaid_diagram()
