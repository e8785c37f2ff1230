"""Admin endpoints for contracts: provider states, and the contract a server records.

``POST /_mockgraph/provider-states`` is a Pact state-change endpoint: it takes
``{"state": name, "params": {...}, "action": "setup" | "teardown"}`` and sets the store
up for the next replayed request. ``GET /_mockgraph/contract`` returns the contract
recorded so far and ``POST /_mockgraph/contract`` writes it to the file given by
``serve --record``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, request

from .app import get_state
from .contract import ContractRecorder
from .errors import GraphError
from .http import json_response, parse_json_object
from .provider_state import apply_state

logger = logging.getLogger(__name__)

blueprint = Blueprint("mockgraph_contract", __name__)


def get_recorder(app: Flask) -> ContractRecorder | None:
    return get_state(app).recorder


def _require_recorder() -> ContractRecorder:
    recorder = get_recorder(current_app)
    if recorder is None:
        raise GraphError(
            409,
            "notAllowed",
            "This server is not recording a contract; start it with "
            "'mockgraph serve --record FILE'.",
        )

    return recorder


@blueprint.get("/contract")
def show_contract() -> Response:
    return json_response(_require_recorder().document())


@blueprint.post("/contract")
def write_contract() -> Response:
    recorder = _require_recorder()
    path = get_state(current_app).config.record_file
    assert path is not None  # a recorder exists only with a record file
    try:
        written = recorder.write(path)
    except OSError as err:
        raise GraphError(
            500,
            "generalException",
            f"Writing the contract to {path!r} failed: {err.strerror or err}; "
            "check that the folder exists and is writable.",
        ) from err

    return json_response({"path": str(written), "interactions": len(recorder)})


@blueprint.post("/provider-states")
def change_state() -> Response:
    body = parse_json_object(request.get_data())
    name = body.get("state", "")
    if not isinstance(name, str):
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid value {name!r} for 'state': expected a string.",
            target="state",
        )

    action = body.get("action", "setup")
    if action not in ("setup", "teardown"):
        raise GraphError(
            400,
            "invalidRequest",
            f"Invalid value {action!r} for 'action': expected 'setup' or 'teardown'.",
            target="action",
        )

    if action == "setup":
        apply_state(get_state(current_app), name, body.get("params", {}))

    return json_response({"state": name, "action": action})
