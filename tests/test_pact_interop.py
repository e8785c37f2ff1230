"""Contracts recorded by mockgraph and Pact's own tools (pact-python 4) agree."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner
from pact import Pact, Verifier, match

from mockgraph import Config, MockGraph
from mockgraph.cli import cli
from mockgraph.contract import DEFAULT_PROVIDER, ContractRecorder, contract_file_name
from mockgraph.contract import contract_metadata
from mockgraph.fakedata import user_object_id
from mockgraph.provider_state import STATE_NAME

AUTH = {"Authorization": "Bearer t"}
GRAPH_JSON = r"^application/json(\s*;.*)?$"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A contract mockgraph recorded from a create, a read, a list and a delete."""
    folder = tmp_path_factory.mktemp("pacts")
    with MockGraph(Config(port=0, seed=4)) as graph:
        url = graph.url + "/users/alice@contoso.com/profile/skills"
        created = requests.post(
            url,
            json={"displayName": "Python", "categories": ["Languages"]},
            headers=AUTH,
            timeout=10,
        ).json()
        requests.get(f"{url}/{created['id']}", headers=AUTH, timeout=10)
        requests.get(url, headers=AUTH, timeout=10)
        requests.delete(f"{url}/{created['id']}", headers=AUTH, timeout=10)
        requests.get(url + "/$count", headers=AUTH, timeout=10)
        recorder = ContractRecorder("web", metadata=contract_metadata(graph.state))
        for record in graph.interactions:
            recorder.add(record)

    return recorder.write(folder / contract_file_name("web"))


def pact_verify(contract) -> tuple[bool, str]:
    """Verify ``contract`` with Pact's verifier against a fresh, running mockgraph."""
    with MockGraph(Config(port=0)) as graph:
        verifier = (
            Verifier(DEFAULT_PROVIDER, host="127.0.0.1")
            .add_transport(url=graph.base_url)
            .add_source(str(contract))
            .state_handler(graph.base_url + "/_mockgraph/provider-states", body=True)
        )
        try:
            verifier.verify()
        except RuntimeError:
            return False, verifier.output(strip_ansi=True)

        return True, verifier.output(strip_ansi=True)


def test_pact_verifier_passes_recorded_contract(recorded):
    passed, output = pact_verify(recorded)

    assert passed, output
    assert output.count("has status code") == 5


def test_pact_verifier_fails_edited_contract(recorded, tmp_path):
    document = json.loads(recorded.read_text())
    document["interactions"][0]["response"]["body"]["content"]["displayName"] = "Perl"
    edited = tmp_path / recorded.name
    edited.write_text(json.dumps(document))

    passed, output = pact_verify(edited)

    assert not passed
    assert "Perl" in output
    assert "Python" in output


def test_pact_consumer_contract_passes_mockgraph_verify(tmp_path):
    user = "alice@contoso.com"
    existing = {
        "id": "6f1c1d2e-0000-4000-8000-000000000001",
        "displayName": "Go",
        "proficiency": "expert",
    }
    pact = Pact("pact-web", DEFAULT_PROVIDER).with_specification("V4")
    (
        pact.upon_receiving("a request to create a skill")
        .with_request("POST", f"/beta/users/{user}/profile/skills")
        .with_header(
            "Authorization", match.regex("Bearer token", regex=r"^Bearer \S+$")
        )
        .with_header("Content-Type", "application/json")
        .with_body(
            {"displayName": "Python", "proficiency": "expert"},
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_header("Content-Type", match.regex("application/json", regex=GRAPH_JSON))
        .with_header(
            "Location",
            match.regex(
                "http://localhost/beta/users/alice%40contoso.com/profile/skills/6f1c1d2e-0000-4000-8000-000000000002",
                regex=r"^https?://[^/]+/beta/users/alice%40contoso.com/profile/skills/[0-9a-f-]{36}$",
            ),
        )
        .with_body(
            {
                "id": match.uuid(),
                "displayName": "Python",
                "proficiency": "expert",
                "createdDateTime": match.regex(
                    "2024-01-01T00:00:00.0000000Z", regex=r"^\d{4}-\d\d-\d\dT"
                ),
                "createdBy": match.like(
                    {
                        "user": {
                            "id": "6f1c1d2e-0000-4000-8000-000000000003",
                            "displayName": "Alice",
                        }
                    }
                ),
            },
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("a request to list skills")
        .given(STATE_NAME, user=user_object_id(user), skills=[existing], creates=1)
        .with_request("GET", f"/beta/users/{user}/profile/skills")
        .with_header(
            "Authorization", match.regex("Bearer token", regex=r"^Bearer \S+$")
        )
        .will_respond_with(200)
        .with_body(
            {
                "value": match.each_like(
                    {"id": match.uuid(), "displayName": "Go"}, min=1
                )
            },
            content_type="application/json",
        )
    )
    with pact.serve() as mock:
        url = f"{mock.url}/beta/users/{user}/profile/skills"
        headers = {"Authorization": "Bearer token"}
        assert (
            requests.post(
                url,
                json={"displayName": "Python", "proficiency": "expert"},
                headers=headers,
                timeout=10,
            ).status_code
            == 201
        )
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
        assert mock.matched

    pact.write_file(tmp_path)
    [contract] = tmp_path.glob("*.json")
    result = CliRunner().invoke(cli, ["verify", str(contract)])

    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("2 passed, 0 failed")
