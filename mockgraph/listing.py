"""Listing and counting a user's skills."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request

from . import skills
from .app import get_state
from .auth import authenticate
from .http import json_response
from .routes import base_url, resolve_owner


def list_skills(user: str | None) -> Response:
    g.operation = "listSkills"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    authenticate(request)
    items = sorted(state.store.list(key), key=lambda skill: skill["createdDateTime"])
    return json_response(
        {
            "@odata.context": skills.context_url(base_url(), owner, entity=False),
            "value": items,
        }
    )


def count_skills(user: str | None) -> Response:
    state = get_state(current_app)
    _owner_label, key = resolve_owner(user)
    authenticate(request)
    return Response(
        str(len(state.store.list(key))), content_type="text/plain;charset=utf-8"
    )


def select_properties(body: dict[str, Any]) -> dict[str, Any]:
    return body
