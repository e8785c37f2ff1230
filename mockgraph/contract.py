"""Write recorded interactions as a Pact specification V4 contract file.

A :class:`ContractRecorder` takes interactions in the order the mock served them and
keeps one Pact interaction per distinct request: the same method, path, query,
headers and body, made in the same provider state (see :mod:`mockgraph.provider_state`).
The first test that made a request describes it. Values the client sent stay literal;
values the server generated are written in a stable form with matching rules (see
:mod:`mockgraph.contract_rules`), so the same tests run twice under a fixed seed write
the same file, byte for byte.

The request side never contains a credential: an ``Authorization`` header is written
as its scheme followed by ``[redacted]``, and cookies are left out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .contract_rules import Stabilizer, regex_rule
from .journal import REDACTED, Interaction
from .provider_state import StoreModel

if TYPE_CHECKING:
    from .state import MockGraphState

logger = logging.getLogger(__name__)

PACT_SPECIFICATION = "4.0"
DEFAULT_PROVIDER = "graph-beta-profile-skills"
# Request headers left out of a contract: transport details that vary by HTTP client
# and say nothing about what the client asked for.
TRANSPORT_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "accept-encoding",
        "user-agent",
        "transfer-encoding",
        "te",
        "upgrade",
        "expect",
        "cookie",
        "proxy-authorization",
    }
)


def _body_part(
    text: str | None, encoded: str | None, content_type: str | None
) -> dict[str, Any] | None:
    if encoded is not None:
        return {
            "content": encoded,
            "contentType": content_type or "application/octet-stream",
            "encoded": "base64",
        }

    if text is None or text == "":
        return None

    content: Any = text
    if content_type is None or "json" in content_type.lower():
        try:
            content = json.loads(text)
        except ValueError:
            content = text

    kind = content_type or ("application/json" if content is not text else "text/plain")
    return {"content": content, "contentType": kind, "encoded": False}


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value

    return None


def request_part(record: Interaction) -> dict[str, Any]:
    """Return the Pact request of ``record``: what the client sent, minus secrets."""
    headers: dict[str, list[str]] = {}
    rules: dict[str, Any] = {}
    for name, value in record.headers.items():
        if name.lower() in TRANSPORT_HEADERS:
            continue

        headers[name] = [value]
        if name.lower() == "authorization" and value.endswith(" " + REDACTED):
            scheme = value.split(" ", 1)[0]
            rules[name] = regex_rule(rf"^{scheme} \S+$")

    request: dict[str, Any] = {"method": record.method, "path": record.path}
    if record.query:
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(record.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)

        request["query"] = query

    if headers:
        request["headers"] = headers

    body = _body_part(
        record.body, record.body_base64, _header(record.headers, "Content-Type")
    )
    if body is not None:
        request["body"] = body

    if rules:
        request["matchingRules"] = {"header": rules}

    return request


def response_part(record: Interaction) -> dict[str, Any]:
    """Return the Pact response of ``record``, generated values replaced by rules."""
    host = _header(record.headers, "Host")
    stabilizer = Stabilizer(
        f"http://{host}" if host else None,
        _header(record.headers, "client-request-id"),
    )
    payload = record.response_body
    has_body = payload is not None and payload != ""
    headers, header_rules = stabilizer.headers(record.response_headers, has_body)
    response: dict[str, Any] = {"status": record.status}
    if headers:
        response["headers"] = headers

    content_type = _header(record.response_headers, "Content-Type")
    body_rules: dict[str, Any] = {}
    if has_body:
        if isinstance(payload, str):
            body = _body_part(payload, None, content_type)
        else:
            body = {
                "content": payload,
                "contentType": content_type or "application/json",
                "encoded": False,
            }

        if body is not None and not isinstance(body["content"], str):
            body["content"], body_rules = stabilizer.body(body["content"])

        if body is not None:
            response["body"] = body

    rules = {
        name: value
        for name, value in (("body", body_rules), ("header", header_rules))
        if value
    }
    if rules:
        response["matchingRules"] = rules

    return response


def interaction_key(request: dict[str, Any], states: list[dict[str, Any]]) -> str:
    """Return a short hash that is equal for equal requests made in equal states."""
    text = json.dumps([request, states], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


class ContractRecorder:
    """Collect distinct interactions and write them as one Pact V4 file.

    :param consumer: the consumer name written in the file.
    :param provider: the provider name written in the file.
    :param metadata: mockgraph settings stored under ``metadata.mockgraph``, such as
        ``schemaVersion`` and ``seed``.
    :param record_errors: also keep requests the mock rejected (status 400 and above).
    """

    def __init__(
        self,
        consumer: str,
        provider: str = DEFAULT_PROVIDER,
        metadata: dict[str, Any] | None = None,
        record_errors: bool = False,
    ) -> None:
        self.consumer = consumer
        self.provider = provider
        self.metadata = dict(metadata or {})
        self.record_errors = record_errors
        self.model = StoreModel()
        self._lock = threading.Lock()
        self._interactions: dict[str, dict[str, Any]] = {}
        self._descriptions: set[str] = set()

    def __len__(self) -> int:
        return len(self._interactions)

    def start_test(self) -> None:
        """Forget the store model, because the mock starts each test empty."""
        with self._lock:
            self.model.clear()

    def add(self, record: Interaction) -> None:
        """Record ``record`` unless an equal request in an equal state is already kept."""
        with self._lock:
            state = self.model.state_for(record)
            self.model.observe(record)
            if not record.valid and not self.record_errors:
                return

            request = request_part(record)
            states = [state] if state is not None else []
            key = interaction_key(request, states)
            if key in self._interactions:
                return

            self._interactions[key] = self._interaction(record, key, request, states)

    __call__ = add

    def _interaction(
        self,
        record: Interaction,
        key: str,
        request: dict[str, Any],
        states: list[dict[str, Any]],
    ) -> dict[str, Any]:
        target = record.path + (f"?{record.query}" if record.query else "")
        description = f"{record.method} {target}"
        if record.test:
            description = f"{record.test}: {description}"

        base, number = description, 2
        while description in self._descriptions:
            description = f"{base} ({number})"
            number += 1

        self._descriptions.add(description)
        interaction: dict[str, Any] = {
            "type": "Synchronous/HTTP",
            "key": key,
            "description": description,
            "pending": False,
            "providerStates": states,
            "request": request,
            "response": response_part(record),
        }
        if record.test:
            interaction["comments"] = {"testname": record.test}

        return interaction

    def document(self) -> dict[str, Any]:
        """Return the contract as a Pact V4 JSON document."""
        with self._lock:
            interactions = list(self._interactions.values())

        return {
            "consumer": {"name": self.consumer},
            "provider": {"name": self.provider},
            "interactions": interactions,
            "metadata": {
                "pactSpecification": {"version": PACT_SPECIFICATION},
                "mockgraph": self.metadata,
            },
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the contract to ``path`` atomically and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}."
        )
        try:
            # mkstemp creates the file readable by its owner alone. A contract is
            # shared like any other file of the project.
            os.fchmod(handle, 0o644)
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)

            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

        logger.info("wrote %d interaction(s) to contract %s", len(self), target)
        return target


def contract_file_name(consumer: str, provider: str = DEFAULT_PROVIDER) -> str:
    """Return the file name Pact tools use for a consumer and provider pair."""
    return f"{consumer}-{provider}.json"
