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
# sending and read the 413. Waitress has read the whole body before the app runs; under
# Werkzeug's server a larger rest is left unread when the connection closes.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024
# Python refuses to convert longer digit strings to int (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4300
# Lone UTF-16 surrogates can only come from \uD800-\uDFFF escapes in the JSON text.
_SURROGATE_ESCAPE = "\\ud"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Return ``payload`` as a Graph JSON response, remembered for the journal."""
    g.response_payload = payload
    return Response(
        encode_json(payload), status=status, headers=headers, content_type=GRAPH_JSON
    )


def encode_json(payload: Any) -> bytes:
    """Serialise ``payload`` as Graph does: UTF-8, non-ASCII text kept as it is."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; JSON's \u escapes can still carry it.
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


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
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_unique_keys,
        )
    except _UnreadableValue as err:
        raise unreadable_json(f"{err}.") from None
    except ValueError as err:
        raise unreadable_json(f"the body is not valid JSON: {err}.") from None
    except RecursionError:
        raise unreadable_json("the body nests JSON too deeply.") from None

    if _SURROGATE_ESCAPE in text.lower():
        pointer = _find_surrogate(value, "")
        if pointer is not None:
            raise unreadable_json(
                f"the string at {pointer or '/'!r} contains a lone UTF-16 surrogate "
                "escape, which is not valid Unicode text."
            )

    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise unreadable_json(
            f"the body is a JSON {_json_kind(kind)}, not a JSON object."
        )

    return value


class _UnreadableValue(ValueError):
    """A JSON value that parses but that Graph cannot read."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _UnreadableValue(
            f"the number {_shorten(text)} is out of range for a double"
        )

    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _UnreadableValue(
            f"a number with {len(text)} digits is out of range; send at most "
            f"{_MAX_INT_DIGITS} digits"
        )

    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _UnreadableValue(
                    f"the property {_shorten(key)!r} appears more than once in one object"
                )

            seen.add(key)

    return result


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _find_surrogate(value: Any, pointer: str) -> str | None:
    """Return the JSON pointer of the first string or key with a lone surrogate."""
    if isinstance(value, str):
        return pointer if any("\ud800" <= char <= "\udfff" for char in value) else None

    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)  # type: ignore[assignment]
    else:
        return None

    for key, item in items:
        key_text = str(key)
        escaped = key_text.replace("~", "~0").replace("/", "~1")
        if _find_surrogate(key_text, "") is not None:
            return f"{pointer}/{escaped.encode('ascii', 'backslashreplace').decode()}"

        found = _find_surrogate(item, f"{pointer}/{escaped}")
        if found is not None:
            return found

    return None


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

    return drained


def _too_large(size: int, limit: int) -> GraphError:
    g.body_truncated = True
    return GraphError(
        413,
        "RequestEntityTooLarge",
        f"The request body of {size} bytes is larger than the limit of {limit} bytes; "
        "send a smaller body or raise --max-body-bytes.",
    )
