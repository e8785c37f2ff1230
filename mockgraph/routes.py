"""The Graph routes: a user's skills collection and its items."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.routing import BaseConverter

from . import skills
from .app import get_state
from .auth import authenticate, caller_identity, me_user
from .creation import (
    INSERT_FAILURE_KEY,
    MAX_USER_ID_LENGTH,
    base_url_of,
    insert_new,
    owner_key,
)
from .errors import GraphError
from .http import check_json_content_type, json_response, parse_json_object, read_body
from .validation import CREATE_SCHEMA, UPDATE_SCHEMA, show_value

# Every form of the owner segment; each is served with and without the /beta prefix.
OWNER_FORMS = ("/users/<user>", "/user/<user>", "/me")
VERSION_PREFIXES = ("/beta", "")
COLLECTION = "/profile/skills"


class SkillIdConverter(BaseConverter):
    """A skill id: one path segment, other than ``$count``.

    So a write to ``$count`` gets a 405 from its own route, instead of a 404 for a
    skill whose id is "$count".
    """

    regex = r"(?!\$count(?![^/]))[^/]+"


def register(app: Flask) -> None:
    app.url_map.converters["skill_id"] = SkillIdConverter
    # One rule for each method of a skill, so that routing picks the view. Flask adds
    # HEAD to each GET rule, so HEAD is handled as GET.
    item_views = [(get_skill, "GET"), (update_skill, "PATCH"), (delete_skill, "DELETE")]
    for prefix in VERSION_PREFIXES:
        for owner in OWNER_FORMS:
            base = prefix + owner + COLLECTION
            app.add_url_rule(
                base,
                "skills",
                skills_collection,
                methods=["GET", "POST"],
            )
            app.add_url_rule(base + "/$count", view_func=skills_count, methods=["GET"])
            for view, method in item_views:
                app.add_url_rule(
                    base + "/<skill_id:skill_id>", view_func=view, methods=[method]
                )


# The order in which Allow headers list methods.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def served_methods(routed: Iterable[str]) -> list[str]:
    """Return the methods that routing found for a path, in ``METHOD_ORDER``."""
    methods = set(routed)
    return [method for method in METHOD_ORDER if method in methods]


def describe_routes() -> str:
    """Return a sentence naming the routes the mock serves, for 404 messages."""
    return (
        "mockgraph serves GET and POST /beta/users/{id}/profile/skills, "
        "GET /beta/users/{id}/profile/skills/$count, and GET, PATCH and DELETE "
        "/beta/users/{id}/profile/skills/{skillId}; /users/{id} may also be written "
        "/user/{id} or /me, and the /beta prefix is optional."
    )


def check_user_id(user: str) -> None:
    """Raise 400 for a user id that no Graph user can have."""
    if len(user) > MAX_USER_ID_LENGTH:
        raise GraphError(
            400,
            "BadRequest",
            f"The user id of {len(user)} characters is longer than "
            f"{MAX_USER_ID_LENGTH}; address the user by object id or principal name.",
            target="userId",
        )

    if "\ufffd" in user:
        # Werkzeug decodes the path as UTF-8 and puts U+FFFD where the bytes are invalid.
        raise GraphError(
            400,
            "BadRequest",
            f"The user id {show_value(user)} is not valid UTF-8 once percent-decoded; "
            "percent-encode the id's UTF-8 bytes.",
            target="userId",
        )


def resolve_owner(user: str | None) -> tuple[str, str]:
    """Return the owner's label as addressed and its store key."""
    if user is not None:
        check_user_id(user)

    label = user if user is not None else me_user(request)
    key = owner_key(get_state(current_app), label)
    g.user_key = key
    return label, key


def base_url() -> str:
    """Return the mock's Graph base URL on the host the client addressed."""
    return base_url_of(request.environ)


def _json_body() -> dict[str, Any]:
    """Read the JSON object body, checking in Graph's order: auth, type, size, JSON."""
    state = get_state(current_app)
    data, too_large = read_body(request, state.config.max_body_bytes)
    authenticate(request)
    check_json_content_type(request)
    if too_large is not None:
        raise too_large

    return parse_json_object(data)


def _not_found(skill_id: str, owner: str) -> GraphError:
    return GraphError(
        404,
        "itemNotFound",
        f"Skill {skill_id!r} was not found for user {owner!r}; list "
        f"/users/{owner}/profile/skills to see the ids that exist.",
        target="skillId",
    )


def skills_collection(user: str | None = None) -> Response:
    if request.method == "POST":
        return create_skill(user)

    from .listing import list_skills

    return list_skills(user)


def create_skill(user: str | None) -> Response:
    g.operation = "createSkill"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    body = _json_body()
    g.warnings = skills.validate_body(
        state.schemas, CREATE_SCHEMA, body, state.config.strict
    )

    values = skills.client_values(state.schemas, body)
    failure = request.environ.pop(INSERT_FAILURE_KEY, None)
    if failure is not None:
        raise failure

    skill = insert_new(state, key, owner, values, caller_identity())
    base = base_url()
    return json_response(
        skills.present(skill, base, owner),
        201,
        {"Location": skills.entity_url(base, owner, skill["id"])},
    )


def get_skill(skill_id: str, user: str | None = None) -> Response:
    g.operation = "getSkill"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    authenticate(request)
    from .listing import item_options, select_properties

    query = item_options()
    skill = state.store.get(key, skill_id)
    if skill is None:
        raise _not_found(skill_id, owner)

    body = skills.present(skill, base_url(), owner, query.select)
    return json_response(select_properties(body, query.select))


def update_skill(skill_id: str, user: str | None = None) -> Response:
    g.operation = "updateSkill"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    body = _json_body()
    g.warnings = skills.validate_body(
        state.schemas, UPDATE_SCHEMA, body, state.config.strict
    )
    values = skills.client_values(state.schemas, body)
    identity = caller_identity()
    updated = state.store.update(
        key,
        skill_id,
        lambda current: skills.merge_patch(
            state.fabricator, current, values, owner, identity
        ),
    )
    if updated is None:
        raise _not_found(skill_id, owner)

    return json_response(skills.present(updated, base_url(), owner))


def delete_skill(skill_id: str, user: str | None = None) -> Response:
    g.operation = "deleteSkill"
    state = get_state(current_app)
    owner, key = resolve_owner(user)
    authenticate(request)
    if not state.store.delete(key, skill_id):
        raise _not_found(skill_id, owner)

    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def skills_count(user: str | None = None) -> Response:
    g.operation = "countSkills"
    from .listing import count_skills

    return count_skills(user)
