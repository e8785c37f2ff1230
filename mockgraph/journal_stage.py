"""Records that a worker process keeps in memory until the shared journal numbers them.

A worker of ``mockgraph serve --workers N`` appends each record to its own list, with
the time from the system-wide monotonic clock, and takes no lock that another process
shares. A request that reads the journal, or a worker's writer thread once its list is
full, collects the records of every worker up to one moment. It merges them by time
and writes them to the shared files in that order. Each worker hands its records over
through a Unix socket in the journal's folder, served by a thread of its own.

Why the numbering stays in time order and never changes:

- A worker takes a record's time and appends the record under one lock, and it
  answers a collector under the same lock. So a collector that asks for the records
  up to ``cutoff`` gets every record of that worker timed at or before ``cutoff``;
  one appended later is timed later.
- A collector reads the clock before it lists the sockets, and a worker's socket is
  in place before its first record. So a worker that the list misses can only hold
  records timed after ``cutoff``.
- Collectors take turns on the journal's lock, so the records written next are all
  timed after the records written before.

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
# A worker whose list cannot be collected, such as while another process holds the
# journal's lock, drops its oldest records beyond this many.
MAX_RECORDS = 4 * FULL_RECORDS
# How long a collector waits for a worker to reply, in seconds.
ANSWER_TIMEOUT_SECONDS = 2.0
SOCKET_PREFIX = "stage-"
SOCKET_SUFFIX = ".sock"
# Unix socket paths longer than this do not fit in sockaddr_un on every platform.
MAX_SOCKET_PATH_BYTES = 100

# A request: "T" and the cutoff time. The reply: its length, then the times and the
# records in marshal form. The collector then sends "K" once the records are written,
# and the worker forgets them.
_REQUEST = struct.Struct("<cq")
_LENGTH = struct.Struct("<Q")
_TAKE = b"T"
# Version 2 does not look for shared objects, which makes it ten times faster than
# the default on a list of a thousand records.
_MARSHAL_VERSION = 2
_DONE = b"K"

_names = itertools.count()


@dataclass(frozen=True)
class Handover:
    """The records before index ``end`` that a worker handed over, and its drops."""

    end: int
    dropped: int


class Stage:
    """The records of one process not yet written to the shared journal."""

    def __init__(self, folder: str, write: Callable[[], None]) -> None:
        """Listen for collectors; call ``write`` in a thread once the list is full."""
        name = f"{SOCKET_PREFIX}{os.getpid()}-{next(_names)}{SOCKET_SUFFIX}"
        self.path = os.path.join(folder, name)
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH_BYTES:
            raise OSError(
                errno.ENAMETOOLONG,
                f"the journal folder's path is too long for a Unix socket: {folder}",
            )

        self.lock = threading.Lock()
        self.times: list[int] = []
        self.records: list[bytes] = []
        self.size = 0
        #: How many records this list has forgotten: the index of ``records[0]``.
        self.first = 0
        #: Records dropped because the list could not be collected, not yet counted
        #: in the shared journal.
        self.dropped = 0
        #: The index after the records handed to a collector that has not confirmed
        #: them yet, and how many of them were dropped from this list meanwhile.
        self.handed_end = 0
        self.dropped_handed = 0
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
                self._drop_oldest(count - MAX_RECORDS)

            full = count >= FULL_RECORDS or self.size >= FULL_BYTES

        if full and not self.full.is_set():
            self.full.set()

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

    def _drop_oldest(self, count: int) -> None:
        # A record handed to a collector is written unless the collector fails, so it
        # counts as dropped only then (see keep()).
        handed = max(0, min(self.handed_end, self.first + count) - self.first)
        self.dropped += count - handed
        self.dropped_handed += handed
        self._forget(count)

    def upto(self, cutoff: int) -> tuple[Handover, list[int], list[bytes]]:
        """Return the records timed up to ``cutoff``, oldest first, and their times.

        The :class:`Handover` tells which records and drops to forget once they are
        written. Call :meth:`forget` or :meth:`keep` next.
        """
        with self.lock:
            count = bisect.bisect_right(self.times, cutoff)
            handover = Handover(self.first + count, self.dropped)
            self.handed_end = handover.end
            return handover, self.times[:count], self.records[:count]

    def forget(self, handover: Handover) -> None:
        """Forget records and drops once the shared journal has counted them."""
        with self.lock:
            self._forget(handover.end - self.first)
            self.dropped -= handover.dropped
            self.dropped_handed = 0
            self.handed_end = self.first

    def keep(self) -> None:
        """Keep the records handed to a collector that failed to write them."""
        with self.lock:
            self.dropped += self.dropped_handed
            self.dropped_handed = 0
            self.handed_end = self.first

    def _forget(self, count: int) -> None:
        if count <= 0:
            return

        self.size -= sum(map(len, self.records[:count]))
        del self.times[:count]
        del self.records[:count]
        self.first += count

    def close(self) -> None:
        """Stop answering collectors; the records still here are lost."""
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
                connection.settimeout(ANSWER_TIMEOUT_SECONDS)
                try:
                    self._answer(connection)
                except (OSError, ValueError, EOFError) as err:
                    logger.warning(
                        "journal collector disconnected before confirming: %s", err
                    )

    def _answer(self, connection: socket.socket) -> None:
        command, cutoff = _REQUEST.unpack(_receive(connection, _REQUEST.size))
        if command != _TAKE:
            raise ValueError(f"unknown request {command!r}")

        handover, times, records = self.upto(cutoff)
        confirmed = False
        try:
            payload = marshal.dumps(
                (times, records, handover.dropped), _MARSHAL_VERSION
            )
            connection.sendall(_LENGTH.pack(len(payload)) + payload)
            confirmed = _receive(connection, 1) == _DONE
        finally:
            if confirmed:
                self.forget(handover)
            else:
                self.keep()


@dataclass
class Batch:
    """The records that one worker handed over, oldest first, and their times."""

    times: list[int]
    records: list[bytes]
    #: Records the worker dropped because its list was full.
    dropped: int
    #: Tells the worker to forget the records, once they are written or discarded.
    done: Callable[[], None]
    #: Lets the worker keep them.
    cancel: Callable[[], None]


def collect(folder: str, own: Stage | None) -> list[Batch]:
    """Return the records of every worker timed up to now, one batch per worker.

    Call each batch's ``done`` once its records are written, or its ``cancel``; until
    then the worker keeps them. Run this under the journal's lock, so that collectors
    take turns.
    """
    cutoff = time.monotonic_ns()
    names = sorted(
        name
        for name in os.listdir(folder)
        if name.startswith(SOCKET_PREFIX) and name.endswith(SOCKET_SUFFIX)
    )
    batches: list[Batch] = []
    try:
        for name in names:
            path = os.path.join(folder, name)
            if own is not None and path == own.path:
                batch: Batch | None = _take(own, cutoff)
            else:
                batch = _ask(path, cutoff)
            if batch is not None:
                batches.append(batch)
    except BaseException:
        for batch in batches:
            batch.cancel()
        raise

    return batches


def merge(batches: list[Batch]) -> list[bytes]:
    """Return the records of ``batches`` ordered by time, and ties by worker."""
    if len(batches) == 1:
        return batches[0].records

    order = sorted(
        (moment, worker, index)
        for worker, batch in enumerate(batches)
        for index, moment in enumerate(batch.times)
    )
    return [batches[worker].records[index] for _, worker, index in order]


def _take(stage: Stage, cutoff: int) -> Batch:
    handover, times, records = stage.upto(cutoff)
    return Batch(
        times, records, handover.dropped, lambda: stage.forget(handover), stage.keep
    )


def _ask(path: str, cutoff: int) -> Batch | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(ANSWER_TIMEOUT_SECONDS)
    try:
        connection.connect(path)
        connection.sendall(_REQUEST.pack(_TAKE, cutoff))
        (length,) = _LENGTH.unpack(_receive(connection, _LENGTH.size))
        times, records, dropped = marshal.loads(_receive(connection, length))
    except (ConnectionRefusedError, FileNotFoundError):
        # The worker has stopped: nothing listens on its socket any more.
        connection.close()
        with suppress(OSError):
            os.remove(path)
        return None
    except (OSError, ValueError, EOFError, TypeError) as err:
        connection.close()
        logger.warning(
            "journal records of the worker at %s were not collected: %s", path, err
        )
        return None

    def done() -> None:
        with connection, suppress(OSError):
            connection.sendall(_DONE)

    return Batch(times, records, dropped, done, connection.close)


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
