"""The admin API under ``/_mockgraph/``: journal access and health."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from .app import get_state
from .errors import GraphError
from .http import json_response

blueprint = Blueprint("mockgraph_admin", __name__)


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

    records = state.journal.records().filter(
        method=request.args.get("method"),
        path=request.args.get("path"),
        status=int(status) if status is not None else None,
        operation=request.args.get("operation"),
    )
    return json_response(
        {
            "value": [record.to_json() for record in records],
            "count": len(records),
            "dropped": state.journal.dropped,
        }
    )


@blueprint.delete("/interactions")
def clear_interactions() -> Response:
    get_state(current_app).journal.clear()
    return Response(status=204)
