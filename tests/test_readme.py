"""Run every example in README.md against a live mock."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mockgraph import MockGraph

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.DOTALL)
DEFAULT_URL = "http://127.0.0.1:8080"
MAKE_RUN_TIMEOUT_SECONDS = 600


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCKS if lang == language]


def curl_commands() -> list[str]:
    commands = []
    for block in blocks("sh"):
        text = block.replace("\\\n", " ")
        commands += [
            line.strip() for line in text.splitlines() if line.startswith("curl")
        ]

    return commands


def run_curl(command: str, base_url: str) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command.replace(DEFAULT_URL, base_url))
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)


@pytest.fixture(scope="module")
def graph():
    with MockGraph() as server:
        yield server


def test_readme_has_examples():
    assert len(curl_commands()) == 3
    assert len(blocks("python")) == 3


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_examples(graph):
    create, reject, journal = curl_commands()

    created = json.loads(run_curl(create, graph.base_url).stdout)
    rejected = json.loads(run_curl(reject, graph.base_url).stdout)["error"]
    recorded = json.loads(run_curl(journal, graph.base_url).stdout)

    assert created["displayName"] == "Python"
    assert created["categories"] == ["Professional"]
    assert rejected["code"] == "invalidRequest"
    assert rejected["target"] == "/proficiency"
    assert rejected["message"].startswith(
        "Invalid value 'guru' for 'proficiency': expected one of 'elementary', "
    )
    assert recorded["count"] == 1
    assert recorded["value"][0]["status"] == 400


def test_readme_error_example_matches():
    [shown] = blocks("json")

    assert '"code": "invalidRequest"' in shown
    assert '"target": "/proficiency"' in shown


def test_readme_pytest_examples(pytester: pytest.Pytester):
    test_code, conftest_code, _script = blocks("python")
    pytester.makeconftest(conftest_code)
    pytester.makepyfile(test_code)

    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_readme_script_example():
    *_, script = blocks("python")
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.path.dirname(sys.executable),
    )

    assert result.returncode == 0, result.stderr
    url, count = result.stdout.splitlines()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/beta", url)
    assert count == "0"


def tracked_copy(destination: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

    return destination


@pytest.mark.skipif(
    shutil.which("git") is None, reason="needs git to list the project files"
)
def test_readme_make_run_from_clean_copy(tmp_path):
    """`make run` builds its own environment in a copy of the project and serves."""
    assert "make run" in blocks("sh")[0]
    project = tracked_copy(tmp_path / "project")
    process = subprocess.Popen(
        ["make", "run", "ARGS=--port 0"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    port = None
    try:
        deadline = time.monotonic() + MAKE_RUN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break

            output.append(line)
            match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/beta", line)
            if match:
                port = int(match.group(1))
                break

        assert port is not None, "".join(output)
        import requests

        response = requests.post(
            f"http://127.0.0.1:{port}/beta/me/profile/skills",
            json={"displayName": "Python"},
            headers={"Authorization": "Bearer t"},
            timeout=30,
        )
        assert response.status_code == 201
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)

    assert (project / ".venv" / "bin" / "mockgraph").exists()
