"""Records that a worker process keeps in memory until the shared journal numbers them.

A worker of ``mockgraph serve --workers N`` appends each record to its own list, with
the time from the system-wide monotonic clock, and takes no lock that another process
shares. A request that reads the journal, or a worker's writer thread once its list
is full, collects the records of every worker up to one moment. It merges them by time
and writes them to the shared files in that order. Each worker hands its records over
through a Unix socket in the journal's folder, served by a thread of its own.

Why the numbering stays in time order and never changes:

- A worker takes a record's time and appends the record under one lock, and it
  hands records over under the same lock. So a collector that requests the records up
  to ``cutoff`` gets every record of that worker timed at or before ``cutoff``. A
  record appended later is timed later.
- A collector reads the clock before it lists the sockets, and a worker's socket is
  in place before its first record. So a worker that the list misses can only hold
  records timed after ``cutoff``.
- Collectors take turns on the journal's lock, and a collector writes nothing unless
  every worker that is alive handed its records over. So the records written next are
  all timed after the records written before.

Why no record is written twice: each record has an index in its worker's list. With
the records, a collector stores in the journal's folder, for each worker, the index
after the last one written (:class:`Marks`). The next collector sends that index with
its request, so the worker drops the records before it and hands over only the
records from it on. Each collector also sends each worker the new index once it has
written, so that the worker can free the memory at once.

A request's record is appended before its response is sent, and a collector reads
the clock after the request that reads the journal arrives. So a client always finds
the records of the requests it has had answers to.

The records of a worker that dies before they are collected are lost.
"""

from __future__ import annotations

import bisect
import errno
import itertools
import logging
import marshal
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# A worker's list is collected once it contains this many records or bytes.
FULL_RECORDS = 1024
FULL_BYTES = 4 * 1024 * 1024
# A worker whose list cannot be collected, such as while another worker does not
# reply, drops its oldest records beyond this many.
MAX_RECORDS = 4 * FULL_RECORDS
# How long a collector waits for a worker to reply, in seconds.
REPLY_TIMEOUT_SECONDS = 2.0
SOCKET_PREFIX = "stage-"
SOCKET_SUFFIX = ".sock"
MARKS_FILE_NAME = "marks"
# Unix socket paths longer than this do not fit in sockaddr_un on every platform.
MAX_SOCKET_PATH_BYTES = 100

# A collector sends "T" with the cutoff time and the index of the first record not yet
# written. The worker replies with the reply's length, then, in marshal form, the index
# of its first record, the times, the records and the count of records lost. Once the
# records are written, the collector sends "W" with the index after them.
_REQUEST = struct.Struct("<cqq")
_LENGTH = struct.Struct("<Q")
_TAKE = b"T"
_WRITTEN = b"W"
# Version 2 does not look for shared objects, which makes it ten times faster than
# the default on a list of a thousand records.
_MARSHAL_VERSION = 2

_names = itertools.count()


class CollectionFailed(TimeoutError):
    """The workers' records could not be collected, and none was written or forgotten.

    This happens when a worker that is alive does not hand over its records in time
    or in full, or when the marks file cannot be read.
    """


@dataclass
class Handover:
    """Records that a worker handed over, oldest first, and their times.

    ``start`` is the index of the first record in the worker's list. ``lost`` counts
    every record that the worker dropped without handing it over, since it started.
    """

    name: str
    start: int
    times: list[int]
    records: list[bytes]
    lost: int

    @property
    def end(self) -> int:
        """The index after the last record handed over."""
        return self.start + len(self.records)


class Stage:
    """The records of one process not yet written to the shared journal."""

    def __init__(self, folder: str, write: Callable[[], None]) -> None:
        """Listen for collectors; call ``write`` in a thread once the list is full."""
        self.name = f"{SOCKET_PREFIX}{os.getpid()}-{next(_names)}{SOCKET_SUFFIX}"
        self.path = os.path.join(folder, self.name)
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH_BYTES:
            raise OSError(
                errno.ENAMETOOLONG,
                f"the journal folder's path is too long for a Unix socket: {folder}",
            )

        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.times: list[int] = []
        self.records: list[bytes] = []
        self.size = 0
        #: The index of ``records[0]``: how many records this list has forgotten.
        self.first = 0
        #: The index after the last record known to be written.
        self.written_end = 0
        #: Records dropped because the list was full, as (start, end) index ranges,
        #: not yet known to be written or lost.
        self.dropped: list[tuple[int, int]] = []
        #: Records dropped and never written, since the list started.
        self.lost = 0
        self.closed = False
        self.full = threading.Event()
        self.write = write
        self.listener = _listen(self.path)
        self.thread = threading.Thread(
            target=self._serve, name="mockgraph-journal-stage", daemon=True
        )
        self.thread.start()
        # Writing a full list in a thread of its own spares the request that filled
        # it a pause of a few milliseconds.
        self.writer = threading.Thread(
            target=self._write_when_full, name="mockgraph-journal-writer", daemon=True
        )
        self.writer.start()

    def add(self, data: bytes) -> None:
        """Keep ``data`` as the newest record."""
        with self.lock:
            self.times.append(time.monotonic_ns())
            self.records.append(data)
            self.size += len(data)
            count = len(self.records)
            if count > MAX_RECORDS:
                self.dropped.append((self.first, self.first + count - MAX_RECORDS))
                self._forget(count - MAX_RECORDS)

            full = count >= FULL_RECORDS or self.size >= FULL_BYTES

        if full and not self.full.is_set():
            self.full.set()

    def take(self, cutoff: int, written_end: int) -> Handover:
        """Return the records timed up to ``cutoff`` that are not yet written.

        ``written_end`` is the index after the last record written. The records
        before it are forgotten, and a record dropped from it on was never handed to
        a collector that wrote it, so it counts as lost.
        """
        with self.lock:
            self._learn_written(written_end)
            for start, end in self.dropped:
                self.lost += end - max(start, written_end)
            self.dropped.clear()
            count = bisect.bisect_right(self.times, cutoff)
            return Handover(
                self.name,
                self.first,
                self.times[:count],
                self.records[:count],
                self.lost,
            )

    def forget_written(self, written_end: int) -> None:
        """Forget the records before ``written_end``, which a collector has written."""
        with self.lock:
            self._learn_written(written_end)

    def _learn_written(self, written_end: int) -> None:
        if written_end <= self.written_end:
            return

        self.written_end = written_end
        self._forget(written_end - self.first)
        # A record dropped before the index was in the collector's handover.
        self.dropped = [
            (max(start, written_end), end)
            for start, end in self.dropped
            if end > written_end
        ]

    def _forget(self, count: int) -> None:
        if count <= 0:
            return

        self.size -= sum(map(len, self.records[:count]))
        del self.times[:count]
        del self.records[:count]
        self.first += count

    def _write_when_full(self) -> None:
        while True:
            self.full.wait()
            if self.closed:
                return

            self.full.clear()
            try:
                self.write()
            except Exception:
                logger.exception("failed to write journal records")
                # Another worker may not reply for a while: try again later.
                time.sleep(REPLY_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop serving collectors; the records still here are lost."""
        self.closed = True
        self.full.set()
        with suppress(OSError):
            os.remove(self.path)
        with suppress(OSError):
            # Wakes the thread waiting in accept().
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def close_after_fork(self) -> None:
        """Close the parent's socket in a forked child, leaving its file in place."""
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return

            with connection:
                connection.settimeout(REPLY_TIMEOUT_SECONDS)
                try:
                    self._reply(connection)
                except ValueError as err:
                    logger.warning("invalid journal request on %s: %s", self.path, err)
                except (OSError, EOFError) as err:
                    # The collector failed, and logged why; the records stay here.
                    logger.info("journal collector left %s early: %s", self.path, err)

    def _reply(self, connection: socket.socket) -> None:
        command, cutoff, written_end = _REQUEST.unpack(
            _receive(connection, _REQUEST.size)
        )
        if command != _TAKE:
            raise ValueError(f"unknown request {command!r}")

        handover = self.take(cutoff, written_end)
        payload = marshal.dumps(
            (handover.start, handover.times, handover.records, handover.lost),
            _MARSHAL_VERSION,
        )
        connection.sendall(_LENGTH.pack(len(payload)) + payload)
        command, _, written_end = _REQUEST.unpack(_receive(connection, _REQUEST.size))
        if command != _WRITTEN:
            raise ValueError(f"unknown request {command!r}")

        self.forget_written(written_end)


@dataclass
class Marks:
    """The index after each worker's last record written, and its lost records counted.

    ``written`` maps a worker's socket name to both. The count is the part of the
    worker's lost records already added to the journal's dropped count.
    """

    written: dict[str, tuple[int, int]]

    @classmethod
    def read(cls, folder: str) -> Marks:
        """Read the marks file; raise :class:`CollectionFailed` if it is unreadable.

        A file with invalid contents, which only a process killed while it replaced
        the file or another program leaves, is logged and read as empty.
        """
        path = os.path.join(folder, MARKS_FILE_NAME)
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return cls({})
        except OSError as err:
            raise CollectionFailed(
                f"cannot read the journal marks file: {err}"
            ) from err

        try:
            written = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as err:
            written = err
        if not _valid_marks(written):
            logger.error(
                "invalid journal marks file %s, read as empty: %r", path, written
            )
            return cls({})

        return cls(written)

    def save(self, folder: str) -> None:
        """Replace the file, so that a reader finds either the old or the new marks."""
        path = os.path.join(folder, MARKS_FILE_NAME)
        temporary = f"{path}.new"
        with open(temporary, "wb") as file:
            file.write(marshal.dumps(self.written, _MARSHAL_VERSION))
        os.replace(temporary, path)


class Collection:
    """The records that every worker alive handed over to one collector."""

    def __init__(self, folder: str, own: Stage | None, own_only: bool = False) -> None:
        """Ask every worker, or with ``own_only`` only ``own``, for its records.

        Run this under the journal's lock, so that collectors take turns. Raise
        :class:`CollectionFailed` if a worker that is alive does not reply in time
        or in full. Every worker then keeps all its records.
        """
        self.folder = folder
        self.marks = Marks.read(folder)
        self.handovers: list[Handover] = []
        self._connections: dict[str, socket.socket] = {}
        self._own = own
        self._own_only = own_only
        cutoff = time.monotonic_ns()
        try:
            listed = os.listdir(folder)
        except OSError as err:
            raise CollectionFailed(f"cannot list the journal folder: {err}") from err
        names = sorted(
            name
            for name in listed
            if name.startswith(SOCKET_PREFIX) and name.endswith(SOCKET_SUFFIX)
        )
        if own_only:
            names = [own.name] if own is not None else []
        try:
            for name in names:
                written_end = self.marks.written.get(name, (0, 0))[0]
                if own is not None and name == own.name:
                    self.handovers.append(own.take(cutoff, written_end))
                else:
                    handover = self._ask(name, cutoff, written_end)
                    if handover is not None:
                        self.handovers.append(handover)
        except BaseException:
            self.close()
            raise

    def records(self) -> list[bytes]:
        """Return the records of every worker ordered by time, and ties by worker."""
        if len(self.handovers) == 1:
            return self.handovers[0].records

        order = sorted(
            (moment, worker, index)
            for worker, handover in enumerate(self.handovers)
            for index, moment in enumerate(handover.times)
        )
        return [self.handovers[worker].records[index] for _, worker, index in order]

    def newly_lost(self) -> int:
        """Return how many records the workers lost since the last collection."""
        return sum(
            handover.lost - self.marks.written.get(handover.name, (0, 0))[1]
            for handover in self.handovers
        )

    def finish(self) -> None:
        """Record that every record handed over is written or discarded.

        Call this under the journal's lock, right after the records are written.
        """
        written = {
            handover.name: (handover.end, handover.lost) for handover in self.handovers
        }
        if self._own_only:
            # The other workers' marks stay as they were.
            written = {**self.marks.written, **written}
        self.marks.written = written
        try:
            self.marks.save(self.folder)
        except OSError as err:
            # The workers learn the index below anyway. NOTE: a worker that does not
            # receive it hands the records over again, and they are written twice.
            logger.error("failed to save the journal marks file: %s", err)

        for handover in self.handovers:
            if self._own is not None and handover.name == self._own.name:
                self._own.forget_written(handover.end)
                continue

            connection = self._connections.pop(handover.name, None)
            if connection is not None:
                with connection, suppress(OSError):
                    connection.sendall(_REQUEST.pack(_WRITTEN, 0, handover.end))

    def close(self) -> None:
        """Close the connections, so that each worker keeps its records."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _ask(self, name: str, cutoff: int, written_end: int) -> Handover | None:
        path = os.path.join(self.folder, name)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(REPLY_TIMEOUT_SECONDS)
        try:
            connection.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            # The worker has stopped: nothing listens on its socket any more.
            connection.close()
            with suppress(OSError):
                os.remove(path)
            return None
        except OSError as err:
            # Such as EAGAIN: the worker accepts no connection, so its queue is full.
            connection.close()
            raise CollectionFailed(
                f"cannot connect to the worker listening on {path}: {err}"
            ) from err

        self._connections[name] = connection
        try:
            connection.sendall(_REQUEST.pack(_TAKE, cutoff, written_end))
            (length,) = _LENGTH.unpack(_receive(connection, _LENGTH.size))
            reply = marshal.loads(_receive(connection, length))
        except (OSError, EOFError, ValueError, TypeError) as err:
            raise CollectionFailed(
                f"the worker listening on {path} did not hand over its records "
                f"within {REPLY_TIMEOUT_SECONDS} s: {err}"
            ) from err

        if not _valid_reply(reply):
            raise CollectionFailed(f"invalid reply from the worker listening on {path}")

        start, times, records, lost = reply
        return Handover(name, start, times, records, lost)


def _valid_reply(reply: object) -> bool:
    """Return whether ``reply`` has the types of (start, times, records, lost)."""
    if not (isinstance(reply, tuple) and len(reply) == 4):
        return False

    start, times, records, lost = reply
    return (
        type(start) is int
        and type(lost) is int
        and isinstance(times, list)
        and isinstance(records, list)
        and len(times) == len(records)
        and all(type(moment) is int for moment in times)
        and all(type(record) is bytes for record in records)
    )


def _valid_marks(written: object) -> bool:
    return isinstance(written, dict) and all(
        isinstance(name, str)
        and isinstance(value, tuple)
        and len(value) == 2
        and all(type(number) is int for number in value)
        for name, value in written.items()
    )


def _receive(connection: socket.socket, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        part = connection.recv(min(left, 1 << 20))
        if not part:
            raise EOFError(f"connection closed with {left} of {size} bytes unread")

        parts.append(part)
        left -= len(part)

    return b"".join(parts)


def _listen(path: str) -> socket.socket:
    """Listen on ``path``, which appears only once connections to it are accepted."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = f"{path}.new"
    try:
        with suppress(FileNotFoundError):
            os.remove(temporary)
        listener.bind(temporary)
        listener.listen(16)
        os.rename(temporary, path)
    except BaseException:
        listener.close()
        with suppress(OSError):
            os.remove(temporary)
        raise

    return listener
