from __future__ import annotations

from typing import Any

import pytest

from mockgraph.quickcheck import NotFlattenable, compile_check, flatten
from mockgraph.validation import (
    BASE_URI,
    CREATE_SCHEMA,
    FORMAT_CHECKER,
    QUICK_FORMAT_CHECKER,
    UPDATE_SCHEMA,
    SchemaSet,
)

BODIES: list[Any] = [
    {"displayName": "Python"},
    {"@odata.type": "#microsoft.graph.skillProficiency", "displayName": "Python"},
    {
        "displayName": "x",
        "allowedAudiences": "organization,family",
        "proficiency": "expert",
    },
    {"displayName": "x", "allowedAudiences": "everyone, contacts"},
    {"displayName": "x", "allowedAudiences": "organization,"},
    {"displayName": "x", "allowedAudiences": None, "proficiency": None},
    {"displayName": "x", "proficiency": "guru"},
    {"displayName": "x", "proficiency": True},
    {"displayName": "x", "proficiency": 1},
    {"displayName": ""},
    {"displayName": None},
    {"displayName": 5},
    {},
    {"proficiency": "expert"},
    {"displayName": "x", "nickname": "y"},
    {"displayName": "x", "@odata.context": "c", "@odata.etag": "e"},
    {"displayName": "x", "@odata.type": "#microsoft.graph.user"},
    {"displayName": "x", "categories": ["a", "b"], "collaborationTags": ["askMeAbout"]},
    {"displayName": "x", "categories": ["a", 1]},
    {"displayName": "x", "categories": "a"},
    {
        "displayName": "x",
        "inference": {"confidenceScore": 0.5, "userHasVerifiedAccuracy": True},
    },
    {"displayName": "x", "inference": {"confidenceScore": True}},
    {"displayName": "x", "inference": {"confidenceScore": "high"}},
    {"displayName": "x", "inference": {"extra": 1}},
    {
        "displayName": "x",
        "inference": {"@odata.type": "#microsoft.graph.inferenceData"},
    },
    {"displayName": "x", "inference": None},
    {"displayName": "x", "inference": []},
    {"displayName": "x", "id": "abc", "createdDateTime": "2020-01-01T00:00:00Z"},
    {"displayName": "x", "createdDateTime": "2020-13-01T00:00:00Z"},
    {"displayName": "x", "createdDateTime": "yesterday"},
    {"displayName": "x", "lastModifiedDateTime": 5},
    {"displayName": "x", "id": 7},
    {"displayName": "x", "createdBy": {"user": {"id": "u", "displayName": "n"}}},
    {"displayName": "x", "createdBy": {"user": {"id": "u", "mail": "m"}}},
    {"displayName": "x", "createdBy": {"team": None}},
    {"displayName": "x", "createdBy": None},
    {"displayName": "x", "source": {"type": ["User"]}},
    {"displayName": "x", "source": {"type": [1]}},
    {"displayName": "x", "source": {"kind": "User"}},
    {"displayName": "x", "sources": [{"isDefaultSource": True, "sourceId": "s"}]},
    {"displayName": "x", "sources": [{"isDefaultSource": "yes"}]},
    {"displayName": "x", "sources": [{"unknown": 1}]},
    {"displayName": "x", "sources": [1]},
    {"displayName": "x", "isSearchable": 0},
    {"displayName": "x", "webUrl": None, "thumbnailUrl": "t"},
    ["displayName"],
    "Python",
    None,
    1.5,
]


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.load()


@pytest.mark.parametrize("schema_name", [CREATE_SCHEMA, UPDATE_SCHEMA])
@pytest.mark.parametrize("body", BODIES)
def test_quick_verdict_matches_jsonschema(schemas, schema_name, body):
    quick = compile_check(
        flatten(schema_name, schemas.schemas, BASE_URI), QUICK_FORMAT_CHECKER
    )
    expected = schemas.validator(schema_name).is_valid(body)

    assert quick(body) is expected


@pytest.mark.parametrize("schema_name", [CREATE_SCHEMA, UPDATE_SCHEMA])
def test_every_shipped_schema_flattens(schemas, schema_name):
    flat = flatten(schema_name, schemas.schemas, BASE_URI)

    assert "$ref" not in repr(flat)
    assert "unevaluatedProperties" not in repr(flat)


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"$ref": "missing.json"}, "does not name a schema file"),
        ({"$ref": "loop.json"}, "part of a cycle"),
        ({"$dynamicRef": "#x"}, "'$dynamicRef' is not supported"),
        (
            {
                "properties": {"a": {}},
                "patternProperties": {"^b": {}},
                "unevaluatedProperties": False,
            },
            "beside ['patternProperties']",
        ),
        (
            {"allOf": [{"anyOf": [{}]}], "unevaluatedProperties": False},
            "beside ['anyOf']",
        ),
        (
            {"unevaluatedProperties": {"type": "string"}},
            "only 'unevaluatedProperties: false'",
        ),
    ],
)
def test_flatten_rejects_unsupported(schema, reason):
    schemas = {"main.json": schema, "loop.json": {"$ref": "loop.json"}}

    with pytest.raises(
        NotFlattenable, match=reason.replace("[", r"\[").replace("$", r"\$")
    ):
        flatten("main.json", schemas, BASE_URI)


@pytest.mark.parametrize(
    "schema",
    [
        {"oneOf": [{}]},
        {"const": 1},
        {"maximum": 3},
        {"enum": [1, 2]},
        {"type": "decimal"},
    ],
)
def test_compile_rejects_unknown_keywords(schema):
    with pytest.raises(NotFlattenable):
        compile_check(schema, FORMAT_CHECKER)


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"type": "integer"}, 1.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"enum": ["a", None]}, None, True),
        ({"enum": ["a"]}, None, False),
        ({"minLength": 2}, "ab", True),
        ({"minLength": 2}, 5, True),
        ({"format": "date-time"}, "2024-01-02T03:04:05Z", True),
        ({"format": "date-time"}, "2024-01-02", False),
        (
            {"additionalProperties": False, "properties": {"a": True}},
            {"a": 1, "b": 2},
            False,
        ),
        (False, {}, False),
        (True, {}, True),
    ],
)
def test_compiled_keywords(schema, instance, expected):
    assert compile_check(schema, FORMAT_CHECKER)(instance) is expected


def test_invalid_body_still_gets_details(schemas):
    details = schemas.validate(
        CREATE_SCHEMA, {"displayName": "x", "proficiency": "guru"}
    )

    assert [detail.target for detail in details] == ["/proficiency"]
