"""Reading request bodies and writing Graph-shaped responses."""

from __future__ import annotations

import json
from typing import Any

from flask import Request, Response, g
from werkzeug.http import parse_options_header

from .errors import GraphError, unreadable_json

# The content type Graph sends with every JSON body; the SDK needs a JSON type to parse.
GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
# Bodies over the limit are read and discarded up to this size, so the client can finish
# sending and read the 413. Past it, the connection is closed after the response.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise ``payload`` as Graph does: UTF-8, non-ASCII text kept as it is."""
    g.response_payload = payload
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, content_type=GRAPH_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value

    return response


def check_json_content_type(request: Request) -> None:
    """Raise 400 unless the Content-Type is ``application/json``, parameters allowed."""
    header = request.headers.get("Content-Type", "")
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

    A larger body is read to its end and thrown away, so the client can finish sending
    and read the answer; the 413 error is returned rather than raised, because checks
    that come first (authorization, content type) decide the answer before it.
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


def parse_json_object(data: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object; raise 400 ``BadRequest`` with the reason it fails."""
    if not data.strip():
        raise unreadable_json("the request body is empty; send a JSON object.")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise unreadable_json(
            f"the body is not valid UTF-8 "
            f"(byte {data[err.start]:#04x} at offset {err.start})."
        ) from None

    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise unreadable_json(f"the body is not valid JSON: {err}.") from None
    except RecursionError:
        raise unreadable_json("the body nests JSON too deeply.") from None

    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise unreadable_json(
            f"the body is a JSON {_json_kind(kind)}, not a JSON object."
        )

    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _json_kind(python_kind: str) -> str:
    kinds = {
        "list": "array",
        "str": "string",
        "int": "number",
        "float": "number",
        "bool": "boolean",
    }
    return kinds.get(python_kind, python_kind)


def _drain(request: Request) -> int:
    drained = 0
    while drained < DRAIN_LIMIT_BYTES:
        chunk = request.stream.read(_CHUNK)
        if not chunk:
            return drained

        drained += len(chunk)

    g.close_connection = True
    return drained


def _too_large(size: int, limit: int) -> GraphError:
    g.body_truncated = True
    return GraphError(
        413,
        "RequestEntityTooLarge",
        f"The request body of {size} bytes is larger than the limit of {limit} bytes; "
        "send a smaller body or raise --max-body-bytes.",
    )
