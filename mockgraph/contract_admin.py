"""Admin endpoints for contracts: provider states, and the contract a server records.

``POST /_mockgraph/provider-states`` is a Pact state-change endpoint: it takes
``{"state": name, "params": {...}, "action": "setup" | "teardown"}`` and sets the store
up for the next replayed request. ``GET /_mockgraph/contract`` returns the contract
recorded so far and ``POST /_mockgraph/contract`` writes it to the file given by
``serve --record``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from .app import MockGraphState, get_state
from .contract import ContractRecorder
from .errors import GraphError
from .http import json_response, parse_json_object
from .provider_state import apply_state

logger = logging.getLogger(__name__)

blueprint = Blueprint("mockgraph_contract", __name__)
RECORDER_KEY = "mockgraph.contract"


def contract_metadata(state: MockGraphState) -> dict[str, Any]:
    """Return the settings a contract records, so a verifier can serve the same way."""
    from . import __version__

    return {
        "version": __version__,
        "schemaVersion": state.schemas.version,
        "seed": state.config.seed,
        "strict": state.config.strict,
        "meUser": state.config.me_user,
    }


def attach_recorder(app: Flask) -> ContractRecorder | None:
    """Record a contract from every interaction, if the settings name a file."""
    state = get_state(app)
    if not state.config.record_file:
        return None

    recorder = ContractRecorder(
        state.config.consumer,
        metadata=contract_metadata(state),
        record_errors=state.config.record_errors,
    )
    state.journal.sinks.append(recorder)
    app.extensions[RECORDER_KEY] = recorder
    return recorder


def get_recorder(app: Flask) -> ContractRecorder | None:
    return app.extensions.get(RECORDER_KEY)  # type: ignore[no-any-return]


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
    assert path is not None  # attach_recorder only runs with a record file
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
