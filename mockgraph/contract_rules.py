"""Find the values a response carries that the mock generated, and write them stably.

A contract keeps what the client sent literally. What the server generated is kept
only as an example, with a matching rule that states the real constraint:

- skill ids and identity ids: a GUID regex; the example is the recorded id, which is
  the same in every run under a fixed seed;
- ``createdDateTime`` and ``lastModifiedDateTime``: a date-time regex; the example is
  always ``2024-01-01T00:00:00.0000000Z`` because the real value changes every run;
- ``request-id`` (header and ``innerError``) and a ``client-request-id`` the server
  made up: a GUID regex; the example is the nil GUID;
- ``innerError.date``: a regex; the example is ``2024-01-01T00:00:00``;
- generated display names of ``createdBy`` and ``lastModifiedBy``: a type rule;
- URLs on the server's own origin (``Location``, ``@odata.context``,
  ``@odata.nextLink``): a regex that accepts any origin and any GUID where the
  recorded URL has one; the example origin is ``http://localhost``;
- error messages: a type rule, because their wording belongs to the server.
"""

from __future__ import annotations

import re
from typing import Any

from .matching import Token, rule_path_of

TIMESTAMP_EXAMPLE = "2024-01-01T00:00:00.0000000Z"
ERROR_DATE_EXAMPLE = "2024-01-01T00:00:00"
REQUEST_ID_EXAMPLE = "00000000-0000-0000-0000-000000000000"
ORIGIN_EXAMPLE = "http://localhost"

GUID_REGEX = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# Graph writes seven fractional digits and Z; other precisions and offsets are accepted.
TIMESTAMP_REGEX = (
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$"
)
ERROR_DATE_REGEX = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"

TIMESTAMP_KEYS = frozenset({"createdDateTime", "lastModifiedDateTime"})
LINK_KEYS = frozenset(
    {"@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.id"}
)
IDENTITY_SET_KEYS = frozenset({"createdBy", "lastModifiedBy"})

# Response headers a contract names. Others (Date, Server, Content-Length, ...) vary
# between servers and are not part of the API.
CONTRACT_RESPONSE_HEADERS = (
    "Content-Type",
    "Location",
    "OData-Version",
    "request-id",
    "client-request-id",
    "Retry-After",
    "WWW-Authenticate",
    "Allow",
)

_GUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_FULL_GUID = re.compile(GUID_REGEX)


# Only these characters are escaped, because they are special in both Python's re and
# the Rust regex crate of Pact's core, so a pattern stays valid in both engines.
_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def escape_regex(text: str) -> str:
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)


def regex_rule(pattern: str) -> dict[str, Any]:
    return {"combine": "AND", "matchers": [{"match": "regex", "regex": pattern}]}


def type_rule() -> dict[str, Any]:
    return {"combine": "AND", "matchers": [{"match": "type"}]}


def url_regex(path_and_query: str) -> str:
    """Return a regex for a URL on any origin, with any GUID where this one has one."""
    parts = _GUID.split(path_and_query)
    body = "[0-9a-fA-F-]{36}".join(escape_regex(part) for part in parts)
    return rf"^https?://[^/]+{body}$"


class Stabilizer:
    """Rewrite generated values of one response into stable examples plus rules.

    :param origin: the server's own origin as the client addressed it, such as
        ``http://127.0.0.1:51234``; URLs on it are rewritten to ``http://localhost``.
    :param client_request_id: the ``client-request-id`` the client sent, if any; that
        value is the client's own and stays literal.
    """

    def __init__(self, origin: str | None, client_request_id: str | None) -> None:
        self.origin = origin
        self.client_request_id = client_request_id

    def link(self, value: str) -> tuple[str, dict[str, Any] | None]:
        """Return a URL with its origin replaced, and its rule, if it is on the server."""
        rest = self._strip_origin(value)
        if rest is None:
            return value, None

        if "?" in rest:
            # Paging links carry tokens the server makes up; only the path is fixed.
            path = rest.split("?", 1)[0]
            pattern = url_regex(path)[:-1] + r"(\?.*)?$"
        else:
            pattern = url_regex(rest)

        return ORIGIN_EXAMPLE + rest, regex_rule(pattern)

    def _strip_origin(self, value: str) -> str | None:
        candidates = [self.origin] if self.origin else []
        candidates.append(ORIGIN_EXAMPLE)
        for origin in candidates:
            for scheme_origin in {origin, origin.replace("http://", "https://", 1)}:
                if value.startswith(scheme_origin + "/"):
                    return value[len(scheme_origin) :]

        return None

    def body(self, payload: Any) -> tuple[Any, dict[str, Any]]:
        """Return the response body in stable form and its body matching rules."""
        rules: dict[str, Any] = {}
        stable = self._walk(payload, (), rules)
        return stable, rules

    def _walk(self, value: Any, path: tuple[Token, ...], rules: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {
                key: self._walk(item, (*path, key), rules)
                for key, item in value.items()
            }

        if isinstance(value, list):
            return [
                self._walk(item, (*path, index), rules)
                for index, item in enumerate(value)
            ]

        replacement, rule = self._leaf(value, path)
        if rule is not None:
            rules[rule_path_of(path)] = rule

        return replacement

    def _leaf(
        self, value: Any, path: tuple[Token, ...]
    ) -> tuple[Any, dict[str, Any] | None]:
        if not isinstance(value, str) or not path:
            return value, None

        key = path[-1]
        parent = path[-2] if len(path) > 1 else None
        if key in TIMESTAMP_KEYS:
            return TIMESTAMP_EXAMPLE, regex_rule(TIMESTAMP_REGEX)

        if key in LINK_KEYS:
            return self.link(value)

        if parent == "innerError":
            return self._inner_error(key, value)

        if key == "message" and "error" in path:
            return value, type_rule()

        if key == "id" and _FULL_GUID.match(value):
            return value, regex_rule(GUID_REGEX)

        if key == "displayName" and len(path) >= 3 and path[-3] in IDENTITY_SET_KEYS:
            return value, type_rule()

        return value, None

    def _inner_error(self, key: Token, value: str) -> tuple[Any, dict[str, Any] | None]:
        if key == "date":
            return ERROR_DATE_EXAMPLE, regex_rule(ERROR_DATE_REGEX)

        if key == "request-id":
            return REQUEST_ID_EXAMPLE, regex_rule(GUID_REGEX)

        if key == "client-request-id" and value != self.client_request_id:
            return REQUEST_ID_EXAMPLE, regex_rule(GUID_REGEX)

        return value, None

    def headers(
        self, headers: dict[str, str], has_body: bool = True
    ) -> tuple[dict[str, list[str]], dict[str, Any]]:
        """Return the contract's response headers in stable form and their rules.

        Without a body, the Content-Type has no meaning and is left out.
        """
        by_name = {name.lower(): (name, value) for name, value in headers.items()}
        if not has_body:
            by_name.pop("content-type", None)

        stable: dict[str, list[str]] = {}
        rules: dict[str, Any] = {}
        for wanted in CONTRACT_RESPONSE_HEADERS:
            found = by_name.get(wanted.lower())
            if found is None:
                continue

            value, rule = self._header(wanted, found[1])
            stable[wanted] = [value]
            if rule is not None:
                rules[wanted] = rule

        return stable, rules

    def _header(self, name: str, value: str) -> tuple[str, dict[str, Any] | None]:
        if name == "Content-Type":
            mimetype = value.split(";", 1)[0].strip()
            return value, regex_rule(rf"^{escape_regex(mimetype)}(\s*;.*)?$")

        if name == "Location":
            return self.link(value)

        if name == "request-id":
            return REQUEST_ID_EXAMPLE, regex_rule(GUID_REGEX)

        if name == "client-request-id" and value != self.client_request_id:
            return REQUEST_ID_EXAMPLE, regex_rule(GUID_REGEX)

        if name == "Retry-After":
            return value, regex_rule(r"^\d+$")

        if name == "WWW-Authenticate":
            scheme = value.split(" ", 1)[0]
            return value, regex_rule(rf"^{escape_regex(scheme)}\b")

        return value, None
