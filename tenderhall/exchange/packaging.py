"""Release and record packages written as a stream of JSON text chunks: the package's head, then one
release (or record) at a time, then its tail. Nothing holds the whole package, so an export of any size
keeps memory flat; the chunks joined are one JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from tenderhall.exchange.ocds_mapping import EXTENSIONS, SCHEME, timestamp

VERSION = "1.1"


class EmptyPackage(ValueError):
    """An OCDS package holds at least one release or record."""


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def package_head(
    *,
    uri: str,
    published_at: datetime,
    publisher_name: str,
    publisher_uscc: str = "",
    license_url: str = "",
    links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    publisher: dict[str, str] = {"name": publisher_name}
    if publisher_uscc:
        publisher |= {"scheme": SCHEME, "uid": publisher_uscc}
    head: dict[str, Any] = {
        "uri": uri,
        "version": VERSION,
        "extensions": list(EXTENSIONS),
        "publishedDate": timestamp(published_at),
        "publisher": publisher,
    }
    if license_url:
        head["license"] = license_url
    if links:
        head["links"] = dict(links)
    return head


def _stream(head: Mapping[str, Any], key: str, items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        msg = f"nothing to put in the package: an OCDS package needs at least one item in {key}"
        raise EmptyPackage(msg)
    yield _dumps(dict(head))[:-1] + f',"{key}":[' + _dumps(first)
    for item in iterator:
        yield "," + _dumps(item)
    yield "]}"


def release_package_chunks(head: Mapping[str, Any], releases: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """A release package as text chunks; :class:`EmptyPackage` before anything is yielded if no release."""
    return _stream(head, "releases", releases)


def record_package_chunks(head: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """A record package as text chunks (no ``extensions`` rule differs: the head is shared)."""
    return _stream(head, "records", records)
