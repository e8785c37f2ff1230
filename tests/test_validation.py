from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mockgraph.validation import (
    CREATE_SCHEMA,
    RESOURCE_SCHEMA,
    SchemaSet,
    default_schema_dir,
)


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.load()


def test_shipped_schemas_present():
    names = {path.name for path in default_schema_dir().glob("*.json")}

    assert {
        "skillProficiency.json",
        "itemFacet.json",
        "identitySet.json",
        "identity.json",
        "inferenceData.json",
    } <= names


def test_properties_follow_the_resource(schemas):
    assert set(schemas.properties) - {
        "@odata.type",
        "@odata.context",
        "@odata.etag",
    } == {
        "id",
        "allowedAudiences",
        "inference",
        "createdDateTime",
        "createdBy",
        "lastModifiedDateTime",
        "lastModifiedBy",
        "categories",
        "displayName",
        "proficiency",
        "webUrl",
        "collaborationTags",
        "source",
        "sources",
        "isSearchable",
        "thumbnailUrl",
    }


def test_read_only_properties(schemas):
    assert schemas.read_only == {
        "id",
        "createdDateTime",
        "createdBy",
        "lastModifiedDateTime",
        "lastModifiedBy",
    }


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02",
        "2024-01-02T03:04:05",
        "2024-13-02T03:04:05Z",
        "noon",
        "2024-01-02T25:00:00Z",
    ],
)
def test_date_time_format_checked(schemas, value):
    details = schemas.validate(
        CREATE_SCHEMA, {"displayName": "x", "createdDateTime": value}
    )

    assert [detail.keyword for detail in details] == ["format"]
    assert details[0].target == "/createdDateTime"


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05+00:00",
        "2020-07-06T06:34:12.2294868Z",
    ],
)
def test_date_time_format_accepted(schemas, value):
    assert (
        schemas.validate(CREATE_SCHEMA, {"displayName": "x", "createdDateTime": value})
        == []
    )


@pytest.mark.parametrize(
    "level",
    [
        "elementary",
        "limitedWorking",
        "generalProfessional",
        "advancedProfessional",
        "expert",
        "unknownFutureValue",
    ],
)
def test_proficiency_members(schemas, level):
    assert (
        schemas.validate(CREATE_SCHEMA, {"displayName": "x", "proficiency": level})
        == []
    )


def test_detail_carries_pointer_keyword_value(schemas):
    [detail] = schemas.validate(
        CREATE_SCHEMA, {"displayName": "x", "proficiency": "guru"}
    )

    assert detail.target == "/proficiency"
    assert detail.keyword == "enum"
    assert detail.value == "guru"
    assert detail.to_record() == {
        "pointer": "/proficiency",
        "keyword": "enum",
        "message": detail.message,
    }


def test_one_detail_per_value(schemas):
    details = schemas.validate(CREATE_SCHEMA, {"displayName": "x", "proficiency": 3})

    assert [detail.keyword for detail in details] == ["type"]


def test_pointer_escapes_special_keys(schemas):
    [detail] = schemas.validate(CREATE_SCHEMA, {"displayName": "x", "a/b~c": 1})

    assert detail.target == "/a~1b~0c"


def test_resource_allows_nulls(schemas):
    skill = {
        name: None for name in ("allowedAudiences", "inference", "categories", "webUrl")
    }

    assert schemas.validate(RESOURCE_SCHEMA, {"displayName": "x", **skill}) == []


def test_version_changes_with_schema_text(tmp_path: Path, schemas):
    folder = tmp_path / "schemas"
    shutil.copytree(default_schema_dir(), folder)
    same = SchemaSet.load(folder)
    path = folder / "skillProficiency.json"
    path.write_text(path.read_text().replace('"expert", ', ""))
    changed = SchemaSet.load(folder)

    assert same.version == schemas.version
    assert changed.version != schemas.version
    assert changed.validate(
        CREATE_SCHEMA, {"displayName": "x", "proficiency": "expert"}
    )


def test_load_empty_folder_fails(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no JSON Schema files"):
        SchemaSet.load(tmp_path)


def test_load_invalid_json_fails(tmp_path: Path):
    (tmp_path / "broken.json").write_text("{")

    with pytest.raises(ValueError, match=r"broken\.json"):
        SchemaSet.load(tmp_path)
