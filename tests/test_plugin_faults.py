from __future__ import annotations

import pytest
import requests

from mockgraph import Config

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def mockgraph_config():
    return Config(port=0, faults=({"status": 500, "times": 1},))


def test_plugin_injected_500_does_not_fail_test(mockgraph):
    url = mockgraph.url + "/users/42/profile/skills"
    first = requests.get(url, headers=AUTH, timeout=10)
    second = requests.get(url, headers=AUTH, timeout=10)
    added = requests.post(
        mockgraph.base_url + "/_mockgraph/faults", json={"status": 503}, timeout=10
    )

    assert added.status_code == 201
    assert first.status_code == 500
    assert first.json()["error"]["code"] == "generalException"
    assert second.status_code == 200


def test_plugin_keeps_only_configured_rules(mockgraph):
    rules = requests.get(mockgraph.base_url + "/_mockgraph/faults", timeout=10).json()

    assert [rule["status"] for rule in rules["value"]] == [500]
    assert rules["value"][0]["matched"] == 0
