from __future__ import annotations

import pytest
import requests

from mockgraph import Config, MockGraph
from mockgraph.expectations import subset_mismatches

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def server():
    with MockGraph(Config(port=0, seed=1)) as running:
        yield running


@pytest.fixture
def graph(server):
    server.reset()
    return server


def create(graph, body, user="42"):
    return requests.post(
        f"{graph.url}/users/{user}/profile/skills", json=body, headers=AUTH, timeout=10
    )


def test_expect_met(graph):
    graph.expect(
        "POST", "/users/42/profile/skills", json={"displayName": "Python"}, times=1
    )
    create(graph, {"displayName": "Python", "proficiency": "expert"})

    graph.check_expectations()


def test_expect_counts_exactly(graph):
    graph.expect("POST", "/users/42/profile/skills", times=1)
    create(graph, {"displayName": "Python"})
    create(graph, {"displayName": "Rust"})

    with pytest.raises(AssertionError) as failure:
        graph.check_expectations()

    assert "requested 2 time(s)" in str(failure.value)
    assert "Matching requests:" in str(failure.value)


def test_expect_at_least_once_by_default(graph):
    graph.expect("POST", "/users/*/profile/skills")
    create(graph, {"displayName": "Python"})
    create(graph, {"displayName": "Rust"}, user="43")

    graph.check_expectations()


def test_expect_times_zero(graph):
    graph.expect("DELETE", "/users/42/profile/skills/*", times=0)
    create(graph, {"displayName": "Python"})

    graph.check_expectations()


def test_expect_failure_shows_nearest_differences(graph):
    graph.expect(
        "POST",
        "/users/42/profile/skills",
        json={"displayName": "Python", "proficiency": "expert"},
    )
    create(graph, {"displayName": "Rust", "proficiency": "expert"})
    requests.get(f"{graph.url}/users/42/profile/skills", headers=AUTH, timeout=10)

    with pytest.raises(AssertionError) as failure:
        graph.check_expectations()

    message = str(failure.value)
    assert "expected POST /users/42/profile/skills with JSON containing" in message
    assert "requested 0 time(s)" in message
    assert "Nearest requests made:" in message
    assert (
        "body/displayName: values differ: expected 'Python', actual 'Rust'" in message
    )
    assert "method: method differs: expected 'POST', actual 'GET'" in message
    assert message.index("#1 POST") < message.index("#2 GET")


def test_expect_failure_with_no_requests(graph):
    graph.expect("GET", "/users/42/profile/skills")

    with pytest.raises(AssertionError, match="No requests were made"):
        graph.check_expectations()


def test_expect_negative_times_rejected(graph):
    with pytest.raises(ValueError, match="times must be 0 or more"):
        graph.expect("GET", "/x", times=-1)


def test_reset_clears_expectations(graph):
    graph.expect("GET", "/users/42/profile/skills")
    graph.reset()

    graph.check_expectations()


def test_assert_requested_with_json(graph):
    create(graph, {"displayName": "Python"})
    create(graph, {"displayName": "Rust"})

    matches = graph.assert_requested(
        "POST", "/users/42/profile/skills", json={"displayName": "Rust"}, times=1
    )

    assert len(matches) == 1
    assert matches[0].seq == 2


def test_assert_requested_with_json_fails(graph):
    create(graph, {"displayName": "Python"})

    with pytest.raises(AssertionError, match="expected 'Go', actual 'Python'"):
        graph.assert_requested(
            "POST", "/users/42/profile/skills", json={"displayName": "Go"}
        )


def test_last_returns_latest(graph):
    create(graph, {"displayName": "Python"})
    create(graph, {"displayName": "Rust", "proficiency": "guru"})

    assert graph.last().status == 400


def test_filter_by_operation_and_status(graph):
    create(graph, {"displayName": "Python"})
    create(graph, {"displayName": 5})

    assert len(graph.interactions.filter(operation="createSkill")) == 2
    assert len(graph.interactions.filter(operation="createSkill", status=400)) == 1


def test_subset_ignores_other_keys():
    assert subset_mismatches({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}) == []


def test_subset_reports_each_difference():
    mismatches = subset_mismatches(
        {"a": 1, "b": [1, 2], "c": {"d": "x"}}, {"a": 2, "b": [1], "c": {}}
    )

    assert [item.pointer for item in mismatches] == ["/a", "/b", "/c/d"]
