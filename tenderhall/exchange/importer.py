"""Import OCDS data from other publishers into the read-only analytics store, as it is.

Real data is messy: bare releases instead of packages, JSON lines, a missing ``version`` or ``publisher``,
text that is not UTF-8, dates without an offset, Chinese labels in closed codelists, objects where arrays
belong. The importer accepts every file it can read as JSON, keeps what it can use, and records each problem
(with the JSON path, the schema keyword and a message); a file it cannot read at all is still recorded, with
the reason. Nothing here raises on bad data: :func:`ocds_import` returns the package row with its problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from tenderhall.core.errors import Conflict
from tenderhall.exchange import validation
from tenderhall.exchange.models import ImportedPackage, ImportedRecord, ImportedRelease
from tenderhall.exchange.packaging import VERSION

MAX_PROBLEMS = 1000  # kept per file; the count of schema errors is always complete
MAX_BYTES = 200 * 1024 * 1024


class ImportForm(StrEnum):
    RELEASE_PACKAGE = "release_package"
    RECORD_PACKAGE = "record_package"
    RELEASE = "release"  # one bare release
    RELEASE_LIST = "release_list"  # a JSON array of releases (or packages)
    JSON_LINES = "json_lines"  # one JSON document per line
    UNREADABLE = "unreadable"


class AlreadyImported(Conflict):
    code = "already_imported"


@dataclass
class Reading:
    """What the importer learned about a file while reading it."""

    encoding: str = "utf-8"
    form: ImportForm = ImportForm.UNREADABLE
    problems: list[dict[str, str]] = field(default_factory=list)
    schema_errors: int = 0

    def problem(self, kind: str, message: str, *, path: str = "", validator: str = "") -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"kind": kind, "path": path, "validator": validator, "message": message})


def _decode(content: bytes, reading: Reading) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        reading.problem("encoding", "the file starts with a UTF-8 byte order mark (ignored)")
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        position = error.start
    for encoding in ("gb18030", "latin-1"):  # Chinese publishers' usual legacy encoding, then bytes as-is
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        reading.encoding = encoding
        reading.problem(
            "encoding",
            f"not UTF-8 (first bad byte at offset {position}), as OCDS requires; read as {encoding}",
        )
        return text
    raise AssertionError  # latin-1 decodes every byte


def _no_constants(name: str) -> None:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def _parse(text: str, reading: Reading) -> list[Any] | None:
    """The JSON documents of the file: one, or one per line for JSON lines; None if it is neither."""
    try:
        return [_loads(text)]
    except RecursionError:
        reading.problem("json", "the JSON is nested too deeply to read")
        return None
    except ValueError as error:
        first_error = error
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(_loads(line))
        except (ValueError, RecursionError):
            message = str(first_error) if number == 1 or not documents else f"line {number}: not JSON"
            reading.problem("json", f"not JSON: {message}")
            return None
    if not documents:
        reading.problem("json", "the file is empty")
        return None
    reading.form = ImportForm.JSON_LINES
    reading.problem("structure", f"JSON lines ({len(documents)} documents), not one JSON document")
    return documents


@dataclass
class Found:
    releases: list[tuple[str, Any]] = field(default_factory=list)  # (path, release)
    records: list[tuple[str, Any]] = field(default_factory=list)
    uri: str = ""
    publisher: str = ""
    version: str = ""


def _is_package(value: object) -> bool:
    return isinstance(value, Mapping) and ("releases" in value or "records" in value)


def _package_meta(package: Mapping[str, Any], found: Found) -> None:
    if not found.uri and isinstance(package.get("uri"), str):
        found.uri = package["uri"]
    publisher = package.get("publisher")
    if not found.publisher and isinstance(publisher, Mapping) and isinstance(publisher.get("name"), str):
        found.publisher = publisher["name"]
    if not found.version and isinstance(package.get("version"), str):
        found.version = package["version"]


def _validate(document: Any, path: str, reading: Reading, *, bare: bool) -> None:
    """Schema errors of a package; a bare release is checked inside a package made for it, so that only
    the release's own errors count."""
    target = document
    if bare:
        target = {
            "uri": "https://example.invalid/imported",
            "version": VERSION,
            "publishedDate": "2000-01-01T00:00:00Z",
            "publisher": {"name": "imported"},
            "releases": [document],
        }
    try:
        errors = validation.package_errors(target)
    except RecursionError:
        reading.problem("schema", "too deeply nested to validate", path=path)
        return
    reading.schema_errors += len(errors)
    for error in errors:
        where = error.path.replace("/releases/0", "", 1) if bare else error.path
        reading.problem(
            "schema", error.message, path=f"{path}{where}".rstrip("/") or "/", validator=error.validator
        )


def _collect(document: Any, path: str, reading: Reading, found: Found) -> None:
    if _is_package(document):
        _package_meta(document, found)
        if "version" not in document:
            reading.problem("version", "no version: the tools read this as OCDS 1.0", path=path or "/")
        _validate(document, path, reading, bare=False)
        for key, bucket in (("releases", found.releases), ("records", found.records)):
            items = document.get(key)
            if key not in document:
                continue
            if not isinstance(items, list):
                reading.problem(
                    "structure", f"{key} is not an array: nothing read from it", path=f"{path}/{key}"
                )
                continue
            bucket.extend((f"{path}/{key}/{i}", item) for i, item in enumerate(items))
    elif isinstance(document, Mapping):
        reading.problem("structure", "a bare release, not in a package", path=path or "/")
        _validate(document, path, reading, bare=True)
        found.releases.append((path or "/", document))
    elif isinstance(document, list):
        for i, item in enumerate(document):
            _collect(item, f"{path}/{i}", reading, found)
    else:
        reading.problem(
            "structure", f"a JSON {type(document).__name__}, not a package or a release", path=path or "/"
        )


def _form(documents: list[Any], reading: Reading) -> ImportForm:
    if reading.form == ImportForm.JSON_LINES:
        return ImportForm.JSON_LINES
    document = documents[0]
    if isinstance(document, list):
        return ImportForm.RELEASE_LIST
    if isinstance(document, Mapping) and "records" in document:
        return ImportForm.RECORD_PACKAGE
    if _is_package(document):
        return ImportForm.RELEASE_PACKAGE
    return ImportForm.RELEASE if isinstance(document, Mapping) else ImportForm.UNREADABLE


def _clean(value: Any, reading: Reading, path: str) -> Any:
    """Text without NUL characters (PostgreSQL's JSON refuses them), reported where found."""
    if isinstance(value, str):
        if "\x00" in value:
            reading.problem("text", "NUL characters removed", path=path)
            return value.replace("\x00", "")
        return value
    if isinstance(value, list):
        return [_clean(item, reading, f"{path}/{i}") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {_clean(k, reading, path): _clean(v, reading, f"{path}/{k}") for k, v in value.items()}
    return value


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _release_rows(package: ImportedPackage, found: Found, reading: Reading) -> Iterator[ImportedRelease]:
    for path, release in found.releases:
        if not isinstance(release, Mapping):
            reading.problem("structure", "a release that is not a JSON object: skipped", path=path)
            continue
        yield _release_row(package, path, release, reading)
    for path, record in found.records:
        if not isinstance(record, Mapping):
            reading.problem("structure", "a record that is not a JSON object: skipped", path=path)
            continue
        releases = record.get("releases")
        for i, release in enumerate(releases if isinstance(releases, list) else []):
            if isinstance(release, Mapping) and "url" in release and "ocid" not in release:
                continue  # a linked release: its content is elsewhere
            if isinstance(release, Mapping):
                yield _release_row(package, f"{path}/releases/{i}", release, reading)


def _release_row(
    package: ImportedPackage, path: str, release: Mapping[str, Any], reading: Reading
) -> ImportedRelease:
    ocid = release.get("ocid")
    if not isinstance(ocid, str) or not ocid:
        reading.problem("release", "no ocid: kept apart under an empty ocid", path=path)
    tags = release.get("tag")
    if isinstance(tags, str):
        tags = [tags]
    return ImportedRelease(
        package=package,
        ocid=_text(ocid, 300),
        release_id=_text(release.get("id"), 300),
        date=_date(release.get("date")),
        tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
        data=_clean(dict(release), reading, path),
    )


def _record_rows(package: ImportedPackage, found: Found, reading: Reading) -> Iterator[ImportedRecord]:
    for path, record in found.records:
        if isinstance(record, Mapping):
            compiled = record.get("compiledRelease")
            yield ImportedRecord(
                package=package,
                ocid=_text(record.get("ocid"), 300),
                compiled=_clean(compiled, reading, f"{path}/compiledRelease")
                if isinstance(compiled, Mapping)
                else None,
            )


def ocds_import(*, source: str, content: bytes, now: datetime, again: bool = False) -> ImportedPackage:
    """Import one file's content; the stored package with every problem found. A file already imported
    (same SHA-256) is refused unless ``again``."""
    digest = hashlib.sha256(content).hexdigest()
    earlier = ImportedPackage.objects.filter(sha256=digest).first()
    if earlier is not None and not again:
        raise AlreadyImported(
            gettext(
                "This file was imported already (as %(source)s, package %(package)s); "
                "import it again only on purpose."
            )
            % {"source": earlier.source, "package": earlier.pk},
            details={"package": earlier.pk},
        )
    reading = Reading()
    found = Found()
    documents: list[Any] | None = None
    if len(content) > MAX_BYTES:
        reading.problem("size", f"larger than {MAX_BYTES} bytes: not read")
    else:
        documents = _parse(_decode(content, reading), reading)
    if documents is not None:
        reading.form = _form(documents, reading)
        try:
            for number, document in enumerate(documents):
                _collect(document, f"/{number}" if len(documents) > 1 else "", reading, found)
        except RecursionError:
            reading.problem("json", "nested too deeply to read further: what follows was not imported")
            found = Found()
    with transaction.atomic():
        package = ImportedPackage.objects.create(
            source=source[:300],
            sha256=digest,
            size=len(content),
            encoding=reading.encoding,
            form=reading.form,
            uri=found.uri[:1000],
            publisher=found.publisher[:300],
            version=found.version[:10],
            imported_at=now,
        )
        releases = list(_release_rows(package, found, reading))
        records = list(_record_rows(package, found, reading))
        ImportedRelease.objects.bulk_create(releases, batch_size=500)
        ImportedRecord.objects.bulk_create(records, batch_size=500)
        package.release_count, package.record_count = len(releases), len(records)
        package.schema_error_count = reading.schema_errors
        package.problems = reading.problems
        package.save(update_fields=["release_count", "record_count", "schema_error_count", "problems"])
    return package
