"""The state one mock server keeps between requests, and the recording of requests.

Nothing here imports Flask: ``mockgraph serve`` builds this state first and can
handle a create before the Flask application exists (see :mod:`mockgraph.serving_app`).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Config
from .fakedata import Fabricator
from .faults import FaultSet
from .journal import Exchange, Journal, JournalBackend, encode_exchange
from .jsonl import JsonLinesWriter
from .store import SkillStore, open_store
from .throttle import Throttle
from .validation import SchemaSet

if TYPE_CHECKING:
    from .contract import ContractRecorder

logger = logging.getLogger(__name__)
# One INFO line per request; `mockgraph serve --no-access-log` turns it off.
access_logger = logging.getLogger("mockgraph.access")

# The path under which the admin API lives. Its requests are not recorded.
ADMIN_PREFIX = "/_mockgraph"
_SLASHES = re.compile(r"/{2,}")


def is_admin_path(path: str) -> bool:
    """Return whether ``path`` belongs to the admin API."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def request_ids(environ: dict[str, Any]) -> tuple[str, str]:
    """Return a new request id and the client's request id, which defaults to it."""
    request_id = str(uuid.uuid4())
    return request_id, environ.get("HTTP_CLIENT_REQUEST_ID") or request_id


@dataclass
class MockGraphState:
    """Everything one mock server keeps between requests."""

    config: Config
    schemas: SchemaSet
    store: SkillStore
    journal: JournalBackend
    fabricator: Fabricator
    faults: FaultSet
    throttle: Throttle | None = None
    #: The contract recorded from every interaction, with ``config.record_file`` set.
    recorder: ContractRecorder | None = None

    @property
    def recording(self) -> bool:
        """Whether requests are recorded: False with journal limit 0 and no journal file."""
        return self.journal.limit > 0 or bool(self.journal.sinks)

    def reset(self) -> None:
        """Forget every skill, counter and recorded interaction.

        Fault rules go back to the configured ones, with zeroed counters, and the
        throttle clears every counted request.
        """
        # First, because the journal of several workers can fail with a 503, and the
        # reset should then leave everything as it was.
        self.journal.clear()
        self.store.clear()
        self.faults.reset(self.config.faults)
        if self.throttle is not None:
            self.throttle.clear()

    def close(self) -> None:
        """Release the store and close the journal's files."""
        self.store.close()
        self.journal.close()


def build_state(
    config: Config,
    store: SkillStore | None = None,
    journal: JournalBackend | None = None,
) -> MockGraphState:
    """Load the schemas and open the store and the journal that ``config`` names.

    :param store: where skills are kept; by default the store ``config.store`` names.
    :param journal: where interactions are recorded; an in-memory journal of
        ``config.journal_limit`` records by default.
    """
    journal = journal if journal is not None else Journal(config.journal_limit)
    if config.journal_file:
        journal.sinks.append(JsonLinesWriter(config.journal_file))

    fabricator = Fabricator(config.seed)
    state = MockGraphState(
        config=config,
        schemas=SchemaSet.load(config.schema_dir),
        store=store or open_store(config.store),
        journal=journal,
        fabricator=fabricator,
        faults=FaultSet(config.faults, fabricator),
        throttle=Throttle(config.throttle) if config.throttle else None,
    )
    if config.record_file:
        from .contract import ContractRecorder, contract_metadata

        state.recorder = ContractRecorder(
            config.consumer,
            metadata=contract_metadata(state),
            record_errors=config.record_errors,
        )
        journal.sinks.append(state.recorder)

    return state


class NormalizePath:
    """WSGI middleware: collapse repeated slashes and drop a trailing slash.

    The Graph SDK with its default base URL sends ``/beta//users/...``; Werkzeug would
    respond with a redirect, which can lose the Authorization header. Rewriting the
    path before routing means nothing ever redirects.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        raw = environ.get("PATH_INFO", "") or "/"
        path = _SLASHES.sub("/", raw)
        if len(path) > 1:
            path = path.rstrip("/") or "/"

        environ["mockgraph.raw_path"] = raw
        environ["PATH_INFO"] = path
        return self.wsgi_app(environ, start_response)


def record_interaction(
    state: MockGraphState, environ: dict[str, Any], exchange: Exchange
) -> None:
    """Append the exchange to the journal, logging instead of raising if that fails."""
    try:
        _record(state, environ, exchange)
    except (sqlite3.Error, OSError) as err:
        # Such as a full disk: one line per request, since every request fails alike.
        logger.error(
            "failed to record interaction of request-id %s: %s",
            exchange.request_id,
            err,
        )
    except Exception:
        logger.exception(
            "failed to record interaction of request-id %s", exchange.request_id
        )


def _record(state: MockGraphState, environ: dict[str, Any], exchange: Exchange) -> None:
    duration_ms = round((time.perf_counter() - exchange.started) * 1000, 3)
    state.journal.append_encoded(
        encode_exchange(environ, exchange, time.time(), duration_ms)
    )

    if access_logger.isEnabledFor(logging.INFO):
        access_logger.info(
            "%s %s %s %s %.1fms request-id=%s",
            exchange.method,
            exchange.path,
            exchange.status,
            exchange.operation,
            duration_ms,
            exchange.request_id,
        )
