"""A validating, recording mock of the Microsoft Graph beta profile skills API.

The public names below are imported from their modules on first access (PEP 562), so
that importing one submodule, such as ``mockgraph.cli`` when a command starts, does not
also import the application, the test server and everything they use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import Config
    from .errors import GraphError, MockGraphError
    from .journal import Interaction, Interactions
    from .server import MockGraph

# Each public name and the submodule that defines it.
_EXPORTS = {
    "Config": "config",
    "GraphError": "errors",
    "Interaction": "journal",
    "Interactions": "journal",
    "MockGraph": "server",
    "MockGraphError": "errors",
    "create_app": "app",
}

__all__ = [
    "Config",
    "GraphError",
    "Interaction",
    "Interactions",
    "MockGraph",
    "MockGraphError",
    "create_app",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    value = getattr(import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
