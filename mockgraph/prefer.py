"""Faults that the client requests itself, through the ``Prefer`` request header.

A test that cannot reach the admin API can send, for example::

    Prefer: mockgraph-status=503, mockgraph-retry-after=2
    Prefer: mockgraph-latency=100-500

The preferences are ``mockgraph-status``, ``mockgraph-code``, ``mockgraph-retry-after``,
``mockgraph-latency`` (milliseconds, or ``MIN-MAX``) and ``mockgraph-drop``. They apply
to the one request that carries them and follow the rules of a fault rule's fields.
Other preferences, such as ``odata.maxpagesize``, are left alone.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import Headers

from .errors import GraphError
from .fault_rules import FaultSpec, parse_rule

PREFIX = "mockgraph-"
# Each preference and the fault rule field it sets.
PREFERENCES = {
    "mockgraph-status": "status",
    "mockgraph-code": "code",
    "mockgraph-retry-after": "retryAfter",
    "mockgraph-latency": "latencyMs",
    "mockgraph-drop": "drop",
}
_NAMES = {field: preference for preference, field in PREFERENCES.items()}


def requested_fault(headers: Headers) -> FaultSpec | None:
    """Return the fault the request's Prefer headers ask for, or None if none.

    An unknown ``mockgraph-`` preference or an invalid value raises a 400
    :class:`~mockgraph.errors.GraphError` that names the preference.
    """
    rule: dict[str, Any] = {}
    for name, value in _preferences(headers):
        if not name.startswith(PREFIX):
            continue

        field = PREFERENCES.get(name)
        if field is not None and field in rule:
            raise GraphError(
                400,
                "invalidRequest",
                f"Invalid Prefer header: preference {name!r} is given more than once; "
                "send each mockgraph preference once.",
                target=name,
            )

        if field is None:
            known = ", ".join(PREFERENCES)
            raise GraphError(
                400,
                "invalidRequest",
                f"Invalid Prefer header: unknown preference {name!r}; the mockgraph "
                f"preferences are {known}.",
                target=name,
            )

        rule[field] = _convert(field, value)

    if not rule:
        return None

    return parse_rule(rule, source="Prefer header", names=_NAMES)


def _preferences(headers: Headers) -> list[tuple[str, str | None]]:
    """Split every Prefer header into (name, value) pairs.

    RFC 7240 separates preferences with commas and their parameters with semicolons.
    A ``mockgraph-`` name after a semicolon is taken as a preference of its own, since
    ``mockgraph-status=503; mockgraph-retry-after=3`` can only mean both; any other
    parameter is dropped.
    """
    found: list[tuple[str, str | None]] = []
    for header in headers.getlist("Prefer"):
        for item in header.split(","):
            for position, part in enumerate(item.split(";")):
                preference = part.strip()
                name, equals, value = preference.partition("=")
                name = name.strip().lower()
                if not name or (position and not name.startswith(PREFIX)):
                    continue

                found.append((name, value.strip().strip('"') if equals else None))

    return found


def _convert(field: str, value: str | None) -> Any:
    """Turn the text of a preference into the JSON value of its rule field.

    Text that does not convert is passed on unchanged, so that validation rejects it
    with a message that shows it.
    """
    if field == "drop":
        return {None: True, "true": True, "false": False}.get(value, value)

    if value is None:
        return ""

    if field in ("status", "retryAfter"):
        return int(value) if value.isdigit() else value

    if field == "latencyMs":
        low, dash, high = value.partition("-")
        bounds = [_float(low), _float(high)] if dash else [_float(value)]
        if any(bound is None for bound in bounds):
            return value

        return bounds if dash else bounds[0]

    return value


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
