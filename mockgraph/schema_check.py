"""Check the request bodies a contract recorded against the current schemas.

A request the mock accepted when it was recorded must still be accepted: a schema
change that rejects it would break the client that sent it. Requests recorded as
rejected (status 400 and above) are skipped, because the client does not rely on them
being accepted. Requests with no JSON body have nothing to check and are skipped too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ErrorDetail, GraphError
from .skills import validate_body
from .validation import CREATE_SCHEMA, UPDATE_SCHEMA, SchemaSet

# The schema a request body is checked against, by method.
SCHEMA_BY_METHOD = {"POST": CREATE_SCHEMA, "PATCH": UPDATE_SCHEMA}


@dataclass
class SchemaResult:
    """The outcome of checking one recorded request body."""

    description: str
    skipped: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.details


def check_interaction(
    schemas: SchemaSet, interaction: dict[str, Any], strict: bool
) -> SchemaResult:
    """Validate one interaction's request body as the mock would on that route."""
    result = SchemaResult(str(interaction.get("description", "")))
    request = interaction.get("request") or {}
    response = interaction.get("response") or {}
    method = str(request.get("method", "")).upper()
    body = request.get("body")
    status = response.get("status", 200)
    if method not in SCHEMA_BY_METHOD or "/profile/skills" not in str(
        request.get("path", "")
    ):
        result.skipped = f"{method} has no skill body"
    elif not isinstance(status, int) or status >= 400:
        result.skipped = f"recorded as rejected with status {status}"
    elif not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        result.skipped = "no JSON object body"

    if result.skipped is not None or not isinstance(body, dict):
        return result

    try:
        validate_body(schemas, SCHEMA_BY_METHOD[method], body["content"], strict)
    except GraphError as error:
        result.details = error.details or [
            ErrorDetail(error.code, error.message, error.target or "")
        ]

    return result


def check_contract(document: dict[str, Any], schemas: SchemaSet) -> list[SchemaResult]:
    """Check every HTTP interaction of ``document``; see the module docstring."""
    from .verify import http_interactions

    settings = (document.get("metadata") or {}).get("mockgraph") or {}
    strict = settings.get("strict") is True
    return [
        check_interaction(schemas, item, strict) for item in http_interactions(document)
    ]
