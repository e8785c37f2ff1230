"""The pytest plugin: a ``mockgraph`` fixture backed by one server per test session.

Override ``mockgraph_config`` in a ``conftest.py`` to change the seed, strictness or
any other :class:`~mockgraph.config.Config` field::

    @pytest.fixture
    def mockgraph_config():
        return Config(port=0, seed=7, strict=True)
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .config import Config
from .server import MockGraph


@pytest.fixture(scope="session")
def mockgraph_config() -> Config:
    """Settings of the mock; port 0 picks a free port."""
    return Config(port=0)


@pytest.fixture(scope="session")
def mockgraph_server() -> Iterator[MockGraph]:
    """The session's server, started on first use and stopped at the end."""
    server = MockGraph(Config(port=0))
    yield server
    server.stop()


@pytest.fixture
def mockgraph(mockgraph_server: MockGraph, mockgraph_config: Config) -> Iterator[MockGraph]:
    """A running mock with no skills and an empty journal.

    After the test, any request the mock itself failed on (status 500) fails the test,
    with the error the server recorded. A 500 that a fault rule injected does not.
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

    yield server

    crashes = [record for record in server.interactions.filter(status=500) if not record.fault]
    if crashes:
        details = "\n".join("  " + record.summary() for record in crashes)
        pytest.fail(f"mockgraph failed while handling {len(crashes)} request(s):\n{details}")
