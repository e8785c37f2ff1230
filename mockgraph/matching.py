"""Compare actual JSON values with expected ones under Pact matching rules.

Matching rules are kept as in a Pact V4 file: a mapping from a path such as
``$.value[0].id`` or ``$['@odata.context']`` to ``{"combine": "AND", "matchers": [...]}``.
A value with no rule of its own must equal the expected value, unless an ancestor has
a type rule, which then applies to everything below it. Objects may carry keys the
expectation does not name; arrays must have the expected length unless a type rule
with ``min`` or ``max`` allows otherwise.

Supported matchers: ``equality``, ``type``, ``min``/``max``/``minType``/``maxType``,
``regex``, ``include``, ``integer``, ``decimal``, ``number``, ``boolean``, ``null``,
``notEmpty``, ``values`` and ``statusCode``. The ``date``, ``time`` and ``datetime``
matchers only check that the value is a string, because their Java-style format
patterns are not interpreted. Any other matcher is reported as a mismatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Token = str | int

WILDCARD = "*"
TYPE_MATCHERS = frozenset({"type", "min", "max", "minType", "maxType", "values"})
_RULE_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+|\*)\]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STATUS_CLASSES = {
    "information": range(100, 200),
    "success": range(200, 300),
    "redirect": range(300, 400),
    "clientError": range(400, 500),
    "serverError": range(500, 600),
    "nonError": range(100, 400),
    "error": range(400, 600),
}


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Mismatch:
    """One difference: where it is, what was expected, what was found, and why."""

    pointer: str
    expected: Any
    actual: Any
    reason: str

    def describe(self) -> str:
        return (
            f"{self.pointer or '/'}: {self.reason}: expected {self.expected!r}, "
            f"actual {self.actual!r}"
        )


def pointer_of(tokens: tuple[Token, ...] | list[Token]) -> str:
    """Return the JSON pointer (RFC 6901) of a path of keys and indexes."""
    parts = [str(token).replace("~", "~0").replace("/", "~1") for token in tokens]
    return "".join("/" + part for part in parts)


def rule_path_of(tokens: tuple[Token, ...] | list[Token]) -> str:
    """Return the Pact rule path of a path of keys and indexes, such as ``$.a['b-c'][0]``."""
    text = "$"
    for token in tokens:
        if isinstance(token, int):
            text += f"[{token}]"
        elif _IDENTIFIER.match(token):
            text += f".{token}"
        else:
            escaped = token.replace("\\", "\\\\").replace("'", "\\'")
            text += f"['{escaped}']"

    return text


def parse_rule_path(path: str) -> tuple[Token, ...]:
    """Split a Pact rule path into keys, indexes and ``*`` wildcards.

    :raises ValueError: if ``path`` does not start with ``$`` or has text the Pact path
        syntax does not allow.
    """
    if not path.startswith("$"):
        raise ValueError(f"invalid matching rule path {path!r}: it must start with '$'")

    tokens: list[Token] = []
    position = 1
    while position < len(path):
        found = _RULE_PATH_TOKEN.match(path, position)
        if found is None:
            raise ValueError(
                f"invalid matching rule path {path!r} at offset {position}"
            )

        name, quoted, index = found.groups()
        if name is not None:
            tokens.append(name)
        elif quoted is not None:
            tokens.append(re.sub(r"\\(.)", r"\1", quoted))
        elif index == WILDCARD:
            tokens.append(WILDCARD)
        else:
            tokens.append(int(index))

        position = found.end()

    return tuple(tokens)


def _path_fits(rule: tuple[Token, ...], path: tuple[Token, ...]) -> bool:
    if len(rule) != len(path):
        return False

    return all(want == WILDCARD or want == got for want, got in zip(rule, path))


class RuleSet:
    """The matching rules of one category (``body``, ``header``, ...), parsed once."""

    def __init__(self, rules: dict[str, Any] | None) -> None:
        self._rules: list[tuple[tuple[Token, ...], dict[str, Any]]] = []
        for path, rule in (rules or {}).items():
            self._rules.append((parse_rule_path(path), rule))

    def direct(self, path: tuple[Token, ...]) -> dict[str, Any] | None:
        """Return the rule written for exactly ``path``, preferring one without wildcards."""
        fitting = [
            (rule_path, rule)
            for rule_path, rule in self._rules
            if _path_fits(rule_path, path)
        ]
        if not fitting:
            return None

        fitting.sort(key=lambda item: sum(token == WILDCARD for token in item[0]))
        return fitting[0][1]


def json_type(value: Any) -> str:
    if value is None:
        return "null"

    if isinstance(value, bool):
        return "boolean"

    if isinstance(value, (int, float)):
        return "number"

    if isinstance(value, str):
        return "string"

    if isinstance(value, list):
        return "array"

    return "object" if isinstance(value, dict) else type(value).__name__


def check_matcher(matcher: dict[str, Any], expected: Any, actual: Any) -> str | None:
    """Apply one matcher; return why ``actual`` fails it, or None when it passes."""
    kind = matcher.get("match", "type")
    if kind == "equality":
        return None if expected == actual else "values differ"

    if kind in TYPE_MATCHERS:
        return _check_type(matcher, expected, actual)

    if kind == "regex":
        pattern = str(matcher.get("regex", ""))
        if isinstance(actual, (dict, list)) or actual is None:
            return f"{json_type(actual)} cannot match regular expression {pattern!r}"

        try:
            compiled = re.compile(pattern)
        except re.error as err:
            return (
                f"cannot be checked: the rule's regular expression {pattern!r} is "
                f"invalid ({err}); fix the pattern in the contract"
            )

        text = str(actual).lower() if isinstance(actual, bool) else str(actual)
        return None if compiled.search(text) else f"does not match {pattern!r}"

    if kind == "include":
        needle = str(matcher.get("value", ""))
        return None if needle in str(actual) else f"does not include {needle!r}"

    if kind in ("integer", "decimal", "number"):
        return _check_number(kind, actual)

    if kind == "boolean":
        return None if isinstance(actual, bool) else "is not a boolean"

    if kind == "null":
        return None if actual is None else "is not null"

    if kind == "notEmpty":
        return None if actual not in (None, "", [], {}) else "is empty"

    if kind in ("date", "time", "datetime", "timestamp"):
        return None if isinstance(actual, str) else f"is not a {kind} string"

    if kind == "statusCode":
        return _check_status(matcher, actual)

    return f"matcher {kind!r} is not supported by mockgraph"


def _check_type(matcher: dict[str, Any], expected: Any, actual: Any) -> str | None:
    if expected is not None and json_type(expected) != json_type(actual):
        return f"expected a {json_type(expected)}, got a {json_type(actual)}"

    if isinstance(actual, list):
        minimum = matcher.get("min")
        maximum = matcher.get("max")
        for name, bound in (("min", minimum), ("max", maximum)):
            try:
                if bound is not None:
                    int(bound)
            except (TypeError, ValueError):
                return (
                    f"cannot be checked: the rule's {name!r} is {bound!r}, not an "
                    "integer; fix the rule in the contract"
                )

        if minimum is not None and len(actual) < int(minimum):
            return f"has {len(actual)} item(s), fewer than the minimum {minimum}"

        if maximum is not None and len(actual) > int(maximum):
            return f"has {len(actual)} item(s), more than the maximum {maximum}"

    return None


def _check_number(kind: str, actual: Any) -> str | None:
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return f"is not a {kind}"

    if kind == "integer" and not isinstance(actual, int):
        return "is not an integer"

    if kind == "decimal" and not isinstance(actual, float):
        return "is not a decimal number"

    return None


def _check_status(matcher: dict[str, Any], actual: Any) -> str | None:
    expected_status = matcher.get("status")
    if isinstance(expected_status, list):
        return (
            None if actual in expected_status else f"is not one of {expected_status!r}"
        )

    statuses = _STATUS_CLASSES.get(str(expected_status))
    if statuses is None:
        return f"status class {expected_status!r} is not known"

    return None if actual in statuses else f"is not a {expected_status} status"


def check_rule(rule: dict[str, Any], expected: Any, actual: Any) -> list[str]:
    """Apply a rule's matchers with its ``combine`` (AND or OR); return the failures."""
    reasons = [
        check_matcher(matcher, expected, actual) for matcher in rule.get("matchers", [])
    ]
    failures = [reason for reason in reasons if reason is not None]
    if rule.get("combine", "AND").upper() == "OR" and len(failures) < len(reasons):
        return []

    return failures


def compare(
    expected: Any, actual: Any, rules: dict[str, Any] | None = None
) -> list[Mismatch]:
    """Compare ``actual`` with ``expected`` under body matching ``rules``."""
    return _compare(expected, actual, (), RuleSet(rules), cascade=False)


def _compare(
    expected: Any, actual: Any, path: tuple[Token, ...], rules: RuleSet, cascade: bool
) -> list[Mismatch]:
    pointer = pointer_of(path)
    if actual is MISSING:
        return [Mismatch(pointer, expected, None, "missing")]

    rule = rules.direct(path)
    if rule is not None:
        failures = check_rule(rule, expected, actual)
        if failures:
            return [Mismatch(pointer, expected, actual, "; ".join(failures))]

        kinds = {matcher.get("match") for matcher in rule.get("matchers", [])}
        if not kinds & TYPE_MATCHERS:
            return []

        cascade = True

    if isinstance(expected, dict) and isinstance(actual, dict):
        mismatches: list[Mismatch] = []
        for key, value in expected.items():
            mismatches += _compare(
                value, actual.get(key, MISSING), (*path, key), rules, cascade
            )

        return mismatches

    if isinstance(expected, list) and isinstance(actual, list):
        return _compare_lists(
            expected, actual, path, rules, cascade or rule is not None
        )

    if cascade:
        if expected is None or json_type(expected) == json_type(actual):
            return []

        reason = f"expected a {json_type(expected)}, got a {json_type(actual)}"
        return [Mismatch(pointer, expected, actual, reason)]

    if expected == actual and json_type(expected) == json_type(actual):
        return []

    return [Mismatch(pointer, expected, actual, "values differ")]


def _compare_lists(
    expected: list[Any],
    actual: list[Any],
    path: tuple[Token, ...],
    rules: RuleSet,
    by_type: bool,
) -> list[Mismatch]:
    if by_type:
        # Under a type rule every actual item is checked against the first expected
        # one, the template; the rule itself has already checked the length bounds.
        if not expected:
            return []

        mismatches: list[Mismatch] = []
        for index, item in enumerate(actual):
            template = expected[index] if index < len(expected) else expected[0]
            mismatches += _compare(template, item, (*path, index), rules, cascade=True)

        return mismatches

    if len(expected) != len(actual):
        reason = f"expected {len(expected)} item(s), got {len(actual)}"
        return [Mismatch(pointer_of(path), expected, actual, reason)]

    mismatches = []
    for index, (want, got) in enumerate(zip(expected, actual)):
        mismatches += _compare(want, got, (*path, index), rules, cascade=False)

    return mismatches
