from __future__ import annotations

import socket
import threading

import pytest
import requests

from mockgraph import Config, MockGraph

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def graph():
    with MockGraph(seed=5) as server:
        yield server


def create(graph: MockGraph, user: str = "42", **body):
    return requests.post(
        f"{graph.url}/users/{user}/profile/skills",
        json={"displayName": "Python", **body},
        headers=AUTH,
        timeout=10,
    )


def test_server_binds_loopback_free_port(graph):
    assert graph.url == f"http://127.0.0.1:{graph.port}/beta"
    assert graph.port != 8080


def test_server_stop_releases_port():
    graph = MockGraph().start()
    port = graph.port
    graph.stop()
    graph.stop()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_server_restart_after_stop(tmp_path):
    graph = MockGraph(journal_file=str(tmp_path / "j.jsonl")).start()
    graph.stop()

    with graph:
        assert create(graph).status_code == 201

    assert len((tmp_path / "j.jsonl").read_text().splitlines()) == 1


def test_server_oversized_body_answered_not_reset():
    with MockGraph(max_body_bytes=1000) as graph:
        session = requests.Session()
        big = b'{"displayName": "' + b"x" * 3_000_000 + b'"}'
        response = session.post(
            f"{graph.url}/users/42/profile/skills",
            data=big,
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=30,
        )
        follow_up = session.post(
            f"{graph.url}/users/42/profile/skills",
            json={"displayName": "ok"},
            headers=AUTH,
            timeout=10,
        )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"
    assert follow_up.status_code == 201


def test_server_concurrent_creates_all_recorded(graph):
    ids: list[str] = []
    lock = threading.Lock()

    def worker(user: str):
        for _ in range(10):
            skill_id = create(graph, user).json()["id"]
            with lock:
                ids.append(skill_id)

    threads = [threading.Thread(target=worker, args=(f"u{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join()

    assert len(set(ids)) == 60
    assert len(graph.interactions) == 60
    assert sorted(record.seq for record in graph.interactions) == list(range(1, 61))


def test_reset_clears_state(graph):
    create(graph)
    graph.reset()

    assert len(graph.interactions) == 0
    listed = requests.get(
        f"{graph.url}/users/42/profile/skills", headers=AUTH, timeout=10
    )
    assert listed.json()["value"] == []


def test_configure_applies_new_settings(graph):
    graph.configure(graph.config.with_changes(strict=True))

    assert create(graph, id="x").status_code == 400


def test_configure_cannot_move_port(graph):
    with pytest.raises(ValueError, match="cannot move a running server"):
        graph.configure(Config(port=graph.port + 1))


def test_assert_requested_passes(graph):
    create(graph)
    create(graph)

    assert len(graph.assert_requested("POST", "/users/42/profile/skills", times=2)) == 2
    graph.assert_requested("post", "/beta/users/*/profile/skills")


def test_assert_requested_lists_similar(graph):
    create(graph, user="43")
    create(graph, user="43", proficiency="guru")

    with pytest.raises(AssertionError) as caught:
        graph.assert_requested("POST", "/users/42/profile/skills", times=1)

    message = str(caught.value)
    assert "expected POST /users/42/profile/skills 1 time(s)" in message
    assert "requested 0 time(s)" in message
    assert "#1 POST /beta/users/43/profile/skills -> 201" in message
    assert (
        "#2 POST /beta/users/43/profile/skills -> 400: Invalid value 'guru'" in message
    )


def test_assert_requested_without_requests(graph):
    with pytest.raises(AssertionError, match="No requests were made"):
        graph.assert_requested("GET", "/users/42/profile/skills")


def test_assert_all_valid_lists_rejections(graph):
    create(graph)
    create(graph, proficiency="guru", webUrl=5)

    with pytest.raises(AssertionError) as caught:
        graph.assert_all_valid()

    message = str(caught.value)
    assert "1 request(s) were rejected" in message
    assert "#2 POST /beta/users/42/profile/skills -> 400" in message
    assert "/webUrl: Invalid value 5" in message


def test_assert_all_valid_passes(graph):
    create(graph)

    graph.assert_all_valid()
