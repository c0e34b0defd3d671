"""The merge rules that compile a record's releases."""

from __future__ import annotations

import pytest

from tenderhall.exchange.ocds_merge import compile_releases


def test_objects_merge_identified_arrays_merge_by_id_other_values_replace_and_null_removes() -> None:
    first = {
        "ocid": "o",
        "id": "1",
        "date": "2026-03-02T09:00:00+08:00",
        "tag": ["tender"],
        "tender": {"title": "A", "status": "active", "documents": [{"id": "d1", "title": "文件"}]},
        "parties": [{"id": "p1", "name": "甲", "roles": ["buyer"]}],
    }
    second = {
        "ocid": "o",
        "id": "2",
        "date": "2026-03-03T09:00:00+08:00",
        "tag": ["tenderUpdate"],
        "tender": {
            "status": "cancelled",
            "title": None,
            "documents": [{"id": "d1", "url": "https://x.example/d1"}, {"id": "d2", "title": "公告"}],
        },
        "parties": [{"id": "p1", "roles": ["procuringEntity"]}],
    }
    # given out of order, they are merged by date
    compiled = compile_releases([second, first])
    assert compiled == {
        "ocid": "o",
        "id": "o-2026-03-03T09:00:00+08:00",
        "date": "2026-03-03T09:00:00+08:00",
        "tag": ["compiled"],
        "tender": {
            "status": "cancelled",
            "documents": [
                {"id": "d1", "title": "文件", "url": "https://x.example/d1"},
                {"id": "d2", "title": "公告"},
            ],
        },
        "parties": [{"id": "p1", "name": "甲", "roles": ["procuringEntity"]}],  # plain arrays replace
    }


def test_compiling_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one release"):
        compile_releases([])
