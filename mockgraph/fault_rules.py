"""Fault rules: which requests fail, slow down or lose their connection, and when.

A rule is a JSON object such as::

    {"method": "POST", "path": "/users/*/profile/skills", "status": 503, "times": 1}

``method``, ``path`` and ``user`` select requests, and a field left out matches any
request. The exception is a CORS preflight (OPTIONS), which only a rule with method
OPTIONS matches.

The effect is ``status`` (with optional ``code``, ``message`` and ``retryAfter``),
``latencyMs`` (a number or a ``[min, max]`` range), ``drop`` (close the connection
without a response), or latency together with one of the other two.

The trigger counts the rule's matches, 1, 2, 3 and so on. By default every match fires.
``times: K`` fires on the first K, ``nth: N`` fires on match N only, ``nth`` with
``times`` fires on K matches from match N, and ``probability: P`` lets each of those
fire with chance P.

This module validates rules and matches them against requests.
:class:`mockgraph.faults.FaultSet` keeps them and counts their matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .errors import GraphError
from .fakedata import user_object_id
from .journal import path_matches

# The Graph error code each injected status carries unless the rule names one.
# NOTE: Graph documents no error code for 502 and 504; badGateway and gatewayTimeout
# are guesses, so rules can set "code" to what a client expects instead.
ERROR_CODES = {
    400: "invalidRequest",
    401: "InvalidAuthenticationToken",
    403: "accessDenied",
    404: "itemNotFound",
    409: "nameAlreadyExists",
    412: "resourceModified",
    416: "invalidRange",
    429: "TooManyRequests",
    500: "generalException",
    501: "notSupported",
    502: "badGateway",
    503: "serviceNotAvailable",
    504: "gatewayTimeout",
    507: "quotaLimitReached",
}
# Graph always sends Retry-After with 429; this value is used when a rule sets none.
DEFAULT_RETRY_AFTER_429 = 1
# Longest injected latency, so that a mistyped rule cannot hang a client for hours.
MAX_LATENCY_MS = 60_000
FIELDS = (
    "method",
    "path",
    "user",
    "status",
    "code",
    "message",
    "retryAfter",
    "latencyMs",
    "drop",
    "nth",
    "times",
    "probability",
)
_METHOD = re.compile(r"^[A-Za-z]+$")
# Builds the error for one invalid field: fail(field, expected).
_Fail = Callable[[str, str], GraphError]


@dataclass(frozen=True)
class FaultSpec:
    """A validated fault rule, without its id or counters."""

    method: str | None = None
    path: str | None = None
    user: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    latency_ms: tuple[float, float] | None = None
    drop: bool = False
    nth: int | None = None
    times: int | None = None
    probability: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the rule in its JSON form, leaving out the fields that are not set."""
        latency: float | list[float] | None = None
        if self.latency_ms is not None:
            low, high = self.latency_ms
            latency = low if low == high else [low, high]

        values = {
            "method": self.method,
            "path": self.path,
            "user": self.user,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfter": self.retry_after,
            "latencyMs": latency,
            "drop": self.drop or None,
            "nth": self.nth,
            "times": self.times,
            "probability": self.probability,
        }
        return {name: value for name, value in values.items() if value is not None}

    def matches(self, method: str, path: str, user: str | None) -> bool:
        """Return whether a request selects this rule; ``user`` is as addressed."""
        if self.method is None:
            if method == "OPTIONS":
                return False
        elif self.method != method:
            return False

        if self.path is not None and not path_matches(self.path, path):
            return False

        if self.user is not None:
            return user is not None and _user_matches(self.user, user)

        return True

    def trigger_window(self) -> tuple[int, int | None]:
        """Return the first match number that fires and how many fire (None: no end)."""
        first = self.nth or 1
        if self.times is not None:
            return first, self.times

        return first, 1 if self.nth else None

    def in_window(self, match: int) -> bool:
        """Return whether match number ``match`` (1-based) lies in the trigger window."""
        first, count = self.trigger_window()
        return first <= match and (count is None or match < first + count)

    def window_passed(self, match: int) -> bool:
        """Return whether no match after number ``match`` can fire any more."""
        first, count = self.trigger_window()
        return count is not None and match >= first + count - 1


def _user_matches(pattern: str, user: str) -> bool:
    if fnmatchcase(user.lower(), pattern.lower()):
        return True

    return "*" not in pattern and user_object_id(pattern) == user_object_id(user)


def invalid_rule(
    field: str, value: Any, expected: str, source: str = "fault rule"
) -> GraphError:
    """Return the 400 error for one invalid field of a rule, naming the field."""
    return GraphError(
        400,
        "invalidRequest",
        f"Invalid {source}: {field!r} is {value!r}, but it must be {expected}.",
        target=field,
    )


def parse_rule(
    data: Any, source: str = "fault rule", names: dict[str, str] | None = None
) -> FaultSpec:
    """Validate a rule in its JSON form; raise a 400 :class:`GraphError` naming the field.

    ``source`` names where the rule came from in messages, such as "--fault option", and
    ``names`` maps JSON field names to the names the caller used for them.
    """
    names = names or {}
    if not isinstance(data, dict):
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid {source}: expected a JSON object such as "
            f'{{"status": 503, "times": 1}}, got {data!r}.',
        )

    unknown = [name for name in data if name not in FIELDS]
    if unknown:
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid {source}: unknown field {unknown[0]!r}; the fields are "
            f"{', '.join(FIELDS)}.",
            target=unknown[0],
        )

    def fail(field: str, expected: str) -> GraphError:
        return invalid_rule(names.get(field, field), data[field], expected, source)

    spec = FaultSpec(
        method=_method(data, fail),
        path=_text(data, "path", fail, "a path such as '/users/*/profile/skills'"),
        user=_text(data, "user", fail, "a user id or principal name"),
        status=_integer(data, "status", fail, 400, 599),
        code=_text(
            data, "code", fail, "a Graph error code such as 'serviceNotAvailable'"
        ),
        message=_text(data, "message", fail, "a non-empty string"),
        retry_after=_integer(data, "retryAfter", fail, 0, 86_400),
        latency_ms=_latency(data, fail),
        drop=_flag(data, "drop", fail),
        nth=_integer(data, "nth", fail, 1, None),
        times=_integer(data, "times", fail, 1, None),
        probability=_probability(data, fail),
    )
    _check_combination(spec, data, fail, lambda field: names.get(field, field), source)
    return spec


def _check_combination(
    spec: FaultSpec,
    data: dict[str, Any],
    fail: _Fail,
    name_of: Callable[[str], str],
    source: str,
) -> None:
    if spec.path is not None and not spec.path.startswith("/"):
        raise fail("path", "a path that starts with '/'")

    status = repr(name_of("status"))
    for field in ("code", "message", "retryAfter"):
        if field in data and spec.status is None:
            raise fail(field, f"left out unless {status} is set")

    if spec.status is None and not spec.drop and spec.latency_ms is None:
        effects = ", ".join(
            repr(name_of(field)) for field in ("status", "latencyMs", "drop")
        )
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid {source}: it has no effect; set one of {effects}.",
            target=name_of("status"),
        )

    if spec.drop and spec.status is not None:
        raise fail(
            "drop",
            f"left out when {status} is set, because a dropped connection sends no status",
        )

    if spec.status is not None and spec.code is None and spec.status not in ERROR_CODES:
        known = ", ".join(str(code) for code in ERROR_CODES)
        raise fail("status", f"one of {known}, or come with a 'code'")


def _method(data: dict[str, Any], fail: _Fail) -> str | None:
    value = data.get("method")
    if value is None:
        return None

    if not isinstance(value, str) or not _METHOD.match(value):
        raise fail("method", "an HTTP method such as 'POST'")

    return value.upper()


def _text(data: dict[str, Any], name: str, fail: _Fail, expected: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None

    if not isinstance(value, str) or not value.strip():
        raise fail(name, expected)

    return value


def _integer(
    data: dict[str, Any], name: str, fail: _Fail, low: int, high: int | None
) -> int | None:
    value = data.get(name)
    if value is None:
        return None

    expected = (
        f"an integer from {low} to {high}" if high else f"an integer of {low} or more"
    )
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(name, expected)

    if value < low or (high is not None and value > high):
        raise fail(name, expected)

    return value


def _flag(data: dict[str, Any], name: str, fail: _Fail) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise fail(name, "true or false")

    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None

    return float(value) if math.isfinite(value) else None


def _latency(data: dict[str, Any], fail: _Fail) -> tuple[float, float] | None:
    value = data.get("latencyMs")
    if value is None:
        return None

    expected = (
        f"a number of milliseconds from 0 to {MAX_LATENCY_MS}, or a [min, max] pair "
        "of them with min <= max"
    )
    single = _number(value)
    if single is not None:
        bounds = (single, single)
    elif isinstance(value, list) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is None or high is None:
            raise fail("latencyMs", expected)

        bounds = (low, high)
    else:
        raise fail("latencyMs", expected)

    if not 0 <= bounds[0] <= bounds[1] <= MAX_LATENCY_MS:
        raise fail("latencyMs", expected)

    return bounds


def _probability(data: dict[str, Any], fail: _Fail) -> float | None:
    value = data.get("probability")
    if value is None:
        return None

    number = _number(value)
    if number is None or not 0 <= number <= 1:
        raise fail("probability", "a number from 0 to 1")

    return number
