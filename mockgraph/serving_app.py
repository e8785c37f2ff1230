"""The WSGI application that ``mockgraph serve`` runs.

It is the direct create path (:mod:`mockgraph.fastpath`) in front of the Flask
application. Importing Flask and building the application takes about as long as
the rest of the start-up, and a plain create does not need it. So the server starts
listening with only the state built, and handles the first create at once. The Flask
application is built by the first request that needs it, or in the background
shortly after the server starts, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import ErrorDetail, GraphError
from .fastpath import CreateFastPath
from .jsonbody import encode_json, graph_headers
from .state import (
    Exchange,
    MockGraphState,
    NormalizePath,
    is_admin_path,
    record_interaction,
    request_ids,
)

if TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger(__name__)

# Seconds after start before the Flask application is built in the background, so
# that the build does not slow down a client's first requests.
WARM_UP_DELAY = 0.5


class ServedApplication:
    """The direct create path, with a Flask application built on first need.

    :param state: the mock's state, built already, so that bad settings fail before
        the server starts.
    """

    def __init__(self, state: MockGraphState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._flask: Flask | None = None
        self._handle: Callable[..., Iterable[bytes]] | None = None
        self._entry = NormalizePath(CreateFastPath(state, self._handle_in_flask))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self._entry(environ, start_response)  # type: ignore[no-any-return]

    @property
    def flask_ready(self) -> bool:
        """Whether the Flask application has been built."""
        return self._flask is not None

    def flask_app(self) -> Flask:
        """Return the Flask application, building it if no request has needed it yet."""
        with self._lock:
            if self._flask is None:
                from .app import FAST_PATH_KEY, create_app

                app = create_app(state=self.state)
                # The path is normalised and the direct path has passed already, so
                # requests go straight to the handler behind the application's own
                # direct path.
                self._handle = app.extensions[FAST_PATH_KEY].wsgi_app
                self._flask = app

            return self._flask

    def warm_up(self, delay: float = WARM_UP_DELAY) -> threading.Timer:
        """Build the Flask application in a background thread after ``delay`` seconds."""
        timer = threading.Timer(delay, self._build_quietly)
        timer.daemon = True
        timer.start()
        return timer

    def _build_quietly(self) -> None:
        try:
            self.flask_app()
        except Exception:
            # The next request that needs the application builds it again, and
            # reports the error to its client.
            logger.exception("failed to build the Flask application in the background")

    def _handle_in_flask(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        handle = self._handle
        if handle is None:
            started = time.perf_counter()
            try:
                self.flask_app()
            except Exception as err:
                logger.exception(
                    "failed to build the Flask application for %s %s",
                    environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO"),
                )
                return self._build_failed(environ, start_response, err, started)

            handle = self._handle
            assert handle is not None

        return handle(environ, start_response)

    def _build_failed(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        err: Exception,
        started: float,
    ) -> list[bytes]:
        """Respond with a Graph error 500 naming the error, and record it."""
        error = GraphError(
            500,
            "generalException",
            f"mockgraph failed to build its application: {type(err).__name__}: {err}",
        )
        request_id, client_request_id = request_ids(environ)
        payload = error.to_json(request_id, client_request_id)
        body = encode_json(payload)
        headers = graph_headers(body, request_id, client_request_id)
        path = environ.get("PATH_INFO", "")
        if self.state.recording and not is_admin_path(path):
            detail = ErrorDetail(error.code, error.message, "", error.code)
            record_interaction(
                self.state,
                environ,
                Exchange(
                    method=environ.get("REQUEST_METHOD", ""),
                    path=path,
                    status=500,
                    response_headers=headers,
                    response_body=payload,
                    operation="unknownRoute",
                    started=started,
                    request_id=request_id,
                    errors=[detail.to_record()],
                ),
            )

        start_response("500 INTERNAL SERVER ERROR", list(headers.items()))
        return [body]
