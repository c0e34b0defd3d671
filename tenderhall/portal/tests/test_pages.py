"""The public pages: the home page, the notice list and its filters, a notice, a tender's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.tests.factories import make_user
from tenderhall.portal.tests.factories import T0, make_document, make_notice, make_tender
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus

pytestmark = pytest.mark.django_db


def page(path: str, data: dict[str, str] | None = None, **headers: Any) -> str:
    response = Client().get(path, data or {}, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_home_page_shows_the_latest_published_notices_and_a_search_box():
    make_notice(title="首页可见的招标公告")
    make_notice(title="首页不可见的未发布公告", published_at=None)
    html = page("/")
    assert "首页可见的招标公告" in html
    assert "首页不可见的未发布公告" not in html
    assert 'action="/notices/"' in html


def test_the_notice_list_searches_and_filters_by_get_parameters():
    # given
    make_notice(title="东湖绿道维修工程招标公告", region_code="420102")
    make_notice(
        title="东湖学校食堂采购公告",
        region_code="420106",
        sector=Sector.PROCUREMENT,
        procedure_type="request_for_quotation",
    )
    make_notice(
        title="北京东湖路改造中标结果公告",
        region_code="110101",
        kind=NoticeKind.RESULT,
        status=TenderStatus.AWARDED,
    )
    # when
    everything = page("/notices/", {"q": "东湖"})
    wuhan_procurement = page("/notices/", {"q": "东湖", "region": "420100", "sector": "procurement"})
    awarded = page("/notices/", {"status": "awarded", "kind": "result"})
    quotation = page("/notices/", {"procedure_type": "request_for_quotation"})
    # then
    assert all(
        t in everything
        for t in ("东湖绿道维修工程招标公告", "东湖学校食堂采购公告", "北京东湖路改造中标结果公告")
    )
    assert "东湖学校食堂采购公告" in wuhan_procurement
    assert "东湖绿道维修工程招标公告" not in wuhan_procurement
    assert "北京东湖路改造中标结果公告" in awarded
    assert "东湖绿道维修工程招标公告" not in awarded
    assert "东湖学校食堂采购公告" in quotation
    assert "东湖绿道维修工程招标公告" not in quotation
    assert "没有符合条件的公告。" in page("/notices/", {"q": "核电站"})


def test_an_invalid_filter_is_shown_under_its_field_and_no_result_is_listed():
    make_notice(title="任何公告")
    unknown_region = page("/notices/", {"region": "999999"})
    reversed_days = page("/notices/", {"published_from": "2026-03-05", "published_until": "2026-03-01"})
    assert 'data-field="region"' in unknown_region
    assert "任何公告" not in unknown_region
    assert 'data-field="published_until"' in reversed_days
    assert "任何公告" not in reversed_days


def test_more_follows_the_cursor_and_htmx_gets_only_the_next_rows():
    # given 25 notices: a page holds 20
    for i in range(25):
        make_notice(title=f"分页公告{i:02d}", published_at=T0 + timedelta(minutes=i))
    # when
    first = page("/notices/", {"q": "分页"})
    cursor = first.split('id="more" href="?')[1].split('"')[0].replace("&amp;", "&")
    second = Client().get(f"/notices/?{cursor}", HTTP_HX_REQUEST="true").content.decode()
    # then
    assert "分页公告24" in first
    assert "分页公告05" in first
    assert "分页公告04" not in first
    assert "<html" not in second
    assert "分页公告04" in second
    assert "分页公告00" in second
    assert 'id="more"' not in second
    assert "分页公告05" not in second


def test_the_notice_list_makes_a_fixed_number_of_queries_whatever_the_page_size(
    django_assert_max_num_queries,
):
    for i in range(25):
        make_notice(title=f"计数公告{i}", published_at=T0 + timedelta(minutes=i))
    client = Client()
    # the session and user are not read for an anonymous visitor; search and notices as in the API test
    with django_assert_max_num_queries(10):
        response = client.get("/notices/", {"q": "计数", "region": "420000"})
    assert response.content.decode().count("计数公告") == 20


def test_a_notice_page_shows_its_text_with_line_breaks_its_facts_and_its_links():
    # given
    original = make_notice(title="教学楼改造施工招标公告", body="第一行<script>\n第二行")
    correction = make_notice(
        title="教学楼改造施工变更公告",
        tender=original.tender,
        kind=NoticeKind.AMENDMENT,
        corrects=original,
        published_at=T0 + timedelta(days=1),
    )
    # when
    html = page(f"/notices/{original.pk}/")
    corrected = page(f"/notices/{correction.pk}/")
    # then
    assert "第一行&lt;script&gt;<br>第二行" in html
    assert "湖北省 武汉市 江岸区" in html
    assert "公开招标（资格后审）" in html
    assert "2026-03-02 09:00" in html
    assert f'href="/tenders/{original.tender_id}/"' in html
    assert f'href="/notices/{correction.pk}/"' in html
    assert 'id="corrects-link"' in corrected
    assert f'href="/notices/{original.pk}/"' in corrected


def test_an_unpublished_or_missing_notice_is_not_found():
    draft = make_notice(published_at=None)
    assert Client().get(f"/notices/{draft.pk}/").status_code == 404
    assert Client().get(f"/notices/{draft.pk + 1000}/").status_code == 404


def test_a_tender_page_shows_lots_timeline_in_beijing_time_documents_and_published_notices():
    # given
    tender = make_tender(name="实验楼新建工程", lots=2)
    document = make_document(tender, name="招标文件.pdf", content=b"x" * 2048)
    make_notice(title="实验楼新建工程招标公告", tender=tender)
    make_notice(title="实验楼未发布变更公告", tender=tender, published_at=None)
    # when
    html = page(f"/tenders/{tender.pk}/")
    # then
    assert f"{tender.code}001" in html
    assert f"{tender.code}002" in html
    assert "9800000.00" in html
    assert "2026-03-23 09:30" in html  # the bid deadline, 01:30 UTC
    assert "招标文件.pdf" in html
    assert "a" * 64 in html
    assert "b" * 64 in html
    assert "2.0" in html
    assert f'href="/api/v1/procedures/documents/{document.pk}/file"' in html
    assert "实验楼新建工程招标公告" in html
    assert "实验楼未发布变更公告" not in html


def test_a_draft_tender_is_not_found_by_the_public():
    tender = make_tender(status=TenderStatus.DRAFT)
    assert Client().get(f"/tenders/{tender.pk}/").status_code == 404
    client = Client()
    client.force_login(make_user())
    assert client.get(f"/tenders/{tender.pk}/").status_code == 404
