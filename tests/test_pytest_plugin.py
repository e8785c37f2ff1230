"""The pytest plugin, run in a separate pytest process per case.

In-process runs re-import modules such as requests between runs, which breaks them, so
every case uses ``runpytest_subprocess``. Each run starts a new Python process, so the
cases put several tests into one run where they can.
"""

from __future__ import annotations

import json

import pytest

SEEDED_CONFTEST = """
import pytest
from mockgraph import Config

@pytest.fixture(scope="session")
def mockgraph_config():
    return Config(port=0, seed=11)
"""

CLIENT_TESTS = """
import requests

AUTH = {"Authorization": "Bearer secret-4711"}

def create(mockgraph, body, user="42"):
    return requests.post(f"{mockgraph.url}/users/{user}/profile/skills", json=body, headers=AUTH, timeout=10)

def test_create_then_read(mockgraph):
    skill = create(mockgraph, {"displayName": "Python"}).json()
    requests.get(f"{mockgraph.url}/users/42/profile/skills/{skill['id']}", headers=AUTH, timeout=10)
    requests.get(f"{mockgraph.url}/users/42/profile/skills", headers=AUTH, timeout=10)

def test_create_rejected(mockgraph):
    assert create(mockgraph, {"displayName": 5}).status_code == 400
"""

FAILING_AND_MARKED_TESTS = """
import pytest
import requests

AUTH = {"Authorization": "Bearer t"}

def test_fails(mockgraph):
    requests.get(mockgraph.url + "/users/42/profile/skills", headers=AUTH, timeout=10)
    assert False

@pytest.mark.mockgraph(consumer="mobile")
def test_mobile(mockgraph):
    requests.get(mockgraph.url + "/users/7/profile/skills", headers=AUTH, timeout=10)
"""

STRICT_TESTS = """
import pytest
import requests

def send(mockgraph):
    requests.post(mockgraph.url + "/users/42/profile/skills", json={"displayName": 5}, headers={"Authorization": "Bearer t"}, timeout=10)

@pytest.mark.mockgraph(strict=True)
def test_strict(mockgraph):
    send(mockgraph)

def test_lenient(mockgraph):
    send(mockgraph)

@pytest.mark.mockgraph(strict=False)
def test_opted_out(mockgraph):
    send(mockgraph)
"""

ASSERTION_TESTS = """
import requests

AUTH = {"Authorization": "Bearer t"}

def create(mockgraph, body):
    requests.post(mockgraph.url + "/users/42/profile/skills", json=body, headers=AUTH, timeout=10)

def test_expectation_unmet(mockgraph):
    mockgraph.expect("POST", "/users/42/profile/skills", json={"displayName": "Python"}, times=1)
    create(mockgraph, {"displayName": "Rust"})

def test_expectation_met(mockgraph):
    mockgraph.expect("POST", "/users/42/profile/skills", json={"displayName": "Python"}, times=1)
    create(mockgraph, {"displayName": "Python", "proficiency": "expert"})

def test_fails_with_requests(mockgraph):
    create(mockgraph, {"displayName": "Python"})
    create(mockgraph, {"displayName": "Go", "proficiency": "guru"})
    assert mockgraph.last().status == 201

def test_passes_quietly(mockgraph):
    create(mockgraph, {"displayName": "Python"})

def test_fails_without_fixture():
    assert False
"""


def contracts_in(folder):
    return {path.name: json.loads(path.read_text()) for path in folder.glob("*.json")}


@pytest.fixture
def client_project(pytester):
    pytester.makeconftest(SEEDED_CONFTEST)
    pytester.makepyfile(test_client=CLIENT_TESTS)
    return pytester


def test_record_writes_stable_file(client_project):
    first = client_project.runpytest_subprocess("--mockgraph-record", "first")
    second = client_project.runpytest_subprocess("--mockgraph-record", "second")
    name = f"{client_project.path.name}-graph-beta-profile-skills.json"
    path = client_project.path / "first" / name
    document = json.loads(path.read_text())

    first.assert_outcomes(passed=2)
    second.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["mockgraph: wrote 3 interaction(s) to *first*"])
    assert path.read_bytes() == (client_project.path / "second" / name).read_bytes()
    assert document["consumer"] == {"name": client_project.path.name}
    assert document["metadata"]["mockgraph"]["seed"] == 11
    assert len(document["metadata"]["mockgraph"]["schemaVersion"]) == 16
    assert [item["comments"]["testname"] for item in document["interactions"]] == [
        "test_client.py::test_create_then_read"
    ] * 3
    assert "secret-4711" not in path.read_text()
    assert "recorded without a seed" not in first.stdout.str()


def test_record_errors_and_names(client_project):
    options = [
        "--mockgraph-record-errors",
        "--mockgraph-consumer",
        "web",
        "--mockgraph-provider",
        "graph",
    ]
    client_project.runpytest_subprocess("--mockgraph-record", "pacts", *options)
    contracts = contracts_in(client_project.path / "pacts")
    document = contracts["web-graph.json"]

    assert list(contracts) == ["web-graph.json"]
    assert document["provider"] == {"name": "graph"}
    assert [item["response"]["status"] for item in document["interactions"]] == [
        201,
        200,
        200,
        400,
    ]


def test_record_failed_tests_and_markers(pytester):
    pytester.makepyfile(test_mixed=FAILING_AND_MARKED_TESTS)
    result = pytester.runpytest_subprocess("--mockgraph-record", "pacts")
    contracts = contracts_in(pytester.path / "pacts")
    default_name = f"{pytester.path.name}-graph-beta-profile-skills.json"

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*recorded without a seed*"])
    assert sorted(contracts) == sorted(
        [default_name, "mobile-graph-beta-profile-skills.json"]
    )
    assert contracts[default_name]["interactions"] == []
    assert len(contracts["mobile-graph-beta-profile-skills.json"]["interactions"]) == 1


def test_strict_option_and_marker(pytester):
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess("--mockgraph-strict")
    lenient = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_strict*",
            "*strict mode: 1 request(s) were rejected:*",
            "*#1 POST /beta/users/42/profile/skills -> 400: Invalid value 5 for 'displayName'*",
            "*ERROR at teardown of test_lenient*",
        ]
    )
    assert "test_opted_out" not in result.stdout.str()
    lenient.assert_outcomes(passed=3, errors=1)
    lenient.stdout.fnmatch_lines(["*ERROR at teardown of test_strict*"])


def test_expectations_and_report_sections(pytester):
    pytester.makepyfile(test_assertions=ASSERTION_TESTS)
    result = pytester.runpytest_subprocess("-rA")
    output = result.stdout.str()

    result.assert_outcomes(passed=3, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_expectation_unmet*",
            "*expected POST /users/42/profile/skills with JSON containing {'displayName': 'Python'} 1 time(s)*",
            "*body/displayName: values differ: expected 'Python', actual 'Rust'*",
            "*- mockgraph interactions teardown -*",
            "#1 POST /beta/users/42/profile/skills -> 201",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails_with_requests _*",
            "*- mockgraph interactions call -*",
            "#1 POST /beta/users/42/profile/skills -> 201",
            "#2 POST /beta/users/42/profile/skills -> 400: Invalid value 'guru' for 'proficiency'*",
        ]
    )
    assert output.count("mockgraph interactions") == 2
    assert "PASSED test_assertions.py::test_expectation_met" in output
