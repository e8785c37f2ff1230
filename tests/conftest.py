from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

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
