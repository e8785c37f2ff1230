from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mockgraph.schema_compile import LazyFormatChecker, check_references, check_schema
from mockgraph.validation import (
    BASE_URI,
    CREATE_SCHEMA,
    SchemaSet,
    default_schema_dir,
)

JSONSCHEMA_CHECKER = Draft202012Validator.FORMAT_CHECKER

DATE_TIMES = [
    "2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05+01:00",
    "2024-01-02T03:04:05-23:59",
    "2020-07-06T06:34:12.2294868Z",
    "2024-01-02t03:04:05z",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2024-01-02 03:04:05Z",
    "2024-01-02T03:04:05",
    "2024-01-02T24:00:00Z",
    "2024-01-02T03:04:60Z",
    "2024-01-02T03:04:05+24:00",
    "2024-01-02",
    "",
    "noon",
    # Full-width digits, which a regex \d matches unless the pattern is ASCII-only.
    "\uff12\uff10\uff12\uff14-01-02T03:04:05Z",
    None,
    5,
    True,
    ["2024-01-02T03:04:05Z"],
]


@pytest.mark.parametrize("value", DATE_TIMES)
def test_date_time_matches_jsonschema(value):
    expected = JSONSCHEMA_CHECKER.conforms(value, "date-time")

    assert LazyFormatChecker().conforms(value, "date-time") is expected


@pytest.mark.parametrize(
    ("value", "format_name"),
    [
        ("someone@contoso.com", "email"),
        ("someone", "email"),
        ("127.0.0.1", "ipv4"),
        ("127.0.0.256", "ipv4"),
        ("anything", "not-a-known-format"),
    ],
)
def test_other_formats_use_jsonschema(value, format_name):
    expected = JSONSCHEMA_CHECKER.conforms(value, format_name)

    assert LazyFormatChecker().conforms(value, format_name) is expected


@pytest.mark.parametrize(
    "path", sorted(default_schema_dir().glob("*.json")), ids=lambda path: path.name
)
def test_shipped_schema_is_valid_schema(path: Path):
    # Loading the shipped schemas skips this check, so the test suite runs it.
    check_schema(json.loads(path.read_bytes()))


def test_given_folder_checked_on_load(tmp_path: Path):
    folder = tmp_path / "schemas"
    shutil.copytree(default_schema_dir(), folder)
    path = folder / "itemFacet.json"
    schema = json.loads(path.read_bytes())
    schema["type"] = 5
    path.write_text(json.dumps(schema))

    with pytest.raises(ValueError, match="not a valid JSON Schema: 5 is not valid"):
        SchemaSet.load(folder)


def drop_update_schema(folder: Path) -> None:
    (folder / "updateSkillRequest.json").unlink()


def dangling_pointer(folder: Path) -> None:
    edit_property(folder, "webUrl", {"$ref": "#/$defs/none"})


def missing_file(folder: Path) -> None:
    edit_property(folder, "webUrl", {"$ref": "nothere.json"})


def misspelled_type(folder: Path) -> None:
    edit_property(folder, "webUrl", {"type": "strin"})


def edit_property(folder: Path, name: str, schema: dict) -> None:
    path = folder / "skillProficiency.json"
    document = json.loads(path.read_bytes())
    document["properties"][name] = schema
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "break_folder, message",
    [
        (drop_update_schema, "has no updateSkillRequest.json"),
        (dangling_pointer, "'#/\\$defs/none' at /properties/webUrl/\\$ref does not"),
        (missing_file, "'nothere.json' at /properties/webUrl/\\$ref does not"),
        (misspelled_type, "not a valid JSON Schema"),
    ],
    ids=["missing-file", "dangling-pointer", "missing-reference", "bad-type"],
)
def test_broken_given_folder_fails_load(tmp_path: Path, break_folder, message):
    folder = tmp_path / "schemas"
    shutil.copytree(default_schema_dir(), folder)
    break_folder(folder)

    with pytest.raises(ValueError, match=message):
        SchemaSet.load(folder)


def test_shipped_references_resolve():
    schemas = SchemaSet.load()

    check_references(schemas.schemas, BASE_URI)


def test_validators_compiled_once():
    schemas = SchemaSet.load()

    assert schemas.validators() is schemas.validators()


def test_invalid_body_compiles_validators():
    schemas = SchemaSet.load()
    [detail] = schemas.validate(CREATE_SCHEMA, {"displayName": 5})

    assert detail.keyword == "type"
    assert detail.target == "/displayName"
