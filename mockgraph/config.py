"""Settings of one mock server; every field has a default that works out of the box."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_JOURNAL_LIMIT = 10_000
DEFAULT_WORKERS = 1
# More than one, because a client that stalls while sending its body occupies a
# thread. Few, because a process's threads share one interpreter lock, and more of
# them raised the p99 latency in docs/benchmarks.md.
DEFAULT_THREADS = 4
# The user that /me stands for when no token names one.
DEFAULT_ME_USER = "adele.vance@contoso.com"


@dataclass(frozen=True)
class Config:
    """Settings of a mock server.

    :param seed: makes generated ids and values reproducible; None draws random ids.
    :param strict: reject server-set properties in request bodies instead of ignoring
        them with a warning.
    :param max_body_bytes: largest request body accepted; larger ones get 413.
    :param journal_limit: how many interactions the journal keeps; 0 turns recording
        off (unless ``journal_file`` is set), for load tests that never read it.
    :param journal_file: a JSON Lines file that receives every interaction as well.
    :param me_user: the user id or principal name that ``/me`` resolves to.
    :param schema_dir: a folder of JSON Schema files to use instead of the shipped ones.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    seed: int | None = None
    strict: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    journal_limit: int = DEFAULT_JOURNAL_LIMIT
    journal_file: str | None = None
    me_user: str = DEFAULT_ME_USER
    schema_dir: str | None = None

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {self.max_body_bytes!r}")

        if self.journal_limit < 0:
            raise ValueError(f"journal_limit must be at least 0, got {self.journal_limit!r}")

        if not self.me_user:
            raise ValueError("me_user must not be empty")

    def with_changes(self, **changes: Any) -> Config:
        """Return a copy with ``changes`` applied; unknown names raise TypeError."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown Config field(s) {unknown!r}; known: {sorted(known)!r}")

        return replace(self, **changes)
