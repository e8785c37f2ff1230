"""Helpers of the pytest plugin: contract recording, report sections, end checks."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

from .contract import (
    DEFAULT_PROVIDER,
    ContractRecorder,
    contract_file_name,
    contract_metadata,
)
from .journal import Interaction
from .server import MockGraph

logger = logging.getLogger(__name__)


class ContractSession:
    """The contracts one pytest run records: one recorder per consumer name.

    :param directory: the folder the contract files are written to.
    :param provider: the provider name written in every file.
    :param record_errors: also record requests the mock rejected.
    """

    def __init__(
        self,
        directory: str | Path,
        provider: str = DEFAULT_PROVIDER,
        record_errors: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.provider = provider
        self.record_errors = record_errors
        self.recorders: dict[str, ContractRecorder] = {}
        self.unseeded = False

    def recorder_for(self, consumer: str, server: MockGraph) -> ContractRecorder:
        """Return the consumer's recorder, made on first use with ``server``'s settings."""
        self.unseeded = self.unseeded or server.config.seed is None
        recorder = self.recorders.get(consumer)
        if recorder is None:
            recorder = ContractRecorder(
                consumer,
                self.provider,
                metadata=contract_metadata(server.state),
                record_errors=self.record_errors,
            )
            self.recorders[consumer] = recorder

        return recorder

    def add_test(self, consumer: str, test: str, server: MockGraph) -> None:
        """Record the interactions ``server`` served during test ``test``."""
        recorder = self.recorder_for(consumer, server)
        recorder.start_test()
        for record in server.interactions:
            # A copy, so the test name is not written into the server's own journal.
            recorder.add(dataclasses.replace(record, test=test))

    def write_all(self) -> list[tuple[Path, int]]:
        """Write one file per consumer; return each path with its interaction count."""
        written = []
        for consumer, recorder in sorted(self.recorders.items()):
            path = recorder.write(
                self.directory / contract_file_name(consumer, self.provider)
            )
            written.append((path, len(recorder)))

        return written


def interactions_section(records: Iterable[Interaction]) -> str:
    """Return one line per interaction: method, path, status and the first error."""
    lines = [record.summary() for record in records]
    return "\n".join(lines) if lines else "no requests were made"


def rejected_requests(server: MockGraph) -> str | None:
    """Return a message listing each request the mock rejected, or None if there were none."""
    try:
        server.assert_all_valid()
    except AssertionError as err:
        return f"strict mode: {err}"

    return None


def crashed_requests(server: MockGraph) -> str | None:
    """Return a message listing requests the mock failed on (status 500), if any.

    A 500 that a fault rule injected on purpose is not a failure of the mock.
    """
    crashes = [
        record for record in server.interactions.filter(status=500) if not record.fault
    ]
    if not crashes:
        return None

    details = "\n".join("  " + record.summary() for record in crashes)
    return f"mockgraph failed while handling {len(crashes)} request(s):\n{details}"


def unmet_expectations(server: MockGraph) -> str | None:
    try:
        server.check_expectations()
    except AssertionError as err:
        return str(err)

    return None
