"""An interaction journal kept in an SQLite file, shared by several worker processes.

``mockgraph serve --workers N`` handles requests in N processes. Each of them appends
to the same database file, so ``/_mockgraph/interactions`` lists every request whichever
worker handled it. SQLite's write lock numbers the records: each append is one
transaction, and the ``AUTOINCREMENT`` key is the record's ``seq``, so no two records
share a number and none is lost.

The file is scratch space for one server run. It is written with ``synchronous=OFF``,
so records survive a crashed worker but not a crash of the whole machine.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from typing import Callable

from .journal import Interaction, Interactions, decode_record, deliver, encode_record
from .writer import MMAP_BYTES, WriterConnection

logger = logging.getLogger(__name__)

# How long a writer waits for another process's transaction before failing, in seconds.
BUSY_TIMEOUT_SECONDS = 30.0
# Rows past the limit are deleted in batches, once every this many appends. records()
# and dropped count only the newest ``limit`` rows, so the extra rows are never seen.
TRIM_EVERY = 256
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS interactions "
    "(seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL)"
)
# One row after a clear that kept the numbering: the last number then in use. Records
# up to it were cleared, not dropped.
_CLEARED_SCHEMA = "CREATE TABLE IF NOT EXISTS cleared (through INTEGER NOT NULL)"
_LAST_SEQ = (
    "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'interactions'"
)


class SqliteJournal:
    """Keep the latest ``limit`` interactions in an SQLite file and pass each to sinks.

    It has the interface of :class:`mockgraph.journal.Journal`. A process appends through
    one connection, which its threads take in turn, and each thread reads through a
    connection of its own. Connections are opened on first use in each process, so an
    instance created before ``fork()`` works in every child process.
    """

    def __init__(self, path: str | os.PathLike[str], limit: int = 10_000) -> None:
        if limit < 0:
            raise ValueError(f"journal limit must be at least 0, got {limit!r}")

        self.path = os.fspath(path)
        self.limit = limit
        self.sinks: list[Callable[[Interaction], None]] = []
        self._local = threading.local()
        self._writer = WriterConnection(self._connect, BUSY_TIMEOUT_SECONDS)
        connection = self._connection()
        # WAL lets readers of /_mockgraph/interactions run while a worker appends.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(_SCHEMA)
        connection.execute(_CLEARED_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection

        # A connection inherited through fork() must not be used, so it is replaced.
        connection = self._connect()
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        return connection

    def append(self, record: Interaction) -> None:
        """Store ``record`` under the next sequence number and pass it to the sinks."""
        text = encode_record(record)
        with self._writer.hold() as connection:
            # One INSERT is one transaction: SQLite's write lock makes the key unique.
            cursor = connection.execute(
                "INSERT INTO interactions (record) VALUES (?)", (text,)
            )
            record.seq = int(cursor.lastrowid or 0)
            if record.seq % TRIM_EVERY == 0:
                connection.execute(
                    "DELETE FROM interactions WHERE seq <= ?",
                    (record.seq - self.limit,),
                )

        deliver(self.sinks, record)

    def records(self) -> Interactions:
        rows = self._connection().execute(
            "SELECT seq, record FROM interactions ORDER BY seq DESC LIMIT ?",
            (self.limit,),
        )
        return Interactions(reversed([decode_record(seq, text) for seq, text in rows]))

    @property
    def dropped(self) -> int:
        """How many records are no longer kept because of the limit."""
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            (last,) = connection.execute(_LAST_SEQ).fetchone()
            (stored,) = connection.execute(
                "SELECT count(*) FROM interactions"
            ).fetchone()
            (cleared,) = connection.execute(
                "SELECT coalesce(max(through), 0) FROM cleared"
            ).fetchone()
        finally:
            connection.execute("COMMIT")

        return max(0, int(last) - int(cleared) - min(int(stored), self.limit))

    def clear(self, restart_numbering: bool = True) -> None:
        """Remove every record; with ``restart_numbering`` the next one is #1 again."""
        with self._writer.hold() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("DELETE FROM interactions")
                connection.execute("DELETE FROM cleared")
                if restart_numbering:
                    connection.execute(
                        "DELETE FROM sqlite_sequence WHERE name = 'interactions'"
                    )
                else:
                    connection.execute(f"INSERT INTO cleared (through) {_LAST_SEQ}")

                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close this thread's connection; other threads close theirs on exit."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
            self._local.connection = None

        self._writer.close()

    def __repr__(self) -> str:
        return f"SqliteJournal({self.path!r}, limit={self.limit})"
