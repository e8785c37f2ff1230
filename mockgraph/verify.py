"""Replay the interactions of Pact contract files against a provider and compare.

The provider is either a fresh mockgraph in this process (the default) or any HTTP
server given by URL, the real Graph service included. Before each request the
interaction's provider states are set: directly on the in-process mock, or through
``POST /_mockgraph/provider-states`` on a server whose ``GET /_mockgraph/health``
returns mockgraph's ``{"status": "ok"}``. Other servers get no state set up.

Each response is checked by :func:`mockgraph.response_check.check_response`. Every
mismatch is reported with the JSON
pointer of the value in the response (``/status``, ``/headers/Location``,
``/body/id``), the expected value and the actual one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests

from .config import Config
from .journal import REDACTED
from .matching import Mismatch
from .response_check import Reply, body_bytes, check_response, header_values

logger = logging.getLogger(__name__)

# How long one replayed request may take against a provider URL, in seconds.
REQUEST_TIMEOUT = 30
_PATH_SAFE = "/@:$!'()*+,;=-._~"


class ContractError(ValueError):
    """A contract file that cannot be read or is not a Pact HTTP contract."""


@dataclass
class InteractionResult:
    """The outcome of one replayed interaction."""

    description: str
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


class Provider(Protocol):
    def set_state(self, name: str, params: Any) -> None: ...

    def send(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> Reply: ...


def load_contract(path: str | Path) -> dict[str, Any]:
    """Read a Pact contract file; raise :class:`ContractError` saying what is wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ContractError(
            f"cannot read contract {str(path)!r}: {err.strerror or err}"
        ) from None
    except ValueError as err:
        raise ContractError(
            f"contract {str(path)!r} is not valid JSON: {err}"
        ) from None

    if not isinstance(document, dict) or not isinstance(
        document.get("interactions"), list
    ):
        raise ContractError(
            f"contract {str(path)!r} has no 'interactions' array; expected a Pact JSON file."
        )

    for index, item in enumerate(document["interactions"]):
        problem = _interaction_problem(item)
        if problem is not None:
            raise ContractError(
                f"contract {str(path)!r}: interaction {index} {problem}; "
                "expected a Pact interaction object."
            )

    return document


def _interaction_problem(item: Any) -> str | None:
    """Return what makes ``item`` unusable as a Pact interaction, or None."""
    if not isinstance(item, dict):
        return f"is {type(item).__name__} {item!r}, not an object"

    if item.get("type", "Synchronous/HTTP") != "Synchronous/HTTP":
        return None  # another kind of interaction, which verify skips

    request = item.get("request")
    if not isinstance(request, dict):
        return "has no 'request' object"

    method = request.get("method")
    if not isinstance(method, str) or not method.strip():
        return f"has request method {method!r}, not an HTTP method"

    return None


def http_interactions(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the HTTP interactions of a contract (V4 ``Synchronous/HTTP``, or older)."""
    return [
        item
        for item in document["interactions"]
        if isinstance(item, dict)
        and item.get("type", "Synchronous/HTTP") == "Synchronous/HTTP"
    ]


def request_target(request: dict[str, Any]) -> str:
    """Return the path and query string of a Pact request, percent-encoded."""
    target = quote(str(request.get("path", "/")), safe=_PATH_SAFE)
    query = request.get("query")
    if isinstance(query, dict) and query:
        pairs = [
            (name, value)
            for name, values in query.items()
            for value in (values if isinstance(values, list) else [values])
        ]
        target += "?" + urlencode(pairs, quote_via=quote, safe="$,'()")
    elif isinstance(query, str) and query:
        target += "?" + query

    return target


def replay(
    provider: Provider, interaction: dict[str, Any], token: str | None
) -> InteractionResult:
    """Set up the interaction's states, send its request and check the reply."""
    result = InteractionResult(str(interaction.get("description", "")))
    request = interaction.get("request") or {}
    try:
        for state in interaction.get("providerStates") or []:
            provider.set_state(str(state.get("name", "")), state.get("params", {}))

        headers = header_values(request.get("headers"))
        for name, value in headers.items():
            if (
                name.lower() == "authorization"
                and value.endswith(" " + REDACTED)
                and token
            ):
                headers[name] = f"{value.split(' ', 1)[0]} {token}"

        reply = provider.send(
            str(request.get("method", "GET")).upper(),
            request_target(request),
            headers,
            body_bytes(request.get("body")),
        )
    except (requests.RequestException, ProviderStateError) as err:
        result.error = str(err)
        return result

    result.mismatches = check_response(interaction.get("response") or {}, reply)
    return result


class ProviderStateError(RuntimeError):
    """The provider rejected or failed a state change."""


class InProcessProvider:
    """A fresh mockgraph in this process, served through Flask's test client."""

    def __init__(self, config: Config) -> None:
        from .app import create_app, get_state

        self.app = create_app(config)
        self.state = get_state(self.app)
        self.client = self.app.test_client()

    def set_state(self, name: str, params: Any) -> None:
        from .errors import GraphError
        from .provider_state import apply_state

        try:
            apply_state(self.state, name, params)
        except GraphError as err:
            raise ProviderStateError(
                f"provider state {name!r} failed: {err.message}"
            ) from None

    def send(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> Reply:
        response = self.client.open(target, method=method, headers=headers, data=body)
        return Reply(
            response.status_code, dict(response.headers.items()), response.get_data()
        )


class HttpProvider:
    """Any HTTP server; states are set only when ``state_url`` is given."""

    def __init__(self, base_url: str, state_url: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.state_url = state_url
        self.session = requests.Session()

    def set_state(self, name: str, params: Any) -> None:
        if self.state_url is None:
            return

        body = {"state": name, "params": params, "action": "setup"}
        response = self.session.post(self.state_url, json=body, timeout=REQUEST_TIMEOUT)
        if response.status_code >= 300:
            raise ProviderStateError(
                f"provider state {name!r} failed with status {response.status_code}: {response.text[:500]}"
            )

    def send(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> Reply:
        response = self.session.request(
            method,
            self.base_url + target,
            headers=headers,
            data=body,
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )
        return Reply(
            response.status_code, dict(response.headers.items()), response.content
        )


def find_state_url(base_url: str) -> str | None:
    """Return the provider-state endpoint of a mockgraph at ``base_url``, else None."""
    root = base_url.rstrip("/").removesuffix("/beta")
    try:
        response = requests.get(root + "/_mockgraph/health", timeout=REQUEST_TIMEOUT)
        healthy = response.status_code == 200 and response.json().get("status") == "ok"
    except (requests.RequestException, ValueError, AttributeError):
        healthy = False

    return root + "/_mockgraph/provider-states" if healthy else None


def provider_config(document: dict[str, Any], schema_dir: str | None) -> Config:
    """Return settings for an in-process provider that serve as the recording did."""
    settings = (document.get("metadata") or {}).get("mockgraph") or {}
    config = Config(port=0, schema_dir=schema_dir)
    changes: dict[str, Any] = {}
    if isinstance(settings.get("seed"), int):
        changes["seed"] = settings["seed"]

    if isinstance(settings.get("strict"), bool):
        changes["strict"] = settings["strict"]

    if isinstance(settings.get("meUser"), str) and settings["meUser"]:
        changes["me_user"] = settings["meUser"]

    return config.with_changes(**changes)


def verify_contract(
    document: dict[str, Any], provider: Provider, token: str | None = None
) -> list[InteractionResult]:
    """Replay every HTTP interaction of ``document`` against ``provider``, in order."""
    return [
        replay(provider, interaction, token)
        for interaction in http_interactions(document)
    ]
