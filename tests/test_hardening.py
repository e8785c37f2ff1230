"""Hostile and malformed input: each gets a Graph error, never a 500 or a hang."""

from __future__ import annotations

import json
import socket

import pytest

from mockgraph import Config, MockGraph, create_app
from mockgraph.validation import MAX_DETAILS


def error_of(response):
    return response.get_json()["error"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"displayName": "\\ud800"}', "the string at '/displayName' contains a lone"),
        (b'{"displayName": "a", "\\udc00": 1}', "lone UTF-16 surrogate"),
        (b'{"displayName": "a", "categories": ["\\uDFFF"]}', "'/categories/0'"),
        (
            b'{"displayName": "a", "inference": {"confidenceScore": 1e999}}',
            "1e999 is out of range",
        ),
        (
            b'{"displayName": "a", "inference": {"confidenceScore": -1e400}}',
            "out of range",
        ),
        (b'{"displayName": 1' + b"0" * 5000 + b"}", "5001 digits is out of range"),
        (
            b'{"displayName": "a", "displayName": "b"}',
            "'displayName' appears more than once",
        ),
    ],
)
def test_unreadable_value_rejected(post, data, reason):
    response = post(data)
    error = error_of(response)

    assert response.status_code == 400
    assert error["code"] == "BadRequest"
    assert reason in error["message"]


def test_surrogate_pair_accepted(post):
    response = post(b'{"displayName": "\\ud83d\\udc0d"}')

    assert response.status_code == 201
    assert response.get_json()["displayName"] == "\U0001f40d"


def test_surrogate_never_stored(post, client):
    post(b'{"displayName": "\\ud800"}')
    listed = client.get(
        "/beta/users/42/profile/skills", headers={"Authorization": "Bearer t"}
    )

    assert listed.status_code == 200
    assert listed.get_json()["value"] == []


def test_compressed_body_rejected(post):
    error = error_of(post({"displayName": "x"}, Content_Encoding="gzip"))

    assert "Content-Encoding 'gzip' is not supported" in error["message"]


@pytest.mark.parametrize("name", [" ", "\t\n", "   "])
def test_blank_display_name_rejected(post, name):
    error = error_of(post({"displayName": name}))

    assert error["target"] == "/displayName"
    assert "character other than white space" in error["message"]


def test_display_name_type_names_string(post):
    error = error_of(post({"displayName": 5}))

    assert (
        error["message"]
        == "Invalid value 5 for 'displayName': expected string, got number."
    )


def test_values_shown_as_json(post):
    error = error_of(post({"displayName": "x", "isSearchable": {"a": None}}))

    assert 'Invalid value {"a": null}' in error["message"]


def test_long_values_shortened(post):
    key = "k" * 100_000
    response = post({"displayName": "x", key: 1, "proficiency": "p" * 100_000})

    assert response.status_code == 400
    assert len(response.get_data()) < 5_000


def test_many_failures_capped(post):
    body = {"displayName": "x", **{f"k{index}": 1 for index in range(5000)}}
    error = error_of(post(body))

    assert len(error["details"]) == MAX_DETAILS
    assert error["details"][0]["target"] == "/k0"
    assert (
        f"(4999 more; error.details lists the first {MAX_DETAILS})" in error["message"]
    )


def test_audience_spacing_explained(post):
    error = error_of(post({"displayName": "x", "allowedAudiences": "me ,family"}))

    assert "separated by ',' or ', '" in error["message"]


def test_inline_object_named_in_message(post):
    error = error_of(post({"displayName": "x", "source": {"kind": 1}}))

    assert "type 'microsoft.graph.personDataSources'" in error["message"]


@pytest.mark.parametrize("user", ["%ff", "%C0%AF", "a%80b"])
def test_user_id_invalid_utf8_rejected(post, user):
    response = post({"displayName": "x"}, path=f"/beta/users/{user}/profile/skills")

    assert response.status_code == 400
    assert error_of(response)["target"] == "userId"


def test_user_id_too_long_rejected(post):
    response = post(
        {"displayName": "x"}, path=f"/beta/users/{'u' * 300}/profile/skills"
    )

    assert response.status_code == 400
    assert "300 characters is longer than 256" in error_of(response)["message"]


def test_empty_host_uses_server_address(client):
    response = client.post(
        "/beta/users/42/profile/skills",
        json={"displayName": "x"},
        headers={"Authorization": "Bearer t", "Host": ""},
    )

    assert response.status_code == 201
    assert response.headers["Location"].startswith("http://localhost:80/beta/users/42/")


def test_rejection_without_details_records_error(post, app):
    post({"displayName": "x"}, Authorization=None)
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.errors[0]["keyword"] == "InvalidAuthenticationToken"
    assert "Access token is empty" in record.errors[0]["message"]


def test_query_credentials_redacted(client, app):
    client.get(
        "/beta/users/42/profile/skills?access_token=secret&$top=1",
        headers={"Authorization": "Bearer t"},
    )
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.query == "access_token=[redacted]&$top=1"


def test_numbering_continues_after_delete(post, client, app):
    post({"displayName": "a"})
    client.delete("/_mockgraph/interactions")
    post({"displayName": "b"})

    assert app.extensions["mockgraph"].journal.records().last().seq == 2


def test_journal_file_in_order_under_load(tmp_path):
    path = tmp_path / "journal.jsonl"
    with MockGraph(journal_file=str(path)) as graph:
        import concurrent.futures

        import requests

        def create(index):
            return requests.post(
                f"{graph.url}/users/{index % 4}/profile/skills",
                json={"displayName": f"s{index}"},
                headers={"Authorization": "Bearer t"},
                timeout=30,
            ).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(create, range(80)))

    seqs = [json.loads(line)["seq"] for line in path.read_text().splitlines()]
    assert statuses == [201] * 80
    assert seqs == list(range(1, 81))


def test_busy_port_raises_os_error():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]

        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            MockGraph(port=port).start()


@pytest.mark.parametrize(
    ("changes", "error", "text"),
    [
        ({"port": "80"}, TypeError, "port must be int, got str '80'"),
        ({"port": 70000}, ValueError, "port must be from 0 to 65535"),
        ({"port": True}, TypeError, "port must be int"),
        ({"seed": "x"}, TypeError, "seed must be int, got str 'x'"),
        ({"host": None}, TypeError, "host must be str"),
    ],
)
def test_config_rejects_bad_values(changes, error, text):
    with pytest.raises(error, match=text):
        Config(**changes)


def test_strict_app_keeps_bad_input_out_of_store():
    client = create_app(Config(strict=True)).test_client()
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    client.post(
        "/beta/users/1/profile/skills",
        data=b'{"displayName": "\\ud800"}',
        headers=headers,
    )
    listed = client.get("/beta/users/1/profile/skills", headers=headers)

    assert listed.get_json()["value"] == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_count_segment_only_get(client, method):
    response = client.open(
        "/beta/users/1/profile/skills/$count",
        method=method,
        json={},
        headers={"Authorization": "Bearer t"},
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_count_segment_unknown_method_allows_get(client):
    response = client.open(
        "/beta/users/1/profile/skills/$count",
        method="PROPFIND",
        headers={"Authorization": "Bearer t"},
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "use GET." in error_of(response)["message"]


@pytest.mark.parametrize(
    ("suffix", "allowed"),
    [
        ("", "GET, HEAD, POST, OPTIONS"),
        ("/$count", "GET, HEAD, OPTIONS"),
        ("/some-id", "GET, HEAD, PATCH, DELETE, OPTIONS"),
    ],
)
def test_plain_options_lists_methods(client, app, suffix, allowed):
    response = client.options(f"/beta/users/1/profile/skills{suffix}")
    record = app.extensions["mockgraph"].journal.records().last()

    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["Allow"] == allowed
    assert "Content-Type" not in response.headers
    assert record.operation == "listMethods"
    assert record.response_headers["Allow"] == allowed


def test_assert_requested_rejects_negative_times():
    with MockGraph() as graph, pytest.raises(ValueError, match="times must be"):
        graph.assert_requested("GET", "/users/1/profile/skills", times=-1)


def test_assert_requested_accepts_full_url():
    with MockGraph() as graph:
        import requests

        requests.get(
            f"{graph.url}/users/1/profile/skills",
            headers={"Authorization": "Bearer t"},
            timeout=10,
        )

        matches = graph.assert_requested(
            "GET", f"{graph.url}/users/1/profile/skills", times=1
        )

    assert len(matches) == 1


def test_deep_nesting_never_500(post):
    # Depths on both sides of where jsonschema, which recurses deeper per level than
    # the JSON parser, runs out of stack while describing the value.
    statuses = {}
    for depth in range(900, 1001, 4):
        body = (
            b'{"displayName": "x", "proficiency": "expert", "createdBy": '
            + b"[" * depth
            + b"]" * depth
            + b"}"
        )
        response = post(body)
        statuses[depth] = response.status_code
        if (
            response.status_code == 400
            and "too deeply" in error_of(response)["message"]
        ):
            assert error_of(response)["code"] == "BadRequest"

    assert set(statuses.values()) == {400}
