from __future__ import annotations

import json
import re

import pytest
import requests

from mockgraph import Config, MockGraph
from mockgraph.contract import ContractRecorder, request_part, response_part
from mockgraph.contract_rules import GUID_REGEX, REQUEST_ID_EXAMPLE, TIMESTAMP_EXAMPLE
from mockgraph.provider_state import STATE_NAME

TOKEN = "secret-token-4711"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {
    "@odata.type": "#microsoft.graph.skillProficiency",
    "displayName": "Python",
    "proficiency": "expert",
}


@pytest.fixture(scope="module")
def server():
    with MockGraph(Config(port=0, seed=5)) as running:
        yield running


@pytest.fixture
def graph(server):
    server.reset()
    return server


def send(graph, method, path, **options):
    options.setdefault("headers", AUTH)
    return requests.request(method, graph.url + path, timeout=10, **options)


def record_all(graph, **options):
    recorder = ContractRecorder("web", metadata={"seed": 5}, **options)
    for record in graph.interactions:
        recorder.add(record)

    return recorder.document()


def body_rule(response, path):
    return response["matchingRules"]["body"][path]["matchers"][0]


def test_document_is_pact_v4(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    document = record_all(graph)

    assert document["consumer"] == {"name": "web"}
    assert document["provider"] == {"name": "graph-beta-profile-skills"}
    assert document["metadata"]["pactSpecification"] == {"version": "4.0"}
    assert document["metadata"]["mockgraph"] == {"seed": 5}
    assert document["interactions"][0]["type"] == "Synchronous/HTTP"


def test_request_keeps_client_values(graph):
    send(
        graph,
        "POST",
        "/users/42/profile/skills?x=%27a%20b%27",
        json=BODY,
        headers={**AUTH, "client-request-id": "c-1"},
    )
    request = request_part(graph.last())

    assert request["method"] == "POST"
    assert request["path"] == "/beta/users/42/profile/skills"
    assert request["query"] == {"x": ["'a b'"]}
    assert request["body"]["content"] == BODY
    assert list(request["body"]["content"]) == list(BODY)
    assert request["headers"]["Client-Request-Id"] == ["c-1"]
    assert "User-Agent" not in request["headers"]
    assert "Host" not in request["headers"]


def test_authorization_value_never_written(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    text = json.dumps(record_all(graph))
    request = request_part(graph.last())

    assert TOKEN not in text
    assert request["headers"]["Authorization"] == ["Bearer [redacted]"]
    assert (
        request["matchingRules"]["header"]["Authorization"]["matchers"][0]["regex"]
        == r"^Bearer \S+$"
    )


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        ("Bearer abc", "Bearer [redacted]"),
        ("bearer abc def", "bearer [redacted]"),
        ("Basic dXNlcjpwYXNz", "Basic [redacted]"),
        ("abc123", "[redacted]"),
        ("Token abc", "[redacted]"),
        ("Bearer", "Bearer"),
        ("", ""),
    ],
)
def test_journal_redacts_credentials(graph, header, stored):
    send(graph, "GET", "/users/42/profile/skills", headers={"Authorization": header})

    assert graph.last().headers["Authorization"] == stored


def test_generated_values_become_rules(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    response = response_part(graph.last())
    content = response["body"]["content"]

    assert content["createdDateTime"] == TIMESTAMP_EXAMPLE
    assert content["lastModifiedDateTime"] == TIMESTAMP_EXAMPLE
    assert body_rule(response, "$.id")["regex"] == GUID_REGEX
    assert body_rule(response, "$.createdDateTime")["match"] == "regex"
    assert body_rule(response, "$.createdBy.user.displayName")["match"] == "type"
    assert body_rule(response, "$.createdBy.user.id")["regex"] == GUID_REGEX
    assert content["displayName"] == "Python"
    assert "$.displayName" not in response["matchingRules"]["body"]


def test_origin_rewritten_with_rule(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    response = response_part(graph.last())
    location = response["headers"]["Location"][0]
    context = response["body"]["content"]["@odata.context"]
    location_rule = response["matchingRules"]["header"]["Location"]["matchers"][0][
        "regex"
    ]

    assert location.startswith("http://localhost/beta/users/42/profile/skills/")
    assert str(graph.port) not in json.dumps(response)
    assert (
        context == "http://localhost/beta/$metadata#users('42')/profile/skills/$entity"
    )
    assert re.search(
        location_rule,
        "https://graph.microsoft.com/beta/users/42/profile/skills/"
        + "0" * 8
        + "-0000-0000-0000-"
        + "0" * 12,
    )
    assert not re.search(
        location_rule, "https://graph.microsoft.com/beta/users/43/profile/skills/x"
    )


def test_request_ids_written_stably(graph):
    send(graph, "POST", "/users/42/profile/skills", json={"displayName": 5})
    response = response_part(graph.last())
    inner = response["body"]["content"]["error"]["innerError"]

    assert response["headers"]["request-id"] == [REQUEST_ID_EXAMPLE]
    assert response["headers"]["client-request-id"] == [REQUEST_ID_EXAMPLE]
    assert inner["request-id"] == REQUEST_ID_EXAMPLE
    assert inner["date"] == "2024-01-01T00:00:00"
    assert body_rule(response, "$.error.message")["match"] == "type"
    assert response["body"]["content"]["error"]["code"] == "invalidRequest"


def test_client_request_id_stays_literal(graph):
    send(
        graph,
        "POST",
        "/users/42/profile/skills",
        json={"displayName": 5},
        headers={**AUTH, "client-request-id": "mine-1"},
    )
    response = response_part(graph.last())

    assert response["headers"]["client-request-id"] == ["mine-1"]
    assert (
        response["body"]["content"]["error"]["innerError"]["client-request-id"]
        == "mine-1"
    )
    assert "client-request-id" not in response["matchingRules"]["header"]


def test_no_content_has_no_body_or_type(graph):
    created = send(graph, "POST", "/users/42/profile/skills", json=BODY).json()
    send(graph, "DELETE", f"/users/42/profile/skills/{created['id']}")
    response = response_part(graph.last())

    assert response["status"] == 204
    assert "body" not in response
    assert "Content-Type" not in response["headers"]


def test_count_body_is_text(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    send(graph, "GET", "/users/42/profile/skills/$count")
    response = response_part(graph.last())

    assert response["body"]["content"] == "1"
    assert response["body"]["contentType"].startswith("text/plain")


def test_rejected_requests_left_out_by_default(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    send(graph, "POST", "/users/42/profile/skills", json={"displayName": 5})

    assert len(record_all(graph)["interactions"]) == 1
    assert len(record_all(graph, record_errors=True)["interactions"]) == 2


def test_distinct_requests_only(graph):
    send(graph, "GET", "/users/42/profile/skills")
    send(graph, "GET", "/users/42/profile/skills")
    send(graph, "GET", "/users/43/profile/skills")

    assert len(record_all(graph)["interactions"]) == 2


def test_same_request_in_new_state_kept(graph):
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    send(graph, "POST", "/users/42/profile/skills", json=BODY)
    interactions = record_all(graph)["interactions"]

    assert len(interactions) == 2
    assert interactions[1]["description"] == "POST /beta/users/42/profile/skills (2)"


def test_provider_state_follows_responses(graph):
    first = send(graph, "POST", "/users/42/profile/skills", json=BODY).json()
    send(graph, "POST", "/users/42/profile/skills", json={"displayName": "Rust"})
    send(graph, "DELETE", f"/users/42/profile/skills/{first['id']}")
    send(graph, "GET", "/users/42/profile/skills")
    states = [item["providerStates"][0] for item in record_all(graph)["interactions"]]

    assert {state["name"] for state in states} == {STATE_NAME}
    assert [len(state["params"]["skills"]) for state in states] == [0, 1, 2, 1]
    assert [state["params"]["creates"] for state in states] == [0, 1, 2, 2]
    assert states[3]["params"]["skills"][0]["displayName"] == "Rust"
    assert states[3]["params"]["skills"][0]["createdDateTime"] == TIMESTAMP_EXAMPLE
    assert "@odata.context" not in states[1]["params"]["skills"][0]


def test_test_name_describes_interaction(graph):
    send(graph, "GET", "/users/42/profile/skills")
    recorder = ContractRecorder("web")
    record = graph.last()
    record.test = "tests/test_web.py::test_list"
    recorder.add(record)
    [interaction] = recorder.document()["interactions"]

    assert (
        interaction["description"]
        == "tests/test_web.py::test_list: GET /beta/users/42/profile/skills"
    )
    assert interaction["comments"] == {"testname": "tests/test_web.py::test_list"}


def test_write_is_complete_json(graph, tmp_path):
    send(
        graph,
        "POST",
        "/users/42/profile/skills",
        json={**BODY, "displayName": "Prüfung 日本語"},
    )
    recorder = ContractRecorder("web")
    for record in graph.interactions:
        recorder.add(record)

    path = recorder.write(tmp_path / "sub" / "web.json")
    text = path.read_text(encoding="utf-8")

    assert json.loads(text) == recorder.document()
    assert "Prüfung 日本語" in text
    assert text.endswith("}\n")
    assert [item.name for item in path.parent.iterdir()] == ["web.json"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_admin_contract_needs_recording(graph):
    response = requests.get(graph.base_url + "/_mockgraph/contract", timeout=10)

    assert response.status_code == 409
    assert "mockgraph serve --record FILE" in response.json()["error"]["message"]
