"""One writing connection per process for an SQLite file that several threads share.

Each SQLite connection keeps its own page cache, and a write through any other
connection makes that cache stale. If every thread wrote through a connection of its
own, each write would find its cache stale and read its pages again. The threads of a
process therefore take turns on one connection, whose cache goes stale only after a
write by another process. Each turn runs a few short statements, so a thread seldom
waits long for one.

Writers in different processes are ordered by SQLite's own write lock. A statement
that finds the lock taken waits up to the connection's busy timeout. A thread waits at
most as long for its turn on the connection, so a request that finds the database
locked fails within about twice the busy timeout, however many others are queued.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Bytes of a database file that each connection maps into memory (PRAGMA mmap_size),
# so that SQLite reads those pages from the map instead of copying them with read().
# The map reserves address space. Only the pages read take memory, and the operating
# system shares them with its file cache.
MMAP_BYTES = 256 * 1024 * 1024


class WriterConnection:
    """A connection that one thread at a time writes through, opened by ``connect``.

    An instance made before ``fork()`` works in the child, which opens a connection of
    its own, because an SQLite connection must not be used on both sides of a fork.
    """

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], timeout: float
    ) -> None:
        self._connect = connect
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()

    @contextmanager
    def hold(self) -> Iterator[sqlite3.Connection]:
        """Yield this process's connection, kept from other threads until the block ends.

        Raise :class:`sqlite3.OperationalError` ("database is locked") if another thread
        keeps the connection for longer than ``timeout`` seconds.
        """
        if not self._lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError(
                f"database is locked: another thread of this process kept the "
                f"connection for more than {self.timeout} s"
            )

        try:
            if self._connection is None or self._pid != os.getpid():
                self._connection = self._connect()
                self._pid = os.getpid()

            yield self._connection
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close this process's connection. The next :meth:`hold` opens a new one."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()

            self._connection = None
