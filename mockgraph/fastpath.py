"""A direct path for the plain create request, which skips Flask's request handling.

A load test sends mostly valid creates that use none of the optional features: no
fault rule, throttle, ``Prefer`` header, CORS origin or JWT check. For those, building
Flask's request context, routing, running the hooks and building a Response object
cost more than the create itself. :class:`CreateFastPath` handles such a create from
the WSGI environ, through the same checks, builders and store calls as the
``createSkill`` route, and records the same journal entry.

It responds only with 201. Any other request goes to the Flask application as it
came in, with its body put back in place: one that a check would reject, and one that
needs a feature left out here. Every error and every optional feature therefore keeps
a single implementation.

The skill is inserted only after the last check passes. If the insert itself fails,
the route runs the checks again and responds with that error without a second
insert. The one write before the checks, seeding a new user's skills, happens only once,
whichever path runs first.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import skills
from .creation import (
    INSERT_FAILURE_KEY,
    MAX_USER_ID_LENGTH,
    insert_new,
    owner_key,
    plain_base_url,
)
from .jsonbody import encode_json, graph_headers, parse_json_object
from .state import Exchange, MockGraphState, record_interaction, request_ids
from .tokens import parse_bearer
from .validation import CREATE_SCHEMA

# The collection routes after path normalisation. Group 1 is the user, None for /me.
_COLLECTION = re.compile(r"(?:/beta)?(?:/users?/([^/]+)|/me)/profile/skills")
# Werkzeug's reason phrase, so both paths send the same status line.
_CREATED = "201 CREATED"
# The parts of the Content-Type values handled here, split at ";", stripped and in
# lower case. The route parses any other value, with Werkzeug.
_JSON_TYPES = (["application/json"], ["application/json", "charset=utf-8"])


class CreateFastPath:
    """WSGI middleware that handles plain creates itself and passes on the rest.

    :param state: the mock's state, shared with the Flask application.
    :param wsgi_app: the Flask application's WSGI callable.
    """

    def __init__(self, state: MockGraphState, wsgi_app: Callable[..., Any]) -> None:
        self.state = state
        self.wsgi_app = wsgi_app
        #: Set to False to send every request through Flask.
        self.enabled = True
        # Settings fixed at start-up that send every create through Flask.
        self._settings_apply = state.config.auth == "any" and state.throttle is None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and self.enabled:
            answered = self._create(environ, start_response)
            if answered is not None:
                return answered

        return self.wsgi_app(environ, start_response)

    def _applies(self, environ: dict[str, Any]) -> bool:
        """Return whether no optional feature could change this request's response."""
        return (
            self._settings_apply
            and not self.state.faults.active
            and "HTTP_PREFER" not in environ
            and "HTTP_ORIGIN" not in environ
            and "HTTP_CONTENT_ENCODING" not in environ
            # Werkzeug's development server passes this header on with the body
            # decoded from chunks, whose length then need not be Content-Length.
            and "HTTP_TRANSFER_ENCODING" not in environ
            and _content_type_parts(environ) in _JSON_TYPES
        )

    def _create(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes] | None:
        """Respond to a valid plain create with 201, or return None to pass it on."""
        path = environ.get("PATH_INFO", "")
        match = _COLLECTION.fullmatch(path)
        if match is None or not path.isascii() or not self._applies(environ):
            return None

        # Other hosts, which Werkzeug may reject or replace, go to the route.
        base = plain_base_url(environ)
        declared = environ.get("CONTENT_LENGTH", "")
        if base is None or not (declared.isascii() and declared.isdigit()):
            return None

        length = int(declared)
        state = self.state
        if length > state.config.max_body_bytes:
            return None

        started = time.perf_counter()
        data = environ["wsgi.input"].read(length)
        checked = None
        # A shorter body means that the client stopped sending, which the route reports.
        if len(data) == length:
            try:
                checked = self._check(environ, match.group(1), data)
            except Exception:  # the route responds with the error
                checked = None

        skill = None
        if checked is not None:
            owner, key, values, warnings = checked
            try:
                skill = insert_new(state, key, owner, values, None)
            except Exception as err:
                # The route repeats the checks, then responds with this error instead
                # of inserting again.
                environ[INSERT_FAILURE_KEY] = err

        if skill is None:
            # The body was read: put it back for the Flask application to read again.
            environ["wsgi.input"] = io.BytesIO(data)
            return None

        payload = skills.present(skill, base, owner)
        body = encode_json(payload)
        request_id, client_request_id = request_ids(environ)
        location = skills.entity_url(base, owner, skill["id"])
        headers = graph_headers(body, request_id, client_request_id, location)
        if state.recording:
            record_interaction(
                state,
                environ,
                Exchange(
                    method="POST",
                    path=path,
                    status=201,
                    response_headers=headers,
                    response_body=None,
                    response_json=body,
                    raw_body=data,
                    operation="createSkill",
                    started=started,
                    request_id=request_id,
                    user=key,
                    warnings=warnings,
                ),
            )

        start_response(_CREATED, list(headers.items()))
        return [body]

    def _check(
        self, environ: dict[str, Any], user: str | None, data: bytes
    ) -> tuple[str, str, dict[str, Any], list[str]] | None:
        """Run the route's checks and prepare the insert.

        Returns the owner as addressed, its store key, the values to store and the
        warnings to record. Returns None, or raises, where the route would respond
        with an error.
        """
        state = self.state
        if user is not None and len(user) > MAX_USER_ID_LENGTH:
            return None

        owner = user if user is not None else state.config.me_user
        key = owner_key(state, owner)
        parse_bearer(environ.get("HTTP_AUTHORIZATION"))
        body = parse_json_object(data)
        warnings = skills.validate_body(
            state.schemas, CREATE_SCHEMA, body, state.config.strict
        )
        values = skills.client_values(state.schemas, body)
        return owner, key, values, warnings


def _content_type_parts(environ: dict[str, Any]) -> list[str]:
    """Split the Content-Type at ";", strip spaces and tabs, and use lower case.

    Values with other characters, such as a no-break space, go to the route, which
    parses them with Werkzeug.
    """
    value = environ.get("CONTENT_TYPE", "")
    if not value.isascii():
        return []

    return [part.strip(" \t") for part in value.lower().split(";")]
