"""Check that the examples in docs/frontend.md parse and behave as documented."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.datastructures import Headers

from mockgraph.cli import cli
from mockgraph.fault_rules import parse_rule
from mockgraph.prefer import requested_fault

PAGE = Path(__file__).resolve().parent.parent / "docs" / "frontend.md"
TEXT = PAGE.read_text(encoding="utf-8")
FAULT_OPTIONS = re.findall(r"--fault '([^']+)'", TEXT)
POSTED_RULES = re.findall(r"-d '(\{[^']+\})'", TEXT)
PREFER_LINES = re.findall(r"^Prefer: (.+)$", TEXT, flags=re.MULTILINE)
TOKEN_COMMANDS = re.findall(
    r"^mockgraph token (.+?)(?:\s+#.*)?$", TEXT, flags=re.MULTILINE
)
SERVE_COMMANDS = re.findall(
    r"^mockgraph serve (.+?)(?:\s+#.*)?$", TEXT, flags=re.MULTILINE
)


def test_page_has_examples():
    assert len(FAULT_OPTIONS) >= 5
    assert len(POSTED_RULES) >= 2
    assert len(PREFER_LINES) >= 5
    assert len(TOKEN_COMMANDS) >= 3
    assert len(SERVE_COMMANDS) >= 6


@pytest.mark.parametrize("rule", FAULT_OPTIONS + POSTED_RULES)
def test_rule_examples_valid(rule):
    assert parse_rule(json.loads(rule)).to_json()


@pytest.mark.parametrize("prefer", PREFER_LINES)
def test_prefer_examples_valid(prefer):
    assert requested_fault(Headers({"Prefer": prefer})) is not None


@pytest.mark.parametrize("arguments", TOKEN_COMMANDS)
def test_token_examples_run(arguments):
    result = CliRunner().invoke(cli, ["token", *shlex.split(arguments)])

    assert result.exit_code == 0
    assert result.output.count(".") == 2


@pytest.mark.parametrize("arguments", SERVE_COMMANDS)
def test_serve_examples_parse(monkeypatch, arguments):
    import waitress

    def stop_before_serving(app, **_options):
        raise SystemExit(0)

    monkeypatch.setattr(waitress, "create_server", stop_before_serving)
    result = CliRunner().invoke(cli, ["serve", *shlex.split(arguments)])

    assert result.exit_code == 0, result.output
