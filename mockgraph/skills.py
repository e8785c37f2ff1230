"""Building, changing and presenting skillProficiency objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from .errors import ErrorDetail, GraphError
from .fakedata import Fabricator, graph_timestamp, parse_timestamp
from .validation import (
    ANNOTATIONS,
    MAX_DETAILS,
    SchemaSet,
    complete,
    order_details,
    validation_error_message,
)

Skill = dict[str, Any]


def validate_body(
    schemas: SchemaSet, schema_name: str, body: dict[str, Any], strict: bool
) -> list[str]:
    """Validate a create or update body; return warnings or raise 400 listing failures.

    Server-set properties are type-checked like any other. Then they are either
    rejected (``strict``) or reported as warnings for the caller to record.
    """
    details = schemas.validate(schema_name, body)
    server_set = [name for name in body if name in schemas.read_only]
    if strict:
        failed = {detail.target for detail in details}
        details += [
            ErrorDetail(
                "invalidRequest",
                f"Property {name!r} is set by the server and cannot be written; "
                "remove it from the request.",
                f"/{name}",
                "readOnly",
                body[name],
            )
            for name in server_set
            if f"/{name}" not in failed
        ]
        details = order_details(details, body)

    if details:
        raise validation_failure(details)

    return [
        f"ignored server-set property {name!r}: the server's value is returned instead"
        for name in server_set
    ]


def validation_failure(details: list[ErrorDetail]) -> GraphError:
    """Return the 400 error that reports ``details``, led by the first one."""
    return GraphError(
        400,
        details[0].code,
        validation_error_message(details),
        target=details[0].target,
        details=details[:MAX_DETAILS],
    )


def client_values(schemas: SchemaSet, body: dict[str, Any]) -> dict[str, Any]:
    """Keep the properties a client may set, dropping annotations and server-set ones.

    Nested objects are completed with null for the properties they leave out.
    """
    return {
        name: complete(value, schemas.shape[name])
        for name, value in body.items()
        if name not in ANNOTATIONS and name not in schemas.read_only
    }


def new_skill(
    schemas: SchemaSet,
    fabricator: Fabricator,
    owner_key: str,
    sequence: int,
    caller: str,
    values: dict[str, Any],
    identity: dict[str, Any] | None = None,
) -> Skill:
    """Return a complete skill: every property present, unset ones as null.

    ``identity`` is the creator's identitySet when a token names the caller; without
    one the creator is the user ``caller``.
    """
    now = graph_timestamp()
    creator = identity or fabricator.identity_set(caller)
    server_values = {
        "id": fabricator.skill_id(owner_key, sequence),
        "createdDateTime": now,
        "createdBy": creator,
        "lastModifiedDateTime": now,
        "lastModifiedBy": creator,
    }
    skill: Skill = {}
    for name in schemas.properties:
        if name in ANNOTATIONS:
            continue

        skill[name] = server_values.get(name, values.get(name))

    return skill


def merge_patch(
    fabricator: Fabricator,
    skill: Skill,
    values: dict[str, Any],
    caller: str,
    identity: dict[str, Any] | None = None,
) -> Skill:
    """Apply PATCH ``values``: absent keys stay, null clears, server fields move on.

    A complex value such as ``inference`` is replaced whole, not merged. With no values
    to apply the PATCH changes nothing, not even ``lastModifiedDateTime``.
    ``identity`` is the modifier's identitySet, as in :func:`new_skill`.
    """
    if not values:
        return skill

    skill.update(values)
    skill["lastModifiedDateTime"] = later_timestamp(skill.get("lastModifiedDateTime"))
    skill["lastModifiedBy"] = identity or fabricator.identity_set(caller)
    return skill


def later_timestamp(previous: str | None) -> str:
    """Return the current time, or a tick after ``previous`` if the clock has not passed it.

    Two changes within one clock tick still get increasing ``lastModifiedDateTime``.
    """
    now = datetime.now(timezone.utc)
    if previous:
        try:
            now = max(now, parse_timestamp(previous) + timedelta(microseconds=1))
        except ValueError:
            pass  # a value loaded from a fixture that is not a date-time is replaced

    return graph_timestamp(now)


def entity_url(base_url: str, owner: str, skill_id: str | None = None) -> str:
    url = f"{base_url}/users/{quote(owner, safe='')}/profile/skills"
    return f"{url}/{quote(skill_id, safe='')}" if skill_id else url


def context_url(
    base_url: str, owner: str, entity: bool, select: Sequence[str] | None = None
) -> str:
    """Return the ``@odata.context`` URL; a ``$select`` list appears in brackets."""
    selected = f"({','.join(select)})" if select is not None else ""
    suffix = "/$entity" if entity else ""
    return (
        f"{base_url}/$metadata#users('{quote(owner, safe='')}')/profile/skills"
        f"{selected}{suffix}"
    )


def present(
    skill: Skill, base_url: str, owner: str, select: Sequence[str] | None = None
) -> dict[str, Any]:
    """Return a skill as a single-entity response body, with its ``@odata.context``."""
    return {"@odata.context": context_url(base_url, owner, True, select), **skill}
