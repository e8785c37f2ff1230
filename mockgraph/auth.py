"""Checking the Authorization header of Graph requests."""

from __future__ import annotations

from flask import Request

from .errors import unauthenticated


def bearer_token(request: Request) -> str:
    """Return the bearer token of ``request``; raise 401 if there is none.

    The scheme may be written in any letter case, as RFC 9110 allows.
    """
    header = request.headers.get("Authorization")
    if header is None or not header.strip():
        raise unauthenticated(
            "Access token is empty: the Authorization header is missing; "
            "send 'Authorization: Bearer <token>'."
        )

    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise unauthenticated(
            f"Authorization scheme {scheme!r} is not supported; "
            "send 'Authorization: Bearer <token>'."
        )

    token = token.strip()
    if not token:
        raise unauthenticated(
            "Access token is empty: the Bearer scheme carries no token; "
            "send 'Authorization: Bearer <token>'."
        )

    return token
