"""Fault rules: which requests fail, slow down or lose their connection, and when.

A rule is a JSON object such as::

    {"method": "POST", "path": "/users/*/profile/skills", "status": 503, "times": 1}

``method``, ``path`` and ``user`` select requests, and a field left out matches any
request. The exception is a CORS preflight (OPTIONS), which only a rule with method
OPTIONS matches.
The effect is ``status`` (with optional ``code``, ``message`` and ``retryAfter``),
``latencyMs`` (a number or a ``[min, max]`` range), ``drop`` (close the connection
without answering), or latency together with one of the other two. The trigger counts
the rule's matches, 1, 2, 3 and so on: by default every match fires, ``times: K`` fires
on the first K, ``nth: N`` fires on match N only, ``nth`` with ``times`` fires on K
matches from match N, and ``probability: P`` lets each of those fire with chance P.

With a seed, the probability draw and the latency drawn from a range depend only on
the seed, the rule id and the match count. The same rules fed the same requests
therefore fire on the same requests in every run.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable

from .errors import GraphError
from .fakedata import Fabricator, user_object_id
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


@dataclass
class FaultEffect:
    """What the fired rules do to one request: added latency, then a status or a drop.

    ``decided_by`` is the id of the rule that set the status or drop. ``requested`` is
    True when the request's own Prefer header requested a fault.
    """

    rules: list[int]
    latency_ms: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    drop: bool = False
    decided_by: int | None = None
    requested: bool = False

    def take_outcome(self, spec: FaultSpec) -> None:
        """Use the status or drop of ``spec``, replacing any outcome set before."""
        self.drop = spec.drop
        self.status = spec.status
        self.code = spec.code
        self.message = spec.message
        self.retry_after = spec.retry_after


class _Entry:
    def __init__(self, rule_id: int, spec: FaultSpec) -> None:
        self.rule_id = rule_id
        self.spec = spec
        self.matched = 0
        self.fired = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            **self.spec.to_json(),
            "matched": self.matched,
            "fired": self.fired,
            "exhausted": self.spec.window_passed(self.matched),
        }


class FaultSet:
    """The fault rules of one mock server and their counters; thread-safe."""

    def __init__(self, specs: tuple[FaultSpec, ...], fabricator: Fabricator) -> None:
        self._fabricator = fabricator
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._next_id = 1
        self.reset(specs)

    def reset(self, specs: tuple[FaultSpec, ...]) -> None:
        """Replace every rule by ``specs``, numbered from 1, with zeroed counters."""
        with self._lock:
            self._entries = [_Entry(index, spec) for index, spec in enumerate(specs, 1)]
            self._next_id = len(specs) + 1

    def add(self, spec: FaultSpec) -> dict[str, Any]:
        """Append a rule after the existing ones; return it with its new id."""
        with self._lock:
            entry = _Entry(self._next_id, spec)
            self._next_id += 1
            self._entries.append(entry)
            return entry.to_json()

    def remove(self, rule_id: int) -> bool:
        """Delete the rule ``rule_id``; return False if there is none."""
        with self._lock:
            kept = [entry for entry in self._entries if entry.rule_id != rule_id]
            removed = len(kept) != len(self._entries)
            self._entries = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.to_json() for entry in self._entries]

    def evaluate(self, method: str, path: str, user: str | None) -> FaultEffect | None:
        """Count a request against every rule it matches; return the combined effect.

        Latencies of all fired rules add up. The first fired rule with a status or a
        drop decides the outcome. Later rules still count the match, so that their
        ``nth`` and ``times`` do not depend on the order of the rules.
        """
        effect: FaultEffect | None = None
        with self._lock:
            for entry in self._entries:
                if not entry.spec.matches(method, path, user):
                    continue

                entry.matched += 1
                if not self._fires(entry):
                    continue

                entry.fired += 1
                effect = effect or FaultEffect(rules=[])
                self._apply(entry, effect)

        return effect

    def _fires(self, entry: _Entry) -> bool:
        spec = entry.spec
        if not spec.in_window(entry.matched):
            return False

        if spec.probability is None:
            return True

        return self._draw("probability", entry).random() < spec.probability

    def _apply(self, entry: _Entry, effect: FaultEffect) -> None:
        spec = entry.spec
        effect.rules.append(entry.rule_id)
        if spec.latency_ms is not None:
            low, high = spec.latency_ms
            drawn = (
                low if low == high else self._draw("latency", entry).uniform(low, high)
            )
            effect.latency_ms += drawn

        if effect.status is not None or effect.drop:
            return

        if spec.status is not None or spec.drop:
            effect.take_outcome(spec)
            effect.decided_by = entry.rule_id

    def _draw(self, purpose: str, entry: _Entry) -> random.Random:
        if self._fabricator.seed is None:
            return random.Random()

        return self._fabricator.rng("fault", purpose, entry.rule_id, entry.matched)


def describe(spec: FaultSpec) -> str:
    """Return a short phrase naming the requests a rule selects, for messages."""
    method = spec.method or "any method"
    path = spec.path or "any path"
    user = f" for user {spec.user!r}" if spec.user else ""
    return f"{method} {path}{user}"
