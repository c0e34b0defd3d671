"""The notice search: tokens (pure), then queries against the database, on SQLite and on PostgreSQL alike.

The suite runs on both databases; every database test asserts the exact notices in their exact order, so
passing on both means both give the same results.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core import hooks
from tenderhall.portal import search, tokens
from tenderhall.portal.models import NoticeSearchEntry, tsvector_literal
from tenderhall.portal.selectors import SearchInvalid, notice_search
from tenderhall.portal.tests.factories import T0, make_notice, make_tender
from tenderhall.portal.tokens import Phrase, document_terms, query_phrases
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus

# --- tokens (pure) ---------------------------------------------------------------------------------------


def test_a_chinese_run_gives_overlapping_bigrams_then_its_last_character():
    assert document_terms("道路改造") == ["道路", "路改", "改造", "造"]
    assert document_terms("桥") == ["桥"]


def test_latin_words_and_digits_stay_whole_and_punctuation_only_separates():
    assert document_terms("采购LED显示屏2套（E4201002026000123）。") == [
        "采购",
        "购",
        "led",
        "显示",
        "示屏",
        "屏",
        "2",
        "套",
        "e4201002026000123",
    ]


def test_text_is_normalised_nfkc_and_lower_case():
    assert document_terms("ＬＥＤ　１２３ Ab-C") == ["led", "123", "ab", "c"]
    assert document_terms("①号楼") == ["1", "号楼", "楼"]


def test_a_very_long_word_is_cut_on_both_sides_alike():
    word = "a" * 100
    assert document_terms(word) == ["a" * tokens.MAX_WORD]
    assert query_phrases(word) == [Phrase(("a" * tokens.MAX_WORD,))]


def test_query_phrases_drop_the_last_character_of_a_final_run_and_prefix_a_single_one():
    assert query_phrases("桥") == [Phrase(("桥",), prefix=True)]
    assert query_phrases("道路") == [Phrase(("道路",))]
    assert query_phrases("道路改造") == [Phrase(("道路", "路改", "改造"))]
    assert query_phrases("LED屏") == [Phrase(("led", "屏"), prefix=True)]
    assert query_phrases("显示屏LED") == [Phrase(("显示", "示屏", "屏", "led"))]
    assert query_phrases("道路  改造 道路") == [Phrase(("道路",)), Phrase(("改造",))]
    assert query_phrases("，。 — ") == []


def test_a_query_longer_than_the_budget_is_cut_and_loses_its_prefix():
    phrases = query_phrases("甲" * 100 + " 桥")
    assert [len(p.tokens) for p in phrases] == [tokens.MAX_QUERY_TOKENS]
    assert not phrases[0].prefix


@given(st.text(alphabet="道路改造桥梁LEDled2026 ，。-", max_size=40))
def test_every_query_taken_from_a_text_matches_that_text_as_a_phrase(text):
    # A query cut from a document must match it: its tokens occur consecutively in the document's tokens.
    terms = document_terms(text)
    for phrase in query_phrases(text):
        tokens = list(phrase.tokens)
        n = len(tokens)
        assert any(
            terms[i : i + n - 1] == tokens[:-1]
            and (terms[i + n - 1].startswith(tokens[-1]) if phrase.prefix else terms[i + n - 1] == tokens[-1])
            for i in range(len(terms) - n + 1)
        )


def test_region_filters_cover_a_province_a_city_or_one_county():
    assert [tokens.region_prefix(code) for code in ("420000", "420100", "420102", "42", "4201")] == [
        "42",
        "4201",
        "420102",
        "42",
        "4201",
    ]


def test_filter_and_block_tokens_can_never_equal_a_text_token():
    for token in (tokens.region_token("420100"), tokens.kind_token("tender"), tokens.block_token(20, 1687)):
        assert token[0].isascii()
        assert not token.isascii()
        assert token not in document_terms(token)


def test_ranks_order_by_publication_second_then_notice_id_and_days_are_beijing_days():
    # given 2 March 2026 00:30 in Beijing is 1 March 16:30 UTC
    early = datetime(2026, 3, 1, 16, 30, tzinfo=T0.tzinfo)
    # then
    assert tokens.notice_rank(early, 7) < tokens.notice_rank(early, 8) < tokens.notice_rank(T0, 1)
    assert tokens.rank_at_day_start(date(2026, 3, 2)) <= tokens.notice_rank(early, 7)
    assert tokens.rank_after_day(date(2026, 3, 1)) <= tokens.notice_rank(early, 7)
    assert tokens.rank_notice_id(tokens.notice_rank(T0, 12345)) == 12345
    assert tokens.rank_published_at(tokens.notice_rank(T0, 3)) == T0
    with pytest.raises(ValueError, match="does not fit"):
        tokens.notice_rank(T0, 2**31)


@given(st.integers(0, 2**31), st.integers(0, 2**29))
def test_time_blocks_cover_the_range_newest_first_without_gaps_growing_a_level_at_a_time(newest, span):
    oldest = max(0, newest - span)
    blocks = list(tokens.blocks(newest, oldest))
    ends = []
    previous_level = 0
    for level, index in blocks:
        shift = tokens.BLOCK_LEVELS[level]
        ends.append(((index << shift), (index + 1) << shift))
        assert level - previous_level <= 1
        previous_level = level
    assert ends[0][0] <= newest < ends[0][1]
    assert all(later[1] == earlier[0] for earlier, later in itertools.pairwise(ends))
    assert ends[-1][0] <= oldest


def test_the_postgresql_literal_keeps_every_position_and_needs_no_parser():
    assert tsvector_literal("道路 路改 道路 led") == "'道路':1,3 '路改':2 'led':4"


def test_the_query_strings_of_both_databases_say_the_same():
    phrases = [Phrase(("道路", "路改")), Phrase(("led", "屏"), prefix=True), Phrase(("桥",), prefix=True)]
    assert tokens.fts5_query(phrases, ["q区42"]) == '"道路 路改" AND "led 屏" * AND "桥" * AND "q区42"'
    # PostgreSQL: GIN gets the exact lexemes, the phrases are checked on the rows it finds
    assert tokens.tsqueries(phrases, ["q区42"]) == (
        "'道路' & '路改' & 'led' & ('桥':*) & 'q区42'",
        "('道路' <-> '路改') & ('led' <-> '屏':*)",
    )
    assert tokens.tsquery(phrases, ["q区42"]) == (
        "('道路' <-> '路改') & ('led' <-> '屏':*) & ('桥':*) & 'q区42'"
    )


# --- queries (database) ----------------------------------------------------------------------------------


def titles(page) -> list[str]:
    return [notice.title for notice in page.items]


@pytest.fixture
def corpus():
    """Six published notices an hour apart (the last is the newest) and one that is not published."""
    made = {}
    notices: list[tuple[str, str, dict[str, Any]]] = [
        ("bridge", "长江大桥维修工程招标公告", {"region_code": "420102"}),
        ("road", "城市道路改造工程招标公告", {"region_code": "420106"}),
        (
            "road_far",
            "道路的改造及绿化中标结果公告",
            {"region_code": "110101", "sector": Sector.PROCUREMENT, "procedure_type": "procurement_open"},
        ),
        (
            "led",
            "教学楼LED显示屏2套采购公告",
            {
                "region_code": "420102",
                "sector": Sector.PROCUREMENT,
                "procedure_type": "request_for_quotation",
            },
        ),
        ("punct", "道路，改造设计招标公告", {"region_code": "420500", "status": TenderStatus.AWARDED}),
        (
            "school",
            "第一实验中学食堂食材采购公告",
            {
                "region_code": "420102",
                "sector": Sector.PROCUREMENT,
                "procedure_type": "competitive_consultation",
            },
        ),
    ]
    for hour, (key, title, fields) in enumerate(notices):
        kind = NoticeKind.RESULT if key == "road_far" else NoticeKind.TENDER
        made[key] = make_notice(
            title=title,
            body=f"{title}\n项目编号 X{hour}",
            kind=kind,
            published_at=T0 + timedelta(hours=hour),
            **fields,
        )
    made["draft"] = make_notice(title="道路桥梁LED未发布公告", published_at=None)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("桥", ["长江大桥维修工程招标公告"]),  # one character: any token starting with it
        ("道路", ["道路，改造设计招标公告", "道路的改造及绿化中标结果公告", "城市道路改造工程招标公告"]),
        ("路改造", ["城市道路改造工程招标公告"]),  # a phrase: 道路的改造 and 道路，改造 do not match
        ("道路 改造", ["道路，改造设计招标公告", "道路的改造及绿化中标结果公告", "城市道路改造工程招标公告"]),
        ("道路，改造", ["道路，改造设计招标公告"]),  # punctuation in a query keeps the runs apart
        ("LED显示屏", ["教学楼LED显示屏2套采购公告"]),
        ("led显示屏2套", ["教学楼LED显示屏2套采购公告"]),
        ("ｌｅｄ", ["教学楼LED显示屏2套采购公告"]),
        ("le", []),  # Latin words match whole
        ("x3", ["教学楼LED显示屏2套采购公告"]),
        ("核电站", []),
        ("。，", []),
    ],
)
def test_chinese_latin_and_digit_queries_find_exactly_their_notices_newest_first(corpus, query, expected):
    assert titles(notice_search(query=query)) == expected


@pytest.mark.django_db
def test_unpublished_notices_never_appear_even_if_indexed_by_mistake(corpus):
    # given the unpublished notice is offered to the index directly
    search.notice_index(corpus["draft"])
    # then it has no entry and no search finds it
    assert not NoticeSearchEntry.objects.filter(notice=corpus["draft"]).exists()
    assert "道路桥梁LED未发布公告" not in titles(notice_search(query="未发布"))
    assert corpus["draft"].pk not in {n.pk for n in notice_search(limit=100).items}


@pytest.mark.django_db
def test_filters_combine_with_each_other_and_with_the_text(corpus):
    assert titles(notice_search(region="420000")) == [
        "第一实验中学食堂食材采购公告",
        "道路，改造设计招标公告",
        "教学楼LED显示屏2套采购公告",
        "城市道路改造工程招标公告",
        "长江大桥维修工程招标公告",
    ]
    assert titles(notice_search(region="420100", sector=Sector.PROCUREMENT)) == [
        "第一实验中学食堂食材采购公告",
        "教学楼LED显示屏2套采购公告",
    ]
    assert titles(notice_search(region="420102", procedure_type="request_for_quotation", query="采购")) == [
        "教学楼LED显示屏2套采购公告",
    ]
    assert titles(notice_search(kind=NoticeKind.RESULT, query="道路")) == ["道路的改造及绿化中标结果公告"]
    assert titles(notice_search(status=TenderStatus.AWARDED)) == ["道路，改造设计招标公告"]
    assert titles(notice_search(status=TenderStatus.AWARDED, query="道路")) == ["道路，改造设计招标公告"]
    assert titles(notice_search(status=TenderStatus.BIDDING, query="道路 改造", region="42")) == [
        "城市道路改造工程招标公告",
    ]
    assert titles(notice_search(region="110101", sector=Sector.WORKS)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("few_tenders", [0, 100])
def test_a_status_held_by_few_or_by_many_tenders_gives_the_same_results(corpus, monkeypatch, few_tenders):
    # given: with 0, every status counts as common (matches are checked against their tender as they come);
    # with 100, the statuses here are rare (the search starts from their tenders' notices)
    monkeypatch.setattr(search, "FEW_TENDERS", few_tenders)
    # then
    assert titles(notice_search(status=TenderStatus.AWARDED)) == ["道路，改造设计招标公告"]
    assert titles(notice_search(status=TenderStatus.BIDDING, query="道路")) == [
        "道路的改造及绿化中标结果公告",
        "城市道路改造工程招标公告",
    ]
    assert titles(notice_search(status=TenderStatus.BIDDING, query="LED显", region="420102")) == [
        "教学楼LED显示屏2套采购公告"
    ]
    assert (
        titles(notice_search(status=TenderStatus.BIDDING, query="桥", published_until=date(2026, 3, 1))) == []
    )
    assert titles(notice_search(status=TenderStatus.SUSPENDED)) == []


@pytest.mark.django_db
def test_publication_days_are_beijing_days_both_included(corpus):
    # given: T0 is 09:00 in Beijing on 2 March; the notices follow hourly until 14:00
    day = date(2026, 3, 2)
    # then
    assert len(notice_search(published_from=day, published_until=day).items) == 6
    assert notice_search(published_until=day - timedelta(days=1)).items == []
    assert notice_search(published_from=day + timedelta(days=1)).items == []
    assert titles(notice_search(published_from=day, published_until=day, query="桥")) == [
        "长江大桥维修工程招标公告"
    ]


@pytest.mark.django_db
def test_pages_follow_each_other_by_cursor_without_gaps_or_repeats(corpus):
    first = notice_search(limit=4)
    second = notice_search(limit=4, cursor=first.next_cursor)
    assert first.next_cursor is not None
    assert second.next_cursor is None
    assert [n.pk for n in first.items + second.items] == [
        corpus[key].pk for key in ("school", "punct", "led", "road_far", "road", "bridge")
    ]
    roads = notice_search(query="道路", limit=1)
    assert titles(notice_search(query="道路", limit=1, cursor=roads.next_cursor)) == [
        "道路的改造及绿化中标结果公告"
    ]


@pytest.mark.django_db
def test_notices_published_in_the_same_second_come_newest_id_first():
    tender = make_tender()
    older = make_notice(tender=tender, title="同一秒甲公告")
    newer = make_notice(tender=tender, title="同一秒乙公告")
    assert [n.pk for n in notice_search(query="同一秒").items] == [newer.pk, older.pk]


@pytest.mark.django_db
def test_invalid_parameters_are_refused_with_each_field_named():
    with pytest.raises(SearchInvalid) as refused:
        notice_search(
            region="4201x",
            kind="notice",
            status="draft",
            procedure_type="auction",
            sector="x",
            published_from=date(2026, 3, 2),
            published_until=date(2026, 3, 1),
            cursor="abc",
            limit=0,
            query="长" * 201,
        )
    assert set(refused.value.details["fields"]) == {
        "region",
        "kind",
        "status",
        "procedure_type",
        "sector",
        "published_until",
        "cursor",
        "limit",
        "query",
    }


@pytest.mark.django_db
def test_many_matches_across_time_blocks_come_newest_first_through_every_path_of_the_walk(monkeypatch):
    # given notices spread over several small and large time blocks, with PROBE so low that the
    # PostgreSQL walk splits dense blocks and scans dense leaves (SQLite does not use it)
    monkeypatch.setattr(search, "PROBE", 2)
    paths: list[str] = []
    split, scan = search._PgWalk.block, search._PgWalk.scan

    def block(walk, level, *args):
        paths.append(f"block{level}")
        return split(walk, level, *args)

    def scan_leaf(walk, *args):
        paths.append("scan")
        return scan(walk, *args)

    monkeypatch.setattr(search._PgWalk, "block", block)
    monkeypatch.setattr(search._PgWalk, "scan", scan_leaf)
    tender = make_tender()
    moments = [T0 - timedelta(days=days, hours=i) for days in (0, 1, 15, 60, 400, 900) for i in range(4)]
    made = [
        (at, make_notice(tender=tender, title=f"密集道路工程{i}", published_at=at).pk)
        for i, at in enumerate(moments)
    ]
    newest_first = [pk for _, pk in sorted(made, reverse=True)]
    # when
    pages, cursor = [], None
    while True:
        page = notice_search(query="道路", limit=5, cursor=cursor)
        pages += [n.pk for n in page.items]
        if (cursor := page.next_cursor) is None:
            break
    # then
    assert pages == newest_first
    end_of_1_february = datetime(2026, 2, 1, 16, 0, tzinfo=T0.tzinfo)  # midnight in Beijing
    before = [pk for at, pk in sorted(made, reverse=True) if at < end_of_1_february]
    assert [
        n.pk for n in notice_search(query="道路", limit=7, published_until=date(2026, 2, 1)).items
    ] == before[:7]
    if connection.vendor == "postgresql":  # every path of the walk was taken
        assert {"scan", "block0", "block1", "block2", "block3"} <= set(paths)


@pytest.mark.django_db
def test_reindex_restores_missing_entries_drops_unpublished_ones_and_changes_nothing_when_run_again(corpus):
    # given two entries lost and one notice unpublished behind the index's back
    NoticeSearchEntry.objects.filter(notice__in=[corpus["bridge"], corpus["led"]]).delete()
    type(corpus["road"]).objects.filter(pk=corpus["road"].pk).update(published_at=None)
    assert titles(notice_search(query="桥")) == []
    # when
    call_command("portal", "reindex")
    # then
    assert titles(notice_search(query="桥")) == ["长江大桥维修工程招标公告"]
    assert titles(notice_search(query="路改造")) == []
    assert NoticeSearchEntry.objects.count() == 5
    assert search.notice_reindex() == search.ReindexReport(indexed=0, removed=0)
    assert search.notice_reindex(everything=True) == search.ReindexReport(indexed=5, removed=0)
    assert titles(notice_search(query="LED")) == ["教学楼LED显示屏2套采购公告"]


@pytest.mark.django_db
def test_the_portal_indexes_through_the_publication_hook_it_registers_in_ready():
    assert search.notice_index in hooks._notice_published
    notice = make_notice(title="钩子发布测试公告", published_at=None)
    assert titles(notice_search(query="钩子")) == []
    notice.published_at = T0
    notice.save(update_fields=["published_at"])
    hooks.notice_published(notice)
    assert titles(notice_search(query="钩子")) == ["钩子发布测试公告"]


@pytest.mark.django_db
def test_the_index_has_its_database_specific_structure():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            assert {
                ("table", "portal_noticesearch_fts"),
                ("trigger", "portal_noticesearch_ai"),
                ("trigger", "portal_noticesearch_ad"),
                ("trigger", "portal_noticesearch_au"),
            } <= set(cursor.fetchall())
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'portal_noticesearchentry_terms_gin'"
            )
            assert "USING gin (terms)" in cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_notice_published_by_the_scheduler_is_found_at_once():
    from tenderhall.procedures.scheduler import notices_publish_due

    # given a notice due at T0, not yet published
    notice = make_notice(title="调度发布的招标公告", published_at=None)
    type(notice).objects.filter(pk=notice.pk).update(publish_at=T0, content_hash="sha256:" + "0" * 64)
    # when the scheduler runs
    assert notices_publish_due(now=T0 + timedelta(minutes=1)) == 1
    # then
    assert titles(notice_search(query="调度发布")) == ["调度发布的招标公告"]
