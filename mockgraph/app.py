"""The Flask application factory and the hooks every request passes through."""

from __future__ import annotations

import logging
import time

from flask import Flask, Request, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .config import Config
from .errors import ErrorDetail, GraphError
from .http import json_response
from .journal import JournalBackend
from .state import (
    ADMIN_PREFIX,
    Exchange,
    MockGraphState,
    NormalizePath,
    build_state,
    is_admin_path,
    record_interaction,
    request_ids,
)
from .store import SkillStore

__all__ = ["ADMIN_PREFIX", "MockGraphState", "create_app", "get_state"]

logger = logging.getLogger(__name__)

# The app.extensions key of the application's CreateFastPath.
FAST_PATH_KEY = "mockgraph.fast_path"


def get_state(app: Flask) -> MockGraphState:
    return app.extensions["mockgraph"]  # type: ignore[no-any-return]


def create_app(
    config: Config | None = None,
    store: SkillStore | None = None,
    journal: JournalBackend | None = None,
    state: MockGraphState | None = None,
) -> Flask:
    """Build the mock's Flask application.

    :param config: settings; the defaults serve a stateless, unseeded mock.
    :param store: where skills are kept; by default the store ``config.store`` names.
    :param journal: where interactions are recorded; an in-memory journal of
        ``config.journal_limit`` records by default.
    :param state: state built already by :func:`~mockgraph.state.build_state`, used
        in place of the three parameters above.
    """
    if state is None:
        state = build_state(config or Config(), store, journal)

    app = _MockGraphFlask("mockgraph")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.extensions["mockgraph"] = state

    from . import admin, contract_admin, cors, faults_api, injection, routes
    from .fastpath import CreateFastPath

    routes.register(app)
    app.register_blueprint(admin.blueprint, url_prefix=ADMIN_PREFIX)
    app.register_blueprint(contract_admin.blueprint, url_prefix=ADMIN_PREFIX)
    app.register_blueprint(faults_api.blueprint, url_prefix=ADMIN_PREFIX + "/faults")
    app.before_request(_start_request)
    app.after_request(_finish_request)
    injection.install(app)
    cors.install(app, state.config.cors_origins)
    app.register_error_handler(GraphError, _graph_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)

    fast_path = CreateFastPath(state, app.wsgi_app)
    app.extensions[FAST_PATH_KEY] = fast_path
    app.wsgi_app = NormalizePath(fast_path)  # type: ignore[method-assign]
    return app


class _MockGraphFlask(Flask):
    def make_default_options_response(self) -> Response:
        """Respond with 204 and ``Allow`` to an OPTIONS request, not a preflight.

        Flask's own response lists the methods in set order, which changes from one
        process to the next, so a recorded contract would not replay.
        """
        from .routes import served_methods

        g.operation = "listMethods"
        routed = super().make_default_options_response().allow
        response = Response(status=204)
        del response.headers["Content-Type"]
        response.headers["Allow"] = ", ".join(served_methods(routed))
        return response


def _start_request() -> None:
    # Flask's request and g are proxies that look up the current context on every
    # attribute access. The hooks below run on every request, so they use the
    # objects themselves.
    context = g._get_current_object()  # type: ignore[attr-defined]
    context.started = time.perf_counter()
    context.request_id, context.client_request_id = request_ids(request.environ)
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
    if is_admin_path(request.path):
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
    if "raw_body" not in context and "body_truncated" not in context:
        _read_unread_body(current, state.config.max_body_bytes)

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


def _read_unread_body(current: Request, limit: int) -> None:
    """Read the body of a request that no handler read, such as one that got a 405.

    The record then shows what the client sent. Only a body whose declared length is
    at most ``limit`` is read. A larger one is marked as truncated.
    """
    declared = current.content_length
    if not declared:
        return

    if declared > limit:
        g.body_truncated = True
        return

    try:
        g.raw_body = current.stream.read(declared)
    except Exception as err:  # such as a client that disconnected
        logger.info(
            "failed to read the body of %s %s for its record, request-id %s: %s",
            current.method,
            current.path,
            g.request_id,
            err,
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
        from .routes import served_methods

        allowed = served_methods(error.valid_methods or [])
        named = [method for method in allowed if method not in ("HEAD", "OPTIONS")]
        graph_error = GraphError(
            405,
            "MethodNotAllowed",
            f"Method {request.method!r} is not allowed on {request.path!r}; "
            f"use {', '.join(named)}.",
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
