"""Settings of one mock server; every field has a default that works out of the box."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import GraphError
from .fault_rules import FaultSpec, parse_rule
from .throttle import ThrottleLimit

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
# The consumer name a contract recorded by `mockgraph serve --record` carries.
DEFAULT_CONSUMER = "frontend"
# Browser origins allowed by default: any port of localhost and 127.0.0.1, over http.
DEFAULT_CORS_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*")
AUTH_MODES = ("any", "jwt")
# Skills per page of a list response when the request has no smaller $top.
DEFAULT_PAGE_SIZE = 100
MEMORY_STORE = "memory"
# The maximum number of generated skills a new user gets. Seeding runs inside the
# user's first request, so far larger counts would hold that request for minutes.
MAX_SEED_SKILLS = 1000


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
    :param record_file: a Pact contract file that the server writes on a clean shutdown
        and on ``POST /_mockgraph/contract``; None records no contract.
    :param record_errors: also record requests the mock rejected in that contract.
    :param consumer: the consumer name written in that contract.
    :param cors_origins: browser origins allowed to call the mock. A ``*`` in an origin
        matches any run of characters except ``/``. A trailing ``:*`` also matches an
        origin without a port. A single string is one origin.
    :param faults: fault rules active from the start, as :class:`FaultSpec` objects or
        their JSON form (dicts).
    :param throttle: the per-user request limit, as a :class:`ThrottleLimit` or its
        ``"N/SECONDS"`` form such as ``"5/10"``; None turns throttling off.
    :param auth: ``"any"`` accepts any bearer token; ``"jwt"`` requires an unexpired
        JWT with the right permissions (its signature is not checked).
    :param store: where skills are kept: ``"memory"``, or ``"sqlite:///path.db"`` for a
        SQLite file that survives restarts and can be shared by several processes.
    :param seed_skills: how many generated skills each user gets when first seen, at
        most :data:`MAX_SEED_SKILLS`.
    :param page_size: maximum skills in one list response; more are reached through
        ``@odata.nextLink``.
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
    record_file: str | None = None
    record_errors: bool = False
    consumer: str = DEFAULT_CONSUMER
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    faults: tuple[FaultSpec, ...] = ()
    throttle: ThrottleLimit | None = None
    auth: str = "any"
    store: str = MEMORY_STORE
    seed_skills: int = 0
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        # Frozen: normalized values are written once, here, through object.__setattr__.
        object.__setattr__(
            self, "faults", tuple(_fault_spec(rule) for rule in self.faults)
        )
        object.__setattr__(self, "cors_origins", _origins(self.cors_origins))
        object.__setattr__(self, "throttle", _throttle_limit(self.throttle))
        _check_type("host", self.host, str)
        _check_type("port", self.port, int)
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {self.port!r}")

        if self.seed is not None:
            _check_type("seed", self.seed, int)

        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {AUTH_MODES!r}, got {self.auth!r}")

        if self.max_body_bytes < 1:
            raise ValueError(
                f"max_body_bytes must be at least 1, got {self.max_body_bytes!r}"
            )

        if self.journal_limit < 0:
            raise ValueError(
                f"journal_limit must be at least 0, got {self.journal_limit!r}"
            )

        if not self.me_user:
            raise ValueError("me_user must not be empty")

        if self.store != MEMORY_STORE and not self.store.startswith("sqlite:///"):
            raise ValueError(
                f"store must be {MEMORY_STORE!r} or 'sqlite:///path.db', "
                f"got {self.store!r}"
            )

        if not 0 <= self.seed_skills <= MAX_SEED_SKILLS:
            raise ValueError(
                f"seed_skills must be from 0 to {MAX_SEED_SKILLS}, got "
                f"{self.seed_skills!r}"
            )

        if self.page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {self.page_size!r}")

    def with_changes(self, **changes: Any) -> Config:
        """Return a copy with ``changes`` applied; unknown names raise TypeError."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(
                f"unknown Config field(s) {unknown!r}; known: {sorted(known)!r}"
            )

        return replace(self, **changes)


def _fault_spec(rule: FaultSpec | dict[str, Any]) -> FaultSpec:
    if isinstance(rule, FaultSpec):
        return rule

    try:
        return parse_rule(rule)
    except GraphError as error:
        raise ValueError(error.message) from None


def _origins(origins: Any) -> tuple[str, ...]:
    if isinstance(origins, str):
        origins = (origins,)

    try:
        items = tuple(origins)
    except TypeError:
        raise TypeError(
            f"cors_origins must be a string or a sequence of strings, got "
            f"{type(origins).__name__} {origins!r}"
        ) from None

    for origin in items:
        _check_type("each of cors_origins", origin, str)
        if not origin:
            raise ValueError(
                "an origin in cors_origins must not be empty; write one such as "
                "'http://localhost:5173'"
            )

    return items


def _throttle_limit(limit: Any) -> ThrottleLimit | None:
    if limit is None or isinstance(limit, ThrottleLimit):
        return limit

    if isinstance(limit, str):
        return ThrottleLimit.parse(limit)

    raise TypeError(
        f"throttle must be a ThrottleLimit or a string such as '5/10' for 5 requests "
        f"per 10 seconds, got {type(limit).__name__} {limit!r}"
    )


def _check_type(name: str, value: Any, expected: type) -> None:
    # bool is a subclass of int, but True is no port or seed.
    if not isinstance(value, expected) or isinstance(value, bool):
        raise TypeError(
            f"{name} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
