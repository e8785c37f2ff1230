"""Provider states: the skills a user had when a recorded request was made.

Each recorded interaction names one Pact provider state, :data:`STATE_NAME`, whose
params list the user's skills before the request and how many skills had been created
for that user so far. A verifier sets that state before it replays the request, so a
``GET`` of a skill created earlier in the same test finds it.

The recorder cannot read the store as it was before each request, because requests may
run concurrently. It follows the store through the responses instead. A 201 create, a
200 get or update and a 204 delete change one skill. A 200 list without query options
and without a next page replaces all of a user's skills. Skills that were never
returned to the client are therefore absent from the state.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from .contract_rules import Stabilizer
from .errors import GraphError
from .fakedata import graph_timestamp
from .journal import Interaction
from .state import MockGraphState
from .validation import ANNOTATIONS, RESOURCE_SCHEMA

logger = logging.getLogger(__name__)

STATE_NAME = "the user has exactly these skills"
# The maximum 'creates' of a state: far more than a recorded test is likely to make,
# and small enough for SQLite's 64-bit integers.
MAX_CREATES = 1_000_000
Skill = dict[str, Any]


def stable_skill(skill: Skill) -> Skill:
    """Return ``skill`` without ``@odata.context`` and with stable example timestamps."""
    body = {key: value for key, value in skill.items() if key != "@odata.context"}
    stable, _rules = Stabilizer(None, None).body(body)
    return stable  # type: ignore[no-any-return]


class StoreModel:
    """The skills each user has, as far as the recorded responses show them."""

    def __init__(self) -> None:
        self._skills: dict[str, dict[str, Skill]] = {}
        self._creates: dict[str, int] = {}

    def clear(self) -> None:
        self._skills.clear()
        self._creates.clear()

    def state_for(self, record: Interaction) -> dict[str, Any] | None:
        """Return the provider state that ``record``'s request was made in."""
        if record.user is None:
            return None

        skills = list(self._skills.get(record.user, {}).values())
        params = {
            "user": record.user,
            "skills": [stable_skill(skill) for skill in skills],
            "creates": self._creates.get(record.user, 0),
        }
        return {"name": STATE_NAME, "params": params}

    def observe(self, record: Interaction) -> None:
        """Apply what ``record``'s response shows about the store."""
        if record.user is None:
            return

        skills = self._skills.setdefault(record.user, {})
        body = record.response_body
        operation = record.operation
        if (
            operation == "createSkill"
            and record.status == 201
            and isinstance(body, dict)
        ):
            skills[str(body.get("id"))] = body
            self._creates[record.user] = self._creates.get(record.user, 0) + 1
        elif (
            operation in ("getSkill", "updateSkill")
            and record.status == 200
            and isinstance(body, dict)
            and not record.query  # $select may leave properties out of the body
            and "id" in body
        ):
            skills[str(body["id"])] = body
        elif operation == "deleteSkill" and record.status == 204:
            skills.pop(unquote(record.path.rstrip("/").rsplit("/", 1)[-1]), None)
        elif operation == "listSkills" and record.status == 200 and not record.query:
            self._observe_list(skills, body)

    @staticmethod
    def _observe_list(skills: dict[str, Skill], body: Any) -> None:
        # Only a list without a next page contains all of the user's skills.
        if not isinstance(body, dict) or "@odata.nextLink" in body:
            return

        items = body.get("value")
        if isinstance(items, list):
            skills.clear()
            skills.update((str(item.get("id")), item) for item in items)


def _invalid(message: str, target: str) -> GraphError:
    return GraphError(400, "invalidRequest", message, target=target)


def _complete(state: MockGraphState, skill: Skill) -> Skill:
    """Return ``skill`` with every property present, as the store keeps skills.

    Absent properties become null, and absent timestamps the current time, so a state
    written by hand may list only the properties it cares about.
    """
    complete = {
        name: skill.get(name)
        for name in state.schemas.properties
        if name not in ANNOTATIONS
    }
    now = graph_timestamp()
    for name in ("createdDateTime", "lastModifiedDateTime"):
        if complete.get(name) is None:
            complete[name] = now

    return complete


def apply_state(state: MockGraphState, name: str, params: Any) -> None:
    """Put the mock into provider state ``name``.

    The empty name is Pact's generic set-up call and changes nothing.

    :raises GraphError: 400 for an unknown state name or invalid params.
    """
    if name == "":
        return

    if name != STATE_NAME:
        raise _invalid(
            f"Unknown provider state {name!r}; mockgraph sets up only {STATE_NAME!r}, "
            "with params 'user', 'skills' and 'creates'.",
            "state",
        )

    if not isinstance(params, dict):
        raise _invalid(
            f"Invalid provider state params {params!r}: expected an object.", "params"
        )

    user = params.get("user")
    skills = params.get("skills", [])
    creates = params.get("creates", 0)
    if not isinstance(user, str) or not user:
        raise _invalid(
            f"Invalid value {user!r} for 'params.user': expected a user key.",
            "params.user",
        )

    if not isinstance(skills, list):
        raise _invalid(
            f"Invalid value {skills!r} for 'params.skills': expected an array.",
            "params.skills",
        )

    if (
        isinstance(creates, bool)
        or not isinstance(creates, int)
        or not 0 <= creates <= MAX_CREATES
    ):
        raise _invalid(
            f"Invalid value {creates!r} for 'params.creates': expected a count from 0 "
            f"to {MAX_CREATES}.",
            "params.creates",
        )

    for index, skill in enumerate(skills):
        details = state.schemas.validate(RESOURCE_SCHEMA, skill)
        if (
            details
            or not isinstance(skill, dict)
            or not isinstance(skill.get("id"), str)
        ):
            reason = (
                details[0].message
                if details
                else "expected a skill object with an 'id'."
            )
            raise _invalid(
                f"Invalid skill at 'params.skills[{index}]': {reason}",
                f"params.skills[{index}]",
            )

    state.store.load({user: [_complete(state, skill) for skill in skills]})
    # Under a seed, skill ids are drawn from the user's create counter; advancing it
    # keeps new ids from colliding with the ones in the state.
    state.store.set_sequence(user, "create", creates)

    logger.debug("provider state set: user %s with %d skill(s)", user, len(skills))
