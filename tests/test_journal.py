from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest

from mockgraph import Config, create_app
from mockgraph.journal import (
    Exchange,
    Interaction,
    Journal,
    decode_record,
    encode_exchange,
    path_matches,
)

UNKNOWN_SKILL = "00000000-0000-4000-8000-000000000000"


def make_record(**changes) -> Interaction:
    fields = {
        "seq": 0,
        "time": "2024-01-01T00:00:00+00:00",
        "method": "POST",
        "path": "/beta/users/42/profile/skills",
        "query": "",
        "headers": {},
        "body": None,
        "status": 201,
        "response_headers": {},
        "response_body": None,
        "operation": "createSkill",
        "duration_ms": 1.0,
    }
    fields.update(changes)
    return Interaction(**fields)


def test_record_fields(post, sdk_body, app):
    post(sdk_body, client_request_id="c-1")
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.seq == 1
    assert record.method == "POST"
    assert record.path == "/beta/users/42/profile/skills"
    assert record.operation == "createSkill"
    assert record.status == 201
    assert json.loads(record.body) == sdk_body
    assert record.headers["Authorization"] == "Bearer [redacted]"
    assert record.headers["Client-Request-Id"] == "c-1"
    assert record.response_headers["client-request-id"] == "c-1"
    assert record.response_body["displayName"] == "Python"
    assert record.duration_ms >= 0
    assert record.errors == []


def test_head_recorded_without_body(post, sdk_body, client, app):
    post(sdk_body)
    auth = {"Authorization": "Bearer t"}
    response = client.head("/beta/users/42/profile/skills", headers=auth)
    record = app.extensions["mockgraph"].journal.records().last()
    listed = client.get("/beta/users/42/profile/skills", headers=auth)

    assert response.status_code == 200
    assert response.data == b""
    assert record.method == "HEAD"
    assert record.status == 200
    assert record.response_body is None
    assert int(record.response_headers["Content-Length"]) == len(listed.data) > 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/beta/users/42/profile/skills", 405),
        ("DELETE", f"/beta/users/42/profile/skills/{UNKNOWN_SKILL}", 404),
        ("GET", "/beta/users/42/profile/skills", 200),
    ],
)
def test_unread_body_recorded(client, app, method, path, status):
    body = b'{"displayName": "Python"}'
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    response = client.open(path, method=method, data=body, headers=headers)
    record = app.extensions["mockgraph"].journal.records().last()

    assert response.status_code == status
    assert record.body == body.decode()
    assert record.body_truncated is False


def test_unread_body_over_limit_truncated(client, app):
    body = b"x" * (app.extensions["mockgraph"].config.max_body_bytes + 1)
    response = client.put(
        "/beta/users/42/profile/skills",
        data=body,
        headers={"Authorization": "Bearer t"},
    )
    record = app.extensions["mockgraph"].journal.records().last()

    assert response.status_code == 405
    assert record.body is None
    assert record.body_truncated is True


def test_rejected_request_recorded_with_errors(post, app):
    post({"displayName": "x", "proficiency": "guru"})
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.status == 400
    assert record.errors == [
        {
            "pointer": "/proficiency",
            "keyword": "enum",
            "message": record.response_body["error"]["details"][0]["message"],
        }
    ]


def test_unknown_route_recorded(client, app):
    client.get("/beta/nowhere?x=1")
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.status == 404
    assert record.operation == "unknownRoute"
    assert record.query == "x=1"


def test_non_utf8_body_recorded_as_base64(post, app):
    post(b'{"displayName": "\xff"}')
    record = app.extensions["mockgraph"].journal.records().last()

    assert record.body is None
    assert record.body_base64 == "eyJkaXNwbGF5TmFtZSI6ICL/In0="


def test_admin_requests_not_recorded(client, app):
    client.get("/_mockgraph/health")
    client.get("/_mockgraph/interactions")

    assert len(app.extensions["mockgraph"].journal.records()) == 0


def test_journal_bounded_counts_dropped():
    journal = Journal(limit=3)
    for _ in range(5):
        journal.append(make_record())

    records = journal.records()
    assert [record.seq for record in records] == [3, 4, 5]
    assert journal.dropped == 2


def test_journal_records_and_dropped_agree():
    journal = Journal(limit=3)
    for _ in range(5):
        journal.append(make_record())

    records, dropped = journal.records_and_dropped()
    assert [record.seq for record in records] == [3, 4, 5]
    assert dropped == 2


def test_listing_dropped_matches_records():
    client = create_app(Config(journal_limit=2)).test_client()
    for _ in range(4):
        client.get(
            "/beta/users/42/profile/skills", headers={"Authorization": "Bearer t"}
        )

    listed = client.get("/_mockgraph/interactions").get_json()
    assert [record["seq"] for record in listed["value"]] == [3, 4]
    assert listed["dropped"] == 2


def test_journal_record_round_trips():
    journal = Journal()
    original = make_record()
    original.response_body = {"id": "1", "levels": [1, 2.5, None, True], "é": "ü"}
    original.errors = [{"pointer": "/x", "keyword": "type", "message": "m"}]
    journal.append(original)

    assert journal.records()[0] == original


def test_journal_keeps_json_form_of_other_values():
    journal = Journal()
    record = make_record()
    record.response_body = {"when": datetime(2024, 1, 2, tzinfo=timezone.utc)}
    journal.append(record)

    stored = journal.records()[0]
    assert stored.response_body == {"when": "2024-01-02 00:00:00+00:00"}


def exchange_environ(**changes) -> dict:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/beta/users/42/profile/skills",
        "QUERY_STRING": "a=1&access_token=s3cret",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2",
        "HTTP_AUTHORIZATION": "Bearer s3cret",
        "HTTP_CLIENT_REQUEST_ID": "c-1",
        "mockgraph.raw_path": "/beta//users/42/profile/skills/",
        "wsgi.input": object(),
    }
    environ.update(changes)
    return environ


def make_exchange(**changes) -> Exchange:
    fields = {
        "method": "POST",
        "path": "/beta/users/42/profile/skills",
        "status": 201,
        "response_headers": {"request-id": "r-1"},
        "response_body": None,
        "response_json": '{"id": "1", "categories": ["a"], "é": null}'.encode(),
        "operation": "createSkill",
        "started": 0.0,
        "request_id": "r-1",
        "raw_body": '{"displayName": "Ünïcode"}'.encode(),
        "user": "42",
        "warnings": ["w"],
    }
    fields.update(changes)
    return Exchange(**fields)


def test_exchange_decodes_to_interaction():
    now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc).timestamp()
    data = encode_exchange(exchange_environ(), make_exchange(), now, 1.25)

    assert decode_record(7, data) == Interaction(
        seq=7,
        time="2026-01-02T03:04:05.678901+00:00",
        method="POST",
        path="/beta/users/42/profile/skills",
        raw_path="/beta//users/42/profile/skills/",
        query="a=1&access_token=[redacted]",
        headers={
            "Content-Type": "application/json",
            "Content-Length": "2",
            "Authorization": "Bearer [redacted]",
            "Client-Request-Id": "c-1",
        },
        body='{"displayName": "Ünïcode"}',
        status=201,
        response_headers={"request-id": "r-1"},
        response_body={"id": "1", "categories": ["a"], "é": None},
        operation="createSkill",
        duration_ms=1.25,
        user="42",
        warnings=["w"],
    )


def test_exchange_keeps_no_credentials():
    data = encode_exchange(exchange_environ(), make_exchange(), 0.0, 1.0)

    assert b"s3cret" not in data


def test_exchange_with_body_that_is_not_utf8():
    exchange = make_exchange(raw_body=b"\xff\xfe{", response_json=None)
    exchange.response_body = {"error": {"code": "BadRequest"}}
    record = decode_record(1, encode_exchange(exchange_environ(), exchange, 0.0, 1.0))

    assert record.body is None
    assert record.body_base64 == "//57"
    assert record.response_body == {"error": {"code": "BadRequest"}}
    assert record.time == "1970-01-01T00:00:00.000000+00:00"


def test_exchange_keeps_json_form_of_datetime():
    exchange = make_exchange(
        response_json=None,
        response_body={"when": datetime(2024, 1, 2, tzinfo=timezone.utc)},
        raw_body=b"\xff",
    )
    record = decode_record(1, encode_exchange(exchange_environ(), exchange, 0.5, 1.0))

    assert record.response_body == {"when": "2024-01-02 00:00:00+00:00"}
    assert record.body_base64 == "/w=="
    assert record.time == "1970-01-01T00:00:00.500000+00:00"


def test_encoded_records_reach_sinks_numbered():
    journal = Journal(limit=2)
    seen = []
    journal.sinks.append(seen.append)
    for index in range(3):
        exchange = make_exchange(path=f"/{index}")
        journal.append_encoded(encode_exchange(exchange_environ(), exchange, 0.0, 1.0))

    assert [(record.seq, record.path) for record in seen] == [
        (1, "/0"),
        (2, "/1"),
        (3, "/2"),
    ]
    assert [record.path for record in journal.records()] == ["/1", "/2"]
    assert journal.dropped == 1


def test_journal_limit_must_not_be_negative():
    with pytest.raises(ValueError, match="at least 0"):
        Journal(limit=-1)


def test_journal_thread_safe():
    journal = Journal(limit=100_000)

    def append_many():
        for _ in range(500):
            journal.append(make_record())

    threads = [threading.Thread(target=append_many) for _ in range(8)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join()

    seqs = [record.seq for record in journal.records()]
    assert len(seqs) == 4000
    assert sorted(seqs) == list(range(1, 4001))


def test_broken_sink_keeps_record():
    journal = Journal()

    def broken(record):
        raise OSError("disk full")

    journal.sinks.append(broken)
    journal.append(make_record())

    assert len(journal.records()) == 1


def test_journal_file_gets_every_record(tmp_path, sdk_body):
    path = tmp_path / "journal.jsonl"
    app = create_app(Config(journal_file=str(path)))
    client = app.test_client()
    headers = {"Authorization": "Bearer secret-token"}
    client.post("/beta/users/1/profile/skills", json=sdk_body, headers=headers)
    client.post("/beta/users/1/profile/skills", data="{", headers=headers)
    app.extensions["mockgraph"].close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    assert [line["status"] for line in lines] == [201, 400]
    assert [line["seq"] for line in lines] == [1, 2]
    assert "secret-token" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/users/42/profile/skills", "/beta/users/42/profile/skills", True),
        ("/beta/users/42/profile/skills", "/users/42/profile/skills", True),
        ("/users/*/profile/skills", "/beta/users/a@b.c/profile/skills", True),
        ("/users/42/profile/skills/", "/beta/users/42/profile/skills", True),
        ("/users/43/profile/skills", "/beta/users/42/profile/skills", False),
        ("/users/42/profile/skills", "/beta/users/42/profile/skills/abc", False),
    ],
)
def test_path_matches(pattern, path, expected):
    assert path_matches(pattern, path) is expected


def test_admin_interactions_filters(post, sdk_body, client):
    post(sdk_body)
    post({"displayName": 1})
    client.get("/beta/users/42/profile/skills", headers={"Authorization": "Bearer t"})

    def count(query):
        return client.get(f"/_mockgraph/interactions?{query}").get_json()["count"]

    assert count("") == 3
    assert count("method=post") == 2
    assert count("status=400") == 1
    assert count("operation=listSkills") == 1
    assert count("path=/users/42/profile/skills") == 3
    assert count("path=/users/7/profile/skills") == 0


def test_admin_interactions_bad_status(client):
    response = client.get("/_mockgraph/interactions?status=ok")

    assert response.status_code == 400
    assert "'ok'" in response.get_json()["error"]["message"]


def test_admin_delete_interactions(post, sdk_body, client):
    post(sdk_body)
    response = client.delete("/_mockgraph/interactions")

    assert response.status_code == 204
    assert client.get("/_mockgraph/interactions").get_json()["count"] == 0


def test_admin_health(client):
    body = client.get("/_mockgraph/health").get_json()

    assert body["status"] == "ok"
    assert body["seed"] == 1
    assert len(body["schemaVersion"]) == 16


def test_graph_route_cannot_shadow_admin(client):
    response = client.get("/beta/_mockgraph/health")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer secret", "Accept": "application/json"},
        {"Content-Type": "application/json", "X-Custom_Name": "a b"},
        {"Cookie": "session=1", "client-request-id": "abc"},
        {},
    ],
)
def test_request_headers_match_werkzeug(headers):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from mockgraph.journal import redact_header, request_headers

    environ = EnvironBuilder(
        method="POST", path="/", headers=headers, data=b"{}"
    ).get_environ()
    expected = {
        name: redact_header(name, value)
        for name, value in Request(environ).headers.items()
    }

    assert request_headers(environ) == expected
    assert list(request_headers(environ)) == list(expected)


def test_reset_failing_journal_keeps_skills(monkeypatch):
    app = create_app(Config())
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    body = {"displayName": "Python", "proficiency": "expert"}
    client.post("/beta/users/42/profile/skills", json=body, headers=auth)

    def locked(restart_numbering: bool = True) -> None:
        raise TimeoutError("the interaction journal stayed locked")

    monkeypatch.setattr(app.extensions["mockgraph"].journal, "clear", locked)
    response = client.post("/_mockgraph/reset")

    assert response.status_code == 503
    listed = client.get("/beta/users/42/profile/skills", headers=auth).get_json()
    assert len(listed["value"]) == 1
