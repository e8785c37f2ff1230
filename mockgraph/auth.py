"""Checking the Authorization header of Graph requests.

``--auth any`` (the default) accepts any bearer token. ``--auth jwt`` reads the token
as a JWT without checking its signature (see :mod:`mockgraph.tokens`) and checks its
lifetime and permissions.
"""

from __future__ import annotations

from typing import Any

from flask import Request, current_app, g

from .errors import GraphError
from .tokens import (
    Caller,
    caller_from_token,
    check_permission,
    parse_bearer,
    unverified_object_id,
)

# Methods that only read; every other method needs write permission.
READ_METHODS = frozenset({"GET", "HEAD"})


def bearer_token(request: Request) -> str:
    """Return the bearer token of ``request``; raise 401 if there is none.

    The scheme may be written in any letter case, as RFC 9110 allows.
    """
    return parse_bearer(request.headers.get("Authorization"))


def authenticate(request: Request) -> Caller | None:
    """Check the request's token according to the auth mode; return its caller.

    Under ``--auth any`` this only requires a bearer token and returns None. Under
    ``--auth jwt`` it raises 401 for a token that is not a valid JWT, 403 for missing
    permissions and 400 for ``/me`` with an app-only token.
    """
    from .app import get_state

    token = bearer_token(request)
    if get_state(current_app).config.auth != "jwt":
        return None

    caller = caller_from_token(token)
    if caller.app_only and _addresses_me(request):
        raise GraphError(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow: the token is "
            "app-only; address the user as /users/{id} instead.",
        )

    write = request.method not in READ_METHODS
    check_permission(caller, write, f"{request.method} {request.path}")
    g.caller = caller
    return caller


def me_user(request: Request) -> str:
    """Return the user that ``/me`` stands for in this request.

    Under ``--auth jwt`` that is the token's ``oid`` when the token carries one. The
    token is checked later by :func:`authenticate`, so a bad token still gets its 401.
    """
    from .app import get_state

    config = get_state(current_app).config
    if config.auth != "jwt":
        return config.me_user

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return config.me_user

    return unverified_object_id(token.strip()) or config.me_user


def caller_identity() -> dict[str, Any] | None:
    """Return the identitySet of the authenticated JWT caller, or None without one."""
    caller: Caller | None = g.get("caller")
    return caller.identity() if caller is not None else None


def _addresses_me(request: Request) -> bool:
    return request.view_args is not None and "user" not in request.view_args
