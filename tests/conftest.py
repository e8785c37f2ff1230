from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockgraph import Config, create_app

# pytester runs pytest inside a test, for the plugin tests.
pytest_plugins = ["pytester"]

AUTH = {"Authorization": "Bearer test-token"}
# The body the Graph beta SDK sends for a typical create.
SDK_BODY: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.skillProficiency",
    "allowedAudiences": "organization",
    "categories": ["professional"],
    "displayName": "Python",
    "proficiency": "expert",
    "webUrl": "https://www.python.org",
}

Post = Callable[..., TestResponse]


@pytest.fixture
def config() -> Config:
    return Config(port=0, seed=1)


@pytest.fixture
def app(config: Config) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sdk_body() -> dict[str, Any]:
    return copy.deepcopy(SDK_BODY)


@pytest.fixture
def post(client: FlaskClient) -> Post:
    """POST a body as the SDK does: JSON in the given key order, with a bearer token."""

    def send(
        body: Any, path: str = "/beta/users/42/profile/skills", **headers: str
    ) -> TestResponse:
        merged = {**AUTH, "Content-Type": "application/json"}
        merged.update(
            {name.replace("_", "-"): value for name, value in headers.items()}
        )
        merged = {name: value for name, value in merged.items() if value is not None}
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return client.post(path, data=data, headers=merged)

    return send


# Stateful skills: each test that uses `skills_api` runs once per store.

STORES = ("memory", "sqlite")


def odata_query(options: dict[str, str]) -> str:
    """Encode query options as the Graph SDK does: `$` literal, %20 and %27."""
    return "&".join(
        f"{name}={quote(value, safe=',/:()$')}" for name, value in options.items()
    )


class SkillsApi:
    """Send skills requests to a Flask test client, with a bearer token."""

    def __init__(self, client: FlaskClient, user: str = "42") -> None:
        self.client = client
        self.user = user

    def url(
        self,
        suffix: str = "",
        user: str | None = None,
        query: dict[str, str] | None = None,
    ) -> str:
        path = f"/beta/users/{user or self.user}/profile/skills{suffix}"
        return f"{path}?{odata_query(query)}" if query else path

    def create(
        self, display_name: str = "Python", user: str | None = None, **values: Any
    ) -> dict[str, Any]:
        body = {
            "@odata.type": "#microsoft.graph.skillProficiency",
            "displayName": display_name,
            **values,
        }
        response = self.client.post(self.url(user=user), json=body, headers=AUTH)
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    def get(
        self, suffix: str = "", user: str | None = None, **query: str
    ) -> TestResponse:
        options = {f"${name}": value for name, value in query.items()}
        return self.client.get(self.url(suffix, user, options), headers=AUTH)

    def list(self, user: str | None = None, **query: str) -> list[dict[str, Any]]:
        response = self.get(user=user, **query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["value"]  # type: ignore[no-any-return]

    def patch(
        self, skill_id: str, body: dict[str, Any], user: str | None = None
    ) -> TestResponse:
        return self.client.patch(
            self.url(f"/{skill_id}", user), json=body, headers=AUTH
        )

    def load(self, users: dict[str, list[dict[str, Any]]]) -> None:
        """Replace every skill through the admin API."""
        response = self.client.put("/_mockgraph/skills", json={"users": users})
        assert response.status_code == 200, response.get_json()

    def delete(self, skill_id: str, user: str | None = None) -> TestResponse:
        return self.client.delete(self.url(f"/{skill_id}", user), headers=AUTH)


def store_url(kind: str, folder: Path) -> str:
    return "memory" if kind == "memory" else f"sqlite:///{folder / 'skills.db'}"


@pytest.fixture(params=STORES)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `Config.store` value of each store: in memory, and a fresh SQLite file."""
    return store_url(request.param, tmp_path)


@pytest.fixture(scope="module", params=STORES)
def shared_skills_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SkillsApi]:
    """One app per store for a whole module, for tests that only read."""
    folder = tmp_path_factory.mktemp(request.param)
    app = create_app(Config(port=0, seed=1, store=store_url(request.param, folder)))
    yield SkillsApi(app.test_client())
    app.extensions["mockgraph"].store.close()


@pytest.fixture
def stateful_config(store_spec: str) -> Config:
    return Config(port=0, seed=1, store=store_spec)


@pytest.fixture
def stateful_app(stateful_config: Config) -> Iterator[Flask]:
    app = create_app(stateful_config)
    yield app
    app.extensions["mockgraph"].store.close()


@pytest.fixture
def skills_api(stateful_app: Flask) -> SkillsApi:
    return SkillsApi(stateful_app.test_client())
