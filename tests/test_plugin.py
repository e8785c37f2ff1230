"""The pytest plugin, exercised in a separate pytest run with pytester."""

from __future__ import annotations

import pytest

from mockgraph import MockGraph


def test_plugin_fixture_serves(mockgraph):
    assert isinstance(mockgraph, MockGraph)
    assert mockgraph.running
    assert mockgraph.url.startswith("http://127.0.0.1:")


def test_plugin_state_reset_between_tests(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import requests

        AUTH = {"Authorization": "Bearer t"}

        def test_first(mockgraph):
            url = mockgraph.url + "/users/1/profile/skills"
            assert requests.post(url, json={"displayName": "a"}, headers=AUTH).status_code == 201
            assert len(mockgraph.interactions) == 1

        def test_second(mockgraph):
            assert len(mockgraph.interactions) == 0
            url = mockgraph.url + "/users/1/profile/skills"
            assert requests.get(url, headers=AUTH).json()["value"] == []
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(passed=2)


def test_plugin_one_server_per_session(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        ports = set()

        def test_a(mockgraph):
            ports.add(mockgraph.port)

        def test_b(mockgraph):
            ports.add(mockgraph.port)
            assert len(ports) == 1
        """
    )

    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_plugin_config_override(pytester: pytest.Pytester):
    pytester.makeconftest(
        """
        import pytest
        from mockgraph import Config

        @pytest.fixture
        def mockgraph_config():
            return Config(port=0, seed=11, strict=True)
        """
    )
    pytester.makepyfile(
        """
        import requests

        def test_strict_and_seeded(mockgraph):
            assert mockgraph.config.seed == 11
            response = requests.post(
                mockgraph.url + "/users/1/profile/skills",
                json={"displayName": "a", "id": "x"},
                headers={"Authorization": "Bearer t"},
            )
            assert response.status_code == 400
        """
    )

    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_plugin_per_test_override(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest
        from mockgraph import Config

        @pytest.fixture
        def mockgraph_config(request):
            return Config(port=0, seed=getattr(request, "param", None))

        @pytest.mark.parametrize("mockgraph_config", [1, 2], indirect=True)
        def test_seed(mockgraph, mockgraph_config):
            assert mockgraph.config.seed == mockgraph_config.seed
        """
    )

    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_plugin_reports_server_failure(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import requests
        from mockgraph import skills

        def test_crash(mockgraph, monkeypatch):
            def explode(*args, **kwargs):
                raise RuntimeError("boom")

            monkeypatch.setattr(skills, "new_skill", explode)
            response = requests.post(
                mockgraph.url + "/users/1/profile/skills",
                json={"displayName": "a"},
                headers={"Authorization": "Bearer t"},
            )
            assert response.status_code == 500
            assert response.json()["error"]["code"] == "generalException"
        """
    )

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*mockgraph failed while handling 1 request(s)*", "*RuntimeError: boom*"]
    )
