"""Query options: every example of docs/odata.md, sent to a mock holding the team fixture."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from mockgraph import Config, create_app
from mockgraph.odata import QueryOptions

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "odata.md"
TEAM = json.loads((ROOT / "fixtures" / "skills" / "team.json").read_text())
AUTH = {"Authorization": "Bearer t"}
BLOCK = re.compile(r"```http\n(GET [^\n]+)\n(?:HTTP/1\.1 (\d+) (\w+)\n)?```")


def examples():
    found = BLOCK.findall(DOC.read_text())
    assert len(found) >= 10, "docs/odata.md lost its examples"
    return [
        pytest.param(line, status, code, id=line[4:70]) for line, status, code in found
    ]


def encode(line):
    """Return the path and query of an example as the Graph SDK sends them."""
    target = line.removeprefix("GET ")
    path, _, query = target.partition("?")
    if not query:
        return path

    options = [option.split("=", 1) for option in query.split("&")]
    return (
        path
        + "?"
        + "&".join(f"{name}={quote(value, safe=',/:()$')}" for name, value in options)
    )


@pytest.fixture(scope="module")
def client(shared_skills_api):
    shared_skills_api.load(TEAM["users"])
    return shared_skills_api.client


@pytest.mark.parametrize(("line", "status", "code"), examples())
def test_doc_example(client, line, status, code):
    response = client.get(encode(line), headers=AUTH, base_url="http://localhost:8080")

    assert response.status_code == int(status or 200), response.get_data(as_text=True)
    if code:
        assert response.get_json()["error"]["code"] == code


def test_doc_next_link_example(client):
    body = client.get(
        "/beta/me/profile/skills?$top=2", headers=AUTH, base_url="http://localhost:8080"
    ).get_json()

    assert f'"@odata.nextLink": "{body["@odata.nextLink"]}"' in DOC.read_text()


def test_doc_examples_return_skills(client):
    body = client.get(
        encode("GET /beta/me/profile/skills?$filter=proficiency eq 'expert'"),
        headers=AUTH,
    ).get_json()

    assert [skill["displayName"] for skill in body["value"]] == ["Python"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (QueryOptions(), "$skip=5"),
        (QueryOptions(top=2), "$skip=5&$top=2"),
        (
            QueryOptions(filter="displayName eq 'O''Brien'", count=True),
            "$count=true&$filter=displayName%20eq%20%27O%27%27Brien%27&$skip=5",
        ),
        (
            QueryOptions(
                orderby=(("displayName", True), ("id", False)), select=("webUrl",)
            ),
            "$orderby=displayName%20desc,id%20asc&$select=webUrl&$skip=5",
        ),
        (
            QueryOptions(filter="contains(webUrl,'a&b=c')"),
            "$filter=contains(webUrl,%27a%26b%3Dc%27)&$skip=5",
        ),
    ],
)
def test_link_query_encodes_like_sdk(options, expected):
    assert options.link_query(5) == expected


def test_config_page_size_positive():
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        Config(page_size=0)


def test_page_size_from_config():
    client = create_app(Config(page_size=1)).test_client()
    client.put("/_mockgraph/skills", json=TEAM)
    body = client.get("/beta/me/profile/skills", headers=AUTH).get_json()

    assert len(body["value"]) == 1
    assert body["@odata.nextLink"].endswith("?$skip=1")
