"""Importing other publishers' OCDS data: every file in shared/ocds/samples is imported, with exactly the
schema errors the reference lists for it (data-standards.md §4.1), and broken files are reported, never
raised on."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenderhall.exchange.importer import AlreadyImported, ImportForm, ocds_import
from tenderhall.exchange.models import ImportedPackage, ImportedRecord, ImportedRelease

pytestmark = pytest.mark.django_db

SAMPLES = (
    Path(__file__).resolve().parent / "samples"
)  # the publishers' files of shared/ocds/samples, as they are
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
# file prefix → (form, releases, records, schema errors) as data-standards.md §4.1 gives the errors
EXPECTED = {
    "ukraine": (ImportForm.RELEASE, 1, 0, 0),
    "uk-contracts-finder": (ImportForm.RELEASE, 1, 0, 0),
    "paraguay": (ImportForm.RELEASE, 1, 0, 0),
    "mexico_jalisco": (ImportForm.RECORD_PACKAGE, None, 1, 0),
    "colombia": (ImportForm.RELEASE, 1, 0, 2),
    "taiwan": (ImportForm.RELEASE, 1, 0, 6),
    "moldova": (ImportForm.RELEASE, 1, 0, 28),
}


def sample(prefix: str) -> Path:
    (path,) = SAMPLES.glob(f"{prefix}__*.json")
    return path


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_every_sample_imports_with_exactly_its_known_schema_errors(prefix: str) -> None:
    # given a publisher's sample file
    path = sample(prefix)
    form, releases, records, errors = EXPECTED[prefix]
    # when it is imported
    package = ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    # then it is stored with exactly the errors the reference counts, each located
    assert package.form == form
    assert package.schema_error_count == errors
    schema_problems = [p for p in package.problems if p["kind"] == "schema"]
    assert len(schema_problems) == errors
    assert all(p["path"].startswith("/") and p["validator"] for p in schema_problems)
    assert package.record_count == records
    if releases is not None:
        assert package.release_count == releases
    assert ImportedRelease.objects.filter(package=package).count() == package.release_count
    data = json.loads(path.read_bytes())
    if form == ImportForm.RELEASE:
        stored = ImportedRelease.objects.get(package=package)
        assert stored.ocid == data["ocid"]
        assert stored.data == data  # kept as published
        assert {
            "kind": "structure",
            "path": "/",
            "validator": "",
            "message": "a bare release, not in a package",
        } in (package.problems)


def test_the_taiwan_sample_reports_each_defect_and_keeps_its_chinese_text() -> None:
    path = sample("taiwan")
    package = ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    validators = sorted(p["validator"] for p in package.problems if p["kind"] == "schema")
    assert validators == ["enum", "format", "required", "required", "type", "type"]
    paths = {p["path"] for p in package.problems if p["validator"] == "type"}
    assert paths == {"/awards", "/tag"}
    release = ImportedRelease.objects.get(package=package)
    assert release.tags == [json.loads(path.read_bytes())["tag"]]  # a lone tag string becomes a list
    assert release.data["tender"]["procurementMethod"] == "公開取得報價單或企劃書"


def test_the_moldova_sample_counts_its_errors_by_kind() -> None:
    path = sample("moldova")
    package = ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    kinds: dict[str, int] = {}
    for problem in package.problems:
        if problem["kind"] == "schema":
            kinds[problem["validator"]] = kinds.get(problem["validator"], 0) + 1
    assert kinds == {"enum": 8, "format": 9, "type": 5, "minLength": 5, "required": 1}


def test_the_jalisco_record_package_stores_its_releases_and_the_publishers_compiled_release() -> None:
    path = sample("mexico_jalisco")
    data = json.loads(path.read_bytes())
    package = ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    embedded = [r for r in data["records"][0]["releases"] if "ocid" in r]
    assert package.release_count == len(embedded)
    record = ImportedRecord.objects.get(package=package)
    assert record.ocid == data["records"][0]["ocid"]
    assert record.compiled == data["records"][0].get("compiledRelease")
    assert package.version == "1.1"
    assert package.publisher == data["publisher"]["name"]


def test_a_file_imported_twice_is_refused_unless_asked() -> None:
    path = sample("ukraine")
    first = ocds_import(source=path.name, content=path.read_bytes(), now=NOW)
    with pytest.raises(AlreadyImported) as refused:
        ocds_import(source="copy.json", content=path.read_bytes(), now=NOW)
    assert refused.value.details == {"package": first.pk}
    assert ImportedPackage.objects.count() == 1
    again = ocds_import(source="copy.json", content=path.read_bytes(), now=NOW, again=True)
    assert again.pk != first.pk


PACKAGE: dict[str, Any] = {
    "uri": "https://ggzy.example.org/ocds/packages/2026-0001.json",
    "version": "1.1",
    "publishedDate": "2026-03-02T09:00:00+08:00",
    "publisher": {"name": "示例市公共资源交易中心", "scheme": "CN-SAIC", "uid": "91350100M000100Y43"},
    "releases": [
        {
            "ocid": "ocds-xxxxxx-E3501000001000001",
            "id": "E3501000001000001-tender-1",
            "date": "2026-03-02T09:00:00+08:00",
            "tag": ["tender"],
            "initiationType": "tender",
        }
    ],
}


def invalid_twin() -> dict[str, Any]:
    """The reference's invalid twin (data-standards.md §4.3): six defects, ten schema errors."""
    release = {
        **PACKAGE["releases"][0],
        "date": "2026-03-02",
        "tag": ["bogusTag"],
        "tender": {
            "id": "T1",
            "procurementMethod": "公开招标",
            "value": {"amount": "12500000", "currency": "CNY"},
        },
    }
    twin = {k: v for k, v in PACKAGE.items() if k != "publishedDate"}
    twin["releases"] = [release, release]
    return twin


@pytest.mark.parametrize(
    ("content", "form", "kinds"),
    [
        (b"", ImportForm.UNREADABLE, ["json"]),
        (b"{not json", ImportForm.UNREADABLE, ["json"]),
        (b'{"a": NaN}', ImportForm.UNREADABLE, ["json"]),
        (b"[" * 100_000, ImportForm.UNREADABLE, ["json"]),
        (b"42", ImportForm.UNREADABLE, ["structure"]),
        (
            b'{"releases": {"ocid": "x"}}',
            ImportForm.RELEASE_PACKAGE,
            ["version", *["schema"] * 5, "structure"],
        ),
        (b'[{"ocid": "a"}, "x"]', ImportForm.RELEASE_LIST, ["structure", *["schema"] * 4, "structure"]),
    ],
)
def test_broken_files_are_recorded_with_their_problem_not_raised(
    content: bytes, form: str, kinds: list[str]
) -> None:
    package = ocds_import(source="broken.json", content=content, now=NOW)
    assert package.form == form
    assert [p["kind"] for p in package.problems] == kinds


def test_the_invalid_twin_has_the_ten_errors_of_the_reference_and_its_releases_are_kept() -> None:
    package = ocds_import(source="twin.json", content=json.dumps(invalid_twin()).encode(), now=NOW)
    validators = sorted(p["validator"] for p in package.problems if p["kind"] == "schema")
    assert validators == sorted(
        ["required", "uniqueItems", "format", "format", *["enum"] * 4, "type", "type"]
    )
    assert package.release_count == 2
    assert ImportedRelease.objects.filter(package=package, date__isnull=True).count() == 2  # a bare date


def test_json_lines_gb18030_text_and_nul_characters_are_read_and_reported() -> None:
    release = {**PACKAGE["releases"][0], "title": "道路\x00工程"}
    lines = "\n".join(
        json.dumps(p, ensure_ascii=False) for p in ({**PACKAGE, "releases": [release]}, PACKAGE)
    )
    package = ocds_import(source="lines.json", content=lines.encode("gb18030"), now=NOW)
    assert package.form == ImportForm.JSON_LINES
    assert package.encoding == "gb18030"
    kinds = [p["kind"] for p in package.problems]
    assert kinds == ["encoding", "structure", "text"]
    assert package.schema_error_count == 0
    titles = sorted(r.data.get("title", "") for r in ImportedRelease.objects.filter(package=package))
    assert titles == ["", "道路工程"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
package_like = st.fixed_dictionaries(
    {}, optional={"releases": json_values, "records": json_values, "version": json_values, "uri": json_values}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(json_values, package_like, st.lists(package_like, max_size=3)))
def test_any_json_at_all_is_imported_or_reported_never_raised(document: object) -> None:
    package = ocds_import(source="fuzz.json", content=json.dumps(document).encode(), now=NOW, again=True)
    assert package.pk is not None
    assert package.release_count == ImportedRelease.objects.filter(package=package).count()


def test_the_import_command_reports_each_file_and_its_problems_and_names_unreadable_files(
    tmp_path: Path,
) -> None:
    # given a clean sample, a messy one, a non-JSON file and a missing one
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"{oops")
    files = [sample("ukraine"), sample("colombia"), broken, tmp_path / "missing.json"]
    out, err = io.StringIO(), io.StringIO()
    # when they are imported in one run
    with pytest.raises(CommandError, match=r"1 file\(s\) could not be read: .*missing.json"):
        call_command("import-ocds", *map(str, files), stdout=out, stderr=err)
    # then each readable file is imported and reported, its problems listed
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{files[0]}: release, 1 releases, 0 records, 0 schema errors, 1 problems")
    assert lines[2].startswith(f"{files[1]}: release, 1 releases, 0 records, 2 schema errors, 3 problems")
    assert sum(1 for line in lines if line.startswith("  schema [format] at /")) == 2
    assert any(line.startswith(f"{broken}: unreadable, 0 releases") for line in lines)
    assert "missing.json: cannot be read" in err.getvalue()
    assert ImportedPackage.objects.count() == 3
    # and importing the same file again is refused, said on the error stream
    err = io.StringIO()
    call_command("import-ocds", str(files[0]), stdout=io.StringIO(), stderr=err)
    assert "imported already" in err.getvalue()
    assert ImportedPackage.objects.count() == 3
