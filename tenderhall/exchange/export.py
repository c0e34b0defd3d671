"""Whole exports as streams: every release (or record) of the platform in one package, written chunk by
chunk to a text stream. Used by `tenderhall export-ocds`; memory stays flat however many tenders there are."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from tenderhall.exchange import conf
from tenderhall.exchange.packaging import package_head, record_package_chunks, release_package_chunks
from tenderhall.exchange.selectors import all_records, all_releases
from tenderhall.exchange.validation import release_errors


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def ocds_export(
    *, out: Writer, records: bool, now: datetime, uri: str = "", problems: list[str] | None = None
) -> int:
    """Write one release package (or record package) of everything public to ``out``; the number of
    releases (or records) written. ``EmptyPackage`` if there is nothing to write (nothing is written).
    With ``problems`` (a list), each release (and compiled release) is checked against the release schema as
    it goes out, and what fails is appended there."""
    head = package_head(
        uri=uri or f"{conf.public_url()}/api/v1/ocds/{'records' if records else 'releases'}",
        published_at=now,
        publisher_name=conf.publisher_name(),
        publisher_uscc=conf.publisher_uscc(),
        license_url=conf.data_license(),
    )
    count = 0
    items = all_records() if records else all_releases()

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for item in items:
            count += 1
            if problems is not None:
                problems.extend(_check(item, records=records))
            yield item

    chunks = (record_package_chunks if records else release_package_chunks)(head, counted())
    for chunk in chunks:
        out.write(chunk)
    return count


def _check(item: dict[str, Any], *, records: bool) -> Iterator[str]:
    releases = [*item["releases"], item["compiledRelease"]] if records else [item]
    for release in releases:
        for error in release_errors(release):
            yield f"{release.get('id')}: {error.path} [{error.validator}] {error.message}"
