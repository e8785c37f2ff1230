from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from mockgraph import Config, create_app, shared_journal
from mockgraph.journal import Exchange, Interaction, encode_exchange, encode_record
from mockgraph.shared_journal import HEADER_FILE_NAME, SharedJournal

AUTH = {"Authorization": "Bearer t"}


def make_record(
    path: str = "/beta/users/42/profile/skills", status: int = 201
) -> Interaction:
    return Interaction(
        seq=0,
        time="2024-01-02T03:04:05.000000+00:00",
        method="POST",
        path=path,
        query="",
        headers={"Content-Type": "application/json"},
        body='{"displayName": "Python"}',
        status=status,
        response_headers={"request-id": "r1"},
        response_body={"displayName": "Python", "categories": ["a"]},
        operation="createSkill",
        duration_ms=0.5,
        errors=[{"pointer": "/x", "keyword": "type", "message": "m"}],
        warnings=["w"],
    )


@pytest.fixture
def journal(tmp_path: Path) -> SharedJournal:
    return SharedJournal(tmp_path / "journal", limit=1000)


def test_append_numbers_from_one(journal):
    for _ in range(3):
        journal.append(make_record())

    assert [record.seq for record in journal.records()] == [1, 2, 3]


def test_record_round_trips(journal):
    original = make_record()
    journal.append(original)
    stored = journal.records()[0]

    assert stored == original


def test_second_instance_sees_records(journal, tmp_path):
    journal.append(make_record(path="/a"))
    other = SharedJournal(tmp_path / "journal", limit=1000)
    other.append(make_record(path="/b"))

    assert [record.path for record in journal.records()] == ["/a", "/b"]
    assert [record.seq for record in other.records()] == [1, 2]


@pytest.fixture
def small_segments(monkeypatch):
    monkeypatch.setattr(shared_journal, "MIN_SEGMENT_RECORDS", 4)


def segment_files(folder: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name != HEADER_FILE_NAME)


@pytest.mark.parametrize("limit", [0, 1, 4, 5, 13, 40])
def test_limit_keeps_newest(tmp_path, small_segments, limit):
    journal = SharedJournal(tmp_path / "journal", limit=limit)
    total = 57
    for index in range(total):
        journal.append(make_record(path=f"/{index}"))

    records = journal.records()
    assert len(records) == limit
    assert [record.seq for record in records] == list(
        range(total - limit + 1, total + 1)
    )
    assert [record.path for record in records] == [
        f"/{index}" for index in range(total - limit, total)
    ]
    assert journal.dropped == total - limit


def test_limit_across_full_segments(tmp_path):
    limit = shared_journal.MIN_SEGMENT_RECORDS + 6
    journal = SharedJournal(tmp_path / "journal", limit=limit)
    total = 3 * shared_journal.MIN_SEGMENT_RECORDS + 7
    for _ in range(total):
        journal.append(make_record())

    assert [record.seq for record in journal.records()] == list(
        range(total - limit + 1, total + 1)
    )


@pytest.mark.parametrize("limit", [1, 4, 13, 40])
def test_old_segments_removed(tmp_path, small_segments, limit):
    journal = SharedJournal(tmp_path / "journal", limit=limit)
    for _ in range(400):
        journal.append(make_record())

    kept_segments = -(-limit // journal.segment_records) + 1
    assert len(segment_files(journal.folder)) <= kept_segments + 1
    assert len(journal.records()) == limit


def test_clear_restarts_numbering(journal):
    journal.append(make_record())
    journal.append(make_record())
    journal.clear()
    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [1]
    assert journal.dropped == 0


@pytest.mark.parametrize("limit", [10, 1000])
def test_clear_keeping_numbers_drops_nothing(tmp_path, limit):
    journal = SharedJournal(tmp_path / "journal", limit=limit)
    for _ in range(20):
        journal.append(make_record())

    journal.clear(restart_numbering=False)
    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [21]
    assert journal.dropped == 0


def test_clear_keeping_numbers_then_limit(tmp_path):
    journal = SharedJournal(tmp_path / "journal", limit=3)
    for _ in range(5):
        journal.append(make_record())

    journal.clear(restart_numbering=False)
    for _ in range(5):
        journal.append(make_record())

    assert [record.seq for record in journal.records()] == [8, 9, 10]
    assert journal.dropped == 2


def test_sinks_get_numbered_records(journal):
    seen: list[int] = []
    journal.sinks.append(lambda record: seen.append(record.seq))
    journal.append(make_record())
    journal.append(make_record())

    assert seen == [1, 2]


def test_sinks_get_encoded_records_decoded(journal):
    seen: list[Interaction] = []
    journal.sinks.append(seen.append)
    environ = {"HTTP_AUTHORIZATION": "Bearer s3cret", "QUERY_STRING": ""}
    for index in range(2):
        exchange = Exchange(
            method="POST",
            path=f"/{index}",
            status=201,
            response_headers={},
            response_body=None,
            response_json=b'{"id": "1"}',
            operation="createSkill",
            started=0.0,
            request_id="r",
        )
        journal.append_encoded(encode_exchange(environ, exchange, 0.0, 1.0))

    assert [(record.seq, record.path) for record in seen] == [(1, "/0"), (2, "/1")]
    assert seen == list(journal.records())
    assert seen[0].headers == {"Authorization": "Bearer [redacted]"}
    assert seen[0].response_body == {"id": "1"}


def test_failing_sink_keeps_record(journal):
    def broken(record: Interaction) -> None:
        raise OSError("disk full")

    journal.sinks.append(broken)
    journal.append(make_record())

    assert len(journal.records()) == 1


def test_negative_limit_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least 0"):
        SharedJournal(tmp_path / "journal", limit=-1)


def append_many(path: str, worker: int, count: int) -> None:
    journal = SharedJournal(path, limit=100_000)
    for index in range(count):
        journal.append(make_record(path=f"/{worker}/{index}"))


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_processes_lose_and_duplicate_nothing(journal):
    # Forked children inherit the parent's instance and must open their own connections.
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=append_many, args=(journal.folder, worker, 200))
        for worker in range(3)
    ]
    for process in workers:
        process.start()

    for process in workers:
        process.join(timeout=60)

    records = journal.records()
    assert [process.exitcode for process in workers] == [0, 0, 0]
    assert [record.seq for record in records] == list(range(1, 601))
    assert len({record.path for record in records}) == 600


def test_app_uses_given_journal(tmp_path):
    journal = SharedJournal(tmp_path / "journal")
    client = create_app(Config(), journal=journal).test_client()
    client.post(
        "/beta/users/42/profile/skills", json={"displayName": "x"}, headers=AUTH
    )
    listed = client.get("/_mockgraph/interactions").get_json()

    assert listed["count"] == 1
    assert listed["value"][0]["status"] == 201
    assert listed["dropped"] == 0


def test_clear_removes_segments(tmp_path, small_segments):
    journal = SharedJournal(tmp_path / "journal", limit=10)
    for _ in range(30):
        journal.append(make_record())

    journal.clear()

    assert segment_files(journal.folder) == []
    assert list(journal.records()) == []


def test_threads_lose_and_duplicate_nothing(journal):
    def append_some(thread: int) -> None:
        for index in range(100):
            journal.append(make_record(path=f"/{thread}/{index}"))

    threads = [threading.Thread(target=append_some, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(timeout=60)

    records = journal.records()
    assert [record.seq for record in records] == list(range(1, 801))
    assert len({record.path for record in records}) == 800


def committed_length(journal: SharedJournal) -> int:
    with open(os.path.join(journal.folder, HEADER_FILE_NAME), "rb") as file:
        return shared_journal._HEADER.unpack(file.read())[4]


def test_bytes_past_committed_end_ignored(tmp_path, small_segments):
    # A worker killed inside its write leaves a partial record past the committed end.
    journal = SharedJournal(tmp_path / "journal", limit=100)
    for index in range(3):
        journal.append(make_record(path=f"/{index}"))

    (segment,) = segment_files(journal.folder)
    with open(os.path.join(journal.folder, segment), "ab") as file:
        file.write(b'4 {"method": "POST", "pa' * 20)

    assert [record.path for record in journal.records()] == ["/0", "/1", "/2"]

    for index in range(3, 12):
        journal.append(make_record(path=f"/{index}"))

    assert [record.path for record in journal.records()] == [
        f"/{index}" for index in range(12)
    ]


def test_finished_segment_cut_to_committed_length(tmp_path, small_segments):
    # A worker killed inside its write leaves bytes past the end of its segment.
    journal = SharedJournal(tmp_path / "journal", limit=100)
    for _ in range(journal.segment_records):
        journal.append(make_record())

    (first,) = segment_files(journal.folder)
    with open(os.path.join(journal.folder, first), "ab") as file:
        file.write(b"\x00" * 100)

    journal.append(make_record())

    frame = shared_journal._FRAME.size + len(encode_record(make_record()))
    assert segment_files(journal.folder) == [first, "0-1.records"]
    assert os.path.getsize(os.path.join(journal.folder, first)) == (
        journal.segment_records * frame
    )
    assert committed_length(journal) == frame


def test_failed_write_counts_as_dropped(journal, monkeypatch):
    journal.append(make_record(path="/a"))

    def full_disk(fd: int, buffers: list[bytes], offset: int) -> int:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(shared_journal.os, "pwritev", full_disk)
        with pytest.raises(OSError, match="No space left"):
            journal.append(make_record(path="/lost"))

    journal.append(make_record(path="/b"))

    assert [record.path for record in journal.records()] == ["/a", "/b"]
    assert [record.seq for record in journal.records()] == [1, 2]
    assert journal.dropped == 1


def test_short_write_not_committed(journal, monkeypatch):
    real_pwrite = os.pwrite

    def short(fd: int, buffers: list[bytes], offset: int) -> int:
        return real_pwrite(fd, b"".join(buffers)[:10], offset)

    with monkeypatch.context() as patched:
        patched.setattr(shared_journal.os, "pwritev", short)
        with pytest.raises(OSError, match="wrote 10 of"):
            journal.append(make_record(path="/lost"))

    journal.append(make_record(path="/kept"))

    assert [record.path for record in journal.records()] == ["/kept"]
    assert journal.dropped == 1


def hold_lock(folder: str, locked, release) -> None:
    fd = os.open(os.path.join(folder, HEADER_FILE_NAME), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    locked.set()
    release.wait(30)


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_held_lock_times_out(journal, monkeypatch):
    monkeypatch.setattr(shared_journal, "LOCK_TIMEOUT_SECONDS", 0.2)
    context = multiprocessing.get_context("fork")
    locked, release = context.Event(), context.Event()
    holder = context.Process(target=hold_lock, args=(journal.folder, locked, release))
    holder.start()
    try:
        assert locked.wait(30)
        with pytest.raises(TimeoutError, match="stayed locked by another process"):
            journal.append(make_record())
    finally:
        release.set()
        holder.join(timeout=30)

    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [1]
    assert journal.dropped == 1


def test_numbering_without_kept_records(tmp_path):
    journal = SharedJournal(tmp_path / "journal", limit=0)
    seen: list[int] = []
    journal.sinks.append(lambda record: seen.append(record.seq))
    for _ in range(3):
        journal.append(make_record())

    assert seen == [1, 2, 3]
    assert segment_files(journal.folder) == []
    assert journal.dropped == 3


def test_closed_journal_reopens(journal):
    journal.append(make_record())
    journal.close()
    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [1, 2]


def append_once(journal: SharedJournal) -> None:
    journal.append(make_record(path="/child"))
    os._exit(0)


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_fork_while_thread_holds_lock(journal):
    context = multiprocessing.get_context("fork")
    # The parent holds the thread lock and the flock while the child is forked.
    with journal._locked():
        child = context.Process(target=append_once, args=(journal,))
        child.start()

    child.join(timeout=30)

    assert child.exitcode == 0
    assert [record.path for record in journal.records()] == ["/child"]


def exit_with_files_state(journal: SharedJournal) -> None:
    os._exit(0 if journal._files is None else 3)


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_fork_drops_parent_files(journal):
    # A child must open its own header file, because it shares an flock with the
    # parent through an inherited one.
    journal.append(make_record())
    assert journal._files is not None

    child = multiprocessing.get_context("fork").Process(
        target=exit_with_files_state, args=(journal,)
    )
    child.start()
    child.join(timeout=30)

    assert child.exitcode == 0


def test_reopened_folder_keeps_segment_size(tmp_path, small_segments):
    first = SharedJournal(tmp_path / "journal", limit=5)
    for index in range(30):
        first.append(make_record(path=f"/{index}"))

    first.close()
    second = SharedJournal(tmp_path / "journal", limit=40)
    for index in range(30, 60):
        second.append(make_record(path=f"/{index}"))

    assert second.segment_records == first.segment_records
    assert [record.seq for record in second.records()][-30:] == list(range(31, 61))
    assert second.records()[-1].path == "/59"


def test_header_readable_by_owner_only(journal):
    mode = os.stat(os.path.join(journal.folder, HEADER_FILE_NAME)).st_mode

    assert mode & 0o077 == 0


def test_sinks_get_records_in_order(journal):
    seen: list[int] = []
    journal.sinks.append(lambda record: seen.append(record.seq))

    def append_some() -> None:
        for _ in range(100):
            journal.append(make_record())

    threads = [threading.Thread(target=append_some) for _ in range(4)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(timeout=60)

    assert seen == list(range(1, 401))


def test_admin_responds_503_when_locked(tmp_path, monkeypatch):
    monkeypatch.setattr(shared_journal, "LOCK_TIMEOUT_SECONDS", 0.1)
    journal = SharedJournal(tmp_path / "journal")
    client = create_app(Config(), journal=journal).test_client()
    holder = threading.Thread(target=journal._acquire)
    holder.start()
    holder.join(timeout=30)

    response = client.get("/_mockgraph/interactions")

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "serviceNotAvailable"
    assert "stayed locked" in response.get_json()["error"]["message"]
