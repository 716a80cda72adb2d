"""A small TinkerPop-compatible graph, reached through gremlinpython's traversal API.

    from gremlin_python.process.anonymous_traversal import traversal
    import gremlin

    g = traversal().with_remote(gremlin.connect("memory://"))

``connect`` takes memory://, file:///dir (durable), or ws://host:port/gremlin (Gremlin Server,
Amazon Neptune, or this package's own endpoint, ``python -m gremlin.server``).
"""

from __future__ import annotations

from .connect import connect, describe, forget_graph, open_graph
from .engine import Graph, Limits
from .errors import (
    AuthenticationError,
    ConflictError,
    ElementNotFound,
    GremlinError,
    GremlinSyntaxError,
    InvalidArgumentError,
    LimitExceeded,
    NeptuneProfileError,
    ReadOnlyViolation,
    ServerSerializationError,
    TraversalCancelled,
    TraversalError,
    TraversalTimeout,
    UnsupportedStepError,
)
from .storage import Store

__all__ = [
    "connect", "open_graph", "forget_graph", "describe", "Graph", "Limits", "Store",
    "GremlinError", "GremlinSyntaxError", "TraversalError", "UnsupportedStepError",
    "InvalidArgumentError", "NeptuneProfileError", "ReadOnlyViolation", "ElementNotFound",
    "ConflictError", "LimitExceeded", "TraversalTimeout", "TraversalCancelled", "AuthenticationError",
    "ServerSerializationError",
]
