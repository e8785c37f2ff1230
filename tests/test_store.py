"""The two skill stores: one contract, concurrency, and what only SQLite does."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from mockgraph import Config, GraphError, MockGraph, create_app
from mockgraph.fakedata import user_object_id
from mockgraph.sqlite_store import SQLiteStore
from mockgraph.store import MemoryStore, SkillExistsError, SkillStore, open_store

AUTH = {"Authorization": "Bearer t"}


def skill(skill_id, name="Python"):
    return {"id": skill_id, "displayName": name}


@pytest.fixture
def store(store_spec):
    opened = open_store(store_spec)
    yield opened
    opened.close()


# The SkillStore contract, on both stores


def test_store_insert_get_list(store):
    store.insert("u1", skill("b", "Go"))
    store.insert("u1", skill("a", "Python"))
    store.insert("u2", skill("c"))

    assert store.get("u1", "a") == skill("a", "Python")
    assert store.get("u2", "a") is None
    assert [item["id"] for item in store.list("u1")] == ["b", "a"]
    assert store.list("nobody") == []


def test_store_insert_duplicate(store):
    store.insert("u1", skill("a"))

    with pytest.raises(SkillExistsError):
        store.insert("u1", skill("a", "Other"))

    assert store.get("u1", "a") == skill("a")


def test_store_same_id_for_two_users(store):
    store.insert("u1", skill("a", "One"))
    store.insert("u2", skill("a", "Two"))

    assert store.get("u1", "a")["displayName"] == "One"
    assert store.get("u2", "a")["displayName"] == "Two"


def test_store_returns_copies(store):
    store.insert("u1", skill("a"))
    store.get("u1", "a")["displayName"] = "changed"
    store.list("u1")[0]["displayName"] = "changed"

    assert store.get("u1", "a")["displayName"] == "Python"


def test_store_update(store):
    store.insert("u1", skill("a"))
    updated = store.update("u1", "a", lambda current: {**current, "displayName": "Go"})

    assert updated == skill("a", "Go")
    assert store.get("u1", "a") == skill("a", "Go")
    assert store.update("u1", "missing", lambda current: current) is None
    assert store.update("u2", "a", lambda current: current) is None


def test_store_update_failure_changes_nothing(store):
    store.insert("u1", skill("a"))

    def fail(current):
        current["displayName"] = "half-done"
        raise ValueError("change failed")

    with pytest.raises(ValueError):
        store.update("u1", "a", fail)

    assert store.get("u1", "a") == skill("a")


def test_store_delete(store):
    store.insert("u1", skill("a"))

    assert store.delete("u1", "a") is True
    assert store.delete("u1", "a") is False
    assert store.get("u1", "a") is None


def test_store_sequences(store):
    values = [store.next_sequence("u1", "create") for _ in range(3)]

    assert values == [0, 1, 2]
    assert store.next_sequence("u2", "create") == 0
    assert store.next_sequence("u1", "other") == 0


def test_store_set_sequence(store):
    store.next_sequence("u1", "create")
    store.set_sequence("u1", "create", 10**6)

    assert store.next_sequence("u1", "create") == 10**6
    assert store.next_sequence("u1", "other") == 0


@pytest.mark.parametrize("value", [0, 1, 5])
def test_store_default_set_sequence(store, value):
    SkillStore.set_sequence(store, "u1", "create", value)

    assert store.next_sequence("u1", "create") == value


def numbered(sequence):
    return skill(f"s{sequence}")


def test_store_create_numbers_each_create(store):
    created = [store.create("u1", numbered, attempts=3) for _ in range(3)]

    assert [item["id"] for item in created] == ["s0", "s1", "s2"]
    assert store.list("u1") == created
    assert store.next_sequence("u1", "create") == 3


@pytest.mark.parametrize("create", [SkillStore.create, None], ids=["default", "own"])
def test_store_create_uncounted(store, create):
    store.insert("u1", skill("taken"))
    drawn = iter(["taken", "fresh"])
    create = create or type(store).create

    created = create(store, "u1", lambda _sequence: skill(next(drawn)), 3, False)

    assert created == skill("fresh")
    assert [item["id"] for item in store.list("u1")] == ["taken", "fresh"]
    assert store.next_sequence("u1", "create") == 0


@pytest.mark.parametrize("create", [SkillStore.create, None], ids=["default", "own"])
def test_store_create_skips_taken_ids(store, create):
    store.insert("u1", skill("s0"))
    store.insert("u1", skill("s1"))
    create = create or type(store).create

    created = create(store, "u1", numbered, 3)

    assert created == skill("s2")
    assert [item["id"] for item in store.list("u1")] == ["s0", "s1", "s2"]
    assert store.next_sequence("u1", "create") == 3


@pytest.mark.parametrize("create", [SkillStore.create, None], ids=["default", "own"])
def test_store_create_gives_up_after_attempts(store, create):
    store.insert("u1", skill("taken", "Old"))
    create = create or type(store).create

    created = create(store, "u1", lambda _sequence: skill("taken", "New"), 3)

    assert created is None
    assert store.list("u1") == [skill("taken", "Old")]
    assert store.next_sequence("u1", "create") == 3


def test_store_threads_create_distinct_skills(store):
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda _: store.create("u1", numbered, 3), range(200)))

    assert sorted(int(item["id"][1:]) for item in created) == list(range(200))
    assert len(store.list("u1")) == 200


def test_store_seed_once(store):
    calls = []

    def build(first):
        calls.append(first)
        return [skill(f"s{first + offset}") for offset in range(2)]

    store.next_sequence("u1", "create")

    assert store.seed("u1", build) is True
    assert store.seed("u1", build) is False
    assert calls == [1]
    assert store.list("u1") == [skill("s1"), skill("s2")]
    assert store.next_sequence("u1", "create") == 3
    assert store.mark_seen("u1") is False


def test_store_seed_failure_changes_nothing(store):
    def build(_first):
        raise ValueError("build failed")

    with pytest.raises(ValueError, match="build failed"):
        store.seed("u1", build)

    assert store.list("u1") == []
    assert store.mark_seen("u1") is True


def test_store_mark_seen(store):
    assert store.mark_seen("u1") is True
    assert store.mark_seen("u1") is False
    assert store.mark_seen("u2") is True


def test_store_dump_load(store):
    store.insert("u1", skill("a"))
    store.next_sequence("u1", "create")
    store.load({"u2": [skill("x"), skill("y")]})

    assert store.dump() == {"u2": [skill("x"), skill("y")]}
    assert store.get("u1", "a") is None
    assert store.next_sequence("u1", "create") == 0
    assert store.mark_seen("u2") is False


def test_store_clear(store):
    store.insert("u1", skill("a"))
    store.mark_seen("u1")
    store.next_sequence("u1", "create")
    store.clear()

    assert store.dump() == {}
    assert store.mark_seen("u1") is True
    assert store.next_sequence("u1", "create") == 0


def test_store_threads_share_counter(store):
    with ThreadPoolExecutor(8) as pool:
        values = list(
            pool.map(lambda _: store.next_sequence("u1", "create"), range(200))
        )

    assert sorted(values) == list(range(200))


def test_store_threads_update_atomically(store):
    store.insert("u1", {"id": "a", "displayName": "counter", "hits": 0})

    def bump(_):
        store.update(
            "u1", "a", lambda current: {**current, "hits": current["hits"] + 1}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(200)))

    assert store.get("u1", "a")["hits"] == 200


# Concurrent requests never lose or duplicate a skill


def test_concurrent_requests_keep_every_skill(store_spec):
    with MockGraph(Config(port=0, store=store_spec)) as graph:
        url = graph.url + "/users/42/profile/skills"
        session = requests.Session()
        session.headers.update(AUTH)

        def create(index):
            response = session.post(
                url, json={"displayName": f"skill {index}"}, timeout=30
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(60)))

        # Patch a third, delete a third, and create as many new skills, all at once.
        def change(index):
            skill_id = ids[index]
            if index % 3 == 0:
                body = {"displayName": f"renamed {index}"}
                return session.patch(
                    f"{url}/{skill_id}", json=body, timeout=30
                ).status_code

            if index % 3 == 1:
                return session.delete(f"{url}/{skill_id}", timeout=30).status_code

            return create(100 + index)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(change, range(60)))

        listed = session.get(url, params={"$top": "100"}, timeout=30).json()["value"]
        count = session.get(url + "/$count", timeout=30).text
        session.close()

    new_ids = results[2::3]
    remaining_ids = [skill_id for index, skill_id in enumerate(ids) if index % 3 != 1]
    names = {item["id"]: item["displayName"] for item in listed}

    assert len(set(ids + new_ids)) == 80
    assert results[0::3] == [200] * 20
    assert results[1::3] == [204] * 20
    assert sorted(names) == sorted(remaining_ids + new_ids)
    assert len(listed) == 60
    assert [names[ids[index]] for index in range(0, 60, 3)] == [
        f"renamed {index}" for index in range(0, 60, 3)
    ]
    assert count == "60"


# SQLite only


def test_sqlite_survives_reopen(tmp_path):
    path = tmp_path / "skills.db"
    first = SQLiteStore(path)
    first.insert("u1", skill("a"))
    first.next_sequence("u1", "create")
    first.close()
    second = SQLiteStore(path)

    assert second.get("u1", "a") == skill("a")
    assert second.next_sequence("u1", "create") == 1
    second.close()


def test_sqlite_uses_wal(tmp_path):
    store = SQLiteStore(tmp_path / "skills.db")
    store.close()
    mode = (
        sqlite3.connect(tmp_path / "skills.db")
        .execute("PRAGMA journal_mode")
        .fetchone()
    )

    assert mode == ("wal",)


def test_sqlite_two_stores_share_file(tmp_path):
    first = SQLiteStore(tmp_path / "skills.db")
    second = SQLiteStore(tmp_path / "skills.db")
    first.insert("u1", skill("a"))

    assert second.get("u1", "a") == skill("a")
    assert second.delete("u1", "a") is True
    assert first.get("u1", "a") is None
    first.close()
    second.close()


# Each process takes 50 numbers from the shared counter and prints them as JSON.
COUNTER_SCRIPT = """
import json, sys
from mockgraph.sqlite_store import SQLiteStore
store = SQLiteStore(sys.argv[1])
print(json.dumps([store.next_sequence("u1", "create") for _ in range(50)]))
store.close()
"""


def run_in_processes(script, path, count=3):
    """Run ``script`` on ``path`` in ``count`` processes at once and return the JSON values they print."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, path], stdout=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * count
    return [value for output in outputs for value in json.loads(output)]


def test_sqlite_counter_across_processes(tmp_path):
    path = str(tmp_path / "skills.db")
    SQLiteStore(path).close()

    values = run_in_processes(COUNTER_SCRIPT, path)

    assert sorted(values) == list(range(150))


CREATE_SCRIPT = """
import json, sys
from mockgraph.sqlite_store import SQLiteStore
store = SQLiteStore(sys.argv[1])
created = [store.create("u1", lambda n: {"id": f"s{n}"}, 3) for _ in range(50)]
print(json.dumps([item["id"] for item in created]))
store.close()
"""


def test_sqlite_create_across_processes(tmp_path):
    path = str(tmp_path / "skills.db")
    SQLiteStore(path).close()

    created = run_in_processes(CREATE_SCRIPT, path)
    store = SQLiteStore(path)
    stored = [item["id"] for item in store.list("u1")]
    store.close()

    assert sorted(created) == sorted(f"s{number}" for number in range(150))
    assert sorted(stored) == sorted(created)


def test_sqlite_create_without_returning(tmp_path, monkeypatch):
    store = SQLiteStore(tmp_path / "skills.db")
    store.insert("u1", skill("s0"))
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))

    created = store.create("u1", numbered, 3)

    assert created == skill("s1")
    assert store.next_sequence("u1", "create") == 2
    store.close()


def test_sqlite_forked_child_writes(tmp_path):
    store = SQLiteStore(tmp_path / "skills.db")
    store.insert("u1", skill("parent"))
    pid = os.fork()
    if pid == 0:
        try:
            store.insert("u1", skill("child"))
            store.close()
        finally:
            os._exit(0)

    os.waitpid(pid, 0)
    store.insert("u1", skill("parent-again"))

    assert [item["id"] for item in store.list("u1")] == [
        "parent",
        "child",
        "parent-again",
    ]
    store.close()


def test_sqlite_locked_is_503(tmp_path):
    path = tmp_path / "skills.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(GraphError) as caught:
            store.insert("u1", skill("a"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert caught.value.status == 503
    assert caught.value.code == "serviceNotAvailable"
    assert caught.value.headers["Retry-After"] == "1"
    store.insert("u1", skill("a"))
    assert store.get("u1", "a") == skill("a")
    store.close()


def test_sqlite_writer_wait_bounded(tmp_path):
    store = SQLiteStore(tmp_path / "skills.db", busy_timeout=0.05)
    holding = threading.Event()
    release = threading.Event()

    def hold_writer():
        with store._writer.hold():
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_writer)
    holder.start()
    holding.wait(timeout=30)
    try:
        with pytest.raises(GraphError) as caught:
            store.insert("u1", skill("a"))
    finally:
        release.set()
        holder.join()

    assert caught.value.status == 503
    assert "another thread of this process" in caught.value.message
    store.insert("u1", skill("a"))
    assert store.get("u1", "a") == skill("a")
    store.close()


def read_only_connect(store):
    return lambda: sqlite3.connect(
        f"file:{store.path}?mode=ro", uri=True, isolation_level=None
    )


def test_sqlite_read_only_rejected_at_start(tmp_path, monkeypatch):
    path = tmp_path / "skills.db"
    SQLiteStore(path).close()
    monkeypatch.setattr(SQLiteStore, "_connect", lambda self: read_only_connect(self)())

    with pytest.raises(ValueError, match="is read-only"):
        SQLiteStore(path)


class FullDisk:
    def execute(self, *_args):
        raise sqlite3.OperationalError("database or disk is full")

    def close(self):
        pass


@pytest.mark.parametrize(
    "connect, status, code",
    [
        (read_only_connect, 503, "serviceNotAvailable"),
        (lambda _store: FullDisk, 507, "insufficientStorage"),
    ],
    ids=["read-only", "disk-full"],
)
def test_sqlite_unwritable_file_is_graph_error(tmp_path, connect, status, code):
    store = SQLiteStore(tmp_path / "skills.db")
    store._writer.close()
    store._writer._connect = connect(store)

    with pytest.raises(GraphError) as caught:
        store.insert("u1", skill("a"))

    assert caught.value.status == status
    assert caught.value.code == code
    assert "cannot be written" in caught.value.message
    store.close()


def test_sqlite_closed_store_raises(tmp_path):
    store = SQLiteStore(tmp_path / "skills.db")
    store.close()

    with pytest.raises(RuntimeError, match="is closed"):
        store.list("u1")


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("sqlite:///", "expected 'sqlite:///path.db'"),
        ("sqlite:///:memory:", "use 'memory'"),
        ("sqlite:///no/such/folder/x.db", "does not exist"),
    ],
)
def test_sqlite_url_invalid(url, text):
    with pytest.raises(ValueError, match=re.escape(text)):
        open_store(url)


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("skills", ["name", "level"]),
        ("sequences", ["user", "kind"]),
        ("seen_users", ["user", "since"]),
    ],
)
def test_sqlite_rejects_foreign_table(tmp_path, table, columns):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")

    db.close()
    with pytest.raises(ValueError) as caught:
        open_store(f"sqlite:///{path}")

    assert f"SQLite file {str(path)!r}" in str(caught.value)
    assert f"already has a table {table!r} with columns {columns!r}" in str(
        caught.value
    )


def test_sqlite_rejects_text_file(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_text("not a database\n" * 100)

    with pytest.raises(ValueError) as caught:
        open_store(f"sqlite:///{path}")

    assert f"cannot open SQLite store {str(path)!r}" in str(caught.value)
    assert "file is not a database" in str(caught.value)


def test_sqlite_rejects_folder(tmp_path):
    with pytest.raises(ValueError) as caught:
        open_store(f"sqlite:///{tmp_path}")

    assert f"cannot open SQLite store {str(tmp_path)!r}" in str(caught.value)


def test_open_store_memory():
    assert isinstance(open_store("memory"), MemoryStore)


def test_config_rejects_unknown_store():
    with pytest.raises(ValueError, match="'postgres://x'"):
        Config(store="postgres://x")


# Skills survive a restart of `mockgraph serve`


def _serve(path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    executable = Path(sys.executable).with_name("mockgraph")
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(executable), "serve", "--port", "0", "--store", f"sqlite:///{path}"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+/beta)", log.read_text())
        if match:
            return process, match.group(1)

        if process.poll() is not None:
            break

        time.sleep(0.05)

    process.kill()
    process.wait(timeout=10)
    raise AssertionError(f"mockgraph serve did not start:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_serve_keeps_skills_across_restart(tmp_path):
    path = tmp_path / "skills.db"
    process, url = _serve(path, tmp_path / "first.log")
    try:
        created = requests.post(
            url + "/me/profile/skills",
            json={"displayName": "Python"},
            headers=AUTH,
            timeout=10,
        ).json()
    finally:
        _stop(process)

    process, url = _serve(path, tmp_path / "second.log")
    try:
        listed = requests.get(
            url + "/me/profile/skills", headers=AUTH, timeout=10
        ).json()
    finally:
        _stop(process)

    assert [item["id"] for item in listed["value"]] == [created["id"]]
    assert "skills are kept in sqlite:///" in (tmp_path / "first.log").read_text()


def test_serve_rejects_bad_store(tmp_path):
    executable = Path(sys.executable).with_name("mockgraph")
    result = subprocess.run(
        [str(executable), "serve", "--port", "0", "--store", "redis://x"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )

    assert result.returncode == 2
    assert "'redis://x'" in result.stderr


@pytest.mark.parametrize("kind", ["text file", "folder", "foreign table"])
def test_serve_rejects_unusable_sqlite_file(tmp_path, kind):
    path = tmp_path / "other.db"
    if kind == "text file":
        path.write_text("not a database\n")
    elif kind == "folder":
        path.mkdir()
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE skills (name, level)")

        db.close()

    executable = Path(sys.executable).with_name("mockgraph")
    result = subprocess.run(
        [str(executable), "serve", "--port", "0", "--store", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: cannot start the server: ")
    assert result.stderr.count("\n") == 1
    assert repr(str(path)) in result.stderr


# A create draws another id when a loaded skill already has the one drawn

SKILLS_PATH = "/beta/users/42/profile/skills"


def post_skill(client, name):
    return client.post(SKILLS_PATH, json={"displayName": name}, headers=AUTH)


def test_seeded_create_skips_loaded_id(store_spec):
    first = create_app(Config(seed=3, store="memory")).test_client()
    drawn = post_skill(first, "Python").get_json()["id"]
    app = create_app(Config(seed=3, store=store_spec))
    app.extensions["mockgraph"].store.insert(
        user_object_id("42"), skill(drawn, "Loaded")
    )

    response = post_skill(app.test_client(), "Python")

    assert response.status_code == 201
    assert response.get_json()["id"] != drawn
    listed = app.test_client().get(SKILLS_PATH, headers=AUTH).get_json()["value"]
    assert [item["displayName"] for item in listed] == ["Loaded", "Python"]
    app.extensions["mockgraph"].store.close()


def test_unseeded_create_skips_taken_id(store_spec, monkeypatch):
    app = create_app(Config(store=store_spec))
    state = app.extensions["mockgraph"]
    state.store.insert(user_object_id("42"), skill("taken", "Loaded"))
    drawn = iter(["taken", "fresh"])
    monkeypatch.setattr(state.fabricator, "skill_id", lambda *_args: next(drawn))

    response = post_skill(app.test_client(), "Python")

    assert response.status_code == 201
    assert response.get_json()["id"] == "fresh"
    state.store.close()


@pytest.mark.parametrize("seed", [None, 3])
def test_create_without_free_id_is_409(store_spec, monkeypatch, seed):
    app = create_app(Config(seed=seed, store=store_spec))
    state = app.extensions["mockgraph"]
    state.store.insert(user_object_id("42"), skill("taken", "Loaded"))
    monkeypatch.setattr(state.fabricator, "skill_id", lambda *_args: "taken")

    response = post_skill(app.test_client(), "Python")

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    assert len(state.store.list(user_object_id("42"))) == 1
    state.store.close()
