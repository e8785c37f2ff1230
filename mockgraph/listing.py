"""Listing, counting and selecting a user's skills, with OData query options."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Response, current_app, g, request

from . import skills
from .app import get_state
from .auth import authenticate
from .filtering import DATETIME, PROPERTY_TYPES, comparable, read_path
from .http import json_response
from .odata import (
    COLLECTION_OPTIONS,
    COUNT_OPTIONS,
    ITEM_OPTIONS,
    QueryOptions,
    read_query,
)
from .routes import base_url, resolve_owner
from .validation import ANNOTATIONS

Skill = dict[str, Any]
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def selectable_properties() -> list[str]:
    """Return the property names ``$select`` accepts, in the resource's order."""
    names = get_state(current_app).schemas.properties
    return [name for name in names if name not in ANNOTATIONS]


def list_skills(user: str | None) -> Response:
    """Serve a collection GET: filter, order, count, page and select."""
    g.operation = "listSkills"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    authenticate(request)
    query = read_query(
        request.args,
        COLLECTION_OPTIONS,
        selectable_properties(),
        "the skills collection",
    )
    items = state.store.list(key)
    if query.matches is not None:
        items = [skill for skill in items if query.matches(skill)]

    items = order_skills(items, query.orderby)
    page_size = state.config.page_size
    if query.top is not None:
        page_size = min(query.top, page_size)

    page = items[query.skip : query.skip + page_size]
    payload: dict[str, Any] = {
        "@odata.context": skills.context_url(
            base_url(), owner, entity=False, select=query.select
        )
    }
    if query.count:
        payload["@odata.count"] = len(items)

    next_skip = query.skip + len(page)
    if page and next_skip < len(items):
        payload["@odata.nextLink"] = next_link(query, next_skip)

    payload["value"] = [select_properties(skill, query.select) for skill in page]
    return json_response(payload)


def count_skills(user: str | None) -> Response:
    """Serve ``GET .../$count``: the number of skills that match ``$filter``."""
    state = get_state(current_app)
    _label, key = resolve_owner(user)
    authenticate(request)
    query = read_query(request.args, COUNT_OPTIONS, (), "the $count segment")
    items = state.store.list(key)
    if query.matches is not None:
        items = [skill for skill in items if query.matches(skill)]

    return Response(str(len(items)), content_type="text/plain;charset=utf-8")


def item_options() -> QueryOptions:
    """Read the query options of a single-skill GET: only $select applies."""
    return read_query(
        request.args, ITEM_OPTIONS, selectable_properties(), "a single skill"
    )


def select_properties(
    body: dict[str, Any], select: tuple[str, ...] | None
) -> dict[str, Any]:
    """Keep the ``select`` properties of ``body``, plus ``id`` and any annotations."""
    if select is None:
        return body

    returned = {"id", *select}
    return {
        name: value
        for name, value in body.items()
        if name in returned or name.startswith("@")
    }


def order_skills(
    items: list[Skill], orderby: tuple[tuple[str, bool], ...]
) -> list[Skill]:
    """Sort by ``orderby``, then by ``createdDateTime``, then by creation order.

    Nulls come first in ascending order and last in descending order, as OData sorts.
    """
    ordered = sorted(items, key=_created)
    for path, descending in reversed(orderby):
        kind = PROPERTY_TYPES[path]
        ordered.sort(key=lambda skill: _sort_key(kind, skill, path), reverse=descending)

    return ordered


def _created(skill: Skill) -> datetime:
    value = comparable(DATETIME, skill.get("createdDateTime"))
    return value if value is not None else _EARLIEST


def _sort_key(kind: str, skill: Skill, path: str) -> tuple[int, Any]:
    value = comparable(kind, read_path(skill, path))
    return (0, 0) if value is None else (1, value)


def next_link(query: QueryOptions, skip: int) -> str:
    """Return the absolute URL of the page starting at ``skip``, on the request host."""
    return f"{request.base_url}?{query.link_query(skip)}"
