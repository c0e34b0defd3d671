"""Compile releases into a record's compiled release, by the OCDS merge rules. Pure.

Releases are merged oldest first (by ``date``, then by their order in the input): an object merges field by
field into the object before it; an array whose items are all objects with an ``id`` merges item by item on
that id (new ids are appended in order); any other value, arrays included, replaces the one before; a
``null`` removes the field. The compiled release takes the last release's date, ``tag: ["compiled"]`` and the
id ``<ocid>-<date>``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

SKIPPED = frozenset({"id", "date", "tag"})


def _identified(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and isinstance(item.get("id"), str | int) for item in value)
    )


def _merge_value(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return _merge_object(old, new)
    if _identified(old) and _identified(new):
        merged: dict[str | int, Any] = {item["id"]: item for item in old}
        for item in new:
            merged[item["id"]] = _merge_object(merged[item["id"]], item) if item["id"] in merged else item
        return list(merged.values())
    return copy.deepcopy(new)


def _merge_object(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(old)
    for key, value in new.items():
        if value is None:
            result.pop(key, None)
        elif key in result:
            result[key] = _merge_value(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def compile_releases(releases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The compiled release of releases that share one ocid (at least one)."""
    ordered = sorted(enumerate(releases), key=lambda pair: (str(pair[1].get("date", "")), pair[0]))
    if not ordered:
        msg = "a compiled release needs at least one release"
        raise ValueError(msg)
    compiled: dict[str, Any] = {}
    for _, release in ordered:
        compiled = _merge_object(compiled, {k: v for k, v in release.items() if k not in SKIPPED})
    last = ordered[-1][1]
    date = last.get("date")
    compiled["id"] = f"{compiled.get('ocid', '')}-{date}"
    if date is not None:
        compiled["date"] = date
    compiled["tag"] = ["compiled"]
    return compiled
