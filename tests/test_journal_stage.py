"""The shared journal whose processes keep their records in memory until read."""

from __future__ import annotations

import gc
import logging
import marshal
import multiprocessing
import os
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from mockgraph import journal_stage, shared_journal
from mockgraph.journal import Interaction
from mockgraph.journal_stage import SOCKET_PREFIX, CollectionFailed
from mockgraph.shared_journal import SharedJournal

from .test_shared_journal import make_record

FORK = multiprocessing.get_context("fork")
# Forking a process that runs the socket threads is what a worker server does too.
pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def paths(journal: SharedJournal) -> list[str]:
    return [record.path for record in journal.records()]


def sockets(folder: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(SOCKET_PREFIX))


def written(journal: SharedJournal) -> int:
    """How many records the shared files number, without collecting any."""
    with journal._locked() as files:
        return shared_journal._read_header(files).last


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "journal")


@pytest.fixture
def journal(folder: str):
    journal = SharedJournal(folder, limit=1000, in_memory=True)
    yield journal
    journal.close()


@pytest.fixture
def other(folder: str):
    other = SharedJournal(folder, limit=1000, in_memory=True)
    yield other
    other.close()


def test_records_wait_in_memory_until_read(journal):
    for index in range(3):
        journal.append(make_record(path=f"/{index}"))

    assert written(journal) == 0
    assert paths(journal) == ["/0", "/1", "/2"]
    assert [record.seq for record in journal.records()] == [1, 2, 3]
    assert written(journal) == 3


def test_record_round_trips(journal):
    original = make_record()
    journal.append(original)

    (stored,) = journal.records()
    assert stored.seq == 1
    original.seq = 1
    assert stored == original


def test_instances_merge_in_time_order(journal, other):
    journal.append(make_record(path="/a1"))
    other.append(make_record(path="/b1"))
    journal.append(make_record(path="/a2"))
    other.append(make_record(path="/b2"))

    assert paths(other) == ["/a1", "/b1", "/a2", "/b2"]
    # Numbers given once stay with their records.
    journal.append(make_record(path="/a3"))
    assert [(r.seq, r.path) for r in journal.records()][-2:] == [(4, "/b2"), (5, "/a3")]


def test_each_process_socket_listed(journal, other):
    journal.append(make_record())
    other.append(make_record())

    assert len(sockets(journal.folder)) == 2


def test_full_list_written_without_a_reader(journal, other, monkeypatch):
    monkeypatch.setattr(journal_stage, "FULL_RECORDS", 3)
    other.append(make_record(path="/other"))
    for index in range(3):
        journal.append(make_record(path=f"/{index}"))

    # The third record filled the list, which collected the other instance too.
    deadline = time.monotonic() + 10
    while written(journal) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written(journal) == 4
    assert paths(journal) == ["/other", "/0", "/1", "/2"]


def test_full_list_counts_by_bytes(journal, monkeypatch):
    monkeypatch.setattr(journal_stage, "FULL_BYTES", 1)
    journal.append(make_record())

    deadline = time.monotonic() + 10
    while written(journal) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written(journal) == 1


def test_list_kept_while_lock_held_then_oldest_dropped(journal, monkeypatch):
    monkeypatch.setattr(journal_stage, "FULL_RECORDS", 2)
    monkeypatch.setattr(journal_stage, "MAX_RECORDS", 3)
    with journal._lock:
        for index in range(5):
            journal.append(make_record(path=f"/{index}"))

    assert paths(journal) == ["/2", "/3", "/4"]
    assert journal.dropped == 2


def test_limit_numbers_every_record(folder):
    journal = SharedJournal(folder, limit=3, in_memory=True)
    for index in range(10):
        journal.append(make_record(path=f"/{index}"))

    records = journal.records()
    assert [(r.seq, r.path) for r in records] == [(8, "/7"), (9, "/8"), (10, "/9")]
    assert journal.dropped == 7
    journal.close()


def test_limit_across_reads(folder, monkeypatch):
    monkeypatch.setattr(shared_journal, "MIN_SEGMENT_RECORDS", 4)
    journal = SharedJournal(folder, limit=5, in_memory=True)
    for round_ in range(4):
        for index in range(3):
            journal.append(make_record(path=f"/{round_}/{index}"))
        journal.records()

    records = journal.records()
    assert [record.seq for record in records] == [8, 9, 10, 11, 12]
    assert journal.dropped == 7
    journal.close()


def test_batches_past_limit_leave_no_old_segments(folder, monkeypatch):
    monkeypatch.setattr(shared_journal, "MIN_SEGMENT_RECORDS", 4)
    journal = SharedJournal(folder, limit=5, in_memory=True)
    for round_ in range(3):
        for index in range(100):
            journal.append(make_record(path=f"/{round_}/{index}"))

        assert paths(journal) == [f"/{round_}/{index}" for index in range(95, 100)]
        segments = [name for name in os.listdir(folder) if name.endswith(".records")]
        assert len(segments) <= 3

    journal.close()


def test_clear_forgets_records_of_every_instance(journal, other):
    journal.append(make_record(path="/a"))
    other.append(make_record(path="/b"))
    journal.clear()
    other.append(make_record(path="/c"))

    assert [(r.seq, r.path) for r in journal.records()] == [(1, "/c")]
    assert journal.dropped == 0


def test_clear_keeping_numbers(journal, other):
    journal.append(make_record(path="/a"))
    other.append(make_record(path="/b"))
    journal.clear(restart_numbering=False)
    other.append(make_record(path="/c"))

    # As with records written before the clear, the forgotten ones keep their numbers.
    assert [(r.seq, r.path) for r in journal.records()] == [(3, "/c")]


def test_close_writes_own_records(folder, other):
    journal = SharedJournal(folder, limit=1000, in_memory=True)
    journal.append(make_record(path="/closed"))
    journal.close()

    assert written(other) == 1
    assert paths(other) == ["/closed"]
    assert sockets(folder) == []


def test_closed_journal_reopens(journal):
    journal.append(make_record())
    old_stage = journal._stage
    journal.close()
    journal.append(make_record())
    new_stage = journal._stage
    old_stage.thread.join(timeout=5)
    del old_stage
    # Collecting the closed list must not close the new one.
    gc.collect()

    assert journal._stage is new_stage
    assert [record.seq for record in journal.records()] == [1, 2]


def test_sinks_get_each_record_at_once(journal):
    received: list[Interaction] = []
    journal.sinks.append(received.append)
    journal.append(make_record())

    assert written(journal) == 1
    assert [record.seq for record in received] == [1]
    assert sockets(journal.folder) == []


def test_limit_zero_only_counts(folder):
    journal = SharedJournal(folder, limit=0, in_memory=True)
    journal.append(make_record())

    assert len(journal.records()) == 0
    assert journal.dropped == 1
    assert sockets(folder) == []


def test_long_folder_writes_at_once(tmp_path, caplog):
    folder = tmp_path / ("x" * 120)
    journal = SharedJournal(folder, limit=10, in_memory=True)
    with caplog.at_level(logging.WARNING, logger="mockgraph.shared_journal"):
        journal.append(make_record())

    assert written(journal) == 1
    assert "too long for a Unix socket" in caplog.text
    journal.close()


def test_stopped_worker_socket_removed(journal, folder):
    journal.append(make_record(path="/live"))
    # What a worker killed with SIGKILL leaves: a socket file that no process listens on.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.path.join(folder, f"{SOCKET_PREFIX}1-0.sock"))
    dead.close()

    assert paths(journal) == ["/live"]
    assert len(sockets(folder)) == 1


def test_silent_worker_fails_listing(journal, folder, monkeypatch):
    monkeypatch.setattr(journal_stage, "REPLY_TIMEOUT_SECONDS", 0.2)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(os.path.join(folder, f"{SOCKET_PREFIX}1-0.sock"))
    silent.listen(1)
    journal.append(make_record(path="/live"))
    try:
        with pytest.raises(CollectionFailed, match="did not hand over its records"):
            journal.records()
    finally:
        silent.close()

    # Nothing was written or forgotten while the listing failed.
    assert paths(journal) == ["/live"]


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"X",
        b"Z" + b"\0" * 16,
        b"T" + b"\0" * 16 + b"garbage",
        b"T" + b"\xff" * 16,
    ],
)
def test_socket_survives_bad_requests(journal, sent):
    journal.append(make_record(path="/kept"))
    (name,) = sockets(journal.folder)
    stage = journal._stage
    assert stage is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(os.path.join(journal.folder, name))
        client.sendall(sent)

    assert paths(journal) == ["/kept"]
    assert stage.thread.is_alive()


def test_collection_closed_unwritten_keeps_records(journal, other):
    other.append(make_record(path="/b"))
    with journal._locked():
        collection = journal_stage.Collection(journal.folder, journal._stage)
        assert [len(handover.records) for handover in collection.handovers] == [1]
        collection.close()

    assert paths(journal) == ["/b"]


def test_untold_worker_hands_nothing_twice(journal, other, monkeypatch):
    for index in range(3):
        other.append(make_record(path=f"/{index}"))
    with journal._locked() as files:
        collection = journal_stage.Collection(journal.folder, journal._stage)
        journal._write_many(files, collection.records(), collection.newly_lost())
        # The other worker gets no message that its records are written, as when it
        # collects its own list before it reads that message.
        untold = collection._connections
        monkeypatch.setattr(collection, "_connections", {})
        collection.finish()
        for connection in untold.values():
            connection.close()

    assert paths(other) == ["/0", "/1", "/2"]
    assert [record.seq for record in journal.records()] == [1, 2, 3]


def append_and_wait(
    journal: SharedJournal, worker: int, count: int, ready, read
) -> None:
    try:
        for index in range(count):
            journal.append(make_record(path=f"/{worker}/{index}"))
        ready.set()
        # A worker lives on while others read its records.
        read.wait(60)
        os._exit(0)
    except BaseException:
        os._exit(3)


def start_workers(
    journal: SharedJournal, count: int, records: int, read
) -> list[multiprocessing.Process]:
    """Fork ``count`` workers that each append ``records``, and wait until they have."""
    workers = []
    for worker in range(count):
        ready = FORK.Event()
        process = FORK.Process(
            target=append_and_wait, args=(journal, worker, records, ready, read)
        )
        process.start()
        workers.append(process)
        assert ready.wait(60)

    return workers


def test_processes_lose_and_duplicate_nothing(journal):
    journal.append(make_record(path="/parent"))
    read = FORK.Event()
    workers = []
    try:
        workers = start_workers(journal, 3, 200, read)
        records = journal.records()
    finally:
        read.set()
        for process in workers:
            process.join(timeout=60)

    assert [process.exitcode for process in workers] == [0, 0, 0]
    assert [record.seq for record in records] == list(range(1, 602))
    # The parent's record was not copied into its children.
    assert [record.path for record in records].count("/parent") == 1
    assert len({record.path for record in records}) == 601
    for worker in range(3):
        own = [r.path for r in records if r.path.startswith(f"/{worker}/")]
        assert own == [f"/{worker}/{index}" for index in range(200)]

    # The stopped workers' sockets are removed by the next reader.
    assert len(journal.records()) == 601
    assert len(sockets(journal.folder)) == 1


def test_threads_lose_and_duplicate_nothing(folder, monkeypatch):
    monkeypatch.setattr(journal_stage, "FULL_RECORDS", 50)
    journal = SharedJournal(folder, limit=2000, in_memory=True)
    other = SharedJournal(folder, limit=2000, in_memory=True)
    seen: list[int] = []

    def append(instance: SharedJournal, name: str) -> None:
        for index in range(300):
            instance.append(make_record(path=f"/{name}/{index}"))
            if index % 97 == 0:
                seen.append(len(instance.records()))

    threads = [
        threading.Thread(target=append, args=(instance, f"{number}"))
        for number, instance in enumerate([journal, other, journal, other])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    records = journal.records()
    journal.close()
    other.close()
    assert [record.seq for record in records] == list(range(1, 1201))
    assert len({record.path for record in records}) == 1200
    for number in range(4):
        own = [r.path for r in records if r.path.startswith(f"/{number}/")]
        assert own == [f"/{number}/{index}" for index in range(300)]


@pytest.fixture
def stage(folder, monkeypatch):
    monkeypatch.setattr(journal_stage, "FULL_RECORDS", 100)
    monkeypatch.setattr(journal_stage, "MAX_RECORDS", 3)
    os.makedirs(folder)
    stage = journal_stage.Stage(folder, write=lambda: None)
    yield stage
    stage.close()


def fill(stage: journal_stage.Stage, *names: str) -> None:
    for name in names:
        stage.add(name.encode())


def test_stage_drops_oldest_beyond_max(stage):
    fill(stage, "a", "b", "c", "d", "e")

    assert stage.records == [b"c", b"d", b"e"]
    handover = stage.take(time.monotonic_ns(), 0)
    assert handover.start == 2
    assert handover.lost == 2


def test_stage_drop_of_written_record_not_lost(stage):
    fill(stage, "a", "b", "c")
    handover = stage.take(time.monotonic_ns(), 0)
    assert handover.records == [b"a", b"b", b"c"]
    # "a" and "b" are dropped while a collector writes them.
    fill(stage, "d", "e")
    stage.forget_written(handover.end)

    assert stage.records == [b"d", b"e"]
    assert stage.size == 2
    assert stage.take(time.monotonic_ns(), handover.end).lost == 0


def test_stage_drop_after_failed_collection_lost(stage):
    fill(stage, "a", "b", "c")
    stage.take(time.monotonic_ns(), 0)
    fill(stage, "d", "e")
    # The collector failed, so the next one starts from the same index.
    handover = stage.take(time.monotonic_ns(), 0)

    assert handover.records == [b"c", b"d", b"e"]
    assert handover.start == 2
    assert handover.lost == 2


def test_stage_forgets_written_on_take(stage):
    fill(stage, "a", "b", "c")
    handover = stage.take(time.monotonic_ns(), 2)

    assert handover.start == 2
    assert handover.records == [b"c"]
    assert stage.records == [b"c"]


def test_stage_ignores_older_written_index(stage):
    fill(stage, "a", "b", "c")
    stage.forget_written(2)
    stage.forget_written(1)

    assert stage.records == [b"c"]
    assert stage.first == 2


def test_stage_keeps_records_after_cutoff(stage):
    fill(stage, "a")
    cutoff = time.monotonic_ns()
    fill(stage, "b")
    handover = stage.take(cutoff, 0)
    stage.forget_written(handover.end)

    assert handover.records == [b"a"]
    assert len(handover.times) == 1
    assert stage.records == [b"b"]


def test_stage_socket_removed_on_close(folder, stage):
    assert len(sockets(folder)) == 1
    stage.close()

    assert sockets(folder) == []
    stage.thread.join(timeout=5)
    stage.writer.join(timeout=5)
    assert not stage.thread.is_alive()
    assert not stage.writer.is_alive()


def test_stopped_worker_fails_then_loses_nothing(journal, monkeypatch):
    monkeypatch.setattr(journal_stage, "REPLY_TIMEOUT_SECONDS", 0.5)
    read = FORK.Event()
    workers = []
    try:
        workers = start_workers(journal, 2, 50, read)
        stopped = workers[1].pid
        assert stopped is not None
        os.kill(stopped, signal.SIGSTOP)
        try:
            # The first worker hands its records over, the second does not reply.
            with pytest.raises(CollectionFailed):
                journal.records()
        finally:
            os.kill(stopped, signal.SIGCONT)
        records = journal.records()
    finally:
        read.set()
        for process in workers:
            process.join(timeout=60)

    assert [record.seq for record in records] == list(range(1, 101))
    assert len({record.path for record in records}) == 100
    assert journal.dropped == 0


def append_and_return(journal: SharedJournal) -> None:
    for index in range(3):
        journal.append(make_record(path=f"/stopping/{index}"))


def test_stopping_worker_writes_its_records(journal):
    # A worker that Granian stops, such as on reload, returns from its process
    # function, as this child does.
    child = FORK.Process(target=append_and_return, args=(journal,))
    child.start()
    child.join(timeout=60)

    assert child.exitcode == 0
    assert paths(journal) == [f"/stopping/{index}" for index in range(3)]
    assert len(sockets(journal.folder)) == 0


def test_records_and_dropped_agree(folder):
    journal = SharedJournal(folder, limit=2, in_memory=True)
    for index in range(5):
        journal.append(make_record(path=f"/{index}"))

    records, dropped = journal.records_and_dropped()
    journal.close()
    assert [record.path for record in records] == ["/3", "/4"]
    assert dropped == 3


def test_full_socket_queue_fails_listing(journal, folder):
    journal.append(make_record(path="/live"))
    # A worker that accepts no connection, such as a stopped one, whose queue is full.
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.bind(os.path.join(folder, f"{SOCKET_PREFIX}1-0.sock"))
    stuck.listen(0)
    queued = []
    try:
        for _ in range(64):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            queued.append(client)
            try:
                client.connect(stuck.getsockname())
            except BlockingIOError:
                break

        with pytest.raises(CollectionFailed, match="cannot connect"):
            journal.records()
    finally:
        for client in queued:
            client.close()
        stuck.close()

    assert paths(journal) == ["/live"]


def test_marks_folder_in_the_way_fails_listing(journal, other, folder):
    other.append(make_record(path="/b"))
    os.mkdir(os.path.join(folder, journal_stage.MARKS_FILE_NAME))

    with pytest.raises(CollectionFailed, match="marks file"):
        journal.records()
    os.rmdir(os.path.join(folder, journal_stage.MARKS_FILE_NAME))
    assert paths(journal) == ["/b"]


@pytest.mark.parametrize("value", [5, {"stage-1-0.sock": 5}, {1: (0, 0)}, [1, 2]])
def test_invalid_marks_read_as_empty(journal, other, folder, value, caplog):
    other.append(make_record(path="/b"))
    with open(os.path.join(folder, journal_stage.MARKS_FILE_NAME), "wb") as file:
        file.write(marshal.dumps(value))

    with caplog.at_level(logging.ERROR, logger="mockgraph.journal_stage"):
        assert paths(journal) == ["/b"]
    assert "invalid journal marks file" in caplog.text
    other.append(make_record(path="/c"))
    assert paths(journal) == ["/b", "/c"]


def test_unsaved_marks_write_nothing_twice(journal, other, folder, caplog):
    os.mkdir(os.path.join(folder, journal_stage.MARKS_FILE_NAME + ".new"))
    for index in range(3):
        other.append(make_record(path=f"/{index}"))

    with caplog.at_level(logging.ERROR, logger="mockgraph.journal_stage"):
        assert paths(journal) == ["/0", "/1", "/2"]
    assert "failed to save the journal marks file" in caplog.text
    other.append(make_record(path="/3"))
    # The workers learned what was written from the collector's message.
    deadline = time.monotonic() + 10
    while other._stage.written_end < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paths(journal) == ["/0", "/1", "/2", "/3"]


def serve_invalid_reply(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.recv(17)
        payload = marshal.dumps((0, ["a", 1], [b"x", b"y"], 0))
        connection.sendall(struct.pack("<Q", len(payload)) + payload)
        connection.recv(17)


def test_invalid_reply_keeps_every_record(journal, other, folder):
    other.append(make_record(path="/b"))
    fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fake.bind(os.path.join(folder, f"{SOCKET_PREFIX}1-0.sock"))
    fake.listen(1)
    server = threading.Thread(target=serve_invalid_reply, args=(fake,))
    server.start()
    try:
        with pytest.raises(CollectionFailed, match="invalid reply"):
            journal.records()
    finally:
        server.join(timeout=10)
        fake.close()

    assert paths(journal) == ["/b"]
