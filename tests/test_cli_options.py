from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time

import jwt
import pytest
import requests
from click.testing import CliRunner

from mockgraph.cli import cli
from mockgraph.throttle import ThrottleLimit

AUTH = {"Authorization": "Bearer t"}
# How long a started `mockgraph serve` may take to log its address.
START_TIMEOUT_SECONDS = 30


def serve_config(monkeypatch, *args):
    """Run `mockgraph serve ARGS` with the server replaced; return the Config it built."""
    import waitress

    built = {}

    def fake_create_server(app, **_options):
        built["config"] = app.state.config
        raise SystemExit(0)

    monkeypatch.setattr(waitress, "create_server", fake_create_server)
    result = CliRunner().invoke(cli, ["serve", *args])
    return result, built.get("config")


def test_serve_defaults(monkeypatch):
    result, config = serve_config(monkeypatch)

    assert result.exit_code == 0
    assert config.cors_origins == ("http://localhost:*", "http://127.0.0.1:*")
    assert config.faults == ()
    assert config.throttle is None
    assert config.auth == "any"


def test_serve_frontend_options(monkeypatch):
    result, config = serve_config(
        monkeypatch,
        "--cors-origin",
        "http://localhost:5173",
        "--cors-origin",
        "https://*.contoso.com",
        "--fault",
        '{"method": "POST", "status": 503, "times": 1}',
        "--fault",
        '{"latencyMs": [10, 20]}',
        "--throttle",
        "5/10",
        "--auth",
        "jwt",
    )

    assert result.exit_code == 0
    assert config.cors_origins == ("http://localhost:5173", "https://*.contoso.com")
    assert [spec.to_json() for spec in config.faults] == [
        {"method": "POST", "status": 503, "times": 1},
        {"latencyMs": [10.0, 20.0]},
    ]
    assert config.throttle == ThrottleLimit(5, 10)
    assert config.auth == "jwt"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--fault", "{status: 503}"], "is not valid JSON"),
        (["--fault", '{"status": 503, "times": "x"}'], "'times' is 'x'"),
        (["--fault", '{"colour": 1}'], "unknown field 'colour'"),
        (["--throttle", "5"], "write N/SECONDS"),
        (["--throttle", "0/10"], "at least 1"),
        (["--throttle", "5/0"], "longer than 0 seconds"),
        (["--auth", "basic"], "'basic' is not one of 'any', 'jwt'"),
    ],
)
def test_serve_rejects_invalid_options(monkeypatch, args, text):
    result, config = serve_config(monkeypatch, *args)

    assert result.exit_code == 2
    assert text in result.output
    assert config is None


# The token command


def claims_of(output):
    return jwt.decode(output.strip(), options={"verify_signature": False})


def test_token_claims():
    result = CliRunner().invoke(
        cli,
        [
            "token",
            "--user",
            "alice@contoso.com",
            "--name",
            "Alice",
            "--scopes",
            "User.ReadWrite",
        ],
    )
    claims = claims_of(result.output)

    assert result.exit_code == 0
    assert claims["name"] == "Alice"
    assert claims["preferred_username"] == "alice@contoso.com"
    assert claims["scp"] == "User.ReadWrite"
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["exp"] - claims["iat"] == 3600
    assert "roles" not in claims


def test_token_guid_user_is_oid():
    user = "00000000-0000-0000-0000-000000000042"
    claims = claims_of(CliRunner().invoke(cli, ["token", "--user", user]).output)

    assert claims["oid"] == user
    assert "preferred_username" not in claims


def test_token_scopes_and_roles_lists():
    result = CliRunner().invoke(
        cli,
        [
            "token",
            "--user",
            "u",
            "--scopes",
            "",
            "--roles",
            "User.Read.All,User.ReadWrite.All",
        ],
    )
    claims = claims_of(result.output)

    assert "scp" not in claims
    assert claims["roles"] == ["User.Read.All", "User.ReadWrite.All"]


def test_token_expires_in():
    result = CliRunner().invoke(cli, ["token", "--user", "u", "--expires-in", "-60"])
    claims = claims_of(result.output)

    assert claims["exp"] - claims["iat"] == -60


@pytest.mark.parametrize("value", ["-99999999999999999999", "315360001"])
def test_token_rejects_huge_expires_in(value):
    result = CliRunner().invoke(cli, ["token", "--user", "u", "--expires-in", value])

    assert result.exit_code == 2
    assert "Invalid value for '--expires-in'" in result.output
    assert "-315360000<=x<=315360000" in result.output


def test_token_requires_user():
    result = CliRunner().invoke(cli, ["token"])

    assert result.exit_code == 2
    assert "--user" in result.output


# A real `mockgraph serve` process (Waitress)


class ServeProcess:
    """`mockgraph serve` in a child process on 127.0.0.1 and a free port."""

    def __init__(self, *args: str) -> None:
        executable = shutil.which("mockgraph", path=os.path.dirname(sys.executable))
        assert executable, "the mockgraph command is not installed next to this Python"
        self.process = subprocess.Popen(
            [executable, "serve", "--port", "0", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        lines = []
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break

            line = self.process.stderr.readline()
            if not line:
                break

            lines.append(line)
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)/beta", line)
            if found:
                return found.group(1)

        self.stop()
        raise AssertionError("mockgraph serve did not start:\n" + "".join(lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

        self.process.stderr.close()


@pytest.fixture
def serve_process():
    started = []

    def start(*args):
        server = ServeProcess(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_serve_process_drops_connection(serve_process):
    server = serve_process("--fault", '{"drop": true, "times": 1}')
    url = server.url + "/beta/users/42/profile/skills"

    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=AUTH, timeout=10)

    after = requests.get(url, headers=AUTH, timeout=10)
    records = requests.get(server.url + "/_mockgraph/interactions", timeout=10).json()[
        "value"
    ]

    assert after.status_code == 200
    assert [record["status"] for record in records] == [0, 200]
    assert records[0]["fault"]["dropped"] is True


def test_serve_process_throttles_and_allows_origin(serve_process):
    server = serve_process(
        "--throttle", "1/60", "--cors-origin", "https://app.contoso.com"
    )
    url = server.url + "/beta/me/profile/skills"
    headers = {**AUTH, "Origin": "https://app.contoso.com"}
    first = requests.get(url, headers=headers, timeout=10)
    second = requests.get(url, headers=headers, timeout=10)

    assert first.status_code == 200
    assert second.status_code == 429
    assert 1 <= int(second.headers["Retry-After"]) <= 60
    assert second.headers["Access-Control-Allow-Origin"] == "https://app.contoso.com"


@pytest.mark.parametrize("user", ["", "   "])
def test_token_rejects_empty_user(user):
    result = CliRunner().invoke(cli, ["token", "--user", user])

    assert result.exit_code == 2
    assert "must name a user" in result.output


@pytest.mark.parametrize("value", ["", "  "])
def test_serve_rejects_blank_me(monkeypatch, value):
    result, config = serve_config(monkeypatch, "--me", value)

    assert result.exit_code == 2
    assert config is None
    assert "Invalid value for '--me'" in result.output
    assert "is blank" in result.output
