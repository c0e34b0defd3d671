"""OCDS 1.1.5 schema validation, offline: the official schema files (in ``data/``, byte-identical to the
standard's tag 1__1__5) registered under their own URLs, so that the package schemas' references to
``https://standard.open-contracting.org/schema/1__1__5/...`` resolve locally and nothing goes to the network.

Formats (``date-time``, ``uri``) are checked: the ``jsonschema[format]`` extra supplies the checkers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

DATA = Path(__file__).resolve().parent / "data"
SCHEMA_FILES = {
    "release-package": "release-package-schema.json",
    "record-package": "record-package-schema.json",
    "release": "release-schema.json",
    "versioned-release": "versioned-release-validation-schema.json",
}
# The sha256 of each file as published in the standard (tag 1__1__5); a test compares.
SCHEMA_SHA256 = {
    "record-package-schema.json": "ba7bc9acfc307b6f311a54a62f686f1d9e199e61712314f995a090b660168da1",
    "release-package-schema.json": "06577cec73cc16eca0cac331a7ea9ee9cd684b21c55f5f0711f7442623153698",
    "release-schema.json": "fac192e1ccfb061f5164bdb2d64c29e517c0f81661996b97de40cebc55a2c1bc",
    "versioned-release-validation-schema.json": (
        "7b0271756c954eba16fdd1b364811aaf5381d23d057400b906a2aa978dc5cf84"
    ),
}


@dataclass(frozen=True)
class SchemaError:
    """One schema violation: where (a JSON pointer-like path), which keyword failed, and the message."""

    path: str
    validator: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "validator": self.validator, "message": self.message}


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / SCHEMA_FILES[name]).read_text(encoding="utf-8"))
    return loaded


@cache
def registry() -> referencing.Registry[Any]:
    resources = [
        (schema(name)["id"], referencing.jsonschema.DRAFT4.create_resource(schema(name)))
        for name in ("release", "versioned-release", "release-package", "record-package")
    ]
    # A registry without a retrieve function: a reference outside these files is an error, never a download.
    empty: referencing.Registry[Any] = referencing.Registry()
    return empty.with_resources(resources)


@cache
def _validator(kind: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(
        schema(kind), registry=registry(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def package_kind(data: object) -> str:
    """``record-package`` for a document with ``records``, otherwise ``release-package``."""
    return "record-package" if isinstance(data, Mapping) and "records" in data else "release-package"


def _path(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def iter_package_errors(data: object) -> Iterator[SchemaError]:
    """Every violation of the package schema that fits ``data``, in a stable order."""
    errors = sorted(
        _validator(package_kind(data)).iter_errors(data),
        key=lambda e: (_path(e), str(e.validator), e.message),
    )
    for error in errors:
        yield SchemaError(path=_path(error), validator=str(error.validator), message=error.message)


def package_errors(data: object) -> list[SchemaError]:
    return list(iter_package_errors(data))


def release_errors(release: object) -> list[SchemaError]:
    """Violations of the release schema by one release (used to pin a package's error on its release)."""
    errors = sorted(
        _validator("release").iter_errors(release), key=lambda e: (_path(e), str(e.validator), e.message)
    )
    return [SchemaError(path=_path(e), validator=str(e.validator), message=e.message) for e in errors]
