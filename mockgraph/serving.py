"""Serve the mock through Granian, a production WSGI server, in one or more processes.

Granian was chosen over gunicorn and waitress by measurement: on the create endpoint it
served the most requests per second (bench/servers.py runs the comparison, and
docs/benchmarks.md has the figures).

The application is built once in the parent process. Granian 2 forks its workers from
that process where ``fork`` is the default start method (Linux up to Python 3.13), so
they start with the schemas already loaded. Elsewhere it spawns fresh interpreters,
and each worker rebuilds the application from the settings encoded in the target
string (NOTE: that path is not covered by the tests, which run on Python 3.11).

With more than one worker, the interaction journal is kept in files in a temporary
folder, so ``/_mockgraph/interactions`` lists every request whichever worker handled
it. Skills kept in memory would be per worker, so an in-memory store becomes an SQLite
file in the same folder. The folder is removed when the server stops.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import tempfile
from typing import Any

from .config import DEFAULT_THREADS, DEFAULT_WORKERS, MEMORY_STORE, Config
from .serving_app import ServedApplication
from .shared_journal import SharedJournal
from .state import build_state

logger = logging.getLogger(__name__)

JOURNAL_FOLDER_NAME = "journal"
STORE_FILE_NAME = "skills.sqlite3"

# The application built by serve(), inherited by workers that are forked from it.
_built_app: ServedApplication | None = None


def serve(
    config: Config, workers: int = DEFAULT_WORKERS, threads: int = DEFAULT_THREADS
) -> None:
    """Serve until the process receives SIGINT or SIGTERM, then stop the workers.

    :param workers: processes that handle requests; more than one shares the journal
        through files.
    :param threads: threads per worker that run the application.
    """
    global _built_app

    # Imported here: one-worker `serve` also uses this module, and runs on waitress.
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    if workers < 1 or threads < 1:
        raise ValueError(
            f"workers and threads must be at least 1, got {workers!r} and {threads!r}"
        )

    if config.port == 0:
        config = config.with_changes(port=_free_port(config.host))
    else:
        check_port_free(config.host, config.port)

    with tempfile.TemporaryDirectory(prefix="mockgraph-") as folder:
        journal_path = None
        if workers > 1 and (config.journal_limit > 0 or config.journal_file):
            journal_path = os.path.join(folder, JOURNAL_FOLDER_NAME)

        scratch_store = workers > 1 and config.store == MEMORY_STORE
        if scratch_store:
            # Workers are processes: they share skills only through a file.
            store_path = os.path.join(folder, STORE_FILE_NAME)
            config = config.with_changes(store=f"sqlite:///{store_path}")

        _built_app = build_app(config, journal_path, scratch_store)
        server = Server(
            _encode_target(config, journal_path, scratch_store),
            address=config.host,
            port=config.port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            log_level=LogLevels.warning,
            websockets=False,
        )
        logger.info(
            "mockgraph serving on http://%s:%s/beta with %d worker(s) of %d thread(s) "
            "(/me is %s)",
            config.host,
            config.port,
            workers,
            threads,
            config.me_user,
        )
        if config.seed is not None:
            logger.info(
                "seed %s: generated ids and values are reproducible", config.seed
            )

        logger.info("skills are kept in %s", config.store)
        try:
            server.serve(target_loader=load_app)
        finally:
            _built_app = None
            logger.info("mockgraph stopped")


def build_app(
    config: Config, journal_path: str | None, scratch_store: bool = False
) -> ServedApplication:
    """Build the application, sharing its journal through the folder ``journal_path``.

    Without ``journal_path`` the journal is kept in memory.

    A ``scratch_store`` is an SQLite store in the server's temporary folder, which
    skips the writes to disk that only make a file survive a power failure.
    """
    journal = (
        SharedJournal(journal_path, config.journal_limit, in_memory=True)
        if journal_path
        else None
    )
    store = None
    if scratch_store:
        from .sqlite_store import URL_PREFIX, SQLiteStore

        store = SQLiteStore(config.store.removeprefix(URL_PREFIX), durable=False)

    return ServedApplication(build_state(config, store, journal))


def load_app(target: str) -> ServedApplication:
    """Return the application for one worker: the inherited one, else a new one.

    Each worker builds its Flask application in the background once it runs.
    """
    app = _built_app
    if app is None:
        settings = json.loads(target)
        journal_path = settings.pop("journal_path")
        scratch_store = settings.pop("scratch_store")
        app = build_app(Config(**settings), journal_path, scratch_store)

    app.warm_up()
    return app


def _encode_target(
    config: Config, journal_path: str | None, scratch_store: bool
) -> str:
    settings: dict[str, Any] = dataclasses.asdict(config)
    settings["journal_path"] = journal_path
    settings["scratch_store"] = scratch_store
    return json.dumps(settings)


def check_port_free(host: str, port: int) -> None:
    """Raise OSError if another socket listens on ``host:port``.

    Granian binds with ``SO_REUSEPORT``, so a second server on a busy port would start
    without an error and take half of the first one's connections.
    """
    with socket.socket(_family(host)) as probe:
        # SO_REUSEADDR ignores connections of an earlier server left in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise OSError(
                err.errno,
                f"cannot listen on {host}:{port}: {err.strerror}; stop the server that "
                "uses the port, or choose another with --port (0 picks a free one)",
            ) from None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _free_port(host: str) -> int:
    # NOTE: another process could take the port between this probe and Granian's bind;
    # Granian then fails to start with "address in use".
    with socket.socket(_family(host)) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
