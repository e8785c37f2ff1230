from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import threading

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from mockgraph import Config, MockGraph
from mockgraph.cli import cli
from mockgraph.contract import ContractRecorder, contract_metadata
from mockgraph.response_check import Reply
from mockgraph.validation import default_schema_dir
from mockgraph.verify import replay

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    """A contract recorded from a create, a read, a list, a delete and a rejected create."""
    path = tmp_path_factory.mktemp("contracts") / "web.json"
    with MockGraph(Config(port=0, seed=9)) as graph:
        url = graph.url + "/users/42/profile/skills"
        created = requests.post(
            url,
            json={"displayName": "Python", "proficiency": "expert"},
            headers=AUTH,
            timeout=10,
        ).json()
        requests.get(f"{url}/{created['id']}", headers=AUTH, timeout=10)
        requests.patch(
            f"{url}/{created['id']}",
            json={"proficiency": "elementary"},
            headers=AUTH,
            timeout=10,
        )
        requests.get(url, headers=AUTH, timeout=10)
        requests.delete(f"{url}/{created['id']}", headers=AUTH, timeout=10)
        requests.post(url, json={"displayName": 5}, headers=AUTH, timeout=10)
        recorder = ContractRecorder(
            "web", metadata=contract_metadata(graph.state), record_errors=True
        )
        for record in graph.interactions:
            recorder.add(record)

    recorder.write(path)
    return path


def run(*arguments):
    result = CliRunner().invoke(cli, ["verify", *map(str, arguments)])
    return result.exit_code, result.output


def edited(contract, tmp_path, change):
    document = json.loads(contract.read_text())
    change(document["interactions"])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return path


def test_verify_recorded_contract_passes(contract):
    code, output = run(contract)

    assert code == 0
    assert output.count("  PASS  ") == 6
    assert output.rstrip().endswith("6 passed, 0 failed")


def test_verify_in_process_logs_no_requests(contract):
    completed = subprocess.run(
        [sys.executable, "-m", "mockgraph", "verify", str(contract)],
        capture_output=True,
        text=True,
        timeout=60,
        # Away from the checkout, whose source folder would shadow the installed
        # package.
        cwd=contract.parent,
    )

    assert completed.returncode == 0, completed.stderr
    assert "6 passed, 0 failed" in completed.stdout
    assert "mockgraph.access" not in completed.stderr


def test_verify_contract_with_head_passes(tmp_path):
    path = tmp_path / "head.json"
    with MockGraph(Config(port=0, seed=9)) as graph:
        url = graph.url + "/users/42/profile/skills"
        requests.post(url, json={"displayName": "Python"}, headers=AUTH, timeout=10)
        requests.head(url, headers=AUTH, timeout=10)
        recorder = ContractRecorder("web", metadata=contract_metadata(graph.state))
        for record in graph.interactions:
            recorder.add(record)

    recorder.write(path)
    head = json.loads(path.read_text())["interactions"][1]
    exit_code, output = run(path)

    assert head["request"]["method"] == "HEAD"
    assert "body" not in head["response"]
    assert exit_code == 0, output
    assert "PASS  HEAD /beta/users/42/profile/skills" in output


def test_verify_reports_body_mismatch(contract, tmp_path):
    def change(interactions):
        interactions[0]["response"]["body"]["content"]["displayName"] = "Perl"

    code, output = run(edited(contract, tmp_path, change))

    assert code == 1
    assert "  FAIL  POST /beta/users/42/profile/skills" in output
    assert (
        "/body/displayName: values differ: expected 'Perl', actual 'Python'" in output
    )
    assert output.rstrip().endswith("5 passed, 1 failed")


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda item: item["response"].update(status=200),
            "/status: status differs: expected 200, actual 201",
        ),
        (
            lambda item: item["response"]["headers"].update({"OData-Version": ["3.0"]}),
            "/headers/OData-Version: values differ: expected '3.0', actual '4.0'",
        ),
        (
            lambda item: item["response"]["headers"].update({"X-Extra": ["1"]}),
            "/headers/X-Extra: header missing",
        ),
        (
            lambda item: item["response"]["body"]["content"].update(level=3),
            "/body/level: missing: expected 3",
        ),
        (
            lambda item: item["response"]["body"]["content"].update(categories=["a"]),
            "/body/categories: values differ: expected ['a'], actual None",
        ),
    ],
)
def test_verify_reports_each_mismatch(contract, tmp_path, change, line):
    code, output = run(
        edited(contract, tmp_path, lambda interactions: change(interactions[0]))
    )

    assert code == 1
    assert line in output


def test_verify_regex_rule_checked(contract, tmp_path):
    def change(interactions):
        rules = interactions[0]["response"]["matchingRules"]["body"]
        rules["$.id"]["matchers"][0]["regex"] = "^x"

    code, output = run(edited(contract, tmp_path, change))

    assert code == 1
    assert "/body/id: does not match '^x'" in output


def test_verify_rejects_huge_creates(contract, tmp_path):
    def change(interactions):
        for interaction in interactions:
            for state in interaction.get("providerStates", []):
                state["params"]["creates"] = 99999999999999999999999

    code, output = run(edited(contract, tmp_path, change))

    assert code == 1
    assert "Invalid value 99999999999999999999999 for 'params.creates'" in output
    assert output.rstrip().endswith("0 passed, 6 failed")


def test_verify_invalid_regex_rule_fails(contract, tmp_path):
    def change(interactions):
        rules = interactions[0]["response"]["matchingRules"]["body"]
        rules["$.id"]["matchers"][0] = {"match": "regex", "regex": "("}

    code, output = run(edited(contract, tmp_path, change))

    assert code == 1
    assert "/body/id: cannot be checked: the rule's regular expression '(' is" in output
    assert "missing ), unterminated subpattern" in output
    assert output.count("  PASS  ") == 5
    assert output.rstrip().endswith("5 passed, 1 failed")


def test_verify_against_provider_url(contract):
    with MockGraph(Config(port=0)) as graph:
        code, output = run(contract, "--provider-url", graph.base_url)

    assert code == 0
    assert "note:" not in output
    assert output.rstrip().endswith("6 passed, 0 failed")


def not_found_app(environ, start_response):
    # Read the body, so closing the connection never resets it before the client reads.
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"nothing here"]


def test_verify_against_other_server(contract):
    server = make_server("127.0.0.1", 0, not_found_app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, output = run(
            contract, "--provider-url", f"http://127.0.0.1:{server.server_port}"
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    assert code == 1
    assert "note: provider states are not set up" in output
    assert "/status: status differs: expected 201, actual 404" in output


def test_verify_unreachable_provider(contract):
    with MockGraph(Config(port=0)) as graph:
        url = graph.base_url

    code, output = run(contract, "--provider-url", url)

    assert code == 1
    assert "error:" in output


def test_verify_invalid_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    code, output = run(path)

    assert code == 2
    assert "is not valid JSON" in output


def test_verify_missing_interactions(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"consumer": {"name": "x"}}))
    code, output = run(path)

    assert code == 2
    assert "has no 'interactions' array" in output


@pytest.mark.parametrize(
    "interaction, text",
    [
        ("GET /", "interaction 0 is str 'GET /', not an object"),
        ({"description": "no request"}, "interaction 0 has no 'request' object"),
        ({"request": {"path": "/beta/me/profile/skills"}}, "request method None"),
    ],
)
def test_verify_malformed_interaction(tmp_path, interaction, text):
    path = tmp_path / "malformed.json"
    path.write_text(json.dumps({"interactions": [interaction]}))
    code, output = run(path)

    assert code == 2
    assert text in output


def test_verify_empty_contract_fails(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"interactions": []}))
    code, output = run(path)

    assert code == 1
    assert "no HTTP interactions to verify" in output


class RecordingProvider:
    def __init__(self):
        self.sent = []

    def set_state(self, name, params):
        pass

    def send(self, method, target, headers, body):
        self.sent.append((method, target, headers, body))
        return Reply(200, {}, b"")


def test_replay_substitutes_token():
    provider = RecordingProvider()
    interaction = {
        "description": "list",
        "request": {
            "method": "GET",
            "path": "/beta/users/alice@contoso.com/profile/skills",
            "query": {"$filter": ["proficiency eq 'expert'"], "$top": ["5"]},
            "headers": {"Authorization": ["Bearer [redacted]"]},
        },
        "response": {"status": 200},
    }
    result = replay(provider, interaction, token="real-token")
    [(method, target, headers, body)] = provider.sent

    assert result.passed
    assert method == "GET"
    assert (
        target
        == "/beta/users/alice@contoso.com/profile/skills?$filter=proficiency%20eq%20'expert'&$top=5"
    )
    assert headers == {"Authorization": "Bearer real-token"}
    assert body is None


def test_schema_only_passes(contract):
    code, output = run("--schema-only", contract)

    assert code == 0
    assert "  PASS  POST /beta/users/42/profile/skills" in output
    assert "  PASS  PATCH " in output
    assert "SKIP  GET " in output
    assert "recorded as rejected with status 400" in output
    assert output.rstrip().endswith("2 passed, 0 failed")


def test_schema_only_catches_schema_change(contract, tmp_path):
    schema_dir = tmp_path / "schemas"
    shutil.copytree(default_schema_dir(), schema_dir)
    resource = schema_dir / "skillProficiency.json"
    schema = json.loads(resource.read_text())
    enum = copy.deepcopy(schema["properties"]["proficiency"]["enum"])
    schema["properties"]["proficiency"]["enum"] = [
        value for value in enum if value != "expert"
    ]
    resource.write_text(json.dumps(schema))

    code, output = run("--schema-only", "--schema-dir", schema_dir, contract)

    assert code == 1
    assert "note: recorded with schema version" in output
    assert "  FAIL  POST /beta/users/42/profile/skills" in output
    assert "/proficiency: enum: Invalid value 'expert'" in output
    assert output.rstrip().endswith("1 passed, 1 failed")
