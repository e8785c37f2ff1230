from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from mockgraph import Config, MockGraph
from mockgraph.provider_state import STATE_NAME

AUTH = {"Authorization": "Bearer t"}
SERVE_TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(tmp_path):
    """Start `mockgraph serve` with extra options; stop it at the end of the test."""
    processes = []

    def start(*options):
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "mockgraph",
            "serve",
            "--port",
            str(port),
            *options,
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if (
                    requests.get(base + "/_mockgraph/health", timeout=1).status_code
                    == 200
                ):
                    return process, base
            except requests.ConnectionError:
                time.sleep(0.1)

        raise AssertionError(f"mockgraph serve did not start on port {port}")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()

        process.wait(timeout=SERVE_TIMEOUT)
        process.stderr.close()


def create(base, body):
    return requests.post(
        base + "/beta/users/42/profile/skills", json=body, headers=AUTH, timeout=10
    )


def test_serve_writes_contract_on_sigterm(serve, tmp_path):
    contract = tmp_path / "frontend.json"
    process, base = serve("--record", str(contract), "--consumer", "skills-page")
    create(base, {"displayName": "Python"})
    create(base, {"displayName": 5})
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=SERVE_TIMEOUT) == 0
    document = json.loads(contract.read_text())
    assert document["consumer"] == {"name": "skills-page"}
    assert len(document["interactions"]) == 1
    assert document["interactions"][0]["response"]["status"] == 201


def test_serve_writes_contract_on_request(serve, tmp_path):
    contract = tmp_path / "frontend.json"
    _process, base = serve("--record", str(contract), "--record-errors")
    create(base, {"displayName": "Python"})
    create(base, {"displayName": 5})
    response = requests.post(base + "/_mockgraph/contract", timeout=10)
    shown = requests.get(base + "/_mockgraph/contract", timeout=10).json()

    assert response.status_code == 200
    assert response.json() == {"path": str(contract), "interactions": 2}
    assert json.loads(contract.read_text()) == shown
    assert [item["response"]["status"] for item in shown["interactions"]] == [201, 400]


def test_serve_contract_leaves_out_admin_requests(serve, tmp_path):
    contract = tmp_path / "frontend.json"
    _process, base = serve("--record", str(contract))
    requests.get(base + "/_mockgraph/health", timeout=10)
    requests.post(base + "/_mockgraph/contract", timeout=10)

    assert json.loads(contract.read_text())["interactions"] == []


@pytest.fixture(scope="module")
def graph():
    with MockGraph(Config(port=0, seed=2)) as server:
        yield server


def set_state(graph, body):
    return requests.post(
        graph.base_url + "/_mockgraph/provider-states", json=body, timeout=10
    )


def test_provider_state_loads_skills(graph):
    graph.reset()
    created = create(graph.base_url, {"displayName": "Python"}).json()
    skill = {key: value for key, value in created.items() if key != "@odata.context"}
    user = graph.last().user
    graph.reset()
    response = set_state(
        graph,
        {
            "state": STATE_NAME,
            "params": {"user": user, "skills": [skill], "creates": 1},
        },
    )
    listed = requests.get(
        graph.url + "/users/42/profile/skills", headers=AUTH, timeout=10
    ).json()
    second = create(graph.base_url, {"displayName": "Rust"})

    assert response.status_code == 200
    assert [item["id"] for item in listed["value"]] == [skill["id"]]
    assert second.status_code == 201
    assert second.json()["id"] != skill["id"]


@pytest.mark.parametrize(
    ("body", "target", "text"),
    [
        (
            {"state": "user 42 exists"},
            "state",
            "Unknown provider state 'user 42 exists'",
        ),
        (
            {"state": STATE_NAME, "params": {"skills": []}},
            "params.user",
            "Invalid value None for 'params.user'",
        ),
        (
            {"state": STATE_NAME, "params": {"user": "u", "skills": {}}},
            "params.skills",
            "expected an array",
        ),
        (
            {"state": STATE_NAME, "params": {"user": "u", "creates": -1}},
            "params.creates",
            "Invalid value -1",
        ),
        (
            {
                "state": STATE_NAME,
                "params": {"user": "u", "creates": 99999999999999999999999},
            },
            "params.creates",
            "Invalid value 99999999999999999999999 for 'params.creates': expected a "
            "count from 0 to 1000000.",
        ),
        (
            {
                "state": STATE_NAME,
                "params": {"user": "u", "skills": [{"id": "x", "level": 1}]},
            },
            "params.skills[0]",
            "'level' does not exist",
        ),
        ({"state": 5}, "state", "Invalid value 5 for 'state'"),
        ({"state": "", "action": "undo"}, "action", "'setup' or 'teardown'"),
    ],
)
def test_provider_state_rejects_invalid(graph, body, target, text):
    response = set_state(graph, body)
    error = response.json()["error"]

    assert response.status_code == 400
    assert error["target"] == target
    assert text in error["message"]


@pytest.mark.parametrize(
    "body", [{"state": ""}, {"state": STATE_NAME, "action": "teardown"}]
)
def test_provider_state_no_op(graph, body):
    assert set_state(graph, body).status_code == 200
