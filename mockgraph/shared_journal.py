"""An interaction journal kept in a folder of files, shared by several worker processes.

``mockgraph serve --workers N`` handles requests in N processes. Each of them appends
to the same files, so ``/_mockgraph/interactions`` lists every request whichever worker
handled it.

The folder contains a small header, which every process maps into memory, and segment
files of records. Each record is its number and length, then its bytes from
:func:`mockgraph.journal.encode_exchange` or :func:`~mockgraph.journal.encode_record`.
A writer holds an exclusive ``flock`` on the header while it reads the last number,
writes its record with one ``pwritev`` at the end of the committed bytes, and stores
the new number and length. So no two records share a number, none is lost, and the
file order is the numbering order. A reader takes the lock only to read the header and
open the segments it needs. It reads no further than the committed length, so it never
reads a record that is still being written.

Each segment contains a fixed number of records. When a writer starts a new segment,
it deletes the segments that contain only records past the limit, so the folder keeps
at most about ``limit`` records plus two segments.

A journal created with ``in_memory`` lets each process keep its records in memory until
a reader or a full list collects them, and writes them in time order with one
``pwrite`` per segment (:mod:`mockgraph.journal_stage`).

The files are scratch space for one server run, never flushed to disk. A worker that
dies while it writes leaves at most a partial record past the committed length, which
readers skip and the next writer overwrites.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import mmap
import multiprocessing.util
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import astuple, dataclass

from .journal import Interaction, Interactions, decode_record, encode_record, pass_on
from .journal_stage import Collection, CollectionFailed, Stage

logger = logging.getLogger(__name__)

HEADER_FILE_NAME = "header"
# The header's seven fields. The first two are the last number given out and the last
# number cleared without restarting the numbering. Then come the clear count, which is
# part of each segment's file name, the current segment and its committed length in
# bytes, and the count of records that failed to be written. The last is the number of
# records per segment, fixed when the folder is created.
_HEADER = struct.Struct("<qqqqqqq")
# The header's first field alone.
_LAST = struct.Struct("<q")
# How long a writer or reader waits for the lock before failing, in seconds.
LOCK_TIMEOUT_SECONDS = 5.0
# How many times a writer or reader tries the lock again at once before it sleeps.
LOCK_SPIN_TRIES = 100
# Each record's number and length in bytes, in front of its bytes.
_FRAME = struct.Struct("<qI")
# Records per segment: at least this many, and at least an eighth of the limit. Small
# segments keep the folder near the limit when records are large.
MIN_SEGMENT_RECORDS = 16


@dataclass
class _Header:
    last: int
    cleared: int
    epoch: int
    segment: int
    segment_bytes: int
    lost: int
    segment_records: int


class _ProcessFiles:
    """The lock, map and open segment of one process: none of them survives a fork.

    ``flock`` locks belong to an open file, which a forked child shares with its
    parent, so each process opens the header itself.
    """

    def __init__(self, folder: str) -> None:
        self.fd = os.open(os.path.join(folder, HEADER_FILE_NAME), os.O_RDWR)
        self.map = mmap.mmap(self.fd, _HEADER.size)
        # The segment that this process last wrote to, as (epoch, segment), and its fd.
        self.segment: tuple[int, int] | None = None
        self.segment_fd = -1

    def close(self) -> None:
        if self.segment_fd >= 0:
            os.close(self.segment_fd)
            self.segment_fd = -1

        self.map.close()
        os.close(self.fd)


class SharedJournal:
    """Keep the latest ``limit`` interactions in ``folder`` and pass each one to sinks.

    It has the interface of :class:`mockgraph.journal.Journal`. Files are opened on
    first use in each process, so an instance created before ``fork()`` works in every
    child process. A folder that already contains a journal is continued.

    With ``in_memory``, and no sinks, each process keeps its records in memory until
    they are read or its list is full (:mod:`mockgraph.journal_stage`). Appending
    then takes no lock that another process shares, but the records of a process
    that dies before they are collected are lost. Without it, each record is written
    before :meth:`append` returns.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        limit: int = 10_000,
        in_memory: bool = False,
    ) -> None:
        if limit < 0:
            raise ValueError(f"journal limit must be at least 0, got {limit!r}")

        self.folder = os.fspath(folder)
        self.limit = limit
        self.sinks: list[Callable[[Interaction], None]] = []
        self._lock = threading.Lock()
        self._files: _ProcessFiles | None = None
        # Records that were not written because the lock stayed taken, not yet added
        # to the header's count of lost records.
        self._unwritten = 0
        self.in_memory = in_memory
        self._stage: Stage | None = None
        self._stage_lock = threading.Lock()
        self._stage_failed = False
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        self.segment_records = self._open_header(
            max(MIN_SEGMENT_RECORDS, -(-limit // 8))
        )
        # Segments before the current one that can hold one of the newest records.
        self._segments_back = -(-limit // self.segment_records)
        _after_fork_in_child(self)

    def _open_header(self, segment_records: int) -> int:
        """Create the header if it is missing, and return the records per segment."""
        path = os.path.join(self.folder, HEADER_FILE_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _HEADER.size:
                # A new header: nothing written, no segment yet.
                os.pwrite(fd, _HEADER.pack(0, 0, 0, -1, 0, 0, segment_records), 0)
                return segment_records

            # A folder keeps its segment size, whatever limit later instances have.
            return _HEADER.unpack(os.pread(fd, _HEADER.size, 0))[6] or segment_records
        finally:
            os.close(fd)

    def _reset_after_fork(self) -> None:
        # A thread of the parent may have held the lock at fork(), and no thread of the
        # child will release it. The parent's files are left to the parent to close.
        self._lock = threading.Lock()
        self._files = None
        self._unwritten = 0
        if self._stage is not None:
            # Its records and socket are the parent's.
            self._stage.close_after_fork()
            self._stage = None
        self._stage_lock = threading.Lock()

    def append(self, record: Interaction) -> None:
        """Store ``record`` under the next sequence number and pass it to the sinks.

        Raise :class:`OSError` if the record cannot be written, such as on a full disk.
        The number is then not used, and the record counts as dropped. A record kept
        in memory (see ``in_memory``) gets its number later, and ``record.seq`` stays
        as it is.
        """
        stage = self._open_stage()
        if stage is not None:
            stage.add(encode_record(record))
        else:
            self._append(encode_record(record) if self.limit else b"", record)

    def append_encoded(self, data: bytes) -> None:
        """Store a record encoded by :func:`mockgraph.journal.encode_exchange`.

        Raise :class:`OSError` as :meth:`append` does.
        """
        stage = self._open_stage()
        if stage is not None:
            stage.add(data)
        else:
            self._append(data, None)

    def _open_stage(self) -> Stage | None:
        """Return this process's list of records not yet written, if it keeps one."""
        stage = self._stage
        if stage is not None or not self.in_memory or self._stage_failed:
            return stage

        if self.sinks or not self.limit:
            # Sinks get each record at once, numbered.
            return None

        with self._stage_lock:
            if self._stage is None and not self._stage_failed:
                try:
                    self._stage = Stage(self.folder, self._write_full_stage)
                    # Granian stops a worker, such as on reload, by returning from
                    # its process function, after which multiprocessing runs this.
                    multiprocessing.util.Finalize(None, self.close, exitpriority=10)
                except OSError as err:
                    self._stage_failed = True
                    logger.warning(
                        "each worker writes every record to the journal at once, "
                        "because it cannot keep them in memory: %s",
                        err,
                    )

            return self._stage

    def _write_full_stage(self) -> None:
        """Write the records of every process, when this one's list is full."""
        try:
            with self._locked() as files:
                self._write_staged(files)
        except (OSError, TimeoutError) as err:
            logger.error("failed to write journal records: %s", err)
            # Such as while another worker does not reply: try again later.
            time.sleep(1)

    def _write_staged(self, files: _ProcessFiles, own_only: bool = False) -> None:
        """Write every process's records collected up to now, oldest first.

        Run this under the lock. Records that fail to be written count as dropped.
        Raise :class:`~mockgraph.journal_stage.CollectionFailed` if a worker does not
        hand its records over; nothing is written then. With ``own_only``, write this
        process's records alone, out of order with the others'.
        """
        collection = Collection(self.folder, self._stage, own_only)
        try:
            self._write_many(files, collection.records(), collection.newly_lost())
        except OSError:
            # Records that failed to be written were counted as dropped.
            collection.finish()
            raise
        except BaseException:
            # What was written is unknown, so the workers keep every record.
            collection.close()
            raise

        collection.finish()

    def _discard_staged(self) -> int:
        """Forget every process's records collected up to now; return their count."""
        collection = Collection(self.folder, self._stage)
        collection.finish()
        return len(collection.records())

    def _write_many(
        self, files: _ProcessFiles, records: list[bytes], dropped: int
    ) -> None:
        header = _read_header(files)
        header.lost += dropped + self._unwritten
        self._unwritten = 0
        # Records past the limit are numbered but never written.
        skipped = max(0, len(records) - self.limit)
        header.last += skipped
        position = skipped
        try:
            while position < len(records):
                position += self._write_segment(files, header, records, position)
        except OSError:
            # Their numbers stay unused, and the committed length unchanged.
            header.lost += len(records) - position
            raise
        finally:
            _write_header(files, header)

    def _write_segment(
        self, files: _ProcessFiles, header: _Header, records: list[bytes], start: int
    ) -> int:
        """Write the records from ``start`` that fit in one segment; return how many."""
        seq = header.last + 1
        needed = (seq - 1) // header.segment_records
        if needed != header.segment:
            self._start_segment(files, header, needed)
        if files.segment != (header.epoch, header.segment):
            self._open_segment(files, header.epoch, header.segment)

        room = (needed + 1) * header.segment_records - (seq - 1)
        chunk = records[start : start + room]
        parts: list[bytes] = []
        for number, record in enumerate(chunk, seq):
            parts += (_FRAME.pack(number, len(record)), record)
        # One join: adding each frame to its record would copy every record twice.
        data = b"".join(parts)
        written = os.pwrite(files.segment_fd, data, header.segment_bytes)
        if written != len(data):
            raise OSError(errno.ENOSPC, f"wrote {written} of {len(data)} bytes")

        header.last += len(chunk)
        header.segment_bytes += len(data)
        return len(chunk)

    def _append(self, data: bytes, record: Interaction | None) -> None:
        try:
            files = self._acquire()
        except TimeoutError:
            self._unwritten += 1
            raise

        try:
            if self._unwritten:
                self._count_unwritten(files)

            header = _HEADER.unpack_from(files.map, 0)
            seq = header[0] + 1
            if self.limit:
                self._write(files, header, seq, data)
            else:
                _LAST.pack_into(files.map, 0, seq)

            # Inside the lock, so that sinks such as a JSON Lines file that every
            # worker appends to get the records in numbering order.
            pass_on(self.sinks, seq, data, record)
        finally:
            self._release(files)

    def _count_unwritten(self, files: _ProcessFiles) -> None:
        header = _read_header(files)
        header.lost += self._unwritten
        self._unwritten = 0
        _write_header(files, header)

    def _write(
        self, files: _ProcessFiles, values: tuple[int, ...], seq: int, data: bytes
    ) -> None:
        # Runs for every request, so the header stays a tuple unless a segment starts.
        _, cleared, epoch, segment, length, lost, segment_records = values
        needed = (seq - 1) // segment_records
        if needed != segment or files.segment != (epoch, segment):
            header = _Header(*values)
            if needed != segment:
                self._start_segment(files, header, needed)

            self._open_segment(files, header.epoch, header.segment)
            segment, length = header.segment, header.segment_bytes

        size = _FRAME.size + len(data)
        try:
            written = os.pwritev(
                files.segment_fd, (_FRAME.pack(seq, len(data)), data), length
            )
            if written != size:
                raise OSError(errno.ENOSPC, f"wrote {written} of {size} bytes")
        except OSError:
            # The number stays unused and the committed length unchanged.
            fields = (seq - 1, cleared, epoch, segment, length, lost + 1)
            _HEADER.pack_into(files.map, 0, *fields, segment_records)
            raise

        fields = (seq, cleared, epoch, segment, length + size, lost)
        _HEADER.pack_into(files.map, 0, *fields, segment_records)

    def _start_segment(
        self, files: _ProcessFiles, header: _Header, segment: int
    ) -> None:
        if header.segment >= 0:
            # Cut what a worker that died while writing left past the committed end,
            # because readers read whole segments but the current one.
            finished = self._segment_path(header.epoch, header.segment)
            with suppress(FileNotFoundError):
                os.truncate(finished, header.segment_bytes)

        # Remove the segments that the new one pushes out of the newest records. A
        # batch of records past the limit can skip segments, so remove from the oldest
        # one that can exist.
        stale = segment - self._segments_back - 1
        oldest = stale - 1
        if header.segment >= 0:
            oldest = min(oldest, header.segment - self._segments_back - 1)
        for old in range(max(0, oldest), stale + 1):
            _remove(self._segment_path(header.epoch, old))

        header.segment = segment
        header.segment_bytes = 0
        _write_header(files, header)

    def _open_segment(self, files: _ProcessFiles, epoch: int, segment: int) -> None:
        if files.segment_fd >= 0:
            os.close(files.segment_fd)
            files.segment_fd = -1

        files.segment_fd = os.open(
            self._segment_path(epoch, segment), os.O_WRONLY | os.O_CREAT, 0o600
        )
        files.segment = (epoch, segment)

    def _segment_path(self, epoch: int, segment: int) -> str:
        return os.path.join(self.folder, f"{epoch}-{segment}.records")

    def records(self) -> Interactions:
        """Return new copies of the newest ``limit`` records, oldest first."""
        return self.records_and_dropped()[0]

    def records_and_dropped(self) -> tuple[Interactions, int]:
        """Return :meth:`records` and :attr:`dropped`, both as of one moment."""
        if not self.limit:
            return Interactions([]), self.dropped

        chunks: list[bytes] = []
        with self._locked() as files:
            self._collect(files)
            header = _read_header(files)
            dropped = self._dropped(header)
            first = max(0, header.segment - self._segments_back)
            fds: list[tuple[int, int]] = []
            try:
                for segment in range(first, header.segment + 1):
                    path = self._segment_path(header.epoch, segment)
                    try:
                        fd = os.open(path, os.O_RDONLY)
                    except FileNotFoundError:
                        continue

                    current = segment == header.segment
                    fds.append((fd, header.segment_bytes if current else -1))
            except BaseException:
                for fd, _ in fds:
                    os.close(fd)
                raise

        # An open file stays readable after a writer deletes it, and bytes below the
        # committed length never change, so the reading needs no lock.
        for fd, length in fds:
            try:
                chunks.append(_read_all(fd, length))
            finally:
                os.close(fd)

        frames = _split_frames(b"".join(chunks))
        records = Interactions(
            decode_record(seq, data) for seq, data in frames[-self.limit :]
        )
        return records, dropped

    @property
    def dropped(self) -> int:
        """How many records are not kept: past the limit, or failed to be written."""
        with self._locked() as files:
            self._collect(files)
            return self._dropped(_read_header(files))

    def _dropped(self, header: _Header) -> int:
        lost = header.lost + self._unwritten
        return max(0, header.last - header.cleared - self.limit) + lost

    def clear(self, restart_numbering: bool = True) -> None:
        """Remove every record; with ``restart_numbering`` the next one is #1 again."""
        with self._locked() as files:
            discarded = self._discard_staged() if self.in_memory else 0
            header = _read_header(files)
            old_epoch = header.epoch
            # Records forgotten before they were written still use up their numbers.
            header.last += discarded
            if restart_numbering:
                header.last = 0

            header.cleared = header.last
            header.epoch += 1
            header.segment = -1
            header.segment_bytes = 0
            header.lost = 0
            self._unwritten = 0
            _write_header(files, header)
            for name in os.listdir(self.folder):
                if name.startswith(f"{old_epoch}-"):
                    _remove(os.path.join(self.folder, name))

    def close(self) -> None:
        """Close this process's files; the folder and its records stay.

        The records this process keeps in memory are written first.
        """
        stage = self._stage
        if stage is not None and stage.pid == os.getpid():
            try:
                with self._locked() as files:
                    try:
                        self._write_staged(files)
                    except CollectionFailed as err:
                        logger.warning("%s; writing this worker's records alone", err)
                        self._write_staged(files, own_only=True)
            except (OSError, TimeoutError) as err:
                logger.error("failed to write journal records on close: %s", err)
            stage.close()
            self._stage = None

        with self._lock:
            files = self._files
            self._files = None
            if files is not None:
                files.close()

    def _collect(self, files: _ProcessFiles) -> None:
        """Write what every process keeps in memory, so that a reader finds it.

        Raise :class:`~mockgraph.journal_stage.CollectionFailed` if a worker does not
        hand its records over, because a listing without them would be incomplete.
        """
        if not self.in_memory:
            return

        try:
            self._write_staged(files)
        except CollectionFailed:
            raise
        except OSError as err:
            logger.error("failed to write journal records: %s", err)

    @contextmanager
    def _locked(self) -> Iterator[_ProcessFiles]:
        files = self._acquire()
        try:
            yield files
        finally:
            self._release(files)

    def _acquire(self) -> _ProcessFiles:
        """Take the thread lock, then the ``flock``, and return this process's files.

        Threads of one process share the header's open file, whose ``flock`` they
        cannot hold against each other, so they take turns on a thread lock first.
        """
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_SECONDS):
            raise _timed_out("another thread of this process")

        try:
            files = self._files
            if files is None:
                files = self._files = _ProcessFiles(self.folder)

            if not _try_flock(files.fd):
                _wait_for_flock(files.fd, time.monotonic() + LOCK_TIMEOUT_SECONDS)
        except BaseException:
            self._lock.release()
            raise

        return files

    def _release(self, files: _ProcessFiles) -> None:
        try:
            fcntl.flock(files.fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return f"SharedJournal({self.folder!r}, limit={self.limit})"


def _wait_for_flock(fd: int, deadline: float) -> None:
    # The holder usually releases the lock within microseconds, and the shortest sleep
    # below lasts a tenth of a millisecond, so first try again at once a few times.
    for _ in range(LOCK_SPIN_TRIES):
        if _try_flock(fd):
            return

    # Without LOCK_NB a stopped process that holds the lock would hang every request.
    pause = 0.0001
    while True:
        time.sleep(pause)
        pause = min(pause * 2, 0.005)
        if _try_flock(fd):
            return

        if time.monotonic() >= deadline:
            raise _timed_out("another process")


def _try_flock(fd: int) -> bool:
    """Take the exclusive ``flock`` on ``fd`` if no other process has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False

    return True


def _timed_out(holder: str) -> TimeoutError:
    return TimeoutError(
        f"the interaction journal stayed locked by {holder} for more than "
        f"{LOCK_TIMEOUT_SECONDS} s; a stopped or stalled process may hold it"
    )


def _after_fork_in_child(journal: SharedJournal) -> None:
    reference = weakref.ref(journal)

    def reset() -> None:
        instance = reference()
        if instance is not None:
            instance._reset_after_fork()

    os.register_at_fork(after_in_child=reset)


def _read_header(files: _ProcessFiles) -> _Header:
    return _Header(*_HEADER.unpack_from(files.map, 0))


def _write_header(files: _ProcessFiles, header: _Header) -> None:
    _HEADER.pack_into(files.map, 0, *astuple(header))


def _read_all(fd: int, length: int) -> bytes:
    """Read ``length`` bytes of ``fd`` from its start, or all if ``length`` < 0."""
    if length < 0:
        length = os.fstat(fd).st_size

    parts: list[bytes] = []
    offset = 0
    while offset < length:
        part = os.pread(fd, length - offset, offset)
        if not part:
            break

        parts.append(part)
        offset += len(part)

    return b"".join(parts)


def _split_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Return the number and bytes of each record in ``data``, in file order."""
    frames: list[tuple[int, bytes]] = []
    offset = 0
    while offset + _FRAME.size <= len(data):
        seq, length = _FRAME.unpack_from(data, offset)
        offset += _FRAME.size
        frames.append((seq, data[offset : offset + length]))
        offset += length

    return frames


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
