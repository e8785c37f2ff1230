"""The Flask application factory and the hooks every request passes through."""

from __future__ import annotations

import base64
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .config import Config
from .errors import ErrorDetail, GraphError
from .fakedata import Fabricator
from .faults import FaultSet
from .http import json_response
from .journal import (
    Interaction,
    Journal,
    JournalBackend,
    redact_query,
    request_headers,
)
from .jsonl import JsonLinesWriter
from .store import SkillStore, open_store
from .throttle import Throttle
from .validation import SchemaSet

logger = logging.getLogger(__name__)
# One INFO line per request; `mockgraph serve --no-access-log` turns it off.
access_logger = logging.getLogger("mockgraph.access")

ADMIN_PREFIX = "/_mockgraph"
# Where the application keeps its CreateFastPath, under app.extensions.
FAST_PATH_KEY = "mockgraph.fast_path"
_SLASHES = re.compile(r"/{2,}")


@dataclass
class MockGraphState:
    """Everything one mock server keeps between requests."""

    config: Config
    schemas: SchemaSet
    store: SkillStore
    journal: JournalBackend
    fabricator: Fabricator
    faults: FaultSet
    throttle: Throttle | None = None

    @property
    def recording(self) -> bool:
        """Whether requests are recorded: False with journal limit 0 and no journal file."""
        return self.journal.limit > 0 or bool(self.journal.sinks)

    def reset(self) -> None:
        """Forget every skill, counter and recorded interaction.

        Fault rules go back to the configured ones, with zeroed counters, and the
        throttle clears every counted request.
        """
        self.store.clear()
        self.journal.clear()
        self.faults.reset(self.config.faults)
        if self.throttle is not None:
            self.throttle.clear()

    def close(self) -> None:
        """Release the store and close the journal's files."""
        self.store.close()
        self.journal.close()


def get_state(app: Flask) -> MockGraphState:
    return app.extensions["mockgraph"]  # type: ignore[no-any-return]


class _NormalizePath:
    """WSGI middleware: collapse repeated slashes and drop a trailing slash.

    The Graph SDK with its default base URL sends ``/beta//users/...``; Werkzeug would
    respond with a redirect, which can lose the Authorization header. Rewriting the
    path before routing means nothing ever redirects.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        raw = environ.get("PATH_INFO", "") or "/"
        path = _SLASHES.sub("/", raw)
        if len(path) > 1:
            path = path.rstrip("/") or "/"

        environ["mockgraph.raw_path"] = raw
        environ["PATH_INFO"] = path
        return self.wsgi_app(environ, start_response)


def create_app(
    config: Config | None = None,
    store: SkillStore | None = None,
    journal: JournalBackend | None = None,
) -> Flask:
    """Build the mock's Flask application.

    :param config: settings; the defaults serve a stateless, unseeded mock.
    :param store: where skills are kept; by default the store ``config.store`` names.
    :param journal: where interactions are recorded; an in-memory journal of
        ``config.journal_limit`` records by default.
    """
    config = config or Config()
    app = Flask("mockgraph")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False

    journal = journal if journal is not None else Journal(config.journal_limit)
    if config.journal_file:
        journal.sinks.append(JsonLinesWriter(config.journal_file))

    fabricator = Fabricator(config.seed)
    state = MockGraphState(
        config=config,
        schemas=SchemaSet.load(config.schema_dir),
        store=store or open_store(config.store),
        journal=journal,
        fabricator=fabricator,
        faults=FaultSet(config.faults, fabricator),
        throttle=Throttle(config.throttle) if config.throttle else None,
    )
    app.extensions["mockgraph"] = state
    from .fastpath import CreateFastPath

    fast_path = CreateFastPath(state, app.wsgi_app)
    app.extensions[FAST_PATH_KEY] = fast_path
    app.wsgi_app = _NormalizePath(fast_path)  # type: ignore[method-assign]

    from . import admin, contract_admin, cors, faults_api, injection, routes

    routes.register(app)
    app.register_blueprint(admin.blueprint, url_prefix=ADMIN_PREFIX)
    app.register_blueprint(contract_admin.blueprint, url_prefix=ADMIN_PREFIX)
    app.register_blueprint(faults_api.blueprint, url_prefix=ADMIN_PREFIX + "/faults")
    contract_admin.attach_recorder(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    injection.install(app)
    cors.install(app, config.cors_origins)
    app.register_error_handler(GraphError, _graph_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _start_request() -> None:
    # Flask's request and g are proxies that look up the current context on every
    # attribute access. The hooks below run on every request, so they use the
    # objects themselves.
    context = g._get_current_object()  # type: ignore[attr-defined]
    context.started = time.perf_counter()
    context.request_id = str(uuid.uuid4())
    context.client_request_id = (
        request.environ.get("HTTP_CLIENT_REQUEST_ID") or context.request_id
    )
    context.operation = "unknownRoute"
    context.errors = []
    context.warnings = []


def _finish_request(response: Response) -> Response:
    context = g._get_current_object()  # type: ignore[attr-defined]
    if "request_id" not in context:  # a failure before the first hook ran
        _start_request()

    headers = response.headers
    headers["request-id"] = context.request_id
    headers["client-request-id"] = context.client_request_id
    headers["OData-Version"] = "4.0"
    headers.setdefault("Cache-Control", "no-cache")
    path = request.path
    if path.startswith(ADMIN_PREFIX + "/") or path == ADMIN_PREFIX:
        return response

    state = get_state(_current_app())
    if not state.recording:
        return response

    payload = context.get("response_payload")
    if (
        payload is None
        and response.direct_passthrough is False
        and response.status_code != 204
    ):
        payload = response.get_data(as_text=True)

    current = request._get_current_object()  # type: ignore[attr-defined]
    record_interaction(
        state,
        current.environ,
        Exchange(
            method=current.method,
            path=current.path,
            status=response.status_code,
            response_headers=dict(response.headers.items()),
            response_body=payload,
            raw_body=context.get("raw_body"),
            body_truncated=bool(context.get("body_truncated")),
            operation=context.operation,
            started=context.started,
            request_id=context.request_id,
            user=context.get("user_key"),
            errors=[detail.to_record() for detail in context.errors],
            warnings=list(context.warnings),
            fault=context.get("fault"),
        ),
    )
    return response


@dataclass
class Exchange:
    """What the journal records of one request besides its WSGI environ."""

    method: str
    path: str
    status: int
    response_headers: dict[str, str]
    response_body: Any
    raw_body: bytes | None
    body_truncated: bool
    operation: str
    started: float
    request_id: str
    user: str | None
    errors: list[dict[str, Any]]
    warnings: list[str]
    fault: dict[str, Any] | None = None


def record_interaction(
    state: MockGraphState, environ: dict[str, Any], exchange: Exchange
) -> None:
    """Append the exchange to the journal; log, never raise, if that fails."""
    try:
        _record(state, environ, exchange)
    except sqlite3.Error as err:
        # Such as a full disk: one line per request, since every request fails alike.
        logger.error(
            "failed to record interaction of request-id %s: %s",
            exchange.request_id,
            err,
        )
    except Exception:
        logger.exception(
            "failed to record interaction of request-id %s", exchange.request_id
        )


def _record(state: MockGraphState, environ: dict[str, Any], exchange: Exchange) -> None:
    text: str | None = None
    encoded: str | None = None
    raw_body = exchange.raw_body
    if raw_body is not None:
        try:
            text = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            encoded = base64.b64encode(raw_body).decode("ascii")

    duration_ms = (time.perf_counter() - exchange.started) * 1000
    record = Interaction(
        seq=0,
        time=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        method=exchange.method,
        path=exchange.path,
        raw_path=environ.get("mockgraph.raw_path"),
        query=redact_query(environ.get("QUERY_STRING", "")),
        headers=request_headers(environ),
        body=text,
        body_base64=encoded,
        body_truncated=exchange.body_truncated,
        status=exchange.status,
        response_headers=exchange.response_headers,
        response_body=exchange.response_body,
        operation=exchange.operation,
        duration_ms=round(duration_ms, 3),
        user=exchange.user,
        errors=exchange.errors,
        warnings=exchange.warnings,
        fault=exchange.fault,
    )
    state.journal.append(record)

    if access_logger.isEnabledFor(logging.INFO):
        access_logger.info(
            "%s %s %s %s %.1fms request-id=%s",
            record.method,
            record.path,
            record.status,
            record.operation,
            record.duration_ms,
            exchange.request_id,
        )


def _current_app() -> Flask:
    from flask import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def error_response(error: GraphError) -> Response:
    if "request_id" not in g:
        _start_request()

    if error.details:
        g.errors = list(error.details)
    else:
        g.errors = [
            ErrorDetail(error.code, error.message, error.target or "", error.code)
        ]

    body = error.to_json(g.request_id, g.client_request_id)
    return json_response(body, error.status, error.headers)


def _graph_error(error: GraphError) -> Response:
    return error_response(error)


def _http_error(error: HTTPException) -> Response:
    from .routes import describe_routes

    status = error.code or 500
    if isinstance(error, MethodNotAllowed):
        allowed = sorted(set(error.valid_methods or []) - {"HEAD", "OPTIONS"})
        graph_error = GraphError(
            405,
            "MethodNotAllowed",
            f"Method {request.method!r} is not allowed on {request.path!r}; "
            f"use {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )
    elif status == 404:
        graph_error = GraphError(
            404,
            "ResourceNotFound",
            f"No route matches {request.method} {request.path!r}. {describe_routes()}",
        )
    else:
        graph_error = GraphError(status, "BadRequest", error.description or error.name)

    return error_response(graph_error)


def _unexpected_error(error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(
        GraphError(
            500,
            "generalException",
            "mockgraph failed while handling the request: "
            f"{type(error).__name__}: {error}",
        )
    )
