from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.errors import NotFound, PermissionDenied
from tenderhall.core.models import AuditEntry
from tenderhall.ledger.models import Leaf
from tenderhall.procedures import services
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.models import Notice, Project
from tenderhall.procedures.tests.factories import (
    PUBLISH_AT,
    attach_signed_document,
    make_draft_tender,
    make_parties,
    make_project,
)

pytestmark = pytest.mark.django_db


def test_codes_have_the_national_layout_and_are_never_reused():
    # given
    parties = make_parties()
    # when
    first, second = make_project(parties), make_project(parties)
    tender = services.tender_create(
        actor=parties.agency_user, project_id=first.pk, name="一", procedure_type="works_open", now=PUBLISH_AT
    )
    lot = services.lot_add(
        actor=parties.agency_user, tender_id=tender.pk, name="一标段", estimate=Decimal(1000), now=PUBLISH_AT
    )
    # then
    assert (first.code, second.code) == ("E4201002026000001", "E4201002026000002")
    assert (len(first.code), len(tender.code), len(lot.code)) == (17, 20, 23)
    assert tender.code == first.code + "001"
    assert lot.code == tender.code + "001"
    Project.objects.filter(pk=second.pk).delete()
    assert make_project(parties).code == "E4201002026000003"


def test_only_the_agency_of_the_entities_registers_a_project():
    parties = make_parties()
    with pytest.raises(PermissionDenied):
        services.project_register(
            actor=make_user(),
            name="x",
            sector="works",
            region_code="420100",
            tenderee_id=parties.tenderee.pk,
            agency_id=parties.agency.pk,
            budget=Decimal(1),
            now=PUBLISH_AT,
        )
    assert not Project.objects.exists()


def test_a_project_needs_a_known_region_and_approved_entities():
    parties = make_parties()
    with pytest.raises(services.TenderInvalid) as raised:
        services.project_register(
            actor=parties.agency_user,
            name="x",
            sector="works",
            region_code="999999",
            tenderee_id=parties.tenderee.pk,
            agency_id=parties.agency.pk,
            budget=Decimal(0),
            now=PUBLISH_AT,
        )
    assert set(raised.value.details["fields"]) == {"region_code", "budget"}


def test_a_region_code_typed_in_full_width_is_stored_and_coded_in_ascii():
    parties = make_parties()
    project = services.project_register(
        actor=parties.agency_user,
        name="某道路改造工程",
        sector="works",
        region_code=" ４２０１００ ",
        tenderee_id=parties.tenderee.pk,
        agency_id=parties.agency.pk,
        budget=Decimal(1000000),
        now=PUBLISH_AT,
    )
    assert project.region_code == "420100"
    assert project.code[1:7] == "420100"


def test_the_procedure_type_must_belong_to_the_projects_track():
    parties = make_parties()
    project = make_project(parties, sector="works")
    with pytest.raises(services.TenderInvalid):
        services.tender_create(
            actor=parties.agency_user,
            project_id=project.pk,
            name="x",
            procedure_type="competitive_negotiation",
            now=PUBLISH_AT,
        )


def test_the_bid_bond_is_at_most_two_percent_of_the_estimate():
    parties = make_parties()
    tender = make_draft_tender(parties)
    services.lot_add(
        actor=parties.agency_user,
        tender_id=tender.pk,
        name="二标段",
        estimate=Decimal("1000000"),
        bid_bond=Decimal("20000"),
        now=PUBLISH_AT,
    )
    with pytest.raises(services.TenderInvalid) as raised:
        services.lot_add(
            actor=parties.agency_user,
            tender_id=tender.pk,
            name="三标段",
            estimate=Decimal("1000000"),
            bid_bond=Decimal("20000.01"),
            now=PUBLISH_AT,
        )
    assert (
        raised.value.details["fields"]["bid_bond"]
        == "The bid bond may be at most 2% of the estimate, here 20000.00 yuan."
    )


def test_publishing_a_lawful_tender_makes_it_published_with_its_notice_and_ledger_leaves():
    # given
    parties = make_parties()
    tender = make_draft_tender(parties, days_to_deadline=22)
    attach_signed_document(parties, tender)
    # when
    services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    # then
    tender.refresh_from_db()
    assert tender.status == TenderStatus.PUBLISHED
    assert tender.next_check_at == tender.documents_from
    assert (tender.rules_version, tender.calendar_version) != ("", "")
    notice = Notice.objects.get(tender=tender)
    assert (notice.kind, notice.published_at) == (NoticeKind.TENDER, PUBLISH_AT)
    assert "投标截止时间（开标时间）：2026年03月24日 09:00" in notice.body
    published = Leaf.objects.get(event_type="procedures:tender:published")
    assert json.loads(bytes(published.data))["data"]["code"] == tender.code
    assert Leaf.objects.filter(event_type="procedures:notice:published").count() == 1
    assert AuditEntry.objects.filter(action="procedures:tender:published").count() == 1


def test_a_notice_is_written_in_chinese_whatever_the_language_of_the_request_that_publishes_it():
    from django.utils import translation

    parties = make_parties()
    tender = make_draft_tender(parties, days_to_deadline=22)
    attach_signed_document(parties, tender)
    with translation.override("en"):
        services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    notice = Notice.objects.get(tender=tender)
    assert notice.title == f"{tender.name}招标公告"


def test_a_timeline_one_day_short_is_refused_naming_the_limit_the_shortfall_and_the_earliest_date():
    # given: the documents out on 2 March 09:00 and the deadline on 23 March 09:00; the works track's 20 days,
    # counted from the day after issue and leaving the deadline's own day whole, need 24 March
    parties = make_parties()
    tender = make_draft_tender(parties, days_to_deadline=21)
    attach_signed_document(parties, tender)
    # when
    with pytest.raises(services.TenderBreaksLimits) as raised:
        services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    # then
    violations = raised.value.details["violations"]
    assert len(violations) == 1
    assert violations[0]["short_by"] == 1
    assert violations[0]["unit"] == "calendar_days"
    assert datetime.fromisoformat(violations[0]["earliest_legal"]) == datetime(2026, 3, 24, 1, 0, tzinfo=UTC)
    tender.refresh_from_db()
    assert tender.status == TenderStatus.DRAFT
    assert not Notice.objects.exists()
    assert not Leaf.objects.filter(event_type__startswith="procedures:tender").exists()


def test_publishing_needs_lots_documents_and_a_timeline():
    parties = make_parties()
    tender = make_draft_tender(parties)
    with pytest.raises(services.TenderInvalid) as raised:
        services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    assert raised.value.details == {"fields": {"documents": "none"}}


def test_a_published_tender_is_not_edited_but_can_be_terminated_with_a_notice():
    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    with pytest.raises(services.TenderNotDraft):
        services.lot_add(
            actor=parties.agency_user,
            tender_id=tender.pk,
            name="迟到标段",
            estimate=Decimal(1),
            now=PUBLISH_AT,
        )
    later = PUBLISH_AT + timedelta(days=2)
    services.tender_cancel(actor=parties.agency_user, tender_id=tender.pk, reason="项目资金未落实", now=later)
    tender.refresh_from_db()
    assert (tender.status, tender.next_check_at) == (TenderStatus.CANCELLED, None)
    termination = Notice.objects.get(tender=tender, kind=NoticeKind.TERMINATION)
    assert termination.published_at == later
    assert "终止原因：项目资金未落实" in termination.body


def test_strangers_cannot_publish_and_nothing_changes():
    parties = make_parties()
    tender = make_draft_tender(parties)
    with pytest.raises(PermissionDenied):
        services.tender_publish(actor=make_user(), tender_id=tender.pk, now=datetime(2026, 3, 2, tzinfo=UTC))
    tender.refresh_from_db()
    assert tender.status == TenderStatus.DRAFT


def test_ledger_verify_recomputes_the_published_tender_and_its_notice_and_names_a_changed_notice():
    # given: a published tender, its leaves integrated
    from tenderhall.ledger.verify import verify_local

    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    assert verify_local().problems == []
    # when: the published notice's text is edited behind the platform's back
    notice = Notice.objects.get(tender=tender)
    Notice.objects.filter(pk=notice.pk).update(body=notice.body.replace("江城", "汉口"))
    # then
    problems = verify_local().problems
    assert len(problems) == 1
    assert "procedures:notice:published" in problems[0]
    assert "hashes.notice" in problems[0]


def test_publishing_after_the_planned_notice_time_opens_the_documents_at_publication_and_checks_that():
    # given: a timeline planned from 2 March, published only on 4 March
    parties = make_parties()
    tender = make_draft_tender(parties, days_to_deadline=22)
    attach_signed_document(parties, tender)
    late = PUBLISH_AT + timedelta(days=2)
    # when: the deadline, 20 days after the real availability, is now too close
    with pytest.raises(services.TenderBreaksLimits) as raised:
        services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=late)
    # then
    assert raised.value.details["violations"][0]["short_by"] == 1
    tender.refresh_from_db()
    assert (tender.status, tender.documents_from) == (TenderStatus.DRAFT, PUBLISH_AT)
    # and three hours late still keeps the 20 days: published with the real times
    services.tender_publish(
        actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT + timedelta(hours=3)
    )
    tender.refresh_from_db()
    assert tender.documents_from == tender.notice_publish_at == PUBLISH_AT + timedelta(hours=3)


def test_a_published_notice_is_corrected_by_a_new_notice_that_names_it_and_stays_as_it_was():
    parties = make_parties()
    tender = make_draft_tender(parties)
    attach_signed_document(parties, tender)
    services.tender_publish(actor=parties.agency_user, tender_id=tender.pk, now=PUBLISH_AT)
    original = Notice.objects.get(tender=tender)
    body, content_hash = original.body, original.content_hash
    later = PUBLISH_AT + timedelta(days=1)
    # when
    correction = services.notice_correction_publish(
        actor=parties.agency_user, notice_id=original.pk, text="招标人联系电话更正为027-88886666。", now=later
    )
    # then
    original.refresh_from_db()
    assert (original.body, original.content_hash) == (body, content_hash)
    assert (correction.kind, correction.corrects, correction.published_at) == (
        NoticeKind.AMENDMENT,
        original,
        later,
    )
    assert "招标人联系电话更正为027-88886666。" in correction.body
    with pytest.raises(NotFound):
        services.notice_correction_publish(actor=make_user(), notice_id=original.pk, text="x", now=later)
