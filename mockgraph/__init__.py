"""A validating, recording mock of the Microsoft Graph beta profile skills API."""

from .app import create_app
from .config import Config
from .errors import GraphError, MockGraphError
from .journal import Interaction, Interactions
from .server import MockGraph

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
