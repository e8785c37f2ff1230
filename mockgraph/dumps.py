"""Check and complete a skills dump before it replaces the store's contents.

A dump is ``{"users": {user: [skill, ...]}}``, where ``user`` is a user id or principal
name and each skill is validated like a create body. Server-set properties that a
skill leaves out are filled in: a new ``id``, the current time, and the user as the
creator and last modifier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ErrorDetail, GraphError
from .fakedata import graph_timestamp, user_object_id
from .skills import validation_failure
from .validation import ANNOTATIONS, CREATE_SCHEMA, complete

if TYPE_CHECKING:
    from .state import MockGraphState

Skill = dict[str, Any]
FORMAT = '{"users": {"<user id or principal name>": [<skill>, ...]}}'


def read_dump(state: MockGraphState, payload: dict[str, Any]) -> dict[str, list[Skill]]:
    """Return the dump's skills by user key; raise 400 naming every bad entry."""
    users = payload.get("users")
    extra = sorted(set(payload) - {"users"})
    if not isinstance(users, dict) or extra:
        problem = f"unknown member {extra[0]!r}" if extra else "no 'users' object"
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid skills dump: it has {problem}; send {FORMAT}.",
            target=f"/{extra[0]}" if extra else "/users",
        )

    details: list[ErrorDetail] = []
    labels: dict[str, str] = {}
    for label, items in users.items():
        key = user_object_id(label)
        pointer = f"/users/{_escape(label)}"
        if key in labels:
            details.append(
                _detail(
                    pointer,
                    f"Users {labels[key]!r} and {label!r} are the same user; "
                    "merge their skills into one list.",
                )
            )

        labels.setdefault(key, label)
        if not label:
            details.append(
                _detail(
                    pointer,
                    "User '' is empty, and no request URL can name it; name each user "
                    "by id or principal name.",
                )
            )

        if not isinstance(items, list):
            details.append(
                _detail(pointer, f"The skills of user {label!r} are not a list.")
            )
            continue

        details.extend(_check_skills(state, label, items, pointer))

    if details:
        raise validation_failure(details)

    return {
        user_object_id(label): [
            _complete(state, user_object_id(label), label, index, item)
            for index, item in enumerate(items)
        ]
        for label, items in users.items()
    }


def _check_skills(
    state: MockGraphState, label: str, items: list[Any], pointer: str
) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    ids: set[str] = set()
    for index, item in enumerate(items):
        where = f"{pointer}/{index}"
        prefix = f"Skill {index} of user {label!r}"
        if not isinstance(item, dict):
            details.append(_detail(where, f"{prefix} is not a JSON object."))
            continue

        for detail in state.schemas.validate(CREATE_SCHEMA, item):
            details.append(
                ErrorDetail(
                    detail.code,
                    f"{prefix}: {detail.message}",
                    where + detail.target,
                    detail.keyword,
                    detail.value,
                )
            )

        skill_id = item.get("id")
        if isinstance(skill_id, str) and (not skill_id or "/" in skill_id):
            details.append(
                _detail(
                    f"{where}/id",
                    f"{prefix} has id {skill_id!r}, which no request URL can reach; "
                    "give an id without '/' that is not empty, or leave the id out "
                    "to have one generated.",
                )
            )

        if isinstance(skill_id, str) and skill_id in ids:
            details.append(
                _detail(
                    f"{where}/id",
                    f"{prefix} repeats id {skill_id!r}; give each skill its own id.",
                )
            )

        if isinstance(skill_id, str):
            ids.add(skill_id)

    return details


def _complete(
    state: MockGraphState, key: str, label: str, index: int, item: Skill
) -> Skill:
    shape = state.schemas.shape
    skill = {
        name: complete(item.get(name), shape[name])
        for name in state.schemas.properties
        if name not in ANNOTATIONS
    }
    if skill["id"] is None:
        # Negative sequence numbers never meet the ones the create counter hands out.
        skill["id"] = state.fabricator.skill_id(key, -1 - index)

    skill["createdDateTime"] = skill["createdDateTime"] or graph_timestamp()
    skill["lastModifiedDateTime"] = (
        skill["lastModifiedDateTime"] or skill["createdDateTime"]
    )
    skill["createdBy"] = skill["createdBy"] or state.fabricator.identity_set(label)
    skill["lastModifiedBy"] = skill["lastModifiedBy"] or skill["createdBy"]
    return skill


def _detail(target: str, message: str) -> ErrorDetail:
    return ErrorDetail("invalidRequest", message, target, "dump")


def _escape(label: str) -> str:
    return label.replace("~", "~0").replace("/", "~1")
