"""The one module that knows where the graph is: a URL in, a GraphTraversalSource out.

    g = open_traversal("memory://")      # or file:///dir, ws://host:8182/gremlin, ...
    ...
    close_all()

Everything else in identity/ speaks gremlinpython only, so it runs unchanged on the local
engine, a Gremlin Server or Amazon Neptune. ``unavailable`` tells the rest of the package
which failures mean "the backend is down" without it importing backend error classes.
"""

from __future__ import annotations

import threading
from typing import Any

from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource

import gremlin
from gremlin.errors import TraversalTimeout

__all__ = ["open_traversal", "close_all", "unavailable", "submit", "console_endpoint_app", "release"]

_connections: list[RemoteConnection] = []
_lock = threading.Lock()


def open_traversal(url: str, **driver_options: Any) -> GraphTraversalSource:
    """A traversal source on the graph at ``url`` (see gremlin.connect for the schemes)."""
    connection = gremlin.connect(url, **driver_options)
    with _lock:
        _connections.append(connection)
    return traversal().with_remote(connection)


def close_all() -> None:
    """Close every connection open_traversal made (at shutdown, in tests)."""
    with _lock:
        connections = list(_connections)
        _connections.clear()
    for connection in connections:
        try:
            connection.close()
        except Exception:  # closing is best effort: the process is going away
            pass


def unavailable(error: BaseException) -> bool:
    """True when ``error`` means the backend is unreachable or timed out (worth a retry)."""
    return isinstance(error, (TraversalTimeout, ConnectionError, TimeoutError, OSError))


def submit(traversal: Any) -> list:
    """Run ``traversal`` (one round trip) and return its results; a backend outage becomes
    identity.errors.GraphUnavailable so callers can tell it from a bad request."""
    from .errors import GraphUnavailable
    try:
        return traversal.to_list()
    except Exception as error:
        if unavailable(error):
            raise GraphUnavailable(f"graph backend unavailable ({type(error).__name__})") from error
        raise


def console_endpoint_app(url: str) -> Any:
    """The Gremlin-Server-compatible WebSocket app serving the in-process graph at ``url``
    (for a Gremlin console next to the service), so the service need not import the engine."""
    from gremlin.server import make_app
    return make_app(gremlin.open_graph(url))


def release(url: str) -> None:
    """Flush and close the in-process graph at ``url`` (a no-op for remote graphs)."""
    if url.split(":", 1)[0] in ("memory", "file"):
        gremlin.forget_graph(url)
