from __future__ import annotations

import pytest
import requests

from mockgraph import Config, GraphError, MockGraph, create_app
from mockgraph.fault_rules import FaultSpec, parse_rule

AUTH = {"Authorization": "Bearer t"}
SKILLS = "/beta/users/42/profile/skills"


def client_with(*rules, **config):
    app = create_app(Config(faults=rules, **config))
    return app, app.test_client()


def journal(app):
    return app.extensions["mockgraph"].journal.records()


def statuses(client, count, path=SKILLS, method="get"):
    send = getattr(client, method)
    extra = {"json": {"displayName": "x"}} if method == "post" else {}
    return [send(path, headers=AUTH, **extra).status_code for _ in range(count)]


# Rule validation


@pytest.mark.parametrize(
    ("rule", "target", "text"),
    [
        ({"status": 503, "colour": "red"}, "colour", "unknown field 'colour'"),
        (
            {"status": "503"},
            "status",
            "'status' is '503', but it must be an integer from 400 to 599",
        ),
        ({"status": 302}, "status", "from 400 to 599"),
        ({"status": 418}, "status", "or come with a 'code'"),
        ({"status": True}, "status", "an integer"),
        ({"method": "P0ST", "status": 503}, "method", "an HTTP method"),
        ({"path": "users/*", "status": 503}, "path", "starts with '/'"),
        ({"path": "", "status": 503}, "path", "a path such as"),
        ({"user": 42, "status": 503}, "user", "a user id or principal name"),
        ({"status": 503, "retryAfter": -1}, "retryAfter", "from 0 to 86400"),
        ({"status": 503, "retryAfter": 1.5}, "retryAfter", "an integer"),
        ({"latencyMs": -5}, "latencyMs", "from 0 to 60000"),
        ({"latencyMs": 60001}, "latencyMs", "from 0 to 60000"),
        ({"latencyMs": [500, 100]}, "latencyMs", "min <= max"),
        ({"latencyMs": [1, 2, 3]}, "latencyMs", "[min, max]"),
        ({"latencyMs": "slow"}, "latencyMs", "a number of milliseconds"),
        ({"drop": "yes"}, "drop", "true or false"),
        (
            {"drop": True, "status": 503},
            "drop",
            "because a dropped connection sends no status",
        ),
        ({"retryAfter": 1, "latencyMs": 5}, "retryAfter", "unless 'status' is set"),
        ({"code": "x", "drop": True}, "code", "unless 'status' is set"),
        ({"status": 503, "nth": 0}, "nth", "an integer of 1 or more"),
        ({"status": 503, "times": 0}, "times", "an integer of 1 or more"),
        ({"status": 503, "probability": 1.5}, "probability", "a number from 0 to 1"),
        ({"status": 503, "probability": "half"}, "probability", "a number from 0 to 1"),
        ({"method": "POST"}, "status", "it has no effect"),
        ({}, "status", "it has no effect"),
    ],
)
def test_rule_invalid_names_field(rule, target, text):
    with pytest.raises(GraphError) as caught:
        parse_rule(rule)

    assert caught.value.status == 400
    assert caught.value.code == "invalidRequest"
    assert caught.value.target == target
    assert text in caught.value.message


@pytest.mark.parametrize("rule", [[], "503", None, 503])
def test_rule_must_be_object(rule):
    with pytest.raises(GraphError) as caught:
        parse_rule(rule)

    assert "expected a JSON object" in caught.value.message


@pytest.mark.parametrize(
    "rule",
    [
        {
            "method": "POST",
            "path": "/users/*/profile/skills",
            "status": 503,
            "times": 1,
        },
        {"status": 429, "retryAfter": 3, "nth": 2},
        {"status": 418, "code": "teapot", "message": "short and stout"},
        {"latencyMs": 250},
        {"latencyMs": [100.0, 500.0], "probability": 0.5},
        {"drop": True, "user": "alice@contoso.com"},
    ],
)
def test_rule_json_round_trip(rule):
    assert parse_rule(rule).to_json() == rule


def test_rule_method_case_insensitive():
    assert parse_rule({"method": "post", "status": 503}).method == "POST"


def test_config_rejects_invalid_rule():
    with pytest.raises(ValueError, match="'status' is 'x'"):
        Config(faults=({"status": "x"},))


# Matching


@pytest.mark.parametrize(
    ("rule", "method", "path", "fires"),
    [
        ({"method": "POST"}, "post", SKILLS, True),
        ({"method": "POST"}, "get", SKILLS, False),
        ({"path": "/users/*/profile/skills"}, "get", SKILLS, True),
        (
            {"path": "/beta/users/42/profile/skills"},
            "get",
            "/users/42/profile/skills",
            True,
        ),
        ({"path": "/users/43/profile/skills"}, "get", SKILLS, False),
        ({"path": "/users/*/profile/skills/*"}, "get", SKILLS + "/abc", True),
        ({"user": "42"}, "get", SKILLS, True),
        ({"user": "43"}, "get", SKILLS, False),
        (
            {"user": "ALICE@contoso.com"},
            "get",
            "/beta/users/alice%40contoso.com/profile/skills",
            True,
        ),
        ({"user": "adele.vance@contoso.com"}, "get", "/beta/me/profile/skills", True),
        ({"user": "a*"}, "get", "/beta/users/alice/profile/skills", True),
        ({}, "get", "/beta/groups", False),
    ],
)
def test_rule_matching(rule, method, path, fires):
    _app, client = client_with({**rule, "status": 503})
    response = getattr(client, method)(
        path, headers=AUTH, json={"displayName": "x"} if method == "post" else None
    )

    assert (response.status_code == 503) is fires


def test_rule_matches_user_by_object_id():
    from mockgraph.fakedata import user_object_id

    object_id = user_object_id("alice@contoso.com")
    _app, client = client_with({"user": "alice@contoso.com", "status": 503})

    assert statuses(client, 1, f"/beta/users/{object_id}/profile/skills") == [503]


def test_rule_without_method_skips_preflight():
    _app, client = client_with({"status": 503})
    response = client.options(
        SKILLS,
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
        },
    )

    assert response.status_code == 204


def test_rule_with_options_fails_preflight():
    _app, client = client_with({"method": "OPTIONS", "status": 503})
    response = client.options(
        SKILLS,
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
        },
    )

    assert response.status_code == 503


def test_rule_never_touches_admin_api():
    _app, client = client_with({"status": 503})

    assert client.get("/_mockgraph/health").status_code == 200


# Triggers


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ({}, [503, 503, 503, 503, 503]),
        ({"times": 2}, [503, 503, 200, 200, 200]),
        ({"nth": 3}, [200, 200, 503, 200, 200]),
        ({"nth": 2, "times": 2}, [200, 503, 503, 200, 200]),
        ({"probability": 0}, [200, 200, 200, 200, 200]),
        ({"probability": 1, "times": 1}, [503, 200, 200, 200, 200]),
    ],
)
def test_trigger_pattern(trigger, expected):
    _app, client = client_with({"status": 503, **trigger})

    assert statuses(client, 5) == expected


def test_trigger_counts_only_matches():
    _app, client = client_with({"method": "POST", "status": 503, "nth": 2})
    statuses(client, 3)

    assert statuses(client, 3, method="post") == [201, 503, 201]


def test_trigger_counters_listed():
    _app, client = client_with({"status": 503, "times": 2})
    statuses(client, 3)
    rule = client.get("/_mockgraph/faults").get_json()["value"][0]

    assert rule["matched"] == 3
    assert rule["fired"] == 2
    assert rule["exhausted"] is True


def fired_pattern(seed, count=40):
    _app, client = client_with({"status": 503, "probability": 0.5}, seed=seed)
    return statuses(client, count)


def test_probability_reproducible_under_seed():
    first = fired_pattern(seed=3)
    second = fired_pattern(seed=3)

    assert first == second
    assert 503 in first
    assert 200 in first


def test_probability_changes_with_seed():
    assert fired_pattern(seed=3) != fired_pattern(seed=4)


def test_probability_seeded_per_user_order():
    # The draw depends on the rule and its match count, not on which user came first.
    _app_a, client_a = client_with(
        {"status": 503, "probability": 0.5, "user": "42"}, seed=9
    )
    _app_b, client_b = client_with(
        {"status": 503, "probability": 0.5, "user": "42"}, seed=9
    )
    statuses(client_b, 5, "/beta/users/7/profile/skills")

    assert statuses(client_a, 20) == statuses(client_b, 20)


def test_first_status_rule_decides():
    _app, client = client_with({"status": 503, "times": 1}, {"status": 429, "times": 2})
    answers = [client.get(SKILLS, headers=AUTH) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [503, 429, 200]


# Effects


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalidRequest"),
        (403, "accessDenied"),
        (404, "itemNotFound"),
        (429, "TooManyRequests"),
        (500, "generalException"),
        (502, "badGateway"),
        (503, "serviceNotAvailable"),
        (504, "gatewayTimeout"),
    ],
)
def test_effect_status_has_graph_code(status, code):
    _app, client = client_with({"status": status})
    response = client.get(SKILLS, headers=AUTH)
    error = response.get_json()["error"]

    assert response.status_code == status
    assert error["code"] == code
    assert "fault rule 1 matched GET /beta/users/42/profile/skills" in error["message"]
    assert "DELETE /_mockgraph/faults/1" in error["message"]
    assert error["innerError"]["request-id"] == response.headers["request-id"]


def test_effect_retry_after_header():
    _app, client = client_with({"status": 503, "retryAfter": 7})

    assert client.get(SKILLS, headers=AUTH).headers["Retry-After"] == "7"


def test_effect_429_gets_default_retry_after():
    _app, client = client_with({"status": 429})

    assert client.get(SKILLS, headers=AUTH).headers["Retry-After"] == "1"


def test_effect_503_without_retry_after():
    _app, client = client_with({"status": 503})

    assert "Retry-After" not in client.get(SKILLS, headers=AUTH).headers


def test_effect_401_has_authenticate_header():
    _app, client = client_with({"status": 401})
    response = client.get(SKILLS, headers=AUTH)

    assert response.get_json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_effect_custom_code_and_message():
    _app, client = client_with(
        {"status": 429, "code": "activityLimitReached", "message": "slow down"}
    )
    error = client.get(SKILLS, headers=AUTH).get_json()["error"]

    assert error["code"] == "activityLimitReached"
    assert error["message"] == "slow down"


def test_effect_fault_comes_before_auth():
    _app, client = client_with({"status": 503})

    assert client.get(SKILLS).status_code == 503


def test_effect_latency_recorded_in_range():
    app, client = client_with({"latencyMs": [1, 5]}, {"latencyMs": 2})
    response = client.get(SKILLS, headers=AUTH)
    fault = journal(app).last().fault

    assert response.status_code == 200
    assert fault["rules"] == [1, 2]
    assert 3 <= fault["latencyMs"] <= 7
    assert fault["status"] is None


def test_effect_latency_reproducible_under_seed():
    def latencies(seed):
        app, client = client_with({"latencyMs": [0, 3]}, seed=seed)
        statuses(client, 3)
        return [record.fault["latencyMs"] for record in journal(app)]

    assert latencies(5) == latencies(5)


def test_effect_latency_with_status():
    app, client = client_with({"latencyMs": 1}, {"status": 503})
    client.get(SKILLS, headers=AUTH)
    fault = journal(app).last().fault

    assert fault["latencyMs"] == 1
    assert fault["status"] == 503


def test_fault_record_in_journal():
    app, client = client_with({"status": 503, "times": 1})
    statuses(client, 2)
    first, second = journal(app)

    assert first.fault == {
        "rules": [1],
        "requested": False,
        "throttled": False,
        "latencyMs": 0.0,
        "status": 503,
        "code": "serviceNotAvailable",
        "retryAfter": None,
        "dropped": False,
    }
    assert second.fault is None


# Dropped connections


def test_drop_under_test_client_raises():
    app, client = client_with({"drop": True})

    with pytest.raises(ConnectionAbortedError):
        client.get(SKILLS, headers=AUTH)

    record = journal(app).last()
    assert record.status == 0
    assert record.fault["dropped"] is True
    assert record.valid is False


def test_drop_under_mockgraph_server():
    with MockGraph(Config(port=0, faults=({"drop": True, "times": 1},))) as graph:
        with pytest.raises(requests.ConnectionError):
            requests.get(
                graph.url + "/users/42/profile/skills", headers=AUTH, timeout=10
            )

        after = requests.get(
            graph.url + "/users/42/profile/skills", headers=AUTH, timeout=10
        )
        records = graph.interactions

    assert after.status_code == 200
    assert [record.status for record in records] == [0, 200]
    assert records[0].fault["dropped"] is True


# Prefer header


def test_prefer_status():
    app, client = client_with()
    response = client.get(SKILLS, headers={**AUTH, "Prefer": "mockgraph-status=503"})
    error = response.get_json()["error"]

    assert response.status_code == 503
    assert error["code"] == "serviceNotAvailable"
    assert "Prefer header requested it" in error["message"]
    assert journal(app).last().fault["requested"] is True


def test_prefer_retry_after_and_code():
    _app, client = client_with()
    prefer = "odata.maxpagesize=5, mockgraph-status=429; x=1, mockgraph-retry-after=4, mockgraph-code=activityLimitReached"
    response = client.get(SKILLS, headers={**AUTH, "Prefer": prefer})

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert response.get_json()["error"]["code"] == "activityLimitReached"


def test_prefer_semicolon_form():
    _app, client = client_with()
    prefer = "mockgraph-status=503; mockgraph-retry-after=3"
    response = client.get(SKILLS, headers={**AUTH, "Prefer": prefer})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"


@pytest.mark.parametrize(
    "prefer",
    [
        "mockgraph-status=503, mockgraph-status=500",
        "mockgraph-status=503; mockgraph-status=500",
    ],
)
def test_prefer_repeated_rejected(prefer):
    _app, client = client_with()
    response = client.get(SKILLS, headers={**AUTH, "Prefer": prefer})
    error = response.get_json()["error"]

    assert response.status_code == 400
    assert error["target"] == "mockgraph-status"
    assert "given more than once" in error["message"]


@pytest.mark.parametrize(("latency", "low", "high"), [("2", 2, 2), ("1-3", 1, 3)])
def test_prefer_latency(latency, low, high):
    app, client = client_with()
    response = client.get(
        SKILLS, headers={**AUTH, "Prefer": f"mockgraph-latency={latency}"}
    )
    fault = journal(app).last().fault

    assert response.status_code == 200
    assert low <= fault["latencyMs"] <= high


def test_prefer_drop():
    _app, client = client_with()

    with pytest.raises(ConnectionAbortedError):
        client.get(SKILLS, headers={**AUTH, "Prefer": "mockgraph-drop"})


def test_prefer_overrides_rule_status():
    _app, client = client_with({"status": 503})
    response = client.get(SKILLS, headers={**AUTH, "Prefer": "mockgraph-status=404"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("prefer", "target", "text"),
    [
        ("mockgraph-status=abc", "mockgraph-status", "'mockgraph-status' is 'abc'"),
        ("mockgraph-status=200", "mockgraph-status", "from 400 to 599"),
        (
            "mockgraph-latency=fast",
            "mockgraph-latency",
            "'mockgraph-latency' is 'fast'",
        ),
        ("mockgraph-latency=9-1", "mockgraph-latency", "min <= max"),
        (
            "mockgraph-retry-after=2",
            "mockgraph-retry-after",
            "unless 'mockgraph-status' is set",
        ),
        ("mockgraph-drop=maybe", "mockgraph-drop", "true or false"),
        (
            "mockgraph-colour=red",
            "mockgraph-colour",
            "unknown preference 'mockgraph-colour'",
        ),
    ],
)
def test_prefer_invalid_names_preference(prefer, target, text):
    _app, client = client_with()
    response = client.get(SKILLS, headers={**AUTH, "Prefer": prefer})
    error = response.get_json()["error"]

    assert response.status_code == 400
    assert error["target"] == target
    assert text in error["message"]
    assert "Invalid Prefer header" in error["message"]


def test_prefer_other_preferences_ignored():
    _app, client = client_with()
    response = client.get(
        SKILLS,
        headers={**AUTH, "Prefer": 'return=minimal, odata.include-annotations="*"'},
    )

    assert response.status_code == 200


# Admin API


def test_admin_add_list_delete():
    _app, client = client_with({"status": 500})
    added = client.post(
        "/_mockgraph/faults", json={"method": "GET", "status": 503, "times": 1}
    )
    listed = client.get("/_mockgraph/faults").get_json()
    deleted = client.delete("/_mockgraph/faults/1")
    remaining = client.get("/_mockgraph/faults").get_json()["value"]

    assert added.status_code == 201
    assert added.get_json()["id"] == 2
    assert listed["count"] == 2
    assert [rule["status"] for rule in listed["value"]] == [500, 503]
    assert deleted.status_code == 204
    assert [rule["id"] for rule in remaining] == [2]
    assert statuses(client, 2) == [503, 200]


def test_admin_rule_added_at_run_time_fires():
    _app, client = client_with()
    client.post("/_mockgraph/faults", json={"status": 504, "nth": 2})

    assert statuses(client, 3) == [200, 504, 200]


def test_admin_invalid_rule_is_graph_400():
    _app, client = client_with()
    response = client.post("/_mockgraph/faults", json={"status": 503, "times": "once"})
    error = response.get_json()["error"]

    assert response.status_code == 400
    assert error["code"] == "invalidRequest"
    assert error["target"] == "times"
    assert "'times' is 'once'" in error["message"]


def test_admin_unreadable_body_is_400():
    _app, client = client_with()
    response = client.post(
        "/_mockgraph/faults", data="{", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "BadRequest"


@pytest.mark.parametrize("rule_id", ["9", "abc"])
def test_admin_delete_unknown_is_404(rule_id):
    _app, client = client_with({"status": 503})
    response = client.delete(f"/_mockgraph/faults/{rule_id}")
    error = response.get_json()["error"]

    assert response.status_code == 404
    assert error["code"] == "itemNotFound"
    assert "[1]" in error["message"]


def test_admin_clear():
    _app, client = client_with({"status": 503}, {"status": 500})

    assert client.delete("/_mockgraph/faults").status_code == 204
    assert client.get("/_mockgraph/faults").get_json()["count"] == 0
    assert statuses(client, 1) == [200]


def test_reset_restores_configured_rules():
    app, client = client_with({"status": 503, "times": 1})
    statuses(client, 1)
    client.post("/_mockgraph/faults", json={"status": 500})
    app.extensions["mockgraph"].reset()
    rules = client.get("/_mockgraph/faults").get_json()["value"]

    assert [rule["id"] for rule in rules] == [1]
    assert rules[0]["matched"] == 0
    assert statuses(client, 2) == [503, 200]


def test_spec_objects_accepted_in_config():
    _app, client = client_with(FaultSpec(status=503))

    assert statuses(client, 1) == [503]
