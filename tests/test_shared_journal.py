from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mockgraph import Config, create_app
from mockgraph.journal import Interaction
from mockgraph.shared_journal import TRIM_EVERY, SqliteJournal

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
def journal(tmp_path: Path) -> SqliteJournal:
    return SqliteJournal(tmp_path / "journal.sqlite3", limit=1000)


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
    other = SqliteJournal(tmp_path / "journal.sqlite3", limit=1000)
    other.append(make_record(path="/b"))

    assert [record.path for record in journal.records()] == ["/a", "/b"]
    assert [record.seq for record in other.records()] == [1, 2]


@pytest.mark.parametrize("limit", [0, 1, 5, TRIM_EVERY + 3])
def test_limit_keeps_newest(tmp_path, limit):
    journal = SqliteJournal(tmp_path / "journal.sqlite3", limit=limit)
    total = 2 * TRIM_EVERY + 7
    for index in range(total):
        journal.append(make_record(path=f"/{index}"))

    records = journal.records()
    assert len(records) == limit
    assert [record.seq for record in records] == list(
        range(total - limit + 1, total + 1)
    )
    assert journal.dropped == total - limit


def test_clear_restarts_numbering(journal):
    journal.append(make_record())
    journal.append(make_record())
    journal.clear()
    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [1]
    assert journal.dropped == 0


@pytest.mark.parametrize("limit", [10, 1000])
def test_clear_keeping_numbers_drops_nothing(tmp_path, limit):
    journal = SqliteJournal(tmp_path / "journal.sqlite3", limit=limit)
    for _ in range(20):
        journal.append(make_record())

    journal.clear(restart_numbering=False)
    journal.append(make_record())

    assert [record.seq for record in journal.records()] == [21]
    assert journal.dropped == 0


def test_clear_keeping_numbers_then_limit(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite3", limit=3)
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


def test_failing_sink_keeps_record(journal):
    def broken(record: Interaction) -> None:
        raise OSError("disk full")

    journal.sinks.append(broken)
    journal.append(make_record())

    assert len(journal.records()) == 1


def test_negative_limit_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least 0"):
        SqliteJournal(tmp_path / "journal.sqlite3", limit=-1)


def append_many(path: str, worker: int, count: int) -> None:
    journal = SqliteJournal(path, limit=100_000)
    for index in range(count):
        journal.append(make_record(path=f"/{worker}/{index}"))


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_processes_lose_and_duplicate_nothing(journal):
    # Forked children inherit the parent's instance and must open their own connections.
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=append_many, args=(journal.path, worker, 200))
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
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    client = create_app(Config(), journal=journal).test_client()
    client.post(
        "/beta/users/42/profile/skills", json={"displayName": "x"}, headers=AUTH
    )
    listed = client.get("/_mockgraph/interactions").get_json()

    assert listed["count"] == 1
    assert listed["value"][0]["status"] == 201
    assert listed["dropped"] == 0
