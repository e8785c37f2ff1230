"""Single skills: GET, PATCH and DELETE, on every route form, on both stores."""

from __future__ import annotations

import pytest

from mockgraph import Config, create_app
from mockgraph.fakedata import parse_timestamp

AUTH = {"Authorization": "Bearer t"}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def error_of(response):
    return response.get_json()["error"]


# GET


def test_get_returns_whole_object(skills_api):
    created = skills_api.create("Python", proficiency="expert")
    response = skills_api.get(f"/{created['id']}")

    assert response.status_code == 200
    assert response.get_json() == created


def test_get_unknown_id_is_item_not_found(skills_api):
    response = skills_api.get(f"/{UNKNOWN_ID}")
    error = error_of(response)

    assert response.status_code == 404
    assert error["code"] == "itemNotFound"
    assert repr(UNKNOWN_ID) in error["message"]


def test_get_id_starting_with_count(skills_api):
    response = skills_api.get("/$counter")

    assert response.status_code == 404
    assert error_of(response)["code"] == "itemNotFound"


def test_get_other_users_skill_is_not_found(skills_api):
    created = skills_api.create("Python", user="alice")
    response = skills_api.get(f"/{created['id']}", user="bob")

    assert response.status_code == 404
    assert error_of(response)["code"] == "itemNotFound"


def test_head_reads_without_deleting(skills_api, stateful_app):
    created = skills_api.create("Python", proficiency="expert")
    url = skills_api.url(f"/{created['id']}")
    response = skills_api.client.head(url, headers=AUTH)
    record = stateful_app.extensions["mockgraph"].journal.records().last()
    after = skills_api.get(f"/{created['id']}")

    assert response.status_code == 200
    assert response.data == b""
    assert int(response.headers["Content-Length"]) == len(after.data)
    assert record.operation == "getSkill"
    assert after.status_code == 200
    assert after.get_json() == created


def test_head_unknown_id_is_not_found(skills_api):
    response = skills_api.client.head(skills_api.url(f"/{UNKNOWN_ID}"), headers=AUTH)

    assert response.status_code == 404


def test_get_select(skills_api):
    created = skills_api.create("Python", proficiency="expert")
    response = skills_api.get(f"/{created['id']}", select="displayName")
    body = response.get_json()

    assert response.status_code == 200
    assert set(body) == {"@odata.context", "id", "displayName"}
    assert body["@odata.context"].endswith("/profile/skills(displayName)/$entity")


@pytest.mark.parametrize("option", ["top", "skip", "filter", "orderby", "count"])
def test_get_rejects_collection_options(skills_api, option):
    created = skills_api.create()
    response = skills_api.get(f"/{created['id']}", **{option: "1"})
    error = error_of(response)

    assert response.status_code == 400
    assert error["target"] == f"${option}"
    assert "does not apply to a single skill" in error["message"]


def test_get_needs_token(skills_api):
    created = skills_api.create()
    response = skills_api.client.get(skills_api.url(f"/{created['id']}"))

    assert response.status_code == 401


# Route forms: every address of one user reaches the same skills


@pytest.mark.parametrize(
    "prefix",
    [
        "/beta/users/adele.vance%40contoso.com",
        "/users/adele.vance@contoso.com",
        "/beta/user/adele.vance@contoso.com",
        "/user/ADELE.VANCE@contoso.com",
        "/beta/me",
        "/me",
        "/beta//me",
    ],
)
def test_route_forms_share_skills(skills_api, prefix):
    created = skills_api.create("Python", user="adele.vance@contoso.com")
    client = skills_api.client
    item = f"{prefix}/profile/skills/{created['id']}"

    listed = client.get(f"{prefix}/profile/skills", headers=AUTH)
    count = client.get(f"{prefix}/profile/skills/$count", headers=AUTH)
    patched = client.patch(item, json={"proficiency": "expert"}, headers=AUTH)
    deleted = client.delete(item, headers=AUTH)

    assert [skill["id"] for skill in listed.get_json()["value"]] == [created["id"]]
    assert count.get_data(as_text=True) == "1"
    assert patched.get_json()["proficiency"] == "expert"
    assert deleted.status_code == 204


def test_me_follows_configured_user(store_spec):
    app = create_app(Config(store=store_spec, me_user="megan.bowen@contoso.com"))
    client = app.test_client()
    created = client.post(
        "/beta/me/profile/skills", json={"displayName": "Go"}, headers=AUTH
    )
    listed = client.get(
        "/beta/users/megan.bowen%40contoso.com/profile/skills", headers=AUTH
    )
    app.extensions["mockgraph"].store.close()

    assert created.status_code == 201
    assert listed.get_json()["value"][0]["id"] == created.get_json()["id"]


# PATCH


def test_patch_merges(skills_api):
    created = skills_api.create(
        "Python",
        proficiency="expert",
        categories=["Languages"],
        webUrl="https://python.org",
    )
    response = skills_api.patch(created["id"], {"proficiency": "advancedProfessional"})
    body = response.get_json()

    assert response.status_code == 200
    assert body["proficiency"] == "advancedProfessional"
    assert body["displayName"] == "Python"
    assert body["categories"] == ["Languages"]
    assert body["webUrl"] == "https://python.org"
    assert body["@odata.context"].endswith("/profile/skills/$entity")


def test_patch_persists(skills_api):
    created = skills_api.create("Python")
    skills_api.patch(created["id"], {"displayName": "Python 3"})

    assert skills_api.get(f"/{created['id']}").get_json()["displayName"] == "Python 3"


def test_patch_null_clears(skills_api):
    created = skills_api.create("Python", webUrl="https://python.org", categories=["x"])
    body = skills_api.patch(
        created["id"], {"webUrl": None, "categories": None}
    ).get_json()

    assert body["webUrl"] is None
    assert body["categories"] is None


def test_patch_server_fields(skills_api):
    created = skills_api.create("Python")
    first = skills_api.patch(created["id"], {"proficiency": "expert"}).get_json()
    second = skills_api.patch(created["id"], {"proficiency": "elementary"}).get_json()

    assert first["id"] == created["id"]
    assert first["createdDateTime"] == created["createdDateTime"]
    assert first["createdBy"] == created["createdBy"]
    assert parse_timestamp(first["lastModifiedDateTime"]) > parse_timestamp(
        created["lastModifiedDateTime"]
    )
    assert parse_timestamp(second["lastModifiedDateTime"]) > parse_timestamp(
        first["lastModifiedDateTime"]
    )
    assert second["createdDateTime"] == created["createdDateTime"]


def test_patch_last_modified_by_caller(stateful_app):
    client = stateful_app.test_client()
    created = client.post(
        "/beta/users/adele.vance@contoso.com/profile/skills",
        json={"displayName": "Python"},
        headers=AUTH,
    ).get_json()
    patched = client.patch(
        f"/beta/me/profile/skills/{created['id']}",
        json={"webUrl": "https://x.org"},
        headers=AUTH,
    ).get_json()

    assert patched["lastModifiedBy"]["user"]["displayName"] == "Adele Vance"


@pytest.mark.parametrize(
    "body",
    [{}, {"@odata.type": "#microsoft.graph.skillProficiency"}],
)
def test_patch_empty_is_no_op(skills_api, body):
    created = skills_api.create("Python", proficiency="expert")
    response = skills_api.patch(created["id"], body)

    assert response.status_code == 200
    assert response.get_json() == created


def test_patch_ignores_server_set_with_warning(skills_api, stateful_app):
    created = skills_api.create("Python")
    body = skills_api.patch(
        created["id"],
        {
            "id": "11111111-1111-1111-1111-111111111111",
            "createdDateTime": "2020-01-01T00:00:00Z",
        },
    ).get_json()
    record = stateful_app.extensions["mockgraph"].journal.records().last()

    assert body["id"] == created["id"]
    assert body["createdDateTime"] == created["createdDateTime"]
    assert len(record.warnings) == 2


@pytest.mark.parametrize(
    ("body", "target", "text"),
    [
        ({"displayName": None}, "/displayName", "expected string"),
        ({"displayName": ""}, "/displayName", "must not be empty"),
        ({"proficiency": "guru"}, "/proficiency", "'guru'"),
        ({"nickname": "x"}, "/nickname", "'nickname' does not exist"),
        ({"categories": "Languages"}, "/categories", "expected array or null"),
    ],
)
def test_patch_validates_like_create(skills_api, body, target, text):
    created = skills_api.create("Python")
    response = skills_api.patch(created["id"], body)
    error = error_of(response)

    assert response.status_code == 400
    assert error["target"] == target
    assert text in error["message"]
    assert skills_api.get(f"/{created['id']}").get_json() == created


def test_patch_unknown_id(skills_api):
    response = skills_api.patch(UNKNOWN_ID, {"proficiency": "expert"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "itemNotFound"


def test_patch_unreadable_body(skills_api):
    created = skills_api.create()
    response = skills_api.client.patch(
        skills_api.url(f"/{created['id']}"),
        data="{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "BadRequest"


# DELETE


def test_delete_then_gone(skills_api):
    created = skills_api.create("Python")
    remaining = skills_api.create("Go")
    response = skills_api.delete(created["id"])

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert skills_api.get(f"/{created['id']}").status_code == 404
    assert [skill["id"] for skill in skills_api.list()] == [remaining["id"]]


def test_delete_twice_is_not_found(skills_api):
    created = skills_api.create("Python")
    skills_api.delete(created["id"])
    response = skills_api.delete(created["id"])

    assert response.status_code == 404
    assert error_of(response)["code"] == "itemNotFound"


def test_delete_other_users_skill_is_not_found(skills_api):
    created = skills_api.create("Python", user="alice")

    assert skills_api.delete(created["id"], user="bob").status_code == 404
    assert skills_api.get(f"/{created['id']}", user="alice").status_code == 200


def test_create_after_delete_gets_new_id(skills_api):
    first = skills_api.create("Python")
    skills_api.delete(first["id"])
    second = skills_api.create("Python")

    assert second["id"] != first["id"]


def test_patch_strict_rejects_server_set(store_spec):
    app = create_app(Config(store=store_spec, strict=True))
    client = app.test_client()
    created = client.post(
        "/beta/me/profile/skills", json={"displayName": "Go"}, headers=AUTH
    )
    response = client.patch(
        f"/beta/me/profile/skills/{created.get_json()['id']}",
        json={"createdDateTime": "2020-01-01T00:00:00Z"},
        headers=AUTH,
    )
    app.extensions["mockgraph"].store.close()

    assert response.status_code == 400
    assert error_of(response)["target"] == "/createdDateTime"
    assert "set by the server" in error_of(response)["message"]
