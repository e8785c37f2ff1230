"""Expected requests: declared before a test acts, checked when it ends.

An :class:`Expectation` matches a recorded request by method, path pattern (see
:func:`mockgraph.journal.path_matches`) and, optionally, a JSON body that must contain
the expected keys and values. When the count of matching requests is wrong, the
failure message shows the nearest requests that were made and how each one differed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .journal import Interaction, path_matches
from .matching import MISSING, Mismatch, Token, json_type, pointer_of

# How many near misses a failure message shows.
NEAREST_LIMIT = 3


def request_json(record: Interaction) -> Any:
    """Return the request body of ``record`` decoded as JSON, or MISSING if it is not JSON."""
    if record.body is None or not record.body.strip():
        return MISSING

    try:
        return json.loads(record.body)
    except ValueError:
        return MISSING


@dataclass
class Expectation:
    """A request the test expects: ``times`` exactly, or at least once when None."""

    method: str
    path: str
    json: Any = MISSING
    times: int | None = None

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be 0 or more, got {self.times!r}")

    def describe(self) -> str:
        text = f"{self.method} {self.path}"
        if self.json is not MISSING:
            text += f" with JSON containing {self.json!r}"

        return text

    def differences(self, record: Interaction) -> list[Mismatch]:
        """List how ``record`` differs from this expectation; empty when it matches."""
        found: list[Mismatch] = []
        if record.method != self.method:
            found.append(
                Mismatch("method", self.method, record.method, "method differs")
            )

        if not path_matches(self.path, record.path):
            found.append(
                Mismatch("path", self.path, record.path, "path does not match")
            )

        if self.json is not MISSING:
            body = request_json(record)
            if body is MISSING:
                found.append(
                    Mismatch("body", self.json, record.body, "body is not JSON")
                )
            else:
                found.extend(
                    Mismatch(
                        "body" + item.pointer, item.expected, item.actual, item.reason
                    )
                    for item in subset_mismatches(self.json, body)
                )

        return found

    def matches(self, record: Interaction) -> bool:
        return not self.differences(record)

    def failure(self, records: Iterable[Interaction]) -> str | None:
        """Return why ``records`` do not meet this expectation, or None if they do."""
        records = list(records)
        matched = [record for record in records if self.matches(record)]
        if self.times is None and matched:
            return None

        if self.times is not None and len(matched) == self.times:
            return None

        expected_times = (
            "at least once" if self.times is None else f"{self.times} time(s)"
        )
        lines = [
            f"expected {self.describe()} {expected_times}, but it was requested {len(matched)} time(s)."
        ]
        if matched:
            lines.append("  Matching requests:")
            lines += [f"    {record.summary()}" for record in matched]
        else:
            lines += nearest_requests(self, records)

        return "\n".join(lines)


def nearest_requests(expectation: Expectation, records: list[Interaction]) -> list[str]:
    """Describe the requests that came closest to ``expectation`` and how each differed."""
    if not records:
        return ["  No requests were made."]

    expected_line = f"{expectation.method} {expectation.path}"

    def distance(record: Interaction) -> tuple[int, float]:
        similarity = difflib.SequenceMatcher(
            None, expected_line, f"{record.method} {record.path}"
        ).ratio()
        return (len(expectation.differences(record)), -similarity)

    lines = ["  Nearest requests made:"]
    for record in sorted(records, key=distance)[:NEAREST_LIMIT]:
        lines.append(f"    {record.summary()}")
        for difference in expectation.differences(record):
            lines.append(f"        {difference.describe()}")

    return lines


def check_all(
    expectations: Iterable[Expectation], records: Iterable[Interaction]
) -> None:
    """Raise AssertionError listing every expectation that ``records`` do not meet."""
    records = list(records)
    failures = [failure for item in expectations if (failure := item.failure(records))]
    if failures:
        raise AssertionError(
            f"{len(failures)} mockgraph expectation(s) not met:\n" + "\n".join(failures)
        )


def subset_mismatches(
    expected: Any, actual: Any, path: tuple[Token, ...] = ()
) -> list[Mismatch]:
    """List where ``actual`` fails to contain ``expected``.

    Objects match when every expected key is present with a matching value, whatever
    other keys ``actual`` has. Arrays must have the same length, item by item. Other
    values must be equal and of the same JSON type (``1`` does not match ``True``).
    """
    pointer = pointer_of(path)
    if actual is MISSING:
        return [Mismatch(pointer, expected, None, "missing")]

    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [
                Mismatch(
                    pointer,
                    expected,
                    actual,
                    f"expected an object, got a {json_type(actual)}",
                )
            ]

        mismatches: list[Mismatch] = []
        for key, value in expected.items():
            mismatches += subset_mismatches(
                value, actual.get(key, MISSING), (*path, key)
            )

        return mismatches

    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [Mismatch(pointer, expected, actual, "arrays differ")]

        mismatches = []
        for index, (want, got) in enumerate(zip(expected, actual)):
            mismatches += subset_mismatches(want, got, (*path, index))

        return mismatches

    if expected == actual and json_type(expected) == json_type(actual):
        return []

    return [Mismatch(pointer, expected, actual, "values differ")]
