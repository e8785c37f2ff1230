"""Decoding JSON request bodies and encoding JSON responses as Graph does.

Nothing here imports Flask or Werkzeug, so that ``mockgraph serve`` can create a skill
before either is loaded.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import unreadable_json

# The content type Graph sends with every JSON body; the SDK needs a JSON type to parse.
GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
# Python refuses to convert longer digit strings to int (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4300
# Lone UTF-16 surrogates can only come from \uD800-\uDFFF escapes in the JSON text.
_SURROGATE_ESCAPE = "\\ud"


def graph_headers(
    body: bytes, request_id: str, client_request_id: str, location: str | None = None
) -> dict[str, str]:
    """Return the headers of a Graph JSON response, in the Flask application's order."""
    headers = {"Location": location} if location is not None else {}
    headers.update(
        {
            "Content-Type": GRAPH_JSON,
            "Content-Length": str(len(body)),
            "request-id": request_id,
            "client-request-id": client_request_id,
            "OData-Version": "4.0",
            "Cache-Control": "no-cache",
        }
    )
    return headers


def encode_json(payload: Any) -> bytes:
    """Serialise ``payload`` as Graph does: UTF-8, non-ASCII text kept as it is."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; JSON's \u escapes can still carry it.
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


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
