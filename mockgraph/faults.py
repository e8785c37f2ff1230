"""The fault rules of one mock server, with the counters that decide when they fire.

With a seed, the probability draw and the latency drawn from a range depend only on
the seed, the rule id and the match count. The same rules fed the same requests
therefore fire on the same requests in every run. Rules themselves are defined and
validated in :mod:`mockgraph.fault_rules`.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from .fakedata import Fabricator
from .fault_rules import FaultSpec


@dataclass
class FaultEffect:
    """The combined effect of the fired rules on one request.

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
            remaining = [entry for entry in self._entries if entry.rule_id != rule_id]
            removed = len(remaining) != len(self._entries)
            self._entries = remaining
            return removed

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    @property
    def active(self) -> bool:
        """Whether any rule is set, read without the lock."""
        return bool(self._entries)

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
