from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockgraph.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "requests"
START_TIMEOUT_SECONDS = 30


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_validate_valid_body():
    result = run("validate", str(FIXTURES / "valid" / "sdk-typical.json"))

    assert result.exit_code == 0
    assert result.output.strip().endswith("sdk-typical.json: valid")


def test_validate_empty_schema_folder(tmp_path):
    result = run(
        "validate",
        "--schema-dir",
        str(tmp_path),
        str(FIXTURES / "valid" / "sdk-typical.json"),
    )

    assert result.exit_code == 2
    assert "--schema-dir" in result.output
    assert "no JSON Schema files found" in result.output


def test_verify_empty_schema_folder(tmp_path):
    contract = tmp_path / "contract.json"
    contract.write_text("{}")
    schemas = tmp_path / "schemas"
    schemas.mkdir()

    result = run("verify", "--schema-only", "--schema-dir", str(schemas), str(contract))

    assert result.exit_code == 2
    assert "error: --schema-dir: no JSON Schema files found" in result.output


def test_validate_invalid_body_lists_errors():
    path = FIXTURES / "invalid" / "published-placeholders.json"
    body = json.loads(path.read_text())["body"]
    result = CliRunner().invoke(cli, ["validate", "-"], input=json.dumps(body))

    assert result.exit_code == 1
    assert (
        "-: invalid: invalidRequest: Invalid value 'String' for 'allowedAudiences'"
        in result.output
    )
    assert "  /allowedAudiences: invalidRequest:" in result.output
    assert "  /proficiency: invalidRequest: Invalid value 'String'" in result.output


def test_validate_reports_server_set_warning(tmp_path):
    path = tmp_path / "body.json"
    path.write_text('{"displayName": "x", "id": "abc"}')

    result = run("validate", str(path))
    strict = run("validate", "--strict", str(path))

    assert result.exit_code == 0
    assert "warning: ignored server-set property 'id'" in result.output
    assert strict.exit_code == 1


def test_validate_update_allows_missing_name(tmp_path):
    path = tmp_path / "patch.json"
    path.write_text('{"proficiency": "expert"}')

    assert run("validate", str(path)).exit_code == 1
    assert run("validate", "--update", str(path)).exit_code == 0


def test_validate_unreadable_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")

    result = run("validate", str(path))

    assert result.exit_code == 1
    assert (
        "BadRequest: Unable to read JSON request payload: the body is not valid JSON"
        in result.output
    )


def test_validate_missing_file():
    result = run("validate", "no-such-file.json")

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_help_lists_commands():
    result = run("--help")

    assert result.exit_code == 0
    assert "serve" in result.output
    assert "validate" in result.output


class Served:
    """A `python -m mockgraph serve` child process on a free port."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockgraph", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # Away from the source tree, so `-m mockgraph` imports the installed package.
            cwd=os.path.dirname(sys.executable),
        )
        self.lines: list[str] = []
        self.connections: list[http.client.HTTPConnection] = []
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break

            self.lines.append(line)
            match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/beta", line)
            if match:
                self.port = int(match.group(1))
                return

        self.stop()
        raise AssertionError("server did not start:\n" + "".join(self.lines))

    def connection(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.connections.append(connection)
        return connection

    def stop(self) -> str:
        if self.process.stdout.closed:
            return "".join(self.lines)

        for connection in self.connections:
            connection.close()

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

        self.process.wait(timeout=30)
        # Read through the same buffered pipe as readline(), which may hold lines already.
        self.lines.append(self.process.stdout.read())
        self.process.stdout.close()
        return "".join(self.lines)


@pytest.fixture
def served():
    server = Served("--seed", "1", "--max-body-bytes", "2000")
    yield server
    server.stop()


def post(connection, body: bytes):
    connection.request(
        "POST",
        "/beta/users/42/profile/skills",
        body=body,
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    return response, response.read()


def test_serve_creates_and_logs(served):
    connection = served.connection()
    response, body = post(connection, b'{"displayName": "Python"}')
    output = served.stop()

    assert response.status == 201
    assert json.loads(body)["displayName"] == "Python"
    assert "seed 1" in output
    assert re.search(
        r"POST /beta/users/42/profile/skills 201 createSkill [\d.]+ms", output
    )
    assert "mockgraph stopped" in output
    assert "development server" not in output
    assert served.process.returncode == 0


def test_serve_keeps_connection_after_413(served):
    connection = served.connection()
    too_big, error_body = post(connection, b'{"displayName": "' + b"x" * 50_000 + b'"}')
    sock = connection.sock
    next_response, _ = post(connection, b'{"displayName": "Go"}')

    assert too_big.status == 413
    assert json.loads(error_body)["error"]["code"] == "RequestEntityTooLarge"
    assert too_big.getheader("Connection") != "close"
    assert next_response.status == 201
    assert connection.sock is sock


def test_serve_keep_alive_across_requests(served):
    connection = served.connection()
    first, _ = post(connection, b'{"displayName": "a"}')
    sock = connection.sock
    second, _ = post(connection, b'{"proficiency": "guru"}')
    third, _ = post(connection, b'{"displayName": "c"}')

    assert [first.status, second.status, third.status] == [201, 400, 201]
    assert connection.sock is sock


def test_serve_rejects_bad_option():
    result = run("serve", "--max-body-bytes", "0")

    assert result.exit_code == 2
    assert "--max-body-bytes" in result.output
