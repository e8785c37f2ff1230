"""The steps of a create that the Flask route and the direct path share.

Nothing here imports Flask or Werkzeug at module level, so that ``mockgraph serve``
can create a skill before either is loaded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import skills
from .errors import GraphError
from .fakedata import user_object_id

if TYPE_CHECKING:
    from .state import MockGraphState

# Longer than any object id (36) or user principal name (113) Graph accepts.
MAX_USER_ID_LENGTH = 256
# Ids drawn for one new skill before giving up. Only ids loaded from a dump made with
# the same seed collide, and each collision moves the user's counter past that id.
MAX_ID_ATTEMPTS = 10_000
# The WSGI environ key under which an earlier attempt at a create leaves the error its
# insert raised (see mockgraph.fastpath), so that the route responds with it.
INSERT_FAILURE_KEY = "mockgraph.insert_failure"

# Base URLs already built, by the parts of the WSGI environ that they depend on.
_base_urls: dict[tuple[str, ...], str] = {}
MAX_CACHED_BASE_URLS = 64
_BASE_URL_ENVIRON_KEYS = (
    "HTTP_HOST",
    "wsgi.url_scheme",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
)
# A Host header that Werkzeug accepts and keeps as it is, but for letter case and a
# default port: a name or IPv4 address, or an IPv6 address, and an optional port.
# Werkzeug 3.1 checks the host with the same pattern, replaces a host that fails it
# with the server's address, and rejects a name that IDNA cannot encode.
_PLAIN_HOST = re.compile(
    r"(?:([a-z0-9.-]+)|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([1-9][0-9]{0,4}))?"
)
MAX_PORT = 65535
# Hosts already checked, with their base URL, or None where Werkzeug builds it.
_plain_urls: dict[tuple[str, str], str | None] = {}
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def owner_key(state: MockGraphState, label: str) -> str:
    """Return the store key of the user ``label``, seeding the user's skills if set."""
    key = user_object_id(label)
    if state.config.seed_skills:
        from .seeding import seed_user

        count = state.config.seed_skills
        seed_user(state.store, state.schemas, state.fabricator, key, label, count)

    return key


def insert_new(
    state: MockGraphState,
    key: str,
    owner: str,
    values: dict[str, Any],
    identity: dict[str, Any] | None,
) -> skills.Skill:
    """Insert a new skill, drawing another id if a loaded skill already has one.

    ``identity`` is the JWT caller's identitySet. Without one, the creator is ``owner``.
    """
    # The creator is worked out before the store's write begins, so that a first
    # request's fabricated name does not hold the store's lock.
    creator = identity or state.fabricator.identity_set(owner)

    def build(sequence: int) -> skills.Skill:
        return skills.new_skill(
            state.schemas,
            state.fabricator,
            key,
            sequence,
            caller=owner,
            values=values,
            identity=creator,
        )

    # Random ids do not depend on the user's create count, so without a seed the
    # count is not kept and a single insert is the whole write.
    skill = state.store.create(
        key, build, MAX_ID_ATTEMPTS, counted=state.fabricator.seed is not None
    )
    if skill is None:
        raise GraphError(
            409,
            "conflict",
            f"Could not draw a free skill id for user {owner!r} in {MAX_ID_ATTEMPTS} "
            "attempts; reset the mock or load skills with other ids.",
        )

    return skill


def base_url_of(environ: dict[str, Any]) -> str:
    """Return the mock's Graph base URL on the host that the request addressed."""
    key = tuple(environ.get(name, "") for name in _BASE_URL_ENVIRON_KEYS)
    url = _base_urls.get(key)
    if url is None:
        url = plain_base_url(environ) or _werkzeug_base_url(environ)
        if len(_base_urls) >= MAX_CACHED_BASE_URLS:
            _base_urls.clear()

        _base_urls[key] = url

    return url


def plain_base_url(environ: dict[str, Any]) -> str | None:
    """Return the base URL for a plain Host header, or None for any other request.

    For a plain Host header the result is the base URL that Werkzeug would build.
    """
    key = (environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""))
    try:
        return _plain_urls[key]
    except KeyError:
        pass

    url = _build_plain_base_url(*key)
    if len(_plain_urls) >= MAX_CACHED_BASE_URLS:
        _plain_urls.clear()

    _plain_urls[key] = url
    return url


def _build_plain_base_url(scheme: str, host: str) -> str | None:
    default_port = _DEFAULT_PORTS.get(scheme)
    host = host.lower()
    match = _PLAIN_HOST.fullmatch(host)
    # Werkzeug decodes punycode names ("xn--") to Unicode, so it builds those itself.
    if default_port is None or match is None or "xn--" in host:
        return None

    name, port = match.groups()
    if port is not None and int(port) > MAX_PORT:
        return None

    if name is not None:
        try:
            name.encode("idna")
        except UnicodeError:  # such as an empty label in "a..b"
            return None
    elif not _is_url_host(host):
        return None

    return f"{scheme}://{host.removesuffix(default_port)}/beta"


def _is_url_host(host: str) -> bool:
    """Return whether ``host`` can appear in a URL, as urlsplit checks IPv6 addresses."""
    try:
        urlsplit(f"http://{host}/")
    except ValueError:  # such as "[1::2::3]", which is not an IPv6 address
        return False

    return True


def _werkzeug_base_url(environ: dict[str, Any]) -> str:
    from werkzeug.wrappers import Request

    current = Request(environ)
    server_url = (
        f"{current.scheme}://{environ['SERVER_NAME']}:{environ['SERVER_PORT']}/beta"
    )
    if not current.host:
        # A missing or invalid Host header: use the address the server listens on.
        return server_url

    try:
        url = current.host_url.rstrip("/") + "/beta"
    except ValueError:
        # Such as a punycode label that does not decode ("xn--a").
        return server_url

    # A URL that urlsplit rejects would fail later, in the Location header.
    return url if _is_url_host(current.host) else server_url
