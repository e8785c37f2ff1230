from __future__ import annotations

import http.client
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from mockgraph.cli import cli

BODY = json.dumps({"displayName": "Python", "proficiency": "expert"})
HEADERS = {"Authorization": "Bearer t", "Content-Type": "application/json"}
START_TIMEOUT_SECONDS = 30
# The installed console script; "python -m mockgraph" would import the source tree.
MOCKGRAPH = os.path.join(os.path.dirname(sys.executable), "mockgraph")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(
    port: int, method: str, path: str, body: str | None = None, **headers: str
) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"mockgraph serve exited with code {process.returncode}"
            )

        try:
            status, _ = request(port, "GET", "/_mockgraph/health")
            if status == 200:
                return
        except OSError:
            time.sleep(0.05)

    raise AssertionError(
        f"mockgraph serve did not answer within {START_TIMEOUT_SECONDS} s"
    )


def start_serve(*options: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [MOCKGRAPH, "serve", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ready(process, port)
    except BaseException:
        process.kill()
        process.communicate(timeout=10)
        raise

    return process, port


def stop_serve(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)

    output, _ = process.communicate(timeout=30)
    return output.decode("utf-8", "replace")


@pytest.fixture
def two_workers() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    process, port = start_serve("--workers", "2", "--threads", "2")
    yield process, port
    stop_serve(process)


def test_workers_share_journal(two_workers):
    _process, port = two_workers
    clients, per_client = 8, 25

    def create(index: int) -> int:
        status, _ = request(
            port,
            "POST",
            "/beta/users/42/profile/skills",
            BODY,
            **HEADERS,
            **{"client-request-id": f"client-{index}"},
        )
        return status

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(create, range(clients * per_client)))

    status, raw = request(port, "GET", "/_mockgraph/interactions")
    listed = json.loads(raw)
    seqs = [record["seq"] for record in listed["value"]]
    ids = [record["headers"].get("Client-Request-Id") for record in listed["value"]]

    assert statuses == [201] * (clients * per_client)
    assert status == 200
    assert listed["count"] == clients * per_client
    assert listed["dropped"] == 0
    assert seqs == list(range(1, clients * per_client + 1))
    assert sorted(ids) == sorted(
        f"client-{index}" for index in range(clients * per_client)
    )


def test_workers_clear_journal_for_all(two_workers):
    _process, port = two_workers
    for _ in range(4):
        request(port, "POST", "/beta/users/42/profile/skills", BODY, **HEADERS)

    cleared, _ = request(port, "DELETE", "/_mockgraph/interactions")
    request(port, "POST", "/beta/users/42/profile/skills", BODY, **HEADERS)
    listed = json.loads(request(port, "GET", "/_mockgraph/interactions")[1])

    assert cleared == 204
    # Numbering goes on after a DELETE, so earlier records keep unique numbers.
    assert [record["seq"] for record in listed["value"]] == [5]


def test_serve_output_names_server_and_workers():
    process, port = start_serve("--workers", "2", "--threads", "1")
    status, _ = request(port, "POST", "/beta/users/42/profile/skills", BODY, **HEADERS)
    output = stop_serve(process)

    assert status == 201
    assert process.returncode == 0
    assert f"serving on http://127.0.0.1:{port}/beta with 2 worker(s)" in output
    assert "skills are kept in sqlite:///" in output
    assert "development server" not in output
    assert "mockgraph stopped" in output


def test_single_worker_lists_created_skill():
    process, port = start_serve()
    try:
        created = json.loads(
            request(port, "POST", "/beta/users/42/profile/skills", BODY, **HEADERS)[1]
        )
        listed = json.loads(
            request(port, "GET", "/beta/users/42/profile/skills", **HEADERS)[1]
        )
    finally:
        output = stop_serve(process)

    assert [skill["id"] for skill in listed["value"]] == [created["id"]]
    assert "skills are kept in memory" in output


def test_workers_share_skills():
    """Concurrent creates through two workers: every skill listed once, ids unique."""
    process, port = start_serve(
        "--workers", "2", "--threads", "2", "--seed", "3", "--page-size", "500"
    )
    clients, per_client = 8, 15
    try:

        def create(index: int) -> str:
            status, body = request(
                port, "POST", "/beta/users/42/profile/skills", BODY, **HEADERS
            )
            assert status == 201
            return json.loads(body)["id"]

        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            created = list(pool.map(create, range(clients * per_client)))

        listed = json.loads(
            request(port, "GET", "/beta/users/42/profile/skills", **HEADERS)[1]
        )
        count = request(port, "GET", "/beta/users/42/profile/skills/$count", **HEADERS)
    finally:
        stop_serve(process)

    ids = [skill["id"] for skill in listed["value"]]
    assert len(set(created)) == clients * per_client
    assert sorted(ids) == sorted(created)
    assert count[1].decode() == str(clients * per_client)


def test_serve_rejects_busy_port():
    process, port = start_serve()
    try:
        second = subprocess.run(
            [MOCKGRAPH, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        stop_serve(process)

    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "choose another with --port" in second.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("--workers", "0"), ("--threads", "0"), ("--journal-limit", "-1")],
)
def test_serve_rejects_out_of_range(option, value):
    result = CliRunner().invoke(cli, ["serve", option, value])

    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output


def synchronous_level(store: Any) -> int:
    """Return the store connection's PRAGMA synchronous: 0 is OFF, 1 is NORMAL."""
    with store._connection() as db:
        return int(db.execute("PRAGMA synchronous").fetchone()[0])


@pytest.mark.parametrize("inherited", [True, False], ids=["forked", "rebuilt"])
def test_scratch_store_skips_disk_syncs(tmp_path, inherited):
    from mockgraph import serving
    from mockgraph.config import Config

    config = Config(store=f"sqlite:///{tmp_path / 'skills.sqlite3'}")
    if inherited:
        app = serving.build_app(config, None, scratch_store=True)
    else:
        app = serving.load_app(serving._encode_target(config, None, True))

    try:
        assert app.state.store.durable is False
        assert synchronous_level(app.state.store) == 0
    finally:
        app.state.close()


def test_named_store_file_stays_durable(tmp_path):
    from mockgraph import serving
    from mockgraph.config import Config

    config = Config(store=f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    app = serving.build_app(config, None)
    try:
        assert app.state.store.durable is True
        assert synchronous_level(app.state.store) == 1
    finally:
        app.state.close()
