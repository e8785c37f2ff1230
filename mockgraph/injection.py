"""Apply fault rules, Prefer-header faults and throttling to Graph requests.

A hook runs before each Graph route. It first adds the latency of every fault that
fires. Then a status fault responds with a Graph error, a drop fault closes the
connection, and otherwise the throttle may respond with 429. Each request that a fault or the
throttle touched carries a ``fault`` record in the journal.

Dropping a connection works under the servers mockgraph starts: Werkzeug's (MockGraph)
and Waitress (``mockgraph serve``). Under Flask's test client the drop raises
:class:`ConnectionAbortedError` in the test.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request

from .app import ADMIN_PREFIX, get_state
from .auth import me_user
from .cors import is_preflight
from .errors import GraphError
from .fakedata import user_object_id
from .fault_rules import DEFAULT_RETRY_AFTER_429, ERROR_CODES
from .faults import FaultEffect
from .prefer import requested_fault
from .state import is_admin_path
from .throttle import ThrottleLimit

logger = logging.getLogger(__name__)

# The WSGI environ key that marks a request whose connection DropConnection closes.
DROP_KEY = "mockgraph.drop_connection"


def install(app: Flask) -> None:
    """Register the hook on ``app``; call it before CORS installs its preflight hook."""
    app.before_request(_inject)
    app.wsgi_app = DropConnection(app.wsgi_app)  # type: ignore[method-assign]


def _inject() -> Response | None:
    if request.url_rule is None or request.view_args is None:
        return None

    if is_admin_path(request.path):
        return None

    state = get_state(current_app)
    user = request.view_args.get("user") or me_user(request)
    effect = state.faults.evaluate(request.method, request.path, user)
    effect = _add_requested(effect)
    if effect is not None:
        g.fault = _record(effect)
        if effect.latency_ms:
            time.sleep(effect.latency_ms / 1000)

        if effect.drop:
            logger.info(
                "dropping the connection of %s %s", request.method, request.path
            )
            request.environ[DROP_KEY] = True
            return Response(status=0)

        if effect.status is not None:
            raise _fault_error(effect)

    if state.throttle is not None and not is_preflight():
        wait = state.throttle.admit(user_object_id(user))
        if wait is not None:
            raise _throttled(user, wait, state.throttle.limit)

    return None


def _add_requested(effect: FaultEffect | None) -> FaultEffect | None:
    if "HTTP_PREFER" not in request.environ:
        return effect

    # A preflight never carries the real request's Prefer header.
    requested = None if is_preflight() else requested_fault(request.headers)
    if requested is None:
        return effect

    effect = effect or FaultEffect(rules=[])
    effect.requested = True
    if requested.latency_ms is not None:
        effect.latency_ms += random.uniform(*requested.latency_ms)

    if requested.status is not None or requested.drop:
        # The status or drop that the request itself requested wins over the rules.
        effect.take_outcome(requested)
        effect.decided_by = None

    return effect


def _record(effect: FaultEffect) -> dict[str, Any]:
    return {
        "rules": list(effect.rules),
        "requested": effect.requested,
        "throttled": False,
        "latencyMs": round(effect.latency_ms, 3),
        "status": effect.status,
        "code": _code(effect) if effect.status is not None else None,
        "retryAfter": _retry_after(effect),
        "dropped": effect.drop,
    }


def _code(effect: FaultEffect) -> str:
    assert effect.status is not None
    return effect.code or ERROR_CODES[effect.status]


def _retry_after(effect: FaultEffect) -> int | None:
    if effect.retry_after is None and effect.status == 429:
        return DEFAULT_RETRY_AFTER_429

    return effect.retry_after


def _fault_error(effect: FaultEffect) -> GraphError:
    assert effect.status is not None
    code = _code(effect)
    if effect.message is not None:
        message = effect.message
    elif effect.decided_by is not None:
        message = (
            f"mockgraph injected this {effect.status} {code}: fault rule "
            f"{effect.decided_by} matched {request.method} {request.path}. List the rules "
            f"with GET {ADMIN_PREFIX}/faults and delete this one with "
            f"DELETE {ADMIN_PREFIX}/faults/{effect.decided_by}."
        )
    else:
        message = (
            f"mockgraph injected this {effect.status} {code} because the request's Prefer "
            "header requested it; send the request without the mockgraph- preferences "
            "for a normal response."
        )

    headers: dict[str, str] = {}
    retry_after = _retry_after(effect)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)

    if effect.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="mockgraph", error="invalid_token"'

    return GraphError(effect.status, code, message, headers=headers)


def _throttled(user: str, wait: int, limit: ThrottleLimit) -> GraphError:
    record = g.get("fault") or {"rules": [], "requested": False, "latencyMs": 0.0}
    record.update(
        throttled=True,
        status=429,
        code="TooManyRequests",
        retryAfter=wait,
        dropped=False,
    )
    g.fault = record
    logger.info("throttled %s %s for user %r", request.method, request.path, user)
    return GraphError(
        429,
        "TooManyRequests",
        f"Too many requests for user {user!r}: the limit is {limit.requests} requests "
        f"per {limit.window_seconds:g} seconds. Retry after {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )


class DropConnection:
    """WSGI middleware that closes the connection without a response for a drop fault.

    The application runs to its end first, so the interaction is still recorded.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        result = self.wsgi_app(environ, start_response)
        if not environ.get(DROP_KEY):
            return result  # type: ignore[no-any-return]

        close = getattr(result, "close", None)
        if close is not None:
            close()

        _close_client_connection(environ)
        return []


def _close_client_connection(environ: dict[str, Any]) -> None:
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        # Werkzeug then fails to write the status line and treats the
        # connection as dropped by the client.
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

        return

    if "waitress.client_disconnected" in environ:
        from waitress.channel import ClientDisconnected  # type: ignore[import-untyped]

        # Waitress closes the connection without writing anything for this exception.
        raise ClientDisconnected(
            "mockgraph dropped the connection, as a fault requested"
        )

    raise ConnectionAbortedError(
        "mockgraph dropped the connection, as a fault requested"
    )
