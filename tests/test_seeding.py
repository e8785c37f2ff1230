"""Generated skills for users seen for the first time (`seed_skills`), on both stores."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from mockgraph import Config, create_app
from mockgraph.cli import cli
from mockgraph.fakedata import Fabricator, parse_timestamp
from mockgraph.seeding import CATALOGUE, SEED_EPOCH, seed_values

AUTH = {"Authorization": "Bearer t"}
LEVELS = {
    "elementary",
    "limitedWorking",
    "generalProfessional",
    "advancedProfessional",
    "expert",
}


@pytest.fixture
def seeded(store_spec):
    apps = []

    def make(count=5, seed=7):
        # A file of its own for each app: two apps on one SQLite file share its skills.
        store = store_spec.replace("skills.db", f"skills-{len(apps)}.db")
        app = create_app(Config(store=store, seed=seed, seed_skills=count))
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["mockgraph"].store.close()


def listed(client, path="/beta/users/42/profile/skills"):
    return client.get(path + "?$top=500", headers=AUTH).get_json()["value"]


def test_seed_fills_new_user(seeded):
    skills = listed(seeded(5))

    assert len(skills) == 5
    assert len({skill["displayName"] for skill in skills}) == 5
    assert all(skill["proficiency"] in LEVELS for skill in skills)
    assert all(skill["webUrl"].startswith("https://") for skill in skills)
    assert all(len(skill["categories"]) == 1 for skill in skills)


def test_seed_once_per_user(seeded):
    client = seeded(3)
    first = listed(client)
    client.post(
        "/beta/users/42/profile/skills", json={"displayName": "Mine"}, headers=AUTH
    )
    second = listed(client)

    assert len(first) == 3
    assert [skill["displayName"] for skill in second][:3] == [
        s["displayName"] for s in first
    ]
    assert len(second) == 4


def test_seed_on_first_request_of_any_kind(seeded):
    client = seeded(4)
    count = client.get("/beta/me/profile/skills/$count", headers=AUTH)

    assert count.get_data(as_text=True) == "4"


def test_seed_zero_means_empty(seeded):
    assert listed(seeded(0)) == []


def test_seed_reproducible(seeded):
    first = listed(seeded(6, seed=11))
    second = listed(seeded(6, seed=11))

    assert first == second


def test_seed_differs_per_seed_and_user(seeded):
    client = seeded(6, seed=11)
    other = seeded(6, seed=12)

    assert listed(client) != listed(other)
    assert [s["displayName"] for s in listed(client)] != [
        s["displayName"] for s in listed(client, "/beta/users/43/profile/skills")
    ]


def test_seed_not_applied_after_load(seeded):
    client = seeded(5)
    client.put("/_mockgraph/skills", json={"users": {"42": [{"displayName": "Only"}]}})

    assert [skill["displayName"] for skill in listed(client)] == ["Only"]


def test_seed_ids_continue_with_creates(seeded):
    client = seeded(2)
    created = client.post(
        "/beta/users/42/profile/skills", json={"displayName": "Mine"}, headers=AUTH
    )

    assert created.status_code == 201
    assert len({skill["id"] for skill in listed(client)}) == 3


def _concurrent_counts(clients, users, requests_per_user=6):
    """Send the first requests for each new user at once; return the $count bodies."""
    jobs = [
        (clients[index % len(clients)], user)
        for user in users
        for index in range(requests_per_user)
    ]

    def count(job):
        client, user = job
        response = client.get(f"/beta/users/{user}/profile/skills/$count", headers=AUTH)
        return response.get_data(as_text=True)

    with ThreadPoolExecutor(len(jobs) // len(users)) as pool:
        return list(pool.map(count, jobs))


def test_seed_atomic_under_concurrency(store_spec):
    app = create_app(Config(store=store_spec, seed=5, seed_skills=3))
    try:
        counts = _concurrent_counts(
            [app.test_client()], [f"new{index}" for index in range(15)]
        )
    finally:
        app.extensions["mockgraph"].store.close()

    assert Counter(counts) == {"3": 90}


def test_seed_atomic_across_apps_sharing_file(tmp_path):
    store = f"sqlite:///{tmp_path / 'shared.db'}"
    apps = [create_app(Config(store=store, seed=5, seed_skills=3)) for _ in range(2)]
    try:
        clients = [app.test_client() for app in apps]
        counts = _concurrent_counts(clients, [f"new{index}" for index in range(15)])
    finally:
        for app in apps:
            app.extensions["mockgraph"].store.close()

    assert Counter(counts) == {"3": 90}


def test_seed_timestamps_spread_before_epoch():
    values = seed_values(Fabricator(1), "user", 20)
    created = [parse_timestamp(value["createdDateTime"]) for value in values]
    modified = [parse_timestamp(value["lastModifiedDateTime"]) for value in values]

    assert created == sorted(created)
    assert all(moment <= SEED_EPOCH for moment in created)
    assert all(change >= made for change, made in zip(modified, created))
    assert all(change <= SEED_EPOCH for change in modified)


def test_seed_proficiency_spread():
    values = seed_values(Fabricator(3), "user", len(CATALOGUE))
    levels = Counter(value["proficiency"] for value in values)

    assert set(levels) == LEVELS
    assert levels["generalProfessional"] > levels["elementary"]


def test_seed_beyond_catalogue_numbers_names():
    values = seed_values(Fabricator(1), "user", len(CATALOGUE) + 3)
    names = [value["displayName"] for value in values]

    assert len(set(names)) == len(names)
    assert sum(name.endswith(" 2") for name in names) == 3


def test_seed_skills_validate_against_schema():
    app = create_app(Config(seed=1, seed_skills=10))
    skills = listed(app.test_client())
    schemas = app.extensions["mockgraph"].schemas

    assert [schemas.validate("skillProficiency.json", skill) for skill in skills] == [
        []
    ] * 10


@pytest.mark.parametrize("count", [-1, 1001, 1_000_000])
def test_config_rejects_seed_skills_out_of_range(count):
    with pytest.raises(
        ValueError, match=f"seed_skills must be from 0 to 1000, got {count}"
    ):
        Config(seed_skills=count)


def test_config_accepts_max_seed_skills():
    assert Config(seed_skills=1000).seed_skills == 1000


def test_serve_rejects_huge_seed_skills():
    result = CliRunner().invoke(cli, ["serve", "--seed-skills", "1000000"])

    assert result.exit_code == 2
    assert "Invalid value for '--seed-skills'" in result.output
    assert "1000000 is not in the range 0<=x<=1000" in result.output
