"""Access tokens under ``--auth jwt``: reading their claims and checking permissions.

Signatures are never checked: any well-formed JWT that has not expired is accepted, so
the mock proves what a client sends, not that the token came from Microsoft Entra ID.
Tokens are decoded with PyJWT, and :func:`make_token` writes unsigned ones for tests.
PyJWT is imported on first use, because it also imports the ``cryptography`` package
when that is installed, and a server under ``--auth any`` never decodes a token.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import GraphError, unauthenticated
from .fakedata import Fabricator, user_object_id
from .journal import AUTH_SCHEMES

# The tenant id written into tokens that make_token builds.
MOCK_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
# Delegated scopes that allow reading and writing skills. The profile API's permission
# tables list User.Read as the least privileged read scope and User.ReadWrite for writes.
READ_SCOPES = ("User.Read", "User.ReadWrite", "User.Read.All", "User.ReadWrite.All")
WRITE_SCOPES = ("User.ReadWrite", "User.ReadWrite.All")
# Application permissions that allow reading; app-only tokens cannot write skills.
READ_ROLES = ("User.Read.All", "User.ReadWrite.All")
# The maximum lifetime, in seconds, of a token that make_token builds, and of how long
# ago an expired one expired: ten years.
MAX_TOKEN_LIFETIME = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class Caller:
    """The identity and permissions that an access token carries."""

    object_id: str | None
    name: str | None
    scopes: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def app_only(self) -> bool:
        """Whether the token is an application's own (roles, no delegated scopes)."""
        return not self.scopes and bool(self.roles)

    def has_any(self, granted: tuple[str, ...], required: tuple[str, ...]) -> bool:
        # Permission names are case-insensitive in Microsoft Entra ID.
        have = {name.lower() for name in granted}
        return any(name.lower() in have for name in required)

    def identity(self) -> dict[str, Any]:
        """Return the ``identitySet`` that names this caller in createdBy/lastModifiedBy."""
        user = {"displayName": self.name, "id": self.object_id}
        return {"application": None, "device": None, "user": user}


def read_claims(token: str) -> dict[str, Any]:
    """Decode a JWT without checking its signature; raise 401 if it is not a JWT."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as err:
        raise unauthenticated(
            f"Access token is not a JWT ({err}). The mock runs with --auth jwt, which "
            "needs a JWT; make one with 'mockgraph token --user ID --scopes User.ReadWrite'."
        ) from None

    if not isinstance(claims, dict):
        raise unauthenticated(
            "Access token is not a JWT: its payload is not a JSON object."
        )

    return claims


def unverified_object_id(token: str) -> str | None:
    """Return the token's ``oid`` claim, or None if it has none or is no JWT."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None

    object_id = claims.get("oid") if isinstance(claims, dict) else None
    return object_id if isinstance(object_id, str) and object_id else None


def caller_from_token(token: str, now: float | None = None) -> Caller:
    """Check a token's lifetime and claims; return its caller or raise 401."""
    claims = read_claims(token)
    now = time.time() if now is None else now
    expires = _time_claim(claims, "exp")
    if expires is not None and now >= expires:
        raise unauthenticated(
            f"Lifetime validation failed: the token expired at {_utc(expires)} "
            f"(claim 'exp' is {claims['exp']!r}, {now - expires:.0f} seconds ago); "
            "get a new token."
        )

    not_before = _time_claim(claims, "nbf")
    if not_before is not None and now < not_before:
        raise unauthenticated(
            f"Lifetime validation failed: the token is not valid before {_utc(not_before)}; "
            f"check the nbf claim ({claims['nbf']!r}) and the clock of the machine "
            "that made it."
        )

    scopes = _scopes(claims)
    roles = _roles(claims)
    object_id = _string_claim(claims, "oid")
    if scopes and object_id is None:
        raise unauthenticated(
            "Access token has delegated scopes (scp) but no 'oid' claim naming the user "
            f"(oid is {claims.get('oid')!r}); add the signed-in user's object id as a "
            "string 'oid'."
        )

    name = _string_claim(claims, "name") or _string_claim(claims, "preferred_username")
    return Caller(object_id, name or object_id, scopes, roles)


def check_permission(caller: Caller, write: bool, operation: str) -> None:
    """Raise 403 ``accessDenied`` unless ``caller`` may perform ``operation``.

    ``operation`` names the request in the message, such as "POST /users/42/profile/skills".
    """
    if caller.app_only:
        if write:
            raise _denied(
                f"{operation} is not supported with application permissions: the token is "
                f"app-only (roles {list(caller.roles)!r}, no scp claim). Writing skills "
                "needs a delegated token with User.ReadWrite."
            )

        if not caller.has_any(caller.roles, READ_ROLES):
            raise _missing(
                operation, "application permission", READ_ROLES, caller.roles
            )

        return

    required = WRITE_SCOPES if write else READ_SCOPES
    if not caller.has_any(caller.scopes, required):
        raise _missing(operation, "delegated permission", required, caller.scopes)


def _missing(
    operation: str, kind: str, required: tuple[str, ...], granted: tuple[str, ...]
) -> GraphError:
    return _denied(
        f"Insufficient privileges to complete the operation: {operation} needs the "
        f"{kind} {' or '.join(required)}, and the token grants {list(granted)!r}. "
        "Add one of them to the token."
    )


def _denied(message: str) -> GraphError:
    return GraphError(403, "accessDenied", message)


def _time_claim(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise unauthenticated(
            f"Access token claim {name!r} is {value!r}, but it must be a number of "
            "seconds since 1970-01-01 UTC."
        )

    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.nan

    if math.isnan(seconds):
        raise unauthenticated(
            f"Access token claim {name!r} is {value!r}, which is NaN or too large; "
            "it must be a number of seconds since 1970-01-01 UTC."
        )

    return seconds


def _string_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    value = claims.get("scp")
    if value is None:
        return ()

    if not isinstance(value, str):
        raise unauthenticated(
            f"Access token claim 'scp' is {value!r}, but it must be a string of "
            "space-separated scopes such as 'User.Read User.ReadWrite'."
        )

    return tuple(value.split())


def _roles(claims: dict[str, Any]) -> tuple[str, ...]:
    value = claims.get("roles")
    if value is None:
        return ()

    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise unauthenticated(
            f"Access token claim 'roles' is {value!r}, but it must be a list of strings "
            "such as ['User.Read.All']."
        )

    return tuple(value)


def _utc(seconds: float) -> str:
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "a time outside the years 1 to 9999"

    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_token(
    user: str,
    name: str | None = None,
    scopes: tuple[str, ...] = ("User.ReadWrite",),
    roles: tuple[str, ...] = (),
    expires_in: int = 3600,
    now: float | None = None,
) -> str:
    """Return an unsigned JWT (``alg`` none) shaped like a Microsoft Graph access token.

    ``user`` becomes the ``oid`` claim if it is a GUID. Otherwise it is kept as
    ``preferred_username`` and ``oid`` is the GUID the mock derives from it, so the
    token's ``/me`` and ``/users/{user}`` address the same skills. A token with roles and
    no scopes is app-only. ``expires_in`` of 0 or less makes an expired token.

    :raises ValueError: if ``expires_in`` is more than :data:`MAX_TOKEN_LIFETIME`
        either way.
    """
    import jwt

    if abs(expires_in) > MAX_TOKEN_LIFETIME:
        raise ValueError(
            f"expires_in must be between {-MAX_TOKEN_LIFETIME} and "
            f"{MAX_TOKEN_LIFETIME} seconds, got {expires_in!r}"
        )

    issued = int(time.time() if now is None else now)
    object_id = user_object_id(user)
    claims: dict[str, Any] = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{MOCK_TENANT_ID}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + expires_in,
        "tid": MOCK_TENANT_ID,
        "oid": object_id,
        "name": name or Fabricator(seed=0).identity(user)["displayName"],
        "uti": str(uuid.uuid4()),
        "ver": "1.0",
    }
    if object_id != user:
        claims["preferred_username"] = user

    if scopes:
        claims["scp"] = " ".join(scopes)

    if roles:
        claims["roles"] = list(roles)

    return jwt.encode(claims, "", algorithm="none")


def parse_bearer(header: str | None) -> str:
    """Return the token of an Authorization header value; raise 401 if there is none.

    The scheme may be written in any letter case, as RFC 9110 allows.
    """
    if header is None or not header.strip():
        raise unauthenticated(
            "Access token is empty: the Authorization header is missing; "
            "send 'Authorization: Bearer <token>'."
        )

    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        if scheme.lower() not in AUTH_SCHEMES:
            # An unknown first word may be the credential itself, as in a bare token,
            # and this message is recorded in the journal and in contract files.
            raise unauthenticated(
                "The Authorization header does not start with a known scheme such "
                "as Bearer; send 'Authorization: Bearer <token>'. Its value is not "
                "repeated here, because it may be a credential."
            )

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
