"""A skill store in a SQLite file, shared by threads and by processes.

The database runs in WAL mode, where readers and the writer do not block each other.
A change that reads before it writes, such as :meth:`SQLiteStore.update`, runs in a
``BEGIN IMMEDIATE`` transaction, which takes the file's write lock when it starts, so
no other writer in this process or another one changes the skill in between. A create
is one statement that inserts the skill, after one that takes and raises the user's
create count when the count is kept. A request that cannot get the lock
fails with 503 ``serviceNotAvailable`` and ``Retry-After: 1``, which the Graph SDKs
retry, after at most about twice the busy timeout (see :mod:`mockgraph.writer`).

Writes go through one connection per process (see :mod:`mockgraph.writer`). Reads
borrow pooled connections, so no connection is used by two threads at once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import GraphError
from .store import Skill, SkillExistsError, SkillStore
from .writer import MMAP_BYTES, WriterConnection

logger = logging.getLogger(__name__)

# list[Skill] under a name that the ``list`` method does not shadow inside the class.
SkillList = list[Skill]
URL_PREFIX = "sqlite:///"
# Seconds a statement waits for another connection's write lock before failing.
DEFAULT_BUSY_TIMEOUT = 5.0
# The first SQLite version with INSERT ... RETURNING.
RETURNING_SINCE = (3, 35, 0)
# Idle connections kept open for reuse; busier moments open more and close them after.
MAX_IDLE_CONNECTIONS = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS skills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (user, id)
);
CREATE TABLE IF NOT EXISTS sequences (
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (user, kind)
);
CREATE TABLE IF NOT EXISTS seen_users (
    user TEXT PRIMARY KEY
);
"""
# The columns of each table that SCHEMA creates, to recognize a file made by another
# program: CREATE TABLE IF NOT EXISTS keeps a table of the same name as it is.
COLUMNS = {
    "skills": ["seq", "user", "id", "body"],
    "sequences": ["user", "kind", "value"],
    "seen_users": ["user"],
}


class SQLiteStore(SkillStore):
    """Skills in a SQLite database file; ``seq`` keeps each user's creation order."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        durable: bool = True,
    ) -> None:
        """Open or create the store file at ``path``.

        :param durable: make committed writes survive a power failure. A file that is
            deleted when the server stops does not need it, and writes faster without.
        """
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self.durable = durable
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        self._writer = WriterConnection(self._connect, self.busy_timeout)
        try:
            with self._connection() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                self._check_tables(db)
                self._check_writable(db)
        except ValueError:
            self.close()
            raise
        except sqlite3.DatabaseError as err:
            # Such as a text file ("file is not a database") or a folder.
            self.close()
            raise ValueError(
                f"cannot open SQLite store {self.path!r}: {err}; give --store a new "
                "file or a SQLite database that mockgraph created"
            ) from None

        logger.info("keeping skills in SQLite database %s", self.path)

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``."""
        path = url[len(URL_PREFIX) :] if url.startswith(URL_PREFIX) else ""
        if not path or path == ":memory:":
            raise ValueError(
                f"invalid SQLite store {url!r}: expected 'sqlite:///path.db'; "
                "use 'memory' for a store that lives only in this process"
            )

        folder = Path(path).parent
        if not folder.is_dir():
            raise ValueError(
                f"folder {str(folder)!r} of SQLite store {url!r} does not exist; "
                "create it first"
            )

        return cls(path)

    def _check_tables(self, db: sqlite3.Connection) -> None:
        for table, expected in COLUMNS.items():
            rows = db.execute(f"PRAGMA table_info({table})").fetchall()
            columns = [row[1] for row in rows]
            if columns != expected:
                raise ValueError(
                    f"SQLite file {self.path!r} already has a table {table!r} with "
                    f"columns {columns!r}, not the columns {expected!r} that mockgraph "
                    "uses; give --store a new file or one that mockgraph created"
                )

    def _check_writable(self, db: sqlite3.Connection) -> None:
        """Raise ValueError if the file cannot be written, such as a read-only one.

        A file that another program has locked for writing passes, because the check
        does not wait for the lock: writes then wait, or fail with 503.
        """
        db.execute("PRAGMA busy_timeout = 0")
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                return

            raise
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

        try:
            db.execute("INSERT OR IGNORE INTO seen_users (user) VALUES ('')")
        except sqlite3.OperationalError as err:
            if "readonly" not in str(err):
                raise

            raise ValueError(
                f"SQLite store file {self.path!r} is read-only ({err}); give --store "
                "a file that this user can write"
            ) from None
        finally:
            db.execute("ROLLBACK")

    # Connections and transactions

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        # In WAL mode, NORMAL syncs the file only at checkpoints, and OFF never does.
        db.execute(f"PRAGMA synchronous={'NORMAL' if self.durable else 'OFF'}")
        db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the SQLite store {self.path!r} is closed")

            if self._pid != os.getpid():
                # A forked worker must not share the parent's connections: SQLite
                # connections are not safe to use across fork.
                self._idle = []
                self._pid = os.getpid()

            db = self._idle.pop() if self._idle else None

        if db is None:
            db = self._connect()

        try:
            with self._as_graph_error():
                yield db
        finally:
            with self._lock:
                if not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
                    self._idle.append(db)
                    db = None

            if db is not None:
                db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run the block in a transaction that holds the database's write lock."""
        with self._write_statement() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")

                raise

            db.execute("COMMIT")

    @contextmanager
    def _write_statement(self) -> Iterator[sqlite3.Connection]:
        """Lend the process's writing connection, where each statement commits alone."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the SQLite store {self.path!r} is closed")

        with self._as_graph_error(), self._writer.hold() as db:
            yield db

    @contextmanager
    def _as_graph_error(self) -> Iterator[None]:
        """Turn SQLite's errors of a locked, read-only or full file into GraphErrors."""
        try:
            yield
        except sqlite3.OperationalError as err:
            text = str(err)
            if "locked" in text or "busy" in text:
                raise self._busy(err) from err

            if "readonly" in text or "disk" in text:
                raise self._unwritable(err) from err

            raise

    def _unwritable(self, err: sqlite3.OperationalError) -> GraphError:
        logger.error("cannot write SQLite store %s: %s", self.path, err)
        full = "full" in str(err)
        return GraphError(
            507 if full else 503,
            "insufficientStorage" if full else "serviceNotAvailable",
            f"The skills database {self.path!r} cannot be written ({err}); "
            + (
                "free space in its folder or reset the mock."
                if full
                else "restart the mock with a writable file in --store."
            ),
        )

    def _busy(self, err: sqlite3.OperationalError) -> GraphError:
        logger.warning("SQLite store %s is busy: %s", self.path, err)
        return GraphError(
            503,
            "serviceNotAvailable",
            f"The skills database {self.path!r} stayed locked by another writer for "
            f"{self.busy_timeout} s ({err}); retry the request.",
            headers={"Retry-After": "1"},
        )

    # The SkillStore interface

    def next_sequence(self, user: str, kind: str) -> int:
        with self._write() as db:
            row = db.execute(
                "SELECT value FROM sequences WHERE user = ? AND kind = ?", (user, kind)
            ).fetchone()
            value = row[0] if row else 0
            db.execute(
                "INSERT INTO sequences (user, kind, value) VALUES (?, ?, ?) "
                "ON CONFLICT (user, kind) DO UPDATE SET value = excluded.value",
                (user, kind, value + 1),
            )
            return int(value)

    def set_sequence(self, user: str, kind: str, value: int) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO sequences (user, kind, value) VALUES (?, ?, ?) "
                "ON CONFLICT (user, kind) DO UPDATE SET value = excluded.value",
                (user, kind, value),
            )

    def mark_seen(self, user: str) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO seen_users (user) VALUES (?)", (user,)
            )
            return cursor.rowcount == 1

    def seed(self, user: str, build: Callable[[int], SkillList]) -> bool:
        with self._write() as db:
            seen = db.execute(
                "SELECT 1 FROM seen_users WHERE user = ?", (user,)
            ).fetchone()
            if seen:
                return False

            row = db.execute(
                "SELECT value FROM sequences WHERE user = ? AND kind = 'create'",
                (user,),
            ).fetchone()
            first = int(row[0]) if row else 0
            built = build(first)
            try:
                db.executemany(
                    "INSERT INTO skills (user, id, body) VALUES (?, ?, ?)",
                    [(user, skill["id"], _encode(skill)) for skill in built],
                )
            except sqlite3.IntegrityError:
                raise SkillExistsError(
                    f"a generated skill id already exists for user {user!r}"
                ) from None

            db.execute(
                "INSERT INTO sequences (user, kind, value) VALUES (?, 'create', ?) "
                "ON CONFLICT (user, kind) DO UPDATE SET value = excluded.value",
                (user, first + len(built)),
            )
            db.execute("INSERT INTO seen_users (user) VALUES (?)", (user,))
            return True

    def create(
        self,
        user: str,
        build: Callable[[int], Skill],
        attempts: int,
        counted: bool = True,
    ) -> Skill | None:
        # Single-statement writes, without a transaction around them. Taking the count
        # is atomic, and a skill that is not inserted only leaves a gap in the count,
        # as a taken id does anyway. Each statement releases the GIL, and under load
        # another thread then runs first, so fewer statements also mean fewer waits.
        if counted and sqlite3.sqlite_version_info < RETURNING_SINCE:
            return super().create(user, build, attempts, counted)

        for _attempt in range(attempts):
            skill = build(self._take_count(user) if counted else 0)
            with self._write_statement() as db:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO skills (user, id, body) VALUES (?, ?, ?)",
                    (user, skill["id"], _encode(skill)),
                )
                if cursor.rowcount == 1:
                    return skill

        return None

    def _take_count(self, user: str) -> int:
        """Raise the user's create count by one in one statement and return the old count."""
        with self._write_statement() as db:
            # fetchall() steps the statement to its end, which commits it.
            [(after,)] = db.execute(
                "INSERT INTO sequences (user, kind, value) VALUES (?, 'create', 1) "
                "ON CONFLICT (user, kind) DO UPDATE SET value = value + 1 "
                "RETURNING value",
                (user,),
            ).fetchall()

        return int(after) - 1

    def insert(self, user: str, skill: Skill) -> None:
        with self._write_statement() as db:
            try:
                db.execute(
                    "INSERT INTO skills (user, id, body) VALUES (?, ?, ?)",
                    (user, skill["id"], _encode(skill)),
                )
            except sqlite3.IntegrityError:
                raise SkillExistsError(
                    f"skill {skill['id']!r} already exists for user {user!r}"
                ) from None

    def get(self, user: str, skill_id: str) -> Skill | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT body FROM skills WHERE user = ? AND id = ?", (user, skill_id)
            ).fetchone()

        return _decode(row[0]) if row else None

    def list(self, user: str) -> SkillList:
        with self._connection() as db:
            rows = db.execute(
                "SELECT body FROM skills WHERE user = ? ORDER BY seq", (user,)
            ).fetchall()

        return [_decode(body) for (body,) in rows]

    def update(
        self, user: str, skill_id: str, change: Callable[[Skill], Skill]
    ) -> Skill | None:
        with self._write() as db:
            row = db.execute(
                "SELECT body FROM skills WHERE user = ? AND id = ?", (user, skill_id)
            ).fetchone()
            if row is None:
                return None

            updated = change(_decode(row[0]))
            db.execute(
                "UPDATE skills SET body = ? WHERE user = ? AND id = ?",
                (_encode(updated), user, skill_id),
            )
            return updated

    def delete(self, user: str, skill_id: str) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM skills WHERE user = ? AND id = ?", (user, skill_id)
            )
            return cursor.rowcount == 1

    def dump(self) -> dict[str, SkillList]:
        with self._connection() as db:
            rows = db.execute("SELECT user, body FROM skills ORDER BY seq").fetchall()

        skills: dict[str, SkillList] = {}
        for user, body in rows:
            skills.setdefault(user, []).append(_decode(body))

        return skills

    def load(self, skills: dict[str, SkillList]) -> None:
        with self._write() as db:
            _delete_all(db)
            db.executemany(
                "INSERT INTO seen_users (user) VALUES (?)", [(user,) for user in skills]
            )
            db.executemany(
                "INSERT INTO skills (user, id, body) VALUES (?, ?, ?)",
                [
                    (user, skill["id"], _encode(skill))
                    for user, items in skills.items()
                    for skill in items
                ],
            )

    def clear(self) -> None:
        with self._write() as db:
            _delete_all(db)

    def close(self) -> None:
        """Close the idle connections; later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []

        for db in idle:
            db.close()

        self._writer.close()


def _delete_all(db: sqlite3.Connection) -> None:
    for table in ("skills", "sequences", "seen_users"):
        db.execute(f"DELETE FROM {table}")


def _encode(skill: Skill) -> str:
    return json.dumps(skill, ensure_ascii=False, separators=(",", ":"))


def _decode(body: str) -> Skill:
    value: Skill = json.loads(body)
    return value
