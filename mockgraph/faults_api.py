"""The admin API for fault rules, under ``/_mockgraph/faults``.

``GET`` lists the rules with their counters, ``POST`` adds one rule (a JSON object) and
responds with 201 and the rule's id, ``DELETE /_mockgraph/faults/{id}`` deletes one rule, and
``DELETE /_mockgraph/faults`` deletes them all. Admin requests need no token and are not
recorded in the journal.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from .app import get_state
from .errors import GraphError
from .fault_rules import parse_rule
from .http import json_response, parse_json_object, read_body

logger = logging.getLogger(__name__)

blueprint = Blueprint("mockgraph_faults", __name__)


@blueprint.get("")
def list_faults() -> Response:
    rules = get_state(current_app).faults.to_json()
    return json_response({"value": rules, "count": len(rules)})


@blueprint.post("")
def add_fault() -> Response:
    state = get_state(current_app)
    data, too_large = read_body(request, state.config.max_body_bytes)
    if too_large is not None:
        raise too_large

    spec = parse_rule(parse_json_object(data))
    rule = state.faults.add(spec)
    logger.info("added fault rule %s: %s", rule["id"], spec.to_json())
    return json_response(rule, 201)


@blueprint.delete("")
def clear_faults() -> Response:
    get_state(current_app).faults.clear()
    logger.info("deleted every fault rule")
    return Response(status=204)


@blueprint.delete("/<rule_id>")
def delete_fault(rule_id: str) -> Response:
    faults = get_state(current_app).faults
    if not rule_id.isdigit() or not faults.remove(int(rule_id)):
        ids = [rule["id"] for rule in faults.to_json()]
        raise GraphError(
            404,
            "itemNotFound",
            f"Fault rule {rule_id!r} was not found; the rules that exist are {ids!r} "
            "(GET /_mockgraph/faults lists them).",
            target="id",
        )

    logger.info("deleted fault rule %s", rule_id)
    return Response(status=204)
