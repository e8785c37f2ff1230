"""Reading request bodies and writing Graph-shaped responses."""

from __future__ import annotations

from typing import Any

from flask import Request, Response, g
from werkzeug.http import parse_options_header

from .errors import GraphError, unreadable_json
from .jsonbody import GRAPH_JSON, encode_json, parse_json_object

__all__ = [
    "GRAPH_JSON",
    "check_content_headers",
    "check_json_content_type",
    "encode_json",
    "json_response",
    "parse_json_object",
    "read_body",
]

# Bodies over the limit are read and discarded up to this size, so the client can finish
# sending and read the 413. Waitress has read the whole body before the app runs; under
# Werkzeug's server a larger rest is left unread when the connection closes.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Return ``payload`` as a Graph JSON response, remembered for the journal."""
    g.response_payload = payload
    return Response(
        encode_json(payload), status=status, headers=headers, content_type=GRAPH_JSON
    )


def check_json_content_type(request: Request) -> None:
    """Raise 400 unless the body is plain ``application/json``, parameters allowed."""
    check_content_headers(
        request.headers.get("Content-Type", ""),
        request.headers.get("Content-Encoding", ""),
    )


def check_content_headers(header: str, encoding: str) -> None:
    """Check the Content-Type and Content-Encoding values as above."""
    encoding = encoding.strip()
    if encoding and encoding.lower() != "identity":
        raise unreadable_json(
            f"Content-Encoding {encoding!r} is not supported; send an uncompressed body."
        )

    if not header.strip():
        raise unreadable_json(
            "the Content-Type header is missing; send 'Content-Type: application/json'."
        )

    mimetype, options = parse_options_header(header)
    if mimetype.lower() != "application/json":
        raise unreadable_json(
            f"Content-Type {header!r} is not supported; "
            "send 'Content-Type: application/json'."
        )

    charset = options.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
    ):
        raise unreadable_json(
            f"charset {charset!r} is not supported; send the body as UTF-8."
        )


def read_body(request: Request, limit: int) -> tuple[bytes, GraphError | None]:
    """Read the request body, keeping at most ``limit`` bytes.

    A larger body is read to its end and discarded, so the client can finish sending and
    read the response. The 413 error is returned rather than raised, because the checks
    that come first (authorization, content type) take precedence over it.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        _drain(request)
        return b"", _too_large(declared, limit)

    data = request.stream.read(limit + 1)
    if len(data) > limit:
        total = len(data) + _drain(request)
        return b"", _too_large(total, limit)

    g.raw_body = data
    return data, None


def _drain(request: Request) -> int:
    drained = 0
    while drained < DRAIN_LIMIT_BYTES:
        chunk = request.stream.read(_CHUNK)
        if not chunk:
            return drained

        drained += len(chunk)

    return drained


def _too_large(size: int, limit: int) -> GraphError:
    g.body_truncated = True
    return GraphError(
        413,
        "RequestEntityTooLarge",
        f"The request body of {size} bytes is larger than the limit of {limit} bytes; "
        "send a smaller body or raise --max-body-bytes.",
    )
