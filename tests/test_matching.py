from __future__ import annotations

import pytest

from mockgraph.matching import (
    check_matcher,
    compare,
    parse_rule_path,
    pointer_of,
    rule_path_of,
)


def regex(pattern):
    return {"matchers": [{"match": "regex", "regex": pattern}]}


TYPE = {"matchers": [{"match": "type"}]}


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("$", ()),
        ("$.id", ("id",)),
        ("$['@odata.context']", ("@odata.context",)),
        ("$.error.innerError['request-id']", ("error", "innerError", "request-id")),
        ("$.value[0].id", ("value", 0, "id")),
        ("$.value[*].id", ("value", "*", "id")),
        ("$['it\\'s']", ("it's",)),
    ],
)
def test_rule_path_parsed(path, tokens):
    assert parse_rule_path(path) == tokens


@pytest.mark.parametrize(
    "tokens", [("id",), ("@odata.context",), ("value", 2, "request-id"), ("it's",)]
)
def test_rule_path_round_trip(tokens):
    assert parse_rule_path(rule_path_of(tokens)) == tokens


@pytest.mark.parametrize("path", ["id", "$.a[", "$..a", "$[x]"])
def test_rule_path_invalid(path):
    with pytest.raises(ValueError, match="invalid matching rule path"):
        parse_rule_path(path)


def test_pointer_escapes_slash_and_tilde():
    assert pointer_of(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


@pytest.mark.parametrize(
    ("matcher", "expected", "actual", "passes"),
    [
        ({"match": "equality"}, 1, 1, True),
        ({"match": "equality"}, 1, 2, False),
        ({"match": "type"}, "a", "b", True),
        ({"match": "type"}, "a", 1, False),
        ({"match": "type"}, 1, 2.5, True),
        ({"match": "type", "min": 2}, [1], [1], False),
        ({"match": "type", "max": 1}, [1], [1, 2], False),
        ({"match": "regex", "regex": "^a+$"}, "a", "aaa", True),
        ({"match": "regex", "regex": "^a+$"}, "a", "ab", False),
        ({"match": "regex", "regex": "^a+$"}, "a", None, False),
        ({"match": "include", "value": "json"}, "", "application/json", True),
        ({"match": "integer"}, 1, 2, True),
        ({"match": "integer"}, 1, 2.0, False),
        ({"match": "integer"}, 1, True, False),
        ({"match": "decimal"}, 1.0, 2.5, True),
        ({"match": "number"}, 1, 2.5, True),
        ({"match": "boolean"}, True, 0, False),
        ({"match": "null"}, None, None, True),
        ({"match": "notEmpty"}, "x", "", False),
        ({"match": "statusCode", "status": "success"}, 200, 204, True),
        ({"match": "statusCode", "status": "success"}, 200, 404, False),
        ({"match": "statusCode", "status": [200, 201]}, 200, 201, True),
        ({"match": "semver"}, "1.0.0", "1.0.0", False),
    ],
)
def test_matcher(matcher, expected, actual, passes):
    assert (check_matcher(matcher, expected, actual) is None) is passes


@pytest.mark.parametrize(
    ("matcher", "actual", "text"),
    [
        ({"match": "regex", "regex": "("}, "a", "regular expression '(' is invalid"),
        ({"match": "regex", "regex": "[a-"}, "a", "regular expression '[a-' is"),
        ({"match": "type", "min": "two"}, [1], "the rule's 'min' is 'two'"),
        ({"match": "type", "max": [1]}, [1], "the rule's 'max' is [1]"),
    ],
)
def test_matcher_invalid_rule(matcher, actual, text):
    assert text in check_matcher(matcher, actual, actual)


def test_compare_equal_bodies():
    assert compare({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}) == []


def test_compare_extra_keys_allowed():
    assert compare({"a": 1}, {"a": 1, "b": 2}) == []


def test_compare_reports_pointer_expected_actual():
    [mismatch] = compare({"a": {"b": "x"}}, {"a": {"b": "y"}})

    assert mismatch.pointer == "/a/b"
    assert mismatch.expected == "x"
    assert mismatch.actual == "y"


def test_compare_missing_key():
    [mismatch] = compare({"a": 1, "b": 2}, {"a": 1})

    assert mismatch.pointer == "/b"
    assert mismatch.reason == "missing"


def test_compare_number_is_not_boolean():
    [mismatch] = compare({"a": 1}, {"a": True})

    assert mismatch.pointer == "/a"


def test_compare_array_length():
    [mismatch] = compare({"value": [1, 2]}, {"value": [1]})

    assert mismatch.pointer == "/value"
    assert "expected 2 item(s), got 1" in mismatch.reason


def test_compare_regex_rule_replaces_equality():
    rules = {"$.id": regex("^[0-9]+$")}

    assert compare({"id": "1"}, {"id": "42"}, rules) == []
    assert compare({"id": "1"}, {"id": "x"}, rules)[0].pointer == "/id"


def test_compare_type_rule_cascades():
    rules = {"$.user": TYPE}

    assert (
        compare({"user": {"name": "a", "n": 1}}, {"user": {"name": "b", "n": 2}}, rules)
        == []
    )
    assert (
        compare({"user": {"name": "a"}}, {"user": {"name": 3}}, rules)[0].pointer
        == "/user/name"
    )


def test_compare_type_rule_on_array_uses_template():
    rules = {"$.tags": {"matchers": [{"match": "type", "min": 1}]}}

    assert compare({"tags": ["a"]}, {"tags": ["b", "c", "d"]}, rules) == []
    assert compare({"tags": ["a"]}, {"tags": ["b", 1]}, rules)[0].pointer == "/tags/1"
    assert compare({"tags": ["a"]}, {"tags": []}, rules)[0].pointer == "/tags"


def test_compare_wildcard_rule():
    rules = {"$.value[*].id": regex("^x")}

    assert (
        compare(
            {"value": [{"id": "x1"}, {"id": "x2"}]},
            {"value": [{"id": "x9"}, {"id": "x8"}]},
            rules,
        )
        == []
    )


def test_compare_or_combination():
    rules = {
        "$.a": {"combine": "OR", "matchers": [{"match": "integer"}, {"match": "null"}]}
    }

    assert compare({"a": 1}, {"a": None}, rules) == []
    assert compare({"a": 1}, {"a": "x"}, rules)[0].pointer == "/a"
