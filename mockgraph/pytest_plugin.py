"""The pytest plugin: a ``mockgraph`` fixture backed by one server per test session.

Override ``mockgraph_config`` in a ``conftest.py`` to change the seed, strictness or
any other :class:`~mockgraph.config.Config` field::

    @pytest.fixture
    def mockgraph_config():
        return Config(port=0, seed=7, strict=True)

Command-line options: ``--mockgraph-record DIR`` writes a Pact contract per consumer
from the interactions of passing tests, ``--mockgraph-consumer`` and
``--mockgraph-provider`` name the two sides, ``--mockgraph-record-errors`` keeps
rejected requests too, and ``--mockgraph-strict`` fails a test that sent any request
the mock rejected. The ``mockgraph`` marker sets ``strict`` and ``consumer`` per test.
Recording is not supported under pytest-xdist: each worker would write its own file.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .config import Config
from .contract import DEFAULT_PROVIDER
from .pytest_support import (
    ContractSession,
    crashed_requests,
    interactions_section,
    rejected_requests,
    unmet_expectations,
)
from .server import MockGraph

SERVER_KEY = pytest.StashKey[MockGraph]()
CALL_REPORT_KEY = pytest.StashKey[pytest.TestReport]()
CONTRACTS_KEY = pytest.StashKey[ContractSession]()
WRITTEN_KEY = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockgraph")
    group.addoption(
        "--mockgraph-record",
        metavar="DIR",
        help="Write a Pact contract per consumer into DIR from the requests of passing tests.",
    )
    group.addoption(
        "--mockgraph-consumer",
        metavar="NAME",
        help="Consumer name of the recorded contract; default: the name of the rootdir.",
    )
    group.addoption(
        "--mockgraph-provider",
        metavar="NAME",
        default=DEFAULT_PROVIDER,
        help=f"Provider name of the recorded contract; default: {DEFAULT_PROVIDER}.",
    )
    group.addoption(
        "--mockgraph-record-errors",
        action="store_true",
        help="Also record requests the mock rejected (status 400 and above).",
    )
    group.addoption(
        "--mockgraph-strict",
        action="store_true",
        help="Fail every test that sent a request the mock rejected.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockgraph(strict=None, consumer=None): fail the test on rejected requests "
        "(strict=True), or record its requests under another consumer name.",
    )
    directory = config.getoption("mockgraph_record", None)
    if directory:
        config.stash[CONTRACTS_KEY] = ContractSession(
            directory,
            config.getoption("mockgraph_provider"),
            config.getoption("mockgraph_record_errors"),
        )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    contracts = session.config.stash.get(CONTRACTS_KEY, None)
    if contracts is not None:
        session.config.stash[WRITTEN_KEY] = contracts.write_all()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    contracts = config.stash.get(CONTRACTS_KEY, None)
    for path, count in config.stash.get(WRITTEN_KEY, []):
        terminalreporter.write_line(
            f"mockgraph: wrote {count} interaction(s) to {path}"
        )

    if contracts is not None and contracts.unseeded:
        terminalreporter.write_line(
            "mockgraph: recorded without a seed, so skill ids change from run to run; "
            "set Config(seed=...) in mockgraph_config for a stable contract file."
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT_KEY] = report

    server = item.stash.get(SERVER_KEY, None)
    if server is not None and report.failed:
        report.sections.append(
            (
                f"mockgraph interactions {report.when}",
                interactions_section(server.interactions),
            )
        )

    return report


def _marker_option(request: pytest.FixtureRequest, name: str, default: Any) -> Any:
    marker = request.node.get_closest_marker("mockgraph")
    if marker is not None and name in marker.kwargs:
        return marker.kwargs[name]

    return default


@pytest.fixture(scope="session")
def mockgraph_config() -> Config:
    """Settings of the mock; port 0 picks a free port."""
    return Config(port=0)


@pytest.fixture(scope="session")
def mockgraph_server() -> Iterator[MockGraph]:
    """Start the session's server on first use and stop it when the session ends."""
    server = MockGraph(Config(port=0))
    yield server
    server.stop()


@pytest.fixture
def mockgraph(
    request: pytest.FixtureRequest,
    mockgraph_server: MockGraph,
    mockgraph_config: Config,
) -> Iterator[MockGraph]:
    """Provide a running mock with no skills, an empty journal and no expectations.

    When the test ends, it fails if the mock crashed on a request (status 500), if an
    expectation declared with ``expect()`` is unmet, or, in strict mode, if the mock
    rejected any request.
    A 500 that a fault rule injected is not a crash.
    """
    server = mockgraph_server
    if server.running and mockgraph_config.port not in (0, server.port):
        server.stop()

    if server.running:
        # Port 0 in the settings means "any free port": keep the one already bound.
        server.configure(mockgraph_config.with_changes(port=server.config.port))
    else:
        server.configure(mockgraph_config)
        server.start()

    server.reset()
    request.node.stash[SERVER_KEY] = server
    yield server

    strict = _marker_option(
        request, "strict", request.config.getoption("mockgraph_strict")
    )
    problems = [crashed_requests(server), unmet_expectations(server)]
    if strict:
        problems.append(rejected_requests(server))

    failures = [problem for problem in problems if problem is not None]
    call_report = request.node.stash.get(CALL_REPORT_KEY, None)
    contracts = request.config.stash.get(CONTRACTS_KEY, None)
    if contracts is not None:
        consumer = (
            request.config.getoption("mockgraph_consumer")
            or request.config.rootpath.name
        )
        consumer = _marker_option(request, "consumer", consumer)
        if not failures and call_report is not None and call_report.passed:
            contracts.add_test(consumer, request.node.nodeid, server)
        else:
            # A failed test adds no interactions, but its consumer still gets a file.
            contracts.recorder_for(consumer, server)

    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
