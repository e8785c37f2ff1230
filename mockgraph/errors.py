"""Graph-style error responses.

Every failure the mock reports to a client is a :class:`GraphError`, rendered as the
envelope the Graph SDKs parse into ``ODataError``::

    {"error": {"code": ..., "message": ..., "target": ..., "details": [...],
               "innerError": {"date": ..., "request-id": ...,
                              "client-request-id": ...}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


# Maximum length of a target sent; a pointer into a huge key is cut, ending in "...".
MAX_TARGET_LENGTH = 256


def shorten_target(target: str) -> str:
    if len(target) <= MAX_TARGET_LENGTH:
        return target

    return target[:MAX_TARGET_LENGTH] + "..."


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of ``error.details``: a single validation failure.

    ``target`` is the JSON pointer of the offending value in the request body, and
    ``keyword`` is the JSON Schema keyword that failed (kept for the journal, not sent).
    """

    code: str
    message: str
    target: str
    keyword: str = ""
    value: Any = None

    def to_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "target": shorten_target(self.target),
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "pointer": self.target,
            "keyword": self.keyword,
            "message": self.message,
        }


class MockGraphError(Exception):
    """Base class of the errors mockgraph raises."""


@dataclass
class GraphError(MockGraphError):
    """A failure sent to the client as a Graph error envelope with an HTTP status."""

    status: int
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_json(self, request_id: str, client_request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = shorten_target(self.target)

        if self.details:
            error["details"] = [detail.to_json() for detail in self.details]

        error["innerError"] = {
            # Graph writes this date without an offset; it is UTC.
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        return {"error": error}


def unauthenticated(reason: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        reason,
        headers={"WWW-Authenticate": 'Bearer realm="mockgraph", error="invalid_token"'},
    )


def bad_request(message: str, target: str | None = None) -> GraphError:
    return GraphError(400, "BadRequest", message, target=target)


def unreadable_json(reason: str) -> GraphError:
    return bad_request(f"Unable to read JSON request payload: {reason}")
