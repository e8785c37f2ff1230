from __future__ import annotations

import json

import pytest

from mockgraph import Config, create_app

AUTH = {"Authorization": "Bearer t"}


def test_limit_zero_records_nothing():
    app = create_app(Config(journal_limit=0))
    client = app.test_client()
    response = client.post(
        "/beta/users/42/profile/skills", json={"displayName": "x"}, headers=AUTH
    )
    listed = client.get("/_mockgraph/interactions").get_json()

    assert response.status_code == 201
    assert listed["count"] == 0
    assert listed["dropped"] == 0


def test_limit_zero_still_writes_file(tmp_path):
    path = tmp_path / "journal.jsonl"
    app = create_app(Config(journal_limit=0, journal_file=str(path)))
    app.test_client().post(
        "/beta/users/42/profile/skills", json={"displayName": "x"}, headers=AUTH
    )
    app.extensions["mockgraph"].journal.sinks[0].close()
    lines = path.read_text(encoding="utf-8").splitlines()

    assert len(lines) == 1
    assert json.loads(lines[0])["status"] == 201


def test_negative_limit_rejected():
    with pytest.raises(ValueError, match="journal_limit must be at least 0"):
        Config(journal_limit=-1)
