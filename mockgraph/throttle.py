"""Per-user request limits that respond with 429 the way Graph throttles.

Each user may make ``requests`` requests in any sliding window of ``window_seconds``.
A request over the limit is rejected and not counted, so a client that waits for the
Retry-After it was given always gets through.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class ThrottleLimit:
    """At most ``requests`` requests per user in any ``window_seconds`` window."""

    requests: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError(
                f"the request limit must be at least 1, got {self.requests!r}"
            )

        if not self.window_seconds > 0:
            raise ValueError(
                f"the window must be longer than 0 seconds, got {self.window_seconds!r}"
            )

    @classmethod
    def parse(cls, text: str) -> ThrottleLimit:
        """Parse ``N/SECONDS``, such as ``5/10`` for 5 requests per 10 seconds."""
        found = _LIMIT.match(text)
        if found is None:
            raise ValueError(
                f"invalid throttle limit {text!r}: write N/SECONDS, such as 5/10 for "
                "5 requests per 10 seconds"
            )

        return cls(int(found.group(1)), float(found.group(2)))

    def __str__(self) -> str:
        return f"{self.requests}/{self.window_seconds:g}"


class Throttle:
    """Count each user's requests and decide which ones go over the limit; thread-safe.

    :param clock: returns seconds on a monotonic scale; tests pass a fake clock.
    """

    def __init__(
        self, limit: ThrottleLimit, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._accepted: dict[str, deque[float]] = {}

    def admit(self, user: str) -> int | None:
        """Count a request of ``user``; return None if it is within the limit.

        Otherwise return the whole seconds until the user's oldest counted request
        leaves the window (at least 1), which is the Retry-After to send.
        """
        now = self.clock()
        with self._lock:
            times = self._accepted.setdefault(user, deque())
            while times and times[0] <= now - self.limit.window_seconds:
                times.popleft()

            if len(times) < self.limit.requests:
                times.append(now)
                return None

            wait = times[0] + self.limit.window_seconds - now
            return max(1, math.ceil(wait))

    def clear(self) -> None:
        """Forget every counted request."""
        with self._lock:
            self._accepted.clear()
