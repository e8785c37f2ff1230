"""The application that `mockgraph serve` runs: creates first, Flask on first need."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mockgraph.config import Config
from mockgraph.serving_app import ServedApplication
from mockgraph.state import build_state

from .conftest import SDK_BODY

PATH = "/beta/users/42/profile/skills"
HEADERS = {"Authorization": "Bearer t", "Content-Type": "application/json"}


@pytest.fixture
def served() -> Iterator[ServedApplication]:
    app = ServedApplication(build_state(Config(seed=3)))
    yield app
    app.state.close()


def call(
    app: ServedApplication, method: str, path: str = PATH, body: Any = None
) -> tuple[int, Any]:
    """Send one request through the application; return the status and JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    environ = EnvironBuilder(
        path=path, method=method, data=data, headers=HEADERS
    ).get_environ()
    iterable, status, _headers = run_wsgi_app(app, environ)
    text = b"".join(iterable)
    return int(status.split()[0]), json.loads(text) if text else None


def test_served_create_needs_no_flask(served: ServedApplication) -> None:
    status, body = call(served, "POST", body=SDK_BODY)
    assert status == 201
    assert body["displayName"] == "Python"
    assert not served.flask_ready


def test_served_list_builds_flask(served: ServedApplication) -> None:
    _status, created = call(served, "POST", body=SDK_BODY)
    status, listed = call(served, "GET")
    assert status == 200
    assert [skill["id"] for skill in listed["value"]] == [created["id"]]
    assert served.flask_ready


def test_served_invalid_create_gets_graph_error(served: ServedApplication) -> None:
    status, body = call(served, "POST", body={**SDK_BODY, "proficiency": "wizard"})
    assert status == 400
    assert body["error"]["target"] == "/proficiency"
    assert "wizard" in body["error"]["message"]


def test_served_journal_has_both_paths(served: ServedApplication) -> None:
    call(served, "POST", body=SDK_BODY)
    call(served, "POST", body={"displayName": ""})
    records = served.state.journal.records()
    assert [record.status for record in records] == [201, 400]
    assert [record.operation for record in records] == ["createSkill"] * 2


def test_served_builds_flask_once(served: ServedApplication) -> None:
    built = []
    barrier = threading.Barrier(8)

    def build() -> None:
        barrier.wait(timeout=10)
        built.append(served.flask_app())

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(timeout=30)

    assert len(built) == 8
    assert len({id(app) for app in built}) == 1


def test_served_warm_up_builds_flask(served: ServedApplication) -> None:
    timer = served.warm_up(delay=0)
    timer.join(timeout=30)
    assert served.flask_ready
    assert call(served, "GET", "/_mockgraph/interactions")[0] == 200


def test_served_build_failure_is_graph_500(
    served: ServedApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockgraph import app as app_module

    def broken(**_settings: Any) -> None:
        raise RuntimeError("no routes today")

    monkeypatch.setattr(app_module, "create_app", broken)
    status, body = call(served, "GET")
    assert status == 500
    assert body["error"]["code"] == "generalException"
    assert "no routes today" in body["error"]["message"]
    assert served.state.journal.records()[-1].status == 500
    assert call(served, "GET", "/_mockgraph/interactions")[0] == 500
    assert len(served.state.journal.records()) == 1

    monkeypatch.undo()
    assert call(served, "GET")[0] == 200
    assert served.flask_ready
