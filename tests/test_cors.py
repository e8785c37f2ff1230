from __future__ import annotations

import json
import re

import pytest

from mockgraph import Config, create_app
from mockgraph.cors import origin_pattern
from mockgraph.throttle import ThrottleLimit

ORIGIN = "http://localhost:5173"
SKILLS = "/beta/users/42/profile/skills"
EXPOSED = {"request-id", "client-request-id", "retry-after", "location"}


def preflight(
    client, path=SKILLS, origin=ORIGIN, method="POST", headers="authorization"
):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def exposed(response):
    names = response.headers.get("Access-Control-Expose-Headers", "")
    return {name.strip().lower() for name in names.split(",")}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (SKILLS, "POST"),
        (SKILLS, "GET"),
        ("/users/42/profile/skills", "POST"),
        ("/beta/me/profile/skills", "GET"),
        ("/beta/user/42/profile/skills", "POST"),
        (SKILLS + "/$count", "GET"),
        (SKILLS + "/abc", "PATCH"),
        (SKILLS + "/abc", "DELETE"),
        ("/_mockgraph/faults", "POST"),
    ],
)
def test_preflight_answered_without_auth(client, path, method):
    response = preflight(client, path, method=method)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert method in response.headers["Access-Control-Allow-Methods"]


def test_preflight_allows_graph_request_headers(client):
    requested = "authorization, content-type, client-request-id, prefer, accept"
    response = preflight(client, headers=requested)
    allowed = {
        name.strip().lower()
        for name in response.headers["Access-Control-Allow-Headers"].split(",")
    }

    assert allowed == {
        "authorization",
        "content-type",
        "client-request-id",
        "prefer",
        "accept",
    }


def test_preflight_recorded_as_preflight(client, app):
    preflight(client)
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.method == "OPTIONS"
    assert record.operation == "corsPreflight"
    assert record.status == 204


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5173",
        "http://localhost",
        "http://127.0.0.1:8000",
        "HTTP://LOCALHOST:3000",
    ],
)
def test_default_origins_reflected(client, origin):
    response = client.get(
        SKILLS, headers={"Authorization": "Bearer t", "Origin": origin}
    )

    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    [
        "http://example.com",
        "https://localhost:5173",
        "http://localhost.example.com",
        "http://localhost:5173.example.com",
        "http://127.0.0.2:8000",
        "null",
    ],
)
def test_default_origins_reject_others(client, origin):
    response = client.get(
        SKILLS, headers={"Authorization": "Bearer t", "Origin": origin}
    )

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("allowed", "origin", "matches"),
    [
        ("https://app.contoso.com", "https://app.contoso.com", True),
        ("https://app.contoso.com", "https://app.contoso.com:8443", False),
        ("https://*.contoso.com", "https://dev.contoso.com", True),
        ("https://*.contoso.com", "https://contoso.com", False),
        ("https://*.contoso.com", "https://evil.com/x.contoso.com", False),
        ("http://localhost:*", "http://localhost", True),
        ("http://localhost:*", "http://localhost:1", True),
        ("http://localhost:*", "http://localhost:x", False),
        ("*", "https://anything.example", True),
    ],
)
def test_origin_pattern(allowed, origin, matches):
    assert bool(origin_pattern(allowed).match(origin)) is matches


def test_configured_origins_replace_defaults():
    client = create_app(Config(cors_origins=("https://app.contoso.com",))).test_client()
    allowed = client.get(
        SKILLS,
        headers={"Authorization": "Bearer t", "Origin": "https://app.contoso.com"},
    )
    local = client.get(SKILLS, headers={"Authorization": "Bearer t", "Origin": ORIGIN})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.contoso.com"
    assert "Access-Control-Allow-Origin" not in local.headers


def test_config_origin_string_is_one_origin():
    config = Config(cors_origins="https://app.contoso.com")
    client = create_app(config).test_client()
    allowed = client.get(
        SKILLS,
        headers={"Authorization": "Bearer t", "Origin": "https://app.contoso.com"},
    )

    assert config.cors_origins == ("https://app.contoso.com",)
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.contoso.com"


@pytest.mark.parametrize(
    ("origins", "error", "message"),
    [
        (5, TypeError, "cors_origins must be a string or a sequence of strings"),
        (("http://x", None), TypeError, "got NoneType None"),
        (("",), ValueError, "must not be empty"),
    ],
)
def test_config_origins_invalid(origins, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Config(cors_origins=origins)


def test_star_origin_reflects_with_credentials():
    client = create_app(Config(cors_origins=("*",))).test_client()
    response = client.get(
        SKILLS, headers={"Authorization": "Bearer t", "Origin": "https://x.example"}
    )

    assert response.headers["Access-Control-Allow-Origin"] == "https://x.example"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


ORIGIN_ONLY = {"Origin": ORIGIN}
WITH_AUTH = {"Authorization": "Bearer t", "Origin": ORIGIN}
JSON_WITH_AUTH = {**WITH_AUTH, "Content-Type": "application/json"}
# One request per kind of error, named by the status it gets.
ERROR_REQUESTS = {
    "401 no token": lambda client: client.get(SKILLS, headers=ORIGIN_ONLY),
    "404 route": lambda client: client.get("/beta/groups", headers=WITH_AUTH),
    "404 skill": lambda client: client.get(SKILLS + "/nope", headers=WITH_AUTH),
    "405 method": lambda client: client.put(SKILLS, headers=WITH_AUTH),
    "400 json": lambda client: client.post(SKILLS, data="{", headers=JSON_WITH_AUTH),
    "413 body": lambda client: client.post(
        SKILLS, data=json.dumps({"displayName": "x" * 100}), headers=JSON_WITH_AUTH
    ),
    "503 rule": lambda client: client.get(
        "/users/faulty/profile/skills", headers=WITH_AUTH
    ),
    "400 prefer": lambda client: client.get(
        SKILLS, headers={**WITH_AUTH, "Prefer": "mockgraph-status=abc"}
    ),
    "500 prefer": lambda client: client.get(
        SKILLS, headers={**WITH_AUTH, "Prefer": "mockgraph-status=500"}
    ),
}


@pytest.mark.parametrize("kind", list(ERROR_REQUESTS))
def test_error_responses_carry_cors_headers(kind):
    rule = {"path": "/users/faulty/profile/skills", "status": 503, "retryAfter": 2}
    client = create_app(Config(max_body_bytes=50, faults=(rule,))).test_client()
    response = ERROR_REQUESTS[kind](client)

    assert response.status_code == int(kind[:3])
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert exposed(response) >= EXPOSED


def test_throttled_response_carries_cors_headers():
    client = create_app(Config(throttle=ThrottleLimit(1, 60))).test_client()
    headers = {"Authorization": "Bearer t", "Origin": ORIGIN}
    client.get(SKILLS, headers=headers)
    response = client.get(SKILLS, headers=headers)

    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "retry-after" in exposed(response)


def test_expose_headers_named_not_star(client):
    response = client.get(
        SKILLS, headers={"Authorization": "Bearer t", "Origin": ORIGIN}
    )

    assert exposed(response) >= EXPOSED
    assert "*" not in exposed(response)


def test_journal_records_cors_headers(client, app):
    client.get(SKILLS, headers={"Authorization": "Bearer t", "Origin": ORIGIN})
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.response_headers["Access-Control-Allow-Origin"] == ORIGIN
