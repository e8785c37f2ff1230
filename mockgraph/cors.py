"""Cross-origin resource sharing (CORS), so that browser apps can call the mock.

Flask-CORS adds the headers to every response, errors included. The allowed origin is
reflected together with ``Access-Control-Allow-Credentials: true``. Browsers read a
``*`` in ``Access-Control-Expose-Headers`` literally on credentialed requests, so the
exposed headers are named one by one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from flask import Flask, Response, g, request
from flask_cors import CORS

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "client-request-id",
    "Prefer",
    "Accept",
    # Sent by Graph SDKs and by apps that copy Graph's own request headers.
    "Retry-Attempt",
    "SdkVersion",
    "ConsistencyLevel",
    "If-Match",
)
EXPOSED_HEADERS = (
    "request-id",
    "client-request-id",
    "Retry-After",
    "Location",
    "OData-Version",
    "WWW-Authenticate",
)


def origin_pattern(origin: str) -> re.Pattern[str]:
    """Compile an allowed origin such as ``http://localhost:*`` to an anchored regex.

    ``*`` matches any run of characters other than ``/``, and a trailing ``:*`` also
    matches an origin with no port. A lone ``*`` allows every origin. Origins compare
    without regard to case, as scheme and host names do.
    """
    if origin == "*":
        return re.compile(r".*")

    text = origin.rstrip("/")
    optional_port = text.endswith(":*")
    if optional_port:
        text = text[:-2]

    regex = re.escape(text).replace(r"\*", r"[^/]*")
    if optional_port:
        regex += r"(:\d+)?"

    return re.compile(regex + r"\Z", re.IGNORECASE)


def install(app: Flask, origins: tuple[str, ...]) -> None:
    """Respond to preflight requests and add CORS headers to every response of ``app``.

    Call it after the hook that records interactions is registered: Flask runs
    after-request hooks in reverse order, so the journal then stores the CORS headers.
    """
    app.before_request(_answer_preflight)
    hooks = app.after_request_funcs.setdefault(None, [])
    first_added = len(hooks)
    CORS(
        app,
        origins=[origin_pattern(origin) for origin in origins],
        methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        supports_credentials=True,
        send_wildcard=False,
        vary_header=True,
    )
    # Flask-CORS adds no header to a response whose request has no Origin header, so
    # its hook is skipped for those requests, such as every call from the Python SDK.
    hooks[first_added:] = [_with_origin_only(hook) for hook in hooks[first_added:]]


def _with_origin_only(hook: Callable[[Response], Response]) -> Callable[..., Response]:
    @functools.wraps(hook)
    def run(response: Response) -> Response:
        if "HTTP_ORIGIN" not in request.environ:
            return response

        return hook(response)

    return run


def is_preflight() -> bool:
    """Return whether the current request is a CORS preflight request."""
    return (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
    )


def _answer_preflight() -> Response | None:
    # Every path gets a 204 preflight response, without auth, so that the browser goes
    # on to send the real request. The app then gets the real status (a 404 included)
    # instead of an opaque CORS failure.
    if not is_preflight():
        return None

    g.operation = "corsPreflight"
    return Response(status=204)
