"""Run every request body under fixtures/requests through the create endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REQUESTS = Path(__file__).resolve().parent.parent / "fixtures" / "requests"
VALID = sorted((REQUESTS / "valid").glob("*.json"))
INVALID = sorted((REQUESTS / "invalid").glob("*.json"))


def test_fixture_folders_not_empty():
    assert len(VALID) >= 5
    assert len(INVALID) >= 7


@pytest.mark.parametrize("path", VALID, ids=[path.stem for path in VALID])
def test_valid_body_created(post, path):
    response = post(path.read_bytes())

    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("path", INVALID, ids=[path.stem for path in INVALID])
def test_invalid_body_targets(post, path):
    case = json.loads(path.read_text(encoding="utf-8"))
    response = post(case["body"])
    error = response.get_json()["error"]

    assert response.status_code == 400
    assert [detail["target"] for detail in error["details"]] == case["targets"]
    assert error["target"] == case["targets"][0]
