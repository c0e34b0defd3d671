"""The change feed as a selector: what each audience sees, in which order, page by page, and the watermark."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.errors import NotFound
from tenderhall.ledger.models import Leaf
from tenderhall.ledger.services import ledger_integrate
from tenderhall.procedures.choices import ObjectionSubject, TenderStatus
from tenderhall.procedures.objections import objection_raise
from tenderhall.procedures.tests.support import DEADLINE, NOW, download, make_world
from tenderhall.supervision.feed import FeedInvalid, access_private_feed, checkpoint_feed, feed_page

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(minutes=1)


def read_all(*, private: bool = False, limit: int = 100, types: list[str] | None = None, now=LATER):
    """Follow next_cursor from 0 until a page brings nothing; every item read, in order."""
    items, cursor = [], 0
    while True:
        page = feed_page(cursor=cursor, limit=limit, entity_types=types or [], private=private, now=now)
        items.extend(page.items)
        if page.next_cursor == cursor:
            return items
        cursor = page.next_cursor


def test_the_public_feed_lists_public_changes_in_ledger_order_with_their_current_state():
    # given two published tenders whose agencies uploaded documents, and five approved entities
    world = make_world()
    # when the public reads the feed from the start
    page = feed_page(cursor=0, limit=100, entity_types=[], private=False, now=LATER)
    # then it has the entities' approvals and the documents, not the certificates (leaves 5 and 7)
    assert [(i.seq, i.entity_type, i.event) for i in page.items] == [
        (0, "entity", "registry:entity:approved"),
        (1, "entity", "registry:entity:approved"),
        (2, "entity", "registry:entity:approved"),
        (3, "entity", "registry:entity:approved"),
        (4, "entity", "registry:entity:approved"),
        (6, "document", "procedures:document:uploaded"),
        (8, "document", "procedures:document:uploaded"),
    ]
    assert page.next_cursor == 9 == Leaf.objects.count()
    assert page.items[0].entity_id == str(world.agency.pk)
    assert page.items[0].data == {
        "kind": "legal_person",
        "name": "华信工程咨询有限公司",
        "identifier": world.agency.identifier,
        "region_code": "420100",
        "tags": [],
        "status": "approved",
        "version": world.agency.version,
    }
    assert page.items[5].entity_id == str(world.document.pk)
    assert page.items[5].data == {
        "tender_id": world.tender.pk,
        "name": "招标文件.pdf",
        "size": world.document.size,
        "sha256": world.document.sha256,
        "sm3": world.document.sm3,
        "uploaded_at": (NOW - timedelta(days=2)).isoformat(),
        "superseded_at": None,
    }
    # and the cursor at the end gives an empty page that keeps the cursor
    end = feed_page(cursor=9, limit=100, entity_types=[], private=False, now=LATER)
    assert (end.items, end.next_cursor) == ([], 9)


def test_a_change_of_something_not_public_now_is_listed_without_its_state():
    # given tenders still in draft: their documents are not public
    make_world(status=TenderStatus.DRAFT)
    # when
    items = read_all(types=["document"])
    # then the change is there (the feed does not change shape with time) but shows nothing
    assert [(i.seq, i.data) for i in items] == [(6, None), (8, None)]
    # while the supervisors see the draft's document
    assert [i.data is not None for i in read_all(types=["document"], private=True)] == [True, True]


def test_small_pages_read_every_item_once_in_order():
    # given
    make_world()
    everything = [i.seq for i in read_all(limit=100)]
    # when the feed is read two items at a time
    pages = [i.seq for i in read_all(limit=2)]
    # then
    assert pages == everything == [0, 1, 2, 3, 4, 6, 8]


def test_a_type_filter_lists_only_that_type_and_an_unknown_type_is_refused_with_the_choices():
    # given
    make_world()
    # when / then
    assert [i.seq for i in read_all(types=["document"])] == [6, 8]
    with pytest.raises(FeedInvalid) as refused:
        feed_page(cursor=0, limit=10, entity_types=["objection"], private=False, now=LATER)
    assert refused.value.code == "feed_invalid"
    assert refused.value.details == {"fields": {"types": "unknown"}}
    assert "clarification, document, entity, notice, tender" in refused.value.message


@pytest.mark.parametrize(
    ("cursor", "limit", "field"),
    [(-1, 10, "cursor"), (2**63, 10, "cursor"), (0, 0, "limit"), (0, 501, "limit")],
)
def test_a_bad_cursor_or_limit_is_refused_with_the_field_named(cursor: int, limit: int, field: str):
    with pytest.raises(FeedInvalid) as refused:
        feed_page(cursor=cursor, limit=limit, entity_types=[], private=False, now=LATER)
    assert list(refused.value.details["fields"]) == [field]


def test_the_watermark_holds_back_the_newest_changes_and_everything_after_them(settings):
    # given leaves 0-4 appended at NOW and the later leaves back-dated (as the world's services were called)
    settings.TENDERHALL_FEED_WATERMARK_SECONDS = 2
    make_world()
    # when the feed is read one second after NOW
    early = feed_page(cursor=0, limit=100, entity_types=[], private=False, now=NOW + timedelta(seconds=1))
    # then nothing is served, not even the older leaves behind them, and the cursor does not move
    assert (early.items, early.next_cursor, early.watermark) == ([], 0, NOW - timedelta(seconds=1))
    # when the watermark has passed them
    ready = feed_page(cursor=0, limit=100, entity_types=[], private=False, now=NOW + timedelta(seconds=2))
    # then
    assert [i.seq for i in ready.items] == [0, 1, 2, 3, 4, 6, 8]


def test_the_regulators_feed_adds_objections_scheduled_notices_and_bid_counts_after_the_deadline():
    # given an objection to the documents, which suspends the tender
    world = make_world()
    download(world, world.bidder)
    objection = objection_raise(
        actor=world.bidder, tender_id=world.tender.pk, entity_id=world.bidder_entity.pk,
        subject=ObjectionSubject.DOCUMENTS, text="评分办法不合理。", now=NOW,
    )  # fmt: skip
    # when the public and a regulator read the feed
    public = read_all()
    private = read_all(private=True)
    # then the public sees the suspension, not the objection
    assert [(i.entity_type, i.event) for i in public if i.seq > 8] == [
        ("tender", "procedures:tender:suspended")
    ]
    assert [(i.entity_type, i.event) for i in private if i.seq > 8] == [
        ("tender", "procedures:tender:suspended"),
        ("objection", "procedures:objection:raised"),
    ]
    raised = private[-1]
    assert raised.entity_id == str(objection.pk)
    assert raised.data == {
        "tender_id": world.tender.pk,
        "subject": "documents",
        "status": "open",
        "raised_at": NOW.isoformat(),
        "answer_due_at": objection.answer_due_at.isoformat(),
        "answered_at": None,
    }
    suspended_public, suspended_private = public[-1].data, private[-2].data
    assert suspended_public is not None
    assert suspended_public["status"] == "suspended"
    assert "bids_per_lot" not in suspended_public
    assert suspended_private is not None
    assert (suspended_private["bids_per_lot"], suspended_private["scheduled_notices"]) == (None, [])
    # and from the bid deadline on, supervisors see how many bids each lot holds (none here)
    after = read_all(private=True, types=["tender"], now=DEADLINE)
    assert after[-1].data is not None
    assert after[-1].data["bids_per_lot"] == {}


def test_only_operators_and_regulators_read_the_private_feed():
    world = make_world()
    for viewer in (None, make_user(), world.agency_user, world.bidder):
        with pytest.raises(NotFound):
            access_private_feed(viewer=viewer, cursor=0, limit=10, entity_types=[], now=LATER)
    for viewer in (world.operator, world.regulator):
        page = access_private_feed(viewer=viewer, cursor=0, limit=100, entity_types=[], now=LATER)
        assert [i.seq for i in page.items] == [0, 1, 2, 3, 4, 6, 8]


def test_checkpoints_are_served_by_tree_size_once_signed():
    # given
    make_world()
    assert checkpoint_feed(cursor=0).items == []
    # when the integrator signs the log
    checkpoint = ledger_integrate(now=LATER)
    assert checkpoint is not None
    # then
    page = checkpoint_feed(cursor=0)
    assert [(c.size, c.root_hash) for c in page.items] == [(9, bytes(checkpoint.root_hash).hex())]
    assert page.items[0].note.startswith(checkpoint.note.split("\n", 1)[0] + "\n9\n")
    assert page.next_cursor == 9
    assert checkpoint_feed(cursor=9).items == []


def test_a_page_costs_one_query_for_the_leaves_and_one_per_entity_type_in_it(django_assert_num_queries):
    # given seven items of two types
    make_world()
    # when / then
    with django_assert_num_queries(3):
        page = feed_page(cursor=0, limit=100, entity_types=[], private=False, now=LATER)
    assert len(page.items) == 7
