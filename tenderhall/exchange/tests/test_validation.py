"""The schema check is the real one: the official 1.1.5 files (byte-identical to shared/ocds), formats
checked, references resolved locally with no network, and the reference fixture pair giving 0 and 10."""

from __future__ import annotations

import copy
import hashlib
import socket
from typing import Any

import pytest

from tenderhall.exchange import validation
from tenderhall.exchange.tests.test_importer import PACKAGE, invalid_twin


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        msg = "the schema check tried the network"
        raise AssertionError(msg)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    validation.registry.cache_clear()
    validation._validator.cache_clear()


@pytest.mark.parametrize("name", sorted(validation.SCHEMA_SHA256))
def test_the_shipped_schema_files_are_the_official_ones(name: str) -> None:
    shipped = (validation.DATA / name).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == validation.SCHEMA_SHA256[name]  # as published


def test_the_reference_valid_package_has_no_error_and_its_twin_has_the_ten_known_ones() -> None:
    full: dict[str, Any] = copy.deepcopy(PACKAGE)
    full["releases"][0] |= {
        "language": "zh",
        "tender": {
            "id": "E3501000001000001001",
            "procurementMethod": "open",
            "procurementMethodDetails": "公开招标",
            "value": {"amount": 12500000.00, "currency": "CNY"},
        },
    }
    assert validation.package_errors(full) == []
    errors = validation.package_errors(invalid_twin())
    assert sorted(e.validator for e in errors) == sorted(
        ["required", "uniqueItems", "format", "format", "enum", "enum", "enum", "enum", "type", "type"]
    )
    assert (
        validation.SchemaError(
            path="/releases/0/date", validator="format", message="'2026-03-02' is not a 'date-time'"
        )
        in errors
    )


def test_formats_are_checked_a_bare_date_and_a_relative_uri_fail() -> None:
    package = copy.deepcopy(PACKAGE)
    package["publishedDate"] = "2026-03-02"
    package["uri"] = "not a uri"
    errors = validation.package_errors(package)
    assert [(e.path, e.validator) for e in errors] == [("/publishedDate", "format"), ("/uri", "format")]


def test_a_record_package_is_checked_against_the_record_schema_and_its_versioned_release() -> None:
    record_package = {
        "uri": "https://ggzy.example.org/ocds/records/1.json",
        "version": "1.1",
        "publishedDate": "2026-03-02T09:00:00+08:00",
        "publisher": {"name": "示例"},
        "records": [
            {"ocid": "ocds-xxxxxx-1", "releases": [{"url": "u", "date": "2026-03-02", "tag": ["x"]}]}
        ],
    }
    assert validation.package_kind(record_package) == "record-package"
    errors = validation.package_errors(record_package)
    assert errors
    assert {e.path.split("/")[1] for e in errors} == {"records"}
