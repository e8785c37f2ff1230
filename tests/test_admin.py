"""The admin endpoints: reset, dump and load of skills, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockgraph.fakedata import user_object_id

AUTH = {"Authorization": "Bearer t"}
TEAM_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "skills" / "team.json"


def error_of(response):
    return response.get_json()["error"]


def test_reset_clears_skills_and_journal(skills_api, stateful_app):
    skills_api.create("Python")
    response = skills_api.client.post("/_mockgraph/reset")
    state = stateful_app.extensions["mockgraph"]

    assert response.status_code == 204
    assert skills_api.list() == []
    assert len(state.journal.records()) == 1  # the list request above


def test_reset_restarts_counters(skills_api):
    first = skills_api.create("Python")
    skills_api.client.post("/_mockgraph/reset")
    again = skills_api.create("Python")

    assert again["id"] == first["id"]  # seed 1: ids follow the per-user counter


def test_dump_by_user_key(skills_api):
    created = skills_api.create("Python", user="alice@contoso.com")
    dump = skills_api.client.get("/_mockgraph/skills").get_json()

    assert dump == {
        "users": {
            user_object_id("alice@contoso.com"): [created_without_context(created)]
        }
    }


def created_without_context(body):
    return {name: value for name, value in body.items() if name != "@odata.context"}


def test_dump_load_round_trip(skills_api):
    skills_api.create("Python", user="alice")
    skills_api.create("Go", user="bob", proficiency="expert")
    dump = skills_api.client.get("/_mockgraph/skills").get_json()
    skills_api.client.post("/_mockgraph/reset")
    response = skills_api.client.put("/_mockgraph/skills", json=dump)

    assert response.status_code == 200
    assert response.get_json() == {"users": 2, "skills": 2}
    assert skills_api.client.get("/_mockgraph/skills").get_json() == dump


def test_load_team_fixture(skills_api):
    team = json.loads(TEAM_FILE.read_text())
    response = skills_api.client.put("/_mockgraph/skills", json=team)
    listed = skills_api.list(user="megan.bowen@contoso.com")
    mine = skills_api.client.get("/beta/me/profile/skills", headers=AUTH).get_json()[
        "value"
    ]

    assert response.get_json() == {"users": 3, "skills": 11}
    assert [skill["displayName"] for skill in listed] == [
        "Power BI",
        "SQL",
        "Stakeholder management",
    ]
    assert listed[0]["createdBy"]["user"]["displayName"] == "Megan Bowen"
    assert listed[0]["lastModifiedDateTime"] == listed[0]["createdDateTime"]
    assert listed[0]["inference"] is None
    assert [skill["displayName"] for skill in mine][0] == "Python"


def test_load_fills_server_fields(skills_api):
    response = skills_api.client.put(
        "/_mockgraph/skills", json={"users": {"42": [{"displayName": "Rust"}]}}
    )
    skill = skills_api.list()[0]

    assert response.status_code == 200
    assert skill["id"]
    assert skill["createdDateTime"]
    assert skill["createdBy"]["user"]["id"] == user_object_id("42")
    assert skill["proficiency"] is None


def test_load_keeps_odata_type_out(skills_api):
    body = {"@odata.type": "#microsoft.graph.skillProficiency", "displayName": "Rust"}
    skills_api.client.put("/_mockgraph/skills", json={"users": {"42": [body]}})

    assert "@odata.type" not in skills_api.list()[0]


def test_load_replaces_everything(skills_api):
    skills_api.create("Python", user="alice")
    skills_api.client.put(
        "/_mockgraph/skills", json={"users": {"bob": [{"displayName": "Go"}]}}
    )

    assert skills_api.list(user="alice") == []


def test_create_after_load_avoids_loaded_ids(skills_api):
    first = skills_api.create("Python")
    dump = skills_api.client.get("/_mockgraph/skills").get_json()
    skills_api.client.put("/_mockgraph/skills", json=dump)
    second = skills_api.create("Go")

    assert second["id"] != first["id"]
    assert len(skills_api.list()) == 2


def test_load_rejects_whole_dump_on_error(skills_api):
    skills_api.create("Python")
    body = {
        "users": {
            "42": [
                {"displayName": "Go"},
                {"displayName": "Rust", "proficiency": "guru"},
            ]
        }
    }
    response = skills_api.client.put("/_mockgraph/skills", json=body)

    assert response.status_code == 400
    assert [skill["displayName"] for skill in skills_api.list()] == ["Python"]


@pytest.mark.parametrize(
    ("dump", "target", "text"),
    [
        (
            {"users": {"42": [{"displayName": "Go", "proficiency": "guru"}]}},
            "/users/42/0/proficiency",
            "Skill 0 of user '42'",
        ),
        (
            {"users": {"42": [{"proficiency": "expert"}]}},
            "/users/42/0/displayName",
            "Missing required property 'displayName'",
        ),
        (
            {"users": {"42": [{"displayName": "Go", "level": 3}]}},
            "/users/42/0/level",
            "'level' does not exist",
        ),
        (
            {"users": {"42": ["Go"]}},
            "/users/42/0",
            "Skill 0 of user '42' is not a JSON object",
        ),
        ({"users": {"42": {"displayName": "Go"}}}, "/users/42", "are not a list"),
        (
            {"users": {"a/b": [{"displayName": ""}]}},
            "/users/a~1b/0/displayName",
            "must not be empty",
        ),
        (
            {
                "users": {
                    "42": [
                        {"id": "x", "displayName": "a"},
                        {"id": "x", "displayName": "b"},
                    ]
                }
            },
            "/users/42/1/id",
            "repeats id 'x'",
        ),
        (
            {"users": {"Alice": [], "alice": []}},
            "/users/alice",
            "'Alice' and 'alice' are the same user",
        ),
        ({"users": {"": []}}, "/users/", "User '' is empty"),
        (
            {"users": {"u1": [{"id": "", "displayName": "Go"}]}},
            "/users/u1/0/id",
            "has id '', which no request URL can reach",
        ),
        (
            {"users": {"u1": [{"id": "a/b", "displayName": "Go"}]}},
            "/users/u1/0/id",
            "has id 'a/b', which no request URL can reach",
        ),
        ({"skills": []}, "/skills", "unknown member 'skills'"),
        ({}, "/users", "no 'users' object"),
        ({"users": []}, "/users", "no 'users' object"),
    ],
)
def test_load_invalid(skills_api, dump, target, text):
    response = skills_api.client.put("/_mockgraph/skills", json=dump)
    error = error_of(response)

    assert response.status_code == 400
    assert error["target"] == target
    assert text in error["message"]


def test_load_lists_every_bad_entry(skills_api):
    dump = {
        "users": {
            "42": [{"displayName": 1}, {"displayName": "ok"}, {"proficiency": "guru"}]
        }
    }
    error = error_of(skills_api.client.put("/_mockgraph/skills", json=dump))

    assert [detail["target"] for detail in error["details"]] == [
        "/users/42/0/displayName",
        "/users/42/2/proficiency",
        "/users/42/2/displayName",
    ]


def test_load_unreadable_body(skills_api):
    response = skills_api.client.put(
        "/_mockgraph/skills", data="{", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "not valid JSON" in error_of(response)["message"]
