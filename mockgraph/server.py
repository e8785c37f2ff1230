"""Run the mock in a background thread of the current process, for tests."""

from __future__ import annotations

import difflib
import logging
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import MockGraphState, create_app, get_state
from .config import Config
from .expectations import Expectation, check_all
from .journal import Interaction, Interactions, path_matches
from .matching import MISSING

logger = logging.getLogger(__name__)

# How many near misses an assertion failure lists.
SIMILAR_LIMIT = 5


class _QuietRequestHandler(WSGIRequestHandler):
    """Leave request logging to mockgraph, which logs one line per request itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MockGraph:
    """A live mock server on 127.0.0.1 and a free port, for use in tests.

    Use it as a context manager::

        with MockGraph(Config(seed=1)) as graph:
            requests.post(graph.url + "/users/42/profile/skills", ...)
            graph.assert_requested("POST", "/users/42/profile/skills", times=1)

    The server runs in a daemon thread. Requests it rejects never raise there; they are
    recorded as interactions, which the assertion methods examine in the test thread.
    """

    def __init__(self, config: Config | None = None, **changes: Any) -> None:
        config = config or Config(port=0)
        self.config = config.with_changes(**changes) if changes else config
        self.app: Flask = create_app(self.config)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.expectations: list[Expectation] = []

    # Lifecycle

    def start(self) -> MockGraph:
        """Bind the port and start serving; return self."""
        if self._server is not None:
            return self

        if self._closed:  # stop() closed the old state's files
            self.app = create_app(self.config)
            self._closed = False

        try:
            self._server = make_server(
                self.config.host,
                self.config.port,
                self._dispatch,
                threaded=True,
                request_handler=_QuietRequestHandler,
            )
        except SystemExit:
            # Werkzeug prints the bind error and exits; a library user needs an error.
            raise OSError(
                f"cannot listen on {self.config.host}:{self.config.port}: the address "
                "is in use or not available; pick another port, or 0 for a free one"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name=f"mockgraph-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("mockgraph serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return

        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)

        self.state.close()
        self._closed = True
        logger.info("mockgraph stopped on port %s", server.server_port)

    def __enter__(self) -> MockGraph:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        # Looked up per request, so configure() can swap the app while serving.
        return self.app(environ, start_response)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the mock server is not running; call start() first")

        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        """The server root, such as ``http://127.0.0.1:51234``."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def url(self) -> str:
        """The Graph base URL to give a client, ending in ``/beta``."""
        return self.base_url + "/beta"

    # State

    @property
    def state(self) -> MockGraphState:
        return get_state(self.app)

    def configure(self, config: Config) -> None:
        """Serve with ``config`` from now on, starting from empty state.

        Host and port are fixed once the server runs; changing them needs a new server.
        """
        if self.running and (config.host, config.port) not in {
            (self.config.host, self.config.port),
            (self.config.host, self.port),
        }:
            raise ValueError(
                f"cannot move a running server to {config.host}:{config.port}; "
                "stop it and start a new MockGraph"
            )

        if config != self.config or self._closed:
            self.state.close()
            self.app = create_app(config)
            self.config = config
            self._closed = False
            self.expectations.clear()

        # A SQLite store may hold skills of an earlier run; the contract is empty state.
        self.reset()

    def reset(self) -> None:
        """Forget all skills, recorded interactions and expectations."""
        self.state.reset()
        self.expectations.clear()

    @property
    def interactions(self) -> Interactions:
        """Every recorded interaction, oldest first."""
        return self.state.journal.records()

    def last(self) -> Interaction:
        """Return the latest interaction; raise LookupError if there is none."""
        return self.interactions.last()

    # Assertions

    def expect(
        self, method: str, path: str, json: Any = MISSING, times: int | None = None
    ) -> Expectation:
        """Declare a request the code under test must make, checked by :meth:`check_expectations`.

        :param json: a JSON value the request body must contain: every key given, with
            equal values, at any depth; other keys may be present.
        :param times: how many matching requests are expected; None means at least one.

        The pytest fixture checks expectations when the test ends.
        """
        expectation = Expectation(method, path, json, times)
        self.expectations.append(expectation)
        return expectation

    def check_expectations(self) -> None:
        """Raise AssertionError naming each unmet expectation and the nearest requests."""
        check_all(self.expectations, self.interactions)

    def assert_requested(
        self, method: str, path: str, times: int | None = None, json: Any = MISSING
    ) -> Interactions:
        """Assert a request was made (``times`` exactly, if given); return the matches.

        With ``json``, only requests whose body contains that JSON value count. On
        failure the message lists the requests that came closest and how they differed.
        """
        if times is not None and times < 0:
            raise ValueError(f"times must be 0 or more, got {times!r}")

        if json is not MISSING:
            expectation = Expectation(method, path, json, times)
            failure = expectation.failure(self.interactions)
            if failure is not None:
                raise AssertionError(failure)

            return Interactions(filter(expectation.matches, self.interactions))

        matches = self.interactions.filter(method=method, path=path)
        if times is None and matches:
            return matches

        if times is not None and len(matches) == times:
            return matches

        expected = "at least once" if times is None else f"{times} time(s)"
        message = (
            f"expected {method.upper()} {path} {expected}, "
            f"but it was requested {len(matches)} time(s)."
        )
        raise AssertionError(message + self._similar(method, path))

    def assert_all_valid(self) -> None:
        """Assert the mock accepted every request; list each rejected one if not."""
        rejected = self.interactions.rejected()
        if not rejected:
            return

        lines = [f"{len(rejected)} request(s) were rejected:"]
        for record in rejected:
            lines.append("  " + record.summary())
            for error in record.errors[1:]:
                lines.append(f"      {error['pointer']}: {error['message']}")

        raise AssertionError("\n".join(lines))

    def _similar(self, method: str, path: str) -> str:
        records = self.interactions
        if not records:
            return " No requests were made."

        expected_line = f"{method.upper()} {path}"
        scored = sorted(
            records,
            key=lambda record: -_similarity(expected_line, record, method, path),
        )
        lines = [" Closest requests made:"]
        for record in scored[:SIMILAR_LIMIT]:
            lines.append("  " + record.summary())

        return "\n".join(lines)


def _similarity(expected_line: str, record: Any, method: str, path: str) -> float:
    score = difflib.SequenceMatcher(
        None, expected_line, f"{record.method} {record.path}"
    ).ratio()
    if record.method == method.upper():
        score += 0.5

    if path_matches(path, record.path):
        score += 1.0

    return score
