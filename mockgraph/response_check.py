"""Compare an HTTP response with the response a Pact interaction expects.

The status must be equal (or fit a ``statusCode`` rule), every header the contract names
must be present and fit its rule or value, and the body must fit its matching rules
(see :mod:`mockgraph.matching`). Each mismatch carries the JSON pointer of the value in
the response: ``/status``, ``/headers/NAME`` or ``/body/...``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from .matching import MISSING, Mismatch, RuleSet, check_rule, compare


@dataclass
class Reply:
    """A provider's response: status, headers and raw body."""

    status: int
    headers: dict[str, str]
    body: bytes


def header_values(headers: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        result[name] = ", ".join(value) if isinstance(value, list) else str(value)

    return result


def body_bytes(body: Any) -> bytes | None:
    if not isinstance(body, dict) or "content" not in body:
        return None

    content = body["content"]
    if body.get("encoded") == "base64":
        return base64.b64decode(content)

    if isinstance(content, str):
        return content.encode("utf-8")

    return json.dumps(content, ensure_ascii=False).encode("utf-8")


def check_response(expected: dict[str, Any], reply: Reply) -> list[Mismatch]:
    """Compare a reply with a Pact response; return every mismatch."""
    rules = expected.get("matchingRules") or {}
    mismatches: list[Mismatch] = []
    status_rule = RuleSet(rules.get("status")).direct(())
    want_status = expected.get("status", 200)
    if status_rule is not None:
        failures = check_rule(status_rule, want_status, reply.status)
        if failures:
            mismatches.append(
                Mismatch("/status", want_status, reply.status, "; ".join(failures))
            )
    elif reply.status != want_status:
        mismatches.append(
            Mismatch("/status", want_status, reply.status, "status differs")
        )

    mismatches += _check_headers(expected, reply, rules.get("header") or {})
    mismatches += _check_body(expected, reply, rules.get("body"))
    return mismatches


def _check_headers(
    expected: dict[str, Any], reply: Reply, rules: dict[str, Any]
) -> list[Mismatch]:
    actual = {name.lower(): value for name, value in reply.headers.items()}
    rules_by_name = {name.lower(): rule for name, rule in rules.items()}
    mismatches = []
    for name, want in header_values(expected.get("headers")).items():
        pointer = "/headers/" + name.replace("~", "~0").replace("/", "~1")
        got = actual.get(name.lower(), MISSING)
        if got is MISSING:
            mismatches.append(Mismatch(pointer, want, None, "header missing"))
            continue

        rule = rules_by_name.get(name.lower())
        if rule is not None:
            failures = check_rule(rule, want, got)
            if failures:
                mismatches.append(Mismatch(pointer, want, got, "; ".join(failures)))
        elif name.lower() == "content-type":
            if not _content_type_fits(want, got):
                mismatches.append(Mismatch(pointer, want, got, "media type differs"))
        elif _split(want) != _split(got):
            mismatches.append(Mismatch(pointer, want, got, "values differ"))

    return mismatches


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    mimetype, _, rest = value.partition(";")
    parameters = {}
    for part in rest.split(";"):
        key, sep, item = part.partition("=")
        if sep:
            parameters[key.strip().lower()] = item.strip().strip('"').lower()

    return mimetype.strip().lower(), parameters


def _content_type_fits(expected: str, actual: str) -> bool:
    """Check that ``actual`` has the expected media type and every expected parameter."""
    want_type, want_parameters = _media_type(expected)
    got_type, got_parameters = _media_type(actual)
    if want_type != got_type:
        return False

    return all(
        got_parameters.get(key) == value for key, value in want_parameters.items()
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


def _check_body(
    expected: dict[str, Any], reply: Reply, rules: dict[str, Any] | None
) -> list[Mismatch]:
    body = expected.get("body")
    if not isinstance(body, dict) or "content" not in body:
        return []

    content = body["content"]
    if body.get("encoded") == "base64" or isinstance(content, str):
        want = body_bytes(body) or b""
        if want == reply.body:
            return []

        return [
            Mismatch(
                "/body",
                want.decode("utf-8", "replace"),
                reply.body.decode("utf-8", "replace"),
                "body differs",
            )
        ]

    try:
        actual = json.loads(reply.body.decode("utf-8"))
    except ValueError:
        return [
            Mismatch(
                "/body",
                content,
                reply.body.decode("utf-8", "replace"),
                "body is not JSON",
            )
        ]

    return [
        Mismatch(
            "/body" + mismatch.pointer,
            mismatch.expected,
            mismatch.actual,
            mismatch.reason,
        )
        for mismatch in compare(content, actual, rules)
    ]
