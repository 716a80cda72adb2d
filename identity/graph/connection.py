"""The one module that knows where the graph is: a URL in, a GraphTraversalSource out.

    g = open_traversal("memory://")      # or file:///dir, ws://host:8182/gremlin, ...
    endpoints = open_endpoints("eu-west-1", writer_url, reader_url)   # endpoints.writer / .reader
    ...
    close_all()

Every connection is a ResilientConnection (identity/graph/resilience.py): retried, reconnected after
a failure, behind a circuit breaker; a reader falls back to its writer.

Everything else in identity/ speaks gremlinpython only, so it runs unchanged on the local
engine, a Gremlin Server or Amazon Neptune. ``unavailable`` tells the rest of the package
which failures mean "the backend is down" without it importing backend error classes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.statics import long

import gremlin
from gremlin.errors import TraversalTimeout
from gremlin.remote import LocalRemoteConnection

from .resilience import CircuitBreaker, ResilientConnection, RetryPolicy, transient_server_error

__all__ = ["open_traversal", "open_endpoints", "Endpoints", "close_all", "unavailable", "temporary", "timed_out",
           "submit", "ConsoleLimits", "console_endpoint_app", "release", "settle_heap", "ids_to_send",
           "open_local"]

_IN_PROCESS = ("memory", "file")
try:  # the driver's transport: a dropped WebSocket is not always an OSError
    from aiohttp import ClientConnectionError as _TransportError
except ImportError:  # pragma: no cover - aiohttp comes with gremlinpython
    _TransportError = OSError  # type: ignore[misc,assignment]
_OUTAGES = (TraversalTimeout, ConnectionError, TimeoutError, OSError, _TransportError)
_connections: list[RemoteConnection] = []
_lock = threading.Lock()


@dataclass(frozen=True)
class Endpoints:
    """A region's graph: writes and read-your-writes reads on ``writer``; other reads on
    ``reader`` (the writer itself when no reader is configured)."""

    name: str
    writer: GraphTraversalSource
    reader: GraphTraversalSource
    writer_connection: ResilientConnection
    reader_connection: ResilientConnection


def open_traversal(url: str, **driver_options: Any) -> GraphTraversalSource:
    """A traversal source on the graph at ``url`` (see gremlin.connect for the schemes)."""
    return traversal().with_remote(_resilient(url, gremlin.describe(url), None, driver_options))


def open_endpoints(name: str, writer_url: str, reader_url: str = "", *, policy: RetryPolicy | None = None,
                   breaker_threshold: int = 5, breaker_reset_after: float = 10.0, **driver_options: Any) -> Endpoints:
    """The writer (and reader, falling back to the writer) of the graph named ``name``, each
    retried under ``policy`` behind its own circuit breaker."""
    def connection(url: str, role: str, fallback: ResilientConnection | None = None) -> ResilientConnection:
        breaker = CircuitBreaker(f"{name}/{role}", threshold=breaker_threshold, reset_after=breaker_reset_after)
        return _resilient(url, breaker.name, policy, driver_options, fallback=fallback, breaker=breaker)

    writer = reader = connection(writer_url, "writer")
    if reader_url and reader_url != writer_url:
        reader = connection(reader_url, "reader", writer)
    return Endpoints(name, traversal().with_remote(writer), traversal().with_remote(reader), writer, reader)


def _resilient(url: str, name: str, policy: RetryPolicy | None, driver_options: dict,
               fallback: ResilientConnection | None = None, breaker: CircuitBreaker | None = None
               ) -> ResilientConnection:
    opener = _opener(url, driver_options)
    connection = ResilientConnection(opener, name=name, is_outage=unavailable, policy=policy or RetryPolicy(),
                                     fallback=fallback, breaker=breaker, is_timeout=timed_out)
    with _lock:
        _connections.append(connection)
    return connection


def _opener(url: str, driver_options: dict) -> Any:
    """Makes a fresh connection to ``url``. An in-process graph is opened once: reconnecting to
    a bare memory:// must not start an empty graph."""
    if urlsplit(url).scheme not in _IN_PROCESS:
        return lambda: gremlin.connect(url, **dict(driver_options))
    first = open_local(url)
    return lambda: LocalRemoteConnection(first.graph, url=url, traversal_source=first.traversal_source)


def open_local(url: str) -> Any:
    """Open the in-process graph at ``url`` now (None for a remote graph): a durable directory
    that another process holds raises identity.base.errors.GraphInUse here, at once."""
    if urlsplit(url).scheme not in _IN_PROCESS:
        return None
    from gremlin.durable import GraphInUseError

    from ..base.errors import GraphInUse
    try:
        return gremlin.connect(url)
    except GraphInUseError as error:
        raise GraphInUse(f"{error}: one process serves a data directory; run further instances against a "
                         "shared graph server (docs/operations.md)") from None


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
    """True when ``error`` means the backend is unreachable or timed out (worth a retry, on a
    fresh connection)."""
    return isinstance(error, _OUTAGES)


#: Gremlin Server's status for a traversal stopped at its evaluationTimeout
_SERVER_TIMEOUT = 598


def timed_out(error: BaseException) -> bool:
    """True when the graph stopped a traversal at its evaluationTimeout: the embedded engine's
    TraversalTimeout, Gremlin Server's status 598, Neptune's TimeLimitExceededException."""
    if isinstance(error, TraversalTimeout):
        return True
    if isinstance(error, GremlinServerError):
        return str(getattr(error, "status_code", "")) == str(_SERVER_TIMEOUT) or \
            "TimeLimitExceededException" in str(error)
    return False


def temporary(error: BaseException) -> bool:
    """True when a later attempt may succeed: an outage, or a transient server-side refusal
    (throttling, a concurrent modification, a failover in progress)."""
    return unavailable(error) or transient_server_error(error)


def submit(traversal: Any) -> list:
    """Run ``traversal`` (one round trip) and return its results; a backend outage becomes
    identity.base.errors.GraphUnavailable so callers can tell it from a bad request."""
    from ..base.errors import GraphUnavailable
    try:
        return traversal.to_list()
    except Exception as error:
        if temporary(error):  # still failing after the connection's retries
            raise GraphUnavailable(f"graph backend unavailable ({type(error).__name__})") from error
        raise


def ids_to_send(ids: list) -> list:
    """Element ids read from the graph, typed to be sent back in a traversal (``g.E(*ids)``).
    An integer id came from a Java Long (TinkerGraph's generated ids) and goes back as one:
    gremlinpython sends a plain int as a 32-bit Integer, which equals no Long id there."""
    return [long(i) if type(i) is int else i for i in ids]


@dataclass(frozen=True)
class ConsoleLimits:
    """What one request to the console endpoint may use (docs/security.md, "The Gremlin console
    endpoint"). Reads run in a process forked for them (gremlin.server.isolation)."""

    #: evaluationTimeout, default and cap: a client may lower it, never raise it
    timeout_ms: int = 30_000
    #: what a forked read may allocate beyond the graph it was forked with
    memory_bytes: int = 1 << 30
    #: the longest an operator's write may hold the graph (and so the service)
    write_timeout_ms: int = 1_000
    max_results: int = 100_000
    #: values one step (fold, aggregate, group, order...) may gather
    max_collection: int = 1_000_000
    #: console traversals at once (each a process while it reads)
    workers: int = 2
    #: a console request is typed text, not a batch of upserts
    max_frame_bytes: int = 1 << 20


def console_endpoint_app(url: str, access: Any, limits: ConsoleLimits = ConsoleLimits()) -> Any:
    """The Gremlin-Server-compatible WebSocket app serving the in-process graph at ``url`` (for
    a Gremlin console next to the service), so the service need not import the engine. Every
    connection authenticates against ``access`` (an identity.service.console_access.ConsoleAccess: its
    ``grant(user, password)`` returns a ConsoleGrant or raises AuthenticationFailed), whose grant the
    endpoint imposes on each of its traversals; reads run in forked processes, so no console
    traversal stalls the service, within ``limits``."""
    from gremlin.errors import AuthenticationError
    from gremlin.server import Grant, ProcessIsolation, make_app

    from ..security.auth import AuthenticationFailed

    class Authenticator:
        def authenticate(self, user: str, password: str) -> Grant:
            try:
                granted = access.grant(user, password)
            except AuthenticationFailed:
                raise AuthenticationError("Username and/or password are incorrect") from None
            return Grant(granted.user, granted.strategies, granted.valid)

    open_local(url)  # a directory another process holds: GraphInUse
    isolation = ProcessIsolation(memory_bytes=limits.memory_bytes, write_timeout_ms=limits.write_timeout_ms)
    return make_app(gremlin.open_graph(url), credentials=Authenticator(), isolation=isolation,
                    workers=limits.workers, max_frame_bytes=limits.max_frame_bytes,
                    evaluation_timeout_ms=limits.timeout_ms, max_evaluation_timeout_ms=limits.timeout_ms,
                    max_results=limits.max_results, max_collection=limits.max_collection)


def settle_heap() -> Any:
    """Keep the garbage collector off the in-process graph for the rest of this process
    (gremlin.heap explains why and what it costs). For entry points that own the process."""
    from gremlin.heap import HeapSettler
    return HeapSettler().install()


def release(url: str) -> None:
    """Flush and close the in-process graph at ``url`` (a no-op for remote graphs)."""
    if url.split(":", 1)[0] in ("memory", "file"):
        gremlin.forget_graph(url)
