"""The portal API: public search and notices, the same answers as the pages, errors as JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from tenderhall.accounts.tests.factories import make_user
from tenderhall.portal.tests.factories import T0, make_notice
from tenderhall.procedures.choices import NoticeKind, TenderStatus

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tenderhall.portal.tests.api_urls")]


def test_the_search_answers_anyone_with_items_newest_first_and_a_cursor():
    # given
    older = make_notice(title="江城道路改造工程招标公告", published_at=T0)
    newer = make_notice(title="江城道路照明工程招标公告", published_at=T0 + timedelta(hours=1))
    make_notice(title="江城道路未发布公告", published_at=None)
    # when
    first = Client().get("/api/v1/portal/notices", {"query": "江城道路", "limit": "1"})
    second = Client().get(
        "/api/v1/portal/notices", {"query": "江城道路", "limit": "1", "cursor": first.json()["next_cursor"]}
    )
    # then
    assert first.status_code == second.status_code == 200
    assert [item["id"] for item in first.json()["items"]] == [newer.pk]
    assert second.json() == {
        "items": [
            {
                "id": older.pk,
                "kind": "tender",
                "title": "江城道路改造工程招标公告",
                "region_code": "420102",
                "region_name": "湖北省 武汉市 江岸区",
                "sector": "works",
                "procedure_type": "works_open",
                "published_at": "2026-03-02T01:00:00Z",
                "tender_id": older.tender_id,
                "tender_code": older.tender.code,
                "tender_name": "教学楼改造施工",
                "tender_status": "bidding",
                "corrects_id": None,
            }
        ],
        "next_cursor": None,
    }


def test_a_signed_in_user_gets_the_same_public_answer():
    make_notice(title="同样的公告")
    client = Client()
    client.force_login(make_user())
    assert client.get("/api/v1/portal/notices").json() == Client().get("/api/v1/portal/notices").json()


def test_filters_are_parameters_of_the_search():
    make_notice(title="结果公告甲", kind=NoticeKind.RESULT, status=TenderStatus.AWARDED, region_code="420500")
    make_notice(title="招标公告乙", region_code="420102")
    answer = (
        Client()
        .get(
            "/api/v1/portal/notices",
            {
                "region": "420000",
                "kind": "result",
                "status": "awarded",
                "published_from": "2026-03-02",
                "published_until": "2026-03-02",
            },
        )
        .json()
    )
    assert [item["title"] for item in answer["items"]] == ["结果公告甲"]


def test_invalid_parameters_get_a_422_naming_each_field():
    response = Client().get("/api/v1/portal/notices", {"kind": "notice", "region": "4", "cursor": "x"})
    assert response.status_code == 422
    assert response.json()["code"] == "search_invalid"
    assert set(response.json()["details"]["fields"]) == {"kind", "region", "cursor"}
    for cursor in ("²", "１２", "٣"):  # digits to str.isdigit, not to int() or the column
        odd = Client().get("/api/v1/portal/notices", {"cursor": cursor})
        assert (cursor, odd.status_code, set(odd.json()["details"]["fields"])) == (cursor, 422, {"cursor"})
    bad_date = Client().get("/api/v1/portal/notices", {"published_from": "2026-13-01"})
    assert (bad_date.status_code, bad_date.json()["code"]) == (422, "invalid_input")


def test_a_notice_comes_with_its_text_data_and_corrections():
    # given
    original = make_notice(title="原公告", body="第一行\n第二行")
    correction = make_notice(
        title="更正公告",
        tender=original.tender,
        kind=NoticeKind.AMENDMENT,
        corrects=original,
        published_at=T0 + timedelta(days=1),
    )
    make_notice(title="未发布的更正", tender=original.tender, corrects=original, published_at=None)
    # when
    answer = Client().get(f"/api/v1/portal/notices/{original.pk}").json()
    # then
    assert (answer["body"], answer["correction_ids"], answer["corrects_id"]) == (
        "第一行\n第二行",
        [correction.pk],
        None,
    )
    assert answer["data"] == {"kind": "tender", "tender": {"code": original.tender.code}}
    assert Client().get(f"/api/v1/portal/notices/{correction.pk}").json()["corrects_id"] == original.pk


def test_an_unpublished_or_missing_notice_is_not_found():
    draft = make_notice(published_at=None)
    for notice_id in (draft.pk, draft.pk + 1000):
        response = Client().get(f"/api/v1/portal/notices/{notice_id}")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_search_makes_a_fixed_number_of_queries_whatever_the_page_size(django_assert_max_num_queries):
    for i in range(30):
        make_notice(title=f"查询次数公告{i}", published_at=T0 + timedelta(minutes=i))
    # SQLite: the FTS5 read and one read of the notices with their tenders. PostgreSQL: the walk's few
    # statements (bounds, a transaction, planner settings, one probe), then the same read.
    with django_assert_max_num_queries(10):
        answer = Client().get("/api/v1/portal/notices", {"query": "查询次数", "limit": "25"}).json()
    assert len(answer["items"]) == 25
