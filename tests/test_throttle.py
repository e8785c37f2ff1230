from __future__ import annotations

import re

import pytest

from mockgraph import Config, create_app
from mockgraph.throttle import Throttle, ThrottleLimit

AUTH = {"Authorization": "Bearer t"}
SKILLS = "/beta/users/42/profile/skills"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


def throttled_client(clock, limit="2/10", **config):
    app = create_app(Config(throttle=ThrottleLimit.parse(limit), **config))
    app.extensions["mockgraph"].throttle.clock = clock
    return app, app.test_client()


@pytest.mark.parametrize(
    ("text", "requests", "seconds"),
    [("5/10", 5, 10.0), (" 1 / 0.5 ", 1, 0.5), ("100/60", 100, 60.0)],
)
def test_limit_parse(text, requests, seconds):
    limit = ThrottleLimit.parse(text)

    assert limit.requests == requests
    assert limit.window_seconds == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5", "write N/SECONDS"),
        ("5/", "write N/SECONDS"),
        ("a/10", "write N/SECONDS"),
        ("-1/10", "write N/SECONDS"),
        ("0/10", "at least 1"),
        ("5/0", "longer than 0 seconds"),
    ],
)
def test_limit_parse_invalid(text, message):
    with pytest.raises(ValueError, match=message):
        ThrottleLimit.parse(text)


def test_config_throttle_from_string():
    assert Config(throttle="5/10").throttle == ThrottleLimit(5, 10.0)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("0/1", ValueError, "the request limit must be at least 1, got 0"),
        ("abc", ValueError, "invalid throttle limit 'abc': write N/SECONDS"),
        ("5/0", ValueError, "longer than 0 seconds, got 0.0"),
        ((0, 1), TypeError, "throttle must be a ThrottleLimit or a string"),
        (5, TypeError, "got int 5"),
    ],
)
def test_config_throttle_invalid(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Config(throttle=value)


def test_config_throttle_string_limits_requests(clock):
    app = create_app(Config(throttle="1/10"))
    app.extensions["mockgraph"].throttle.clock = clock
    client = app.test_client()
    first = client.get(SKILLS, headers=AUTH)
    second = client.get(SKILLS, headers=AUTH)

    assert first.status_code == 200
    assert second.status_code == 429


def test_admit_within_limit(clock):
    throttle = Throttle(ThrottleLimit(2, 10), clock)

    assert throttle.admit("u") is None
    assert throttle.admit("u") is None
    assert throttle.admit("u") == 10


def test_admit_retry_after_counts_down(clock):
    throttle = Throttle(ThrottleLimit(1, 10), clock)
    throttle.admit("u")
    clock.now += 3.2

    assert throttle.admit("u") == 7


def test_admit_recovers_after_window(clock):
    throttle = Throttle(ThrottleLimit(1, 10), clock)
    throttle.admit("u")
    clock.now += 9.5
    wait = throttle.admit("u")
    clock.now += wait

    assert wait == 1
    assert throttle.admit("u") is None


def test_admit_rejected_requests_not_counted(clock):
    throttle = Throttle(ThrottleLimit(1, 10), clock)
    throttle.admit("u")
    for _ in range(5):
        clock.now += 1
        throttle.admit("u")

    clock.now += 5

    assert throttle.admit("u") is None


def test_admit_users_independent(clock):
    throttle = Throttle(ThrottleLimit(1, 10), clock)
    throttle.admit("alice")

    assert throttle.admit("bob") is None
    assert throttle.admit("alice") == 10


def test_throttle_response_like_graph(clock):
    _app, client = throttled_client(clock, "2/10")
    client.get(SKILLS, headers=AUTH)
    client.get(SKILLS, headers=AUTH)
    clock.now += 4
    response = client.get(SKILLS, headers=AUTH)
    error = response.get_json()["error"]

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "6"
    assert error["code"] == "TooManyRequests"
    assert "the limit is 2 requests per 10 seconds" in error["message"]
    assert "Retry after 6 seconds" in error["message"]


def test_throttle_recovers_after_retry_after(clock):
    _app, client = throttled_client(clock, "1/10")
    client.get(SKILLS, headers=AUTH)
    throttled = client.get(SKILLS, headers=AUTH)
    clock.now += int(throttled.headers["Retry-After"])

    assert client.get(SKILLS, headers=AUTH).status_code == 200


def test_throttle_per_user(clock):
    _app, client = throttled_client(clock, "1/10")
    client.get(SKILLS, headers=AUTH)

    assert client.get("/beta/users/43/profile/skills", headers=AUTH).status_code == 200
    assert client.get(SKILLS, headers=AUTH).status_code == 429


def test_throttle_me_counts_as_its_user(clock):
    _app, client = throttled_client(clock, "1/10")
    client.get("/beta/me/profile/skills", headers=AUTH)
    response = client.get(
        "/beta/users/adele.vance%40contoso.com/profile/skills", headers=AUTH
    )

    assert response.status_code == 429


def test_throttle_skips_preflight_and_admin(clock):
    _app, client = throttled_client(clock, "1/10")
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "GET",
    }
    for _ in range(3):
        client.options(SKILLS, headers=preflight)
        client.get("/_mockgraph/health")

    assert client.get(SKILLS, headers=AUTH).status_code == 200


def test_throttle_marked_in_journal(clock):
    app, client = throttled_client(clock, "1/10")
    client.get(SKILLS, headers=AUTH)
    client.get(SKILLS, headers=AUTH)
    first, second = app.extensions["mockgraph"].journal.records()

    assert first.fault is None
    assert second.fault["throttled"] is True
    assert second.fault["status"] == 429
    assert second.fault["retryAfter"] == 10
    assert second.fault["rules"] == []


def test_throttle_after_fault_rules(clock):
    app, client = throttled_client(clock, "1/10", faults=({"latencyMs": 1},))
    client.get(SKILLS, headers=AUTH)
    client.get(SKILLS, headers=AUTH)
    fault = app.extensions["mockgraph"].journal.records().last().fault

    assert fault["rules"] == [1]
    assert fault["latencyMs"] == 1
    assert fault["throttled"] is True


def test_throttle_status_fault_not_counted(clock):
    _app, client = throttled_client(
        clock, "1/10", faults=({"status": 503, "times": 1},)
    )

    assert client.get(SKILLS, headers=AUTH).status_code == 503
    assert client.get(SKILLS, headers=AUTH).status_code == 200


def test_reset_clears_throttle(clock):
    app, client = throttled_client(clock, "1/10")
    client.get(SKILLS, headers=AUTH)
    app.extensions["mockgraph"].reset()

    assert client.get(SKILLS, headers=AUTH).status_code == 200
