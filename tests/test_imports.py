"""What starting a server imports: modules off the path to the first create stay unloaded.

Each check runs in a fresh interpreter, because this test process has long since
imported everything. The modules listed are slow to import and serve only other
commands, invalid bodies, tokens under ``--auth jwt``, list queries or any other
request that the Flask application handles, which import them on first use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mockgraph

# Not needed by `mockgraph serve` before it handles its first valid create.
OFF_SERVE_PATH = [
    "cryptography",
    "flask",
    "jinja2",
    "jsonschema",
    "jwt",
    "mockgraph.app",
    "mockgraph.listing",
    "mockgraph.routes",
    "mockgraph.verify",
    "odata_query",
    "pact",
    "referencing",
    "requests",
    "werkzeug",
]
# Imported only once the application is built, because the first create needs a name.
FAKER = ["faker"]
# A Faker provider that Faker("en_US") loads and the names of created skills do not use.
FAKER_ADDRESSES = "faker.providers.address.en_US"

IMPORT_CLI = "import mockgraph.cli"
# What `mockgraph serve` runs up to its first response, without the server.
BUILD_AND_CREATE = """
import io, json
import mockgraph.cli
from mockgraph.config import Config
from mockgraph.serving_app import ServedApplication
from mockgraph.state import build_state

body = json.dumps({"displayName": "Python", "proficiency": "expert"}).encode()
environ = {
    "REQUEST_METHOD": "POST",
    "PATH_INFO": "/beta/users/42/profile/skills",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "HTTP_HOST": "127.0.0.1:8000",
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(body),
    "CONTENT_TYPE": "application/json",
    "CONTENT_LENGTH": str(len(body)),
    "HTTP_AUTHORIZATION": "Bearer t",
}
statuses = []
app = ServedApplication(build_state(Config(seed=1)))
answer = b"".join(app(environ, lambda status, headers: statuses.append(status)))
assert statuses == ["201 CREATED"], (statuses, answer)
"""
PRINT_MODULES = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"


def imported_modules(code: str, folder: Path) -> set[str]:
    """Run ``code`` in a new interpreter; return the names in its ``sys.modules``.

    It runs in ``folder``, because ``python -c`` puts the working folder first on
    ``sys.path`` and the source tree's ``mockgraph`` would shadow the installed one.
    """
    result = subprocess.run(
        [sys.executable, "-c", code + PRINT_MODULES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def loaded(modules: set[str], name: str) -> list[str]:
    """Return ``name`` and its submodules among ``modules``."""
    return sorted(
        module for module in modules if module == name or module.startswith(name + ".")
    )


@pytest.fixture(scope="module")
def cli_modules(tmp_path_factory) -> set[str]:
    return imported_modules(IMPORT_CLI, tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def serve_modules(tmp_path_factory) -> set[str]:
    return imported_modules(BUILD_AND_CREATE, tmp_path_factory.mktemp("serve"))


@pytest.mark.parametrize("name", OFF_SERVE_PATH + FAKER)
def test_cli_import_skips(cli_modules, name):
    assert loaded(cli_modules, name) == []


def test_cli_import_skips_app(cli_modules):
    assert "mockgraph.app" not in cli_modules
    assert "flask" not in cli_modules


@pytest.mark.parametrize("name", OFF_SERVE_PATH)
def test_first_create_skips(serve_modules, name):
    assert loaded(serve_modules, name) == []


def test_first_create_loads_one_faker_locale(serve_modules):
    assert "faker" in serve_modules
    assert FAKER_ADDRESSES not in serve_modules


@pytest.mark.parametrize("name", mockgraph.__all__)
def test_package_exports_name(name):
    assert getattr(mockgraph, name).__name__ == name


def test_package_rejects_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        mockgraph.Missing  # noqa: B018
