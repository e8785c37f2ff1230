"""The direct create path responds exactly as the Flask route does and passes on the rest.

Each case sends the same request to two applications built alike, one with the direct
path and one without it, and compares the status, the headers, the body and the
journal record. Values that differ on every request (request ids, timestamps,
durations) are set aside first.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mockgraph import Config, create_app, creation
from mockgraph.app import FAST_PATH_KEY, get_state
from mockgraph.errors import GraphError
from mockgraph.fastpath import CreateFastPath
from mockgraph.fault_rules import FaultSpec
from mockgraph.throttle import ThrottleLimit

from .conftest import SDK_BODY

PATH = "/beta/users/42/profile/skills"
HEADERS = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Counting:
    """A wrapper of the Flask application behind the direct path that counts its calls."""

    def __init__(self, fast_path: CreateFastPath) -> None:
        self.calls = 0
        self.inner = fast_path.wsgi_app
        fast_path.wsgi_app = self

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        return self.inner(environ, start_response)


def fast_path(app: Flask) -> CreateFastPath:
    found: CreateFastPath = app.extensions[FAST_PATH_KEY]
    return found


def build_pair(config: Config) -> tuple[Flask, Flask]:
    """Return an application with the direct path and one without it."""
    direct, routed = create_app(config), create_app(config)
    fast_path(routed).enabled = False
    return direct, routed


@pytest.fixture
def pair() -> Iterator[tuple[Flask, Flask]]:
    direct, routed = build_pair(Config(port=0, seed=7))
    yield direct, routed
    get_state(direct).close()
    get_state(routed).close()


def send(
    app: Flask,
    path: str = PATH,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    **environ: Any,
) -> tuple[str, dict[str, str], bytes]:
    """Send one request through the whole WSGI stack; return status, headers, body."""
    data = json.dumps(SDK_BODY).encode() if body is None else body
    built = EnvironBuilder(
        path=path,
        method="POST",
        data=data,
        headers=HEADERS if headers is None else headers,
    ).get_environ()
    built.update(environ)
    iterable, status, sent = run_wsgi_app(app.wsgi_app, built)
    return status, dict(sent), b"".join(iterable)


def comparable(text: str) -> str:
    """Replace timestamps and GUIDs, which differ between any two requests."""
    return UUID.sub("<guid>", TIMESTAMP.sub("<time>", text))


def last_record(app: Flask) -> dict[str, Any]:
    record = get_state(app).journal.records()[-1]
    values = dict(record.__dict__)
    for name in ("time", "duration_ms"):
        values.pop(name)

    return json.loads(comparable(json.dumps(values)))


def assert_same(
    pair: tuple[Flask, Flask], *args: Any, **kwargs: Any
) -> tuple[str, dict[str, str], bytes]:
    """Send the request to both applications and assert identical responses."""
    direct, routed = pair
    status, headers, body = send(direct, *args, **kwargs)
    expected_status, expected_headers, expected_body = send(routed, *args, **kwargs)
    assert status == expected_status
    assert list(headers) == list(expected_headers)
    assert comparable(json.dumps(headers)) == comparable(json.dumps(expected_headers))
    assert comparable(body.decode()) == comparable(expected_body.decode())
    assert last_record(direct) == last_record(routed)
    return status, headers, body


CREATE_CASES: dict[str, dict[str, Any]] = {
    "users": {},
    "without beta": {"path": "/users/42/profile/skills"},
    "user form": {"path": "/beta/user/megan@contoso.com/profile/skills"},
    "me": {"path": "/beta/me/profile/skills"},
    "doubled and trailing slashes": {"path": "/beta//users/42/profile/skills/"},
    "percent-encoded user": {"path": "/beta/users/a%20b/profile/skills"},
    "client request id": {"headers": {**HEADERS, "client-request-id": "abc"}},
    "charset": {
        "headers": {**HEADERS, "Content-Type": "application/json; charset=utf-8"}
    },
    "server-set property": {
        "body": json.dumps({**SDK_BODY, "id": "mine"}).encode(),
    },
    "non-ASCII text": {
        "body": json.dumps({**SDK_BODY, "displayName": "Größe 日本"}).encode(),
    },
    "secret query value": {"query_string": "access_token=abc&x=1"},
    "upper-case host": {"environ": {"HTTP_HOST": "LOCALHOST:5000"}},
    "IPv6 host": {"environ": {"HTTP_HOST": "[::1]:8080"}},
    "https": {"environ": {"wsgi.url_scheme": "https", "HTTP_HOST": "example.com"}},
}


@pytest.mark.parametrize("case", CREATE_CASES, ids=list(CREATE_CASES))
def test_fast_path_create_matches_route(pair: tuple[Flask, Flask], case: str) -> None:
    options = dict(CREATE_CASES[case])
    environ = options.pop("environ", {})
    query = options.pop("query_string", None)
    path = options.pop("path", PATH)
    if query is not None:
        environ["QUERY_STRING"] = query

    flask_app = Counting(fast_path(pair[0]))
    status, headers, _body = assert_same(pair, path, **options, **environ)
    assert status == "201 CREATED"
    assert headers["Location"].startswith(("http://", "https://"))
    assert flask_app.calls == 0


HANDED_ON: dict[str, dict[str, Any]] = {
    "invalid enum": {
        "body": json.dumps({**SDK_BODY, "proficiency": "wizard"}).encode()
    },
    "unknown property": {"body": json.dumps({**SDK_BODY, "colour": "red"}).encode()},
    "not JSON": {"body": b"{"},
    "empty body": {"body": b""},
    "no token": {"headers": {"Content-Type": "application/json"}},
    "basic auth": {
        "headers": {"Authorization": "Basic eDp5", "Content-Type": "application/json"}
    },
    "wrong content type": {
        "headers": {"Authorization": "Bearer t", "Content-Type": "text/plain"}
    },
    "gzip": {"headers": {**HEADERS, "Content-Encoding": "gzip"}},
    "Prefer header": {"headers": {**HEADERS, "Prefer": "return=minimal"}},
    "Origin header": {"headers": {**HEADERS, "Origin": "http://localhost:3000"}},
    "long user id": {"path": f"/beta/users/{'u' * 300}/profile/skills"},
    "non-ASCII user id": {"path": "/beta/users/J%C3%BCrgen/profile/skills"},
    "invalid UTF-8 user id": {"path": "/beta/users/%FF/profile/skills"},
    "no Content-Length": {"environ": {"CONTENT_LENGTH": ""}},
    "body over the limit": {"body": b" " * 70_000},
    "non-ASCII host": {"environ": {"HTTP_HOST": "b\xfccher.example"}},
    "space in media type": {
        "headers": {**HEADERS, "Content-Type": "application/ json"},
    },
    "space in charset": {
        "headers": {**HEADERS, "Content-Type": "application/json; charset=utf -8"},
    },
    "superscript length": {"environ": {"CONTENT_LENGTH": "\xb2"}},
    "chunked with a length": {
        "body": json.dumps(SDK_BODY).encode() + b'{"junk"',
        "environ": {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
            "CONTENT_LENGTH": str(len(json.dumps(SDK_BODY))),
        },
    },
    "empty host header": {"environ": {"HTTP_HOST": ""}},
    "empty host label": {"environ": {"HTTP_HOST": "a..b"}},
    "host label of 64 letters": {"environ": {"HTTP_HOST": "a" * 64 + ".com"}},
    "bracketed host without colon": {"environ": {"HTTP_HOST": "[1]"}},
    "bracketed colon": {"environ": {"HTTP_HOST": "[:]"}},
    "undecodable punycode host": {"environ": {"HTTP_HOST": "xn--a"}},
    "bracketed host that is no IPv6 address": {"environ": {"HTTP_HOST": "[1::2::3]"}},
    "no-break space in content type": {
        "environ": {"CONTENT_TYPE": "application/json\xa0"},
    },
    "vertical tab in content type": {
        "environ": {"CONTENT_TYPE": "\x0bapplication/json"},
    },
}


@pytest.mark.parametrize("case", HANDED_ON, ids=list(HANDED_ON))
def test_fast_path_passes_on_other_requests(
    pair: tuple[Flask, Flask], case: str
) -> None:
    options = dict(HANDED_ON[case])
    environ = options.pop("environ", {})
    path = options.pop("path", PATH)
    if environ.get("CONTENT_LENGTH") == "":
        environ["wsgi.input_terminated"] = True

    flask_app = Counting(fast_path(pair[0]))
    assert_same(pair, path, **options, **environ)
    assert flask_app.calls == 1


def test_fast_path_passes_on_short_body(
    pair: tuple[Flask, Flask],
) -> None:
    body = json.dumps(SDK_BODY).encode()
    flask_app = Counting(fast_path(pair[0]))
    assert_same(pair, body=body, CONTENT_LENGTH=str(len(body) + 10))
    assert flask_app.calls == 1


@pytest.mark.parametrize(
    "change",
    [
        {"auth": "jwt"},
        {"throttle": ThrottleLimit(2, 60)},
        {"strict": True},
        {"seed_skills": 2},
        {"journal_limit": 0},
    ],
    ids=["jwt", "throttle", "strict", "seed skills", "journal off"],
)
def test_fast_path_settings_match_route(change: dict[str, Any]) -> None:
    direct, routed = build_pair(Config(port=0, seed=7, **change))
    try:
        token = {
            "Authorization": "Bearer test-token",
            "Content-Type": "application/json",
        }
        for body in (SDK_BODY, {**SDK_BODY, "id": "mine"}):
            data = json.dumps(body).encode()
            first = send(direct, body=data, headers=token)
            second = send(routed, body=data, headers=token)
            assert first[0] == second[0]
            assert comparable(first[2].decode()) == comparable(second[2].decode())
    finally:
        get_state(direct).close()
        get_state(routed).close()


def test_fast_path_yields_to_fault_rules(pair: tuple[Flask, Flask]) -> None:
    direct = pair[0]
    get_state(direct).faults.add(FaultSpec(status=503, times=1))
    flask_app = Counting(fast_path(direct))
    assert send(direct)[0].startswith("503")
    assert send(direct)[0] == "201 CREATED"
    assert flask_app.calls == 2
    get_state(direct).faults.clear()
    assert send(direct)[0] == "201 CREATED"
    assert flask_app.calls == 2


def test_fast_path_failed_insert_not_repeated(
    pair: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = pair[0]
    store = get_state(direct).store
    attempts = []

    def full_disk(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise GraphError(507, "insufficientStorage", "The disk is full.")

    monkeypatch.setattr(store, "create", full_disk)
    status, _headers, body = send(direct)
    assert status.startswith("507")
    assert json.loads(body)["error"]["code"] == "insufficientStorage"
    assert len(attempts) == 1
    record = get_state(direct).journal.records()[-1]
    assert (record.status, record.operation) == (507, "createSkill")


def test_fast_path_insert_crash_is_graph_500(
    pair: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = pair[0]
    attempts = []

    def broken(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise RuntimeError("store broke")

    monkeypatch.setattr(get_state(direct).store, "create", broken)
    status, _headers, body = send(direct)
    assert status.startswith("500")
    assert "store broke" in json.loads(body)["error"]["message"]
    assert len(attempts) == 1


def test_fast_path_restores_one_way_body(
    pair: tuple[Flask, Flask],
) -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.rest = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            size = min(len(buffer), len(self.rest))
            buffer[:size] = self.rest[:size]
            self.rest = self.rest[size:]
            return size

    invalid = json.dumps({**SDK_BODY, "proficiency": "wizard"}).encode()
    status, _headers, body = send(
        pair[0],
        body=invalid,
        **{"wsgi.input": io.BufferedReader(OneWay(invalid))},
    )
    assert status.startswith("400")
    assert json.loads(body)["error"]["target"] == "/proficiency"


def test_fast_path_journal_record(
    pair: tuple[Flask, Flask],
) -> None:
    direct = pair[0]
    send(direct, headers={**HEADERS, "client-request-id": "abc"})
    record = get_state(direct).journal.records()[-1]
    assert record.headers["Authorization"] == "Bearer [redacted]"
    assert record.headers["Client-Request-Id"] == "abc"
    assert json.loads(record.body or "") == SDK_BODY
    assert record.response_headers["client-request-id"] == "abc"
    assert record.user is not None
    assert record.operation == "createSkill"


PLAIN_HOSTS = [
    "localhost",
    "LOCALHOST:5000",
    "Example.COM",
    "127.0.0.1:8000",
    "[::1]:8080",
    "[FE80::1]:80",
    "example.com:80",
    "example.com:443",
    "example.com.",
    "-a.b",
    "h:1",
    "h:65535",
]
OTHER_HOSTS = [
    "h:0",
    "h:65536",
    "h:080",
    "a_b.c",
    "xn--bcher-kva.example",
    "xn--a",
    "[::1",
    "[1]",
    "[:]",
    "[1::2::3]",
    "[fffff::1]",
    "[::1.2.3]",
    "a..b",
    ".",
    "a" * 64 + ".com",
    "",
]


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("host", PLAIN_HOSTS + OTHER_HOSTS)
def test_plain_base_url_matches_werkzeug(scheme: str, host: str) -> None:
    environ = EnvironBuilder(path="/", base_url=f"{scheme}://srv:1").get_environ()
    environ["HTTP_HOST"] = host
    plain = creation.plain_base_url(environ)
    if host in OTHER_HOSTS:
        assert plain is None
    else:
        assert plain == creation._werkzeug_base_url(environ)


CONTENT_TYPES = [
    "application/json",
    "Application/JSON",
    " application/json ",
    "application/json;charset=utf-8",
    "application/json; charset=UTF-8",
    "application/json ; charset=utf-8",
    "application/ json",
    "application/json;",
    "application/json; charset=utf-16",
    "application/json; charset=utf-8; odata.metadata=minimal",
    "text/json",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_fast_path_content_types_pass_route_check(content_type: str) -> None:
    from mockgraph.fastpath import _JSON_TYPES, _content_type_parts
    from mockgraph.http import check_content_headers

    if _content_type_parts({"CONTENT_TYPE": content_type}) in _JSON_TYPES:
        check_content_headers(content_type, "")
