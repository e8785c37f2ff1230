from __future__ import annotations

import json
import random
import re
import uuid

import pytest
from faker import Faker

from mockgraph import Config, create_app

GRAPH_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
ALL_PROPERTIES = {
    "@odata.context",
    "id",
    "allowedAudiences",
    "inference",
    "createdDateTime",
    "createdBy",
    "lastModifiedDateTime",
    "lastModifiedBy",
    "isSearchable",
    "source",
    "sources",
    "categories",
    "collaborationTags",
    "displayName",
    "proficiency",
    "thumbnailUrl",
    "webUrl",
}


def error_of(response):
    return response.get_json()["error"]


# The 201 response


def test_create_returns_201_with_every_property(post, sdk_body):
    response = post(sdk_body)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == ALL_PROPERTIES
    assert body["displayName"] == "Python"
    assert body["proficiency"] == "expert"
    assert body["allowedAudiences"] == "organization"
    assert body["categories"] == ["professional"]
    assert body["webUrl"] == "https://www.python.org"
    assert body["collaborationTags"] is None
    assert body["inference"] is None
    assert "@odata.type" not in body


def test_create_server_values(post, sdk_body):
    body = post(sdk_body).get_json()

    assert str(uuid.UUID(body["id"])) == body["id"]
    assert GRAPH_TIMESTAMP.match(body["createdDateTime"])
    assert body["createdDateTime"] == body["lastModifiedDateTime"]
    assert body["createdBy"] == body["lastModifiedBy"]
    assert body["createdBy"]["application"] is None
    assert body["createdBy"]["device"] is None
    assert body["createdBy"]["user"]["displayName"]
    assert uuid.UUID(body["createdBy"]["user"]["id"])


def test_create_user_identity_stable_per_user(post, sdk_body):
    first = post(sdk_body).get_json()["createdBy"]["user"]
    second = post(sdk_body).get_json()["createdBy"]["user"]
    other = post(sdk_body, path="/beta/users/43/profile/skills").get_json()[
        "createdBy"
    ]["user"]

    assert first == second
    assert other["id"] != first["id"]


def test_create_user_name_from_principal(post, sdk_body):
    body = post(
        sdk_body, path="/beta/users/megan.bowen%40contoso.com/profile/skills"
    ).get_json()

    assert body["createdBy"]["user"]["displayName"] == "Megan Bowen"


def test_create_headers(post, sdk_body):
    response = post(sdk_body)
    body = response.get_json()

    assert response.headers["Content-Type"].startswith(
        "application/json;odata.metadata=minimal"
    )
    assert "charset=utf-8" in response.headers["Content-Type"]
    assert response.headers["OData-Version"] == "4.0"
    assert uuid.UUID(response.headers["request-id"])
    assert response.headers["client-request-id"] == response.headers["request-id"]
    assert response.headers["Location"] == (
        f"http://localhost/beta/users/42/profile/skills/{body['id']}"
    )
    assert body["@odata.context"] == (
        "http://localhost/beta/$metadata#users('42')/profile/skills/$entity"
    )


def test_create_echoes_client_request_id(post, sdk_body):
    response = post(sdk_body, client_request_id="abc-123")

    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] != "abc-123"


def test_create_keeps_non_ascii_text(post, sdk_body):
    sdk_body["displayName"] = "Prüfung 日本語 🐍"
    response = post(sdk_body)

    assert response.get_json()["displayName"] == "Prüfung 日本語 🐍"
    assert "Prüfung 日本語 🐍".encode() in response.get_data()


def test_create_echoes_every_client_field(post):
    body = {
        "@odata.type": "#microsoft.graph.skillProficiency",
        "allowedAudiences": "organization,family",
        "categories": ["Professional", "Languages"],
        "collaborationTags": ["askMeAbout", "ableToMentor"],
        "displayName": "Rust",
        "inference": {
            "@odata.type": "#microsoft.graph.inferenceData",
            "confidenceScore": 0.75,
            "userHasVerifiedAccuracy": True,
        },
        "isSearchable": True,
        "proficiency": "advancedProfessional",
        "source": {"type": ["User"]},
        "sources": [
            {"isDefaultSource": True, "properties": ["displayName"], "sourceId": "s1"}
        ],
        "thumbnailUrl": "https://example.com/rust.png",
        "webUrl": "https://www.rust-lang.org",
    }
    created = post(body).get_json()

    for name, value in body.items():
        if name not in ("@odata.type", "inference"):
            assert created[name] == value, name

    assert created["inference"] == {
        "confidenceScore": 0.75,
        "userHasVerifiedAccuracy": True,
    }


# Routes


@pytest.mark.parametrize(
    "path",
    [
        "/beta/users/42/profile/skills",
        "/beta/users/42/profile/skills/",
        "/beta//users/42/profile/skills",
        "//beta///users/42//profile/skills//",
        "/users/42/profile/skills",
        "/beta/user/42/profile/skills",
        "/user/42/profile/skills",
    ],
)
def test_route_forms_accepted(post, sdk_body, path):
    response = post(sdk_body, path=path)

    assert response.status_code == 201
    assert "/users/42/profile/skills/" in response.headers["Location"]


def test_route_me_uses_configured_user(client, post, sdk_body, app):
    response = post(sdk_body, path="/beta/me/profile/skills")
    listed = client.get(
        "/beta/users/adele.vance%40contoso.com/profile/skills",
        headers={"Authorization": "Bearer t"},
    )

    assert response.status_code == 201
    assert response.get_json()["createdBy"]["user"]["displayName"] == "Adele Vance"
    assert [skill["id"] for skill in listed.get_json()["value"]] == [
        response.get_json()["id"]
    ]


def test_route_decodes_principal_name(post, sdk_body, app):
    response = post(sdk_body, path="/beta/users/alice%40contoso.com/profile/skills")

    assert response.status_code == 201
    assert "users('alice%40contoso.com')" in response.get_json()["@odata.context"]
    record = app.extensions["mockgraph"].journal.records().last()
    assert record.path == "/beta/users/alice@contoso.com/profile/skills"


def test_route_double_slash_never_redirects(post, sdk_body):
    response = post(sdk_body, path="/beta//users/42/profile/skills")

    assert response.status_code == 201
    assert "Location" in response.headers
    assert "/beta/users/42/" in response.headers["Location"]


def test_route_unknown_path_is_graph_404(client):
    response = client.get("/beta/groups/1/members")
    error = error_of(response)

    assert response.status_code == 404
    assert response.is_json
    assert error["code"] == "ResourceNotFound"
    assert "/beta/users/{id}/profile/skills" in error["message"]
    assert error["innerError"]["request-id"] == response.headers["request-id"]


def test_route_wrong_method_is_graph_405(client):
    response = client.put(
        "/beta/users/42/profile/skills", headers={"Authorization": "Bearer t"}
    )
    error = error_of(response)

    assert response.status_code == 405
    assert error["code"] == "MethodNotAllowed"
    assert response.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert "'PUT'" in error["message"]
    assert "use GET, POST." in error["message"]


# Check order: auth, content type, size, schema


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"],
)
def test_auth_rejects_missing_or_wrong_scheme(post, sdk_body, header):
    response = post(sdk_body, Authorization=header)
    error = error_of(response)

    assert response.status_code == 401
    assert error["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer <token>" in error["message"]


@pytest.mark.parametrize(
    "header", ["my-secret-token", "Bearer\tmy-secret-token", "my-secret-token abc"]
)
def test_auth_error_hides_unknown_scheme(post, sdk_body, app, header):
    response = post(sdk_body, Authorization=header)
    record = app.extensions["mockgraph"].journal.records().last()

    assert response.status_code == 401
    assert b"my-secret-token" not in response.data
    assert "my-secret-token" not in json.dumps(record.to_json())
    assert "Authorization: Bearer <token>" in error_of(response)["message"]


def test_auth_error_names_known_scheme(post, sdk_body):
    response = post(sdk_body, Authorization="Basic dXNlcjpwYXNz")

    assert "'Basic' is not supported" in error_of(response)["message"]
    assert b"dXNlcjpwYXNz" not in response.data


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_auth_scheme_any_case(post, sdk_body, scheme):
    assert post(sdk_body, Authorization=f"{scheme} abc").status_code == 201


def test_auth_checked_before_body(post):
    response = post(b"not json", Authorization=None, Content_Type="text/plain")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        (None, "Content-Type header is missing"),
        ("text/plain", "'text/plain' is not supported"),
        ("application/xml", "'application/xml' is not supported"),
        ("application/json; charset=latin-1", "charset 'latin-1' is not supported"),
    ],
)
def test_content_type_rejected(post, sdk_body, content_type, reason):
    response = post(sdk_body, Content_Type=content_type)
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Unable to read JSON request payload")
    assert reason in error["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json;odata.metadata=minimal;odata.streaming=true",
    ],
)
def test_content_type_accepted(post, sdk_body, content_type):
    assert post(sdk_body, Content_Type=content_type).status_code == 201


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "body is empty"),
        (b"   \n", "body is empty"),
        (b"{not json", "not valid JSON"),
        (b'{"displayName": "x",}', "not valid JSON"),
        (b'{"displayName": NaN}', "not valid JSON"),
        (b'{"displayName": "\xff"}', "not valid UTF-8"),
        (b"[]", "JSON array, not a JSON object"),
        (b'"text"', "JSON string, not a JSON object"),
        (b"42", "JSON number, not a JSON object"),
        (b"null", "JSON null, not a JSON object"),
        (b"[" * 100_000, "too deeply"),
    ],
)
def test_unreadable_body_rejected(post, data, reason):
    response = post(data)
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == "BadRequest"
    assert reason in error["message"]


def test_body_over_limit_gets_413():
    app = create_app(Config(max_body_bytes=100))
    client = app.test_client()
    body = json.dumps({"displayName": "x" * 200})
    response = client.post(
        "/beta/users/42/profile/skills",
        data=body,
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    error = error_of(response)

    assert response.status_code == 413
    assert error["code"] == "RequestEntityTooLarge"
    assert "limit of 100 bytes" in error["message"]
    record = app.extensions["mockgraph"].journal.records().last()
    assert record.body_truncated is True
    assert record.body is None


def test_content_type_checked_before_size():
    client = create_app(Config(max_body_bytes=10)).test_client()
    response = client.post(
        "/beta/users/42/profile/skills",
        data="x" * 100,
        headers={"Authorization": "Bearer t", "Content-Type": "text/plain"},
    )

    assert response.status_code == 400


# Schema failures


def test_schema_lists_every_failure(post):
    response = post(
        {
            "displayName": 5,
            "proficiency": "guru",
            "allowedAudiences": "organization,friends",
            "nickname": "x",
            "inference": {"confidenceScore": "high"},
            "createdDateTime": "yesterday",
        }
    )
    error = error_of(response)
    targets = [detail["target"] for detail in error["details"]]

    assert response.status_code == 400
    assert targets == [
        "/displayName",
        "/proficiency",
        "/allowedAudiences",
        "/nickname",
        "/inference/confidenceScore",
        "/createdDateTime",
    ]
    assert error["target"] == "/displayName"
    assert error["message"].startswith(error["details"][0]["message"])
    assert "(5 more in error.details)" in error["message"]


def test_schema_names_field_and_value(post):
    error = error_of(post({"displayName": "x", "proficiency": "guru"}))

    assert error["code"] == "invalidRequest"
    assert "'guru'" in error["message"]
    assert "'proficiency'" in error["message"]
    assert "'expert'" in error["message"]


def test_schema_unknown_property_is_bad_request(post):
    error = error_of(post({"displayName": "x", "level": 3}))

    assert error["code"] == "BadRequest"
    assert error["target"] == "/level"
    assert (
        "'level' does not exist on type 'microsoft.graph.skillProficiency'"
        in error["message"]
    )


def test_schema_missing_display_name(post):
    error = error_of(post({"proficiency": "expert"}))

    assert error["target"] == "/displayName"
    assert "Missing required property 'displayName'" in error["message"]


@pytest.mark.parametrize(
    "audiences", ["me", "organization,family", "everyone, contacts"]
)
def test_schema_audience_combinations_accepted(post, audiences):
    response = post({"displayName": "x", "allowedAudiences": audiences})

    assert response.status_code == 201
    assert response.get_json()["allowedAudiences"] == audiences


@pytest.mark.parametrize(
    "audiences", ["", "Organization", "organization,", "organization;family"]
)
def test_schema_audience_invalid(post, audiences):
    error = error_of(post({"displayName": "x", "allowedAudiences": audiences}))

    assert error["target"] == "/allowedAudiences"
    assert "'organization'" in error["message"]


def test_schema_odata_type_must_name_skill(post):
    error = error_of(post({"@odata.type": "#microsoft.graph.user", "displayName": "x"}))

    assert error["target"] == "/@odata.type"
    assert "'#microsoft.graph.skillProficiency'" in error["message"]


def test_schema_nested_odata_type_accepted(post):
    body = {
        "displayName": "x",
        "inference": {
            "@odata.type": "#microsoft.graph.inferenceData",
            "confidenceScore": 1,
        },
    }
    response = post(body)

    assert response.status_code == 201
    assert response.get_json()["inference"] == {
        "confidenceScore": 1,
        "userHasVerifiedAccuracy": None,
    }


# Server-set properties


SERVER_SET = {
    "id": "11111111-1111-1111-1111-111111111111",
    "createdDateTime": "2020-01-01T00:00:00Z",
    "lastModifiedDateTime": "2020-01-01T00:00:00Z",
    "createdBy": {"user": {"id": "u", "displayName": "Someone"}},
    "lastModifiedBy": {"user": {"id": "u", "displayName": "Someone"}},
}


def test_server_set_ignored_with_warning(post, app):
    response = post({"displayName": "x", **SERVER_SET})
    body = response.get_json()
    record = app.extensions["mockgraph"].journal.records().last()

    assert response.status_code == 201
    assert body["id"] != SERVER_SET["id"]
    assert body["createdDateTime"] != SERVER_SET["createdDateTime"]
    assert body["createdBy"]["user"]["displayName"] != "Someone"
    assert len(record.warnings) == 5
    assert "'id'" in record.warnings[0]


def test_server_set_type_checked(post):
    error = error_of(
        post({"displayName": "x", "id": 7, "createdDateTime": "2020-13-01"})
    )

    assert [detail["target"] for detail in error["details"]] == [
        "/id",
        "/createdDateTime",
    ]


def test_server_set_rejected_when_strict():
    client = create_app(Config(strict=True)).test_client()
    response = client.post(
        "/beta/users/42/profile/skills",
        json={"displayName": "x", "id": "abc"},
        headers={"Authorization": "Bearer t"},
    )
    error = error_of(response)

    assert response.status_code == 400
    assert error["target"] == "/id"
    assert "set by the server" in error["message"]


# Determinism


def create_ids(
    config: Config, requests: list[tuple[str, str]]
) -> dict[str, list[tuple]]:
    client = create_app(config).test_client()
    seen: dict[str, list[tuple]] = {}
    for user, name in requests:
        random.seed()  # other code in the process using the shared generators
        Faker.seed(random.random())
        body = client.post(
            f"/beta/users/{user}/profile/skills",
            json={"displayName": name},
            headers={"Authorization": "Bearer t"},
        ).get_json()
        seen.setdefault(user, []).append(
            (body["id"], body["createdBy"]["user"]["displayName"])
        )

    return seen


def test_seed_makes_values_reproducible():
    requests = [("alice", "a1"), ("bob", "b1"), ("alice", "a2")]
    first = create_ids(Config(seed=7), requests)
    second = create_ids(Config(seed=7), [("carol", "c1"), *reversed(requests)])

    assert first["alice"] == second["alice"]
    assert first["bob"] == second["bob"]


def test_seed_changes_values():
    first = create_ids(Config(seed=7), [("alice", "a1")])
    second = create_ids(Config(seed=8), [("alice", "a1")])

    assert first["alice"][0][0] != second["alice"][0][0]


def test_no_seed_ids_never_repeat():
    first = create_ids(Config(), [("alice", "a1"), ("alice", "a2")])
    second = create_ids(Config(), [("alice", "a1"), ("alice", "a2")])
    ids = [skill_id for skill_id, _name in first["alice"] + second["alice"]]

    assert len(set(ids)) == 4


def test_response_validates_against_resource_schema(post, sdk_body, app):
    body = post(sdk_body).get_json()
    schemas = app.extensions["mockgraph"].schemas

    assert schemas.validate("skillProficiency.json", body) == []


@pytest.mark.parametrize(
    "host, scheme, base",
    [
        ("a.example:8080", "http", "http://a.example:8080/beta"),
        ("b.example", "http", "http://b.example/beta"),
        ("b.example", "https", "https://b.example/beta"),
        ("b.example:443", "https", "https://b.example/beta"),
    ],
)
def test_create_location_follows_host(client, sdk_body, host, scheme, base):
    response = client.post(
        "/beta/users/42/profile/skills",
        json=sdk_body,
        headers={"Authorization": "Bearer t", "Host": host},
        base_url=f"{scheme}://{host}",
    )

    assert response.headers["Location"].startswith(base + "/users/42/profile/skills/")
    assert response.get_json()["@odata.context"].startswith(base + "/$metadata#")


def test_base_url_cache_stays_bounded(client, sdk_body):
    from mockgraph import creation

    for number in range(creation.MAX_CACHED_BASE_URLS + 10):
        response = client.post(
            "/beta/users/42/profile/skills",
            json=sdk_body,
            headers={"Authorization": "Bearer t", "Host": f"h{number}.example"},
        )
        assert response.headers["Location"].startswith(f"http://h{number}.example/")

    assert len(creation._base_urls) <= creation.MAX_CACHED_BASE_URLS
