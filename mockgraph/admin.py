"""The admin API under ``/_mockgraph/``: health, journal, reset and skill dumps."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from .app import error_response, get_state
from .dumps import read_dump
from .errors import GraphError
from .http import json_response, parse_json_object, read_body

logger = logging.getLogger(__name__)
# Largest dump PUT /_mockgraph/skills accepts, in bytes; fixture files may be larger
# than a request body.
MAX_DUMP_BYTES = 64 * 1024 * 1024

blueprint = Blueprint("mockgraph_admin", __name__)


@blueprint.errorhandler(TimeoutError)
def journal_locked(error: TimeoutError) -> Response:
    """Respond 503 when the journal shared by several workers stays locked."""
    logger.warning("admin request failed: %s", error)
    return error_response(
        GraphError(
            503,
            "serviceNotAvailable",
            f"The interaction journal is not available: {error}. Retry the request.",
            headers={"Retry-After": "1"},
        )
    )


@blueprint.get("/health")
def health() -> Response:
    state = get_state(current_app)
    return json_response(
        {
            "status": "ok",
            "schemaVersion": state.schemas.version,
            "seed": state.config.seed,
            "me": state.config.me_user,
        }
    )


@blueprint.get("/interactions")
def list_interactions() -> Response:
    state = get_state(current_app)
    status = request.args.get("status")
    if status is not None and not status.isdigit():
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid value {status!r} for query parameter 'status': expected an HTTP "
            "status code such as 201.",
            target="status",
        )

    # One call, so that "dropped" counts as of the moment the records were read.
    records, dropped = state.journal.records_and_dropped()
    records = records.filter(
        method=request.args.get("method"),
        path=request.args.get("path"),
        status=int(status) if status is not None else None,
        operation=request.args.get("operation"),
    )
    return json_response(
        {
            "value": [record.to_json() for record in records],
            "count": len(records),
            "dropped": dropped,
        }
    )


@blueprint.delete("/interactions")
def clear_interactions() -> Response:
    # Numbering goes on, so records already in a --journal-file keep unique numbers.
    get_state(current_app).journal.clear(restart_numbering=False)
    return Response(status=204)


@blueprint.post("/reset")
def reset() -> Response:
    """Remove every skill, counter, seen user and recorded interaction."""
    get_state(current_app).reset()
    return Response(status=204)


@blueprint.get("/skills")
def dump_skills() -> Response:
    """Return every user's skills as ``{"users": {user id: [skill, ...]}}``."""
    return json_response({"users": get_state(current_app).store.dump()})


@blueprint.put("/skills")
def load_skills() -> Response:
    """Replace every skill with a dump in the format :func:`dump_skills` returns.

    Users may be named by id or principal name. Each skill is validated like a create
    body; the properties the server sets are kept if given and generated if not.
    """
    state = get_state(current_app)
    data, too_large = read_body(request, MAX_DUMP_BYTES)
    if too_large is not None:
        raise too_large

    skills = read_dump(state, parse_json_object(data))
    state.store.load(skills)
    total = sum(len(items) for items in skills.values())
    logger.info("loaded %d skills of %d users", total, len(skills))
    return json_response({"users": len(skills), "skills": total})
