"""The WSGI application that ``mockgraph serve`` runs.

It is the direct create path (:mod:`mockgraph.fastpath`) in front of the Flask
application. Importing Flask and building the application takes about as long as
the rest of the start-up, and a plain create does not need it. So the server starts
listening with only the state built, the first create is handled at once, and the
Flask application is built on the first request that needs it, or in the background
shortly after the server starts, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .fastpath import CreateFastPath
from .state import MockGraphState, NormalizePath

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
                # requests go straight to the handler behind the application's own.
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
            self.flask_app()
            handle = self._handle
            assert handle is not None

        return handle(environ, start_response)
