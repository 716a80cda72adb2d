"""The services call() runs: a registry per graph, and the services TinkerGraph offers.

    g.call()                                            the names of the registered services
    g.call("--list").with("verbose", true)              their descriptions (JSON)
    g.call("tinker.search").with("search", "mar")       a Start service: it begins a traversal
    g.V().call("tinker.degree.centrality")              a Streaming service: once per traverser

A service supports one or more execution types, as in TinkerPop: Start (no input; the first step
of a traversal), Streaming (called with each traverser; what it returns continues that
traverser's path) and Barrier (called with the traversers gathered, in chunks of
``max_barrier_size``; what it returns starts new paths). A service joins a graph's registry with
``Graph(...).services.register(service)``. The TinkerGraph profile registers what TinkerPop's
test configuration gives TinkerGraph: ``tinker.search`` and ``tinker.degree.centrality``; the
Neptune profile registers none (Neptune documents no call() services), so every named call is
refused there as an unknown service.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Callable, Iterable, Iterator

from gremlin_python.process.traversal import Direction
from gremlin_python.statics import long
from gremlin_python.structure.graph import Vertex as DetachedVertex

from ..errors import InvalidArgumentError, TraversalError
from ..storage import VertexRecord
from .base import Context
from .tostring import gremlin_str
from .traverser import Traverser
from .values import PropertyValue

__all__ = ["START", "STREAMING", "BARRIER", "DIRECTORY", "Service", "ServiceRegistry", "tinkergraph_services",
           "TextSearch", "DegreeCentrality"]

START, STREAMING, BARRIER = "Start", "Streaming", "Barrier"
#: The name under which a registry lists (and describes) its services; call() without a name too.
DIRECTORY = "--list"

# TinkerPop's wording, so that errors read alike on every backend
CANNOT_START = "This service cannot be used to start a traversal."
CANNOT_USE_MID_TRAVERSAL = "This service cannot be used mid-traversal."
NO_STREAMING = "This service does not support streaming execution."
NO_BARRIER = "This service does not support barrier execution."
MIXED_PARAMETERS = "Cannot use multiple dynamic parameter sets with a barrier service call."


class Service:
    """A service call() can run. A subclass names it, lists the execution types it supports,
    describes its parameters and implements start()/stream()/barrier() for those types."""

    name = ""
    types: tuple[str, ...] = ()
    #: parameter -> what it does, as ``call("--list").with("verbose", true)`` shows it
    params: dict[str, str] = {}
    #: how many traversers a Barrier call takes at once
    max_barrier_size = sys.maxsize

    def execution_type(self, starts: bool, params: dict) -> str:
        """How this call runs: as the traversal's start, else streaming if supported, else as a
        barrier; an error when the service cannot run where it was called."""
        if starts:
            if START in self.types:
                return START
            raise TraversalError(CANNOT_START)
        for kind in (STREAMING, BARRIER):
            if kind in self.types:
                return kind
        raise TraversalError(CANNOT_USE_MID_TRAVERSAL)

    def start(self, ctx: Context, params: dict) -> Iterable[Any]:
        raise TraversalError(CANNOT_START)

    def stream(self, ctx: Context, traverser: Traverser, params: dict) -> Iterable[Any]:
        """Values (each continues ``traverser``'s path) or Traversers (passed on as they are)."""
        raise TraversalError(NO_STREAMING)

    def barrier(self, ctx: Context, traversers: list[Traverser], params: dict) -> Iterable[Any]:
        """Values (each starts a new path) or Traversers (passed on as they are)."""
        raise TraversalError(NO_BARRIER)

    def describe(self) -> str:
        """The JSON a verbose listing gives, in the shape TinkerPop's registry gives it."""
        return json.dumps({"name": self.name, "type:[requirements]:": {kind: [] for kind in self.types},
                           "params": self.params}, separators=(",", ":"), ensure_ascii=False)


class ServiceRegistry:
    """The services of one graph, by name; ``unknown_error`` makes the error an unknown name
    gets from its message."""

    def __init__(self, services: Iterable[Service] = (), *,
                 unknown_error: Callable[[str], Exception] = InvalidArgumentError):
        self._services: dict[str, Service] = {}
        self.unknown_error = unknown_error
        self.directory = _Directory(self)
        for service in services:
            self.register(service)

    def register(self, service: Service) -> Service:
        """Add (or replace) a service under its name."""
        if not service.name or service.name == DIRECTORY:
            raise InvalidArgumentError(f"A service needs a name other than {DIRECTORY!r}")
        self._services[service.name] = service
        return service

    def names(self) -> list[str]:
        return list(self._services)

    def services(self) -> list[Service]:
        return list(self._services.values())

    def resolve(self, name: str | None, starts: bool, params: dict) -> tuple[Service, str]:
        """The service ``name`` and how it runs here. Without a name (or ``--list``) it is the
        directory, which TinkerPop hands out without asking where it runs: mid-traversal it
        fails on its first traverser, as a Start-only service given one."""
        if name is None or name == DIRECTORY:
            return self.directory, START if starts else STREAMING
        service = self._services.get(name)
        if service is None:
            raise self.unknown_error(f"Unrecognized service: {name}")
        return service, service.execution_type(starts, params)


class _Directory(Service):
    """``--list``: the registered services' names, or with ``verbose`` their descriptions;
    ``service`` keeps only the one of that name."""

    name = DIRECTORY
    types = (START,)
    params = {"service": "The name of the service to describe",
              "verbose": "Flag to provide a detailed service description"}

    def __init__(self, registry: ServiceRegistry):
        self.registry = registry

    def start(self, ctx: Context, params: dict) -> Iterator[str]:
        verbose = params.get("verbose", False)
        if not isinstance(verbose, bool):
            raise InvalidArgumentError(f"verbose must be true or false, not {verbose!r}")
        wanted = params.get("service")
        for service in self.registry.services():
            if wanted is None or service.name == wanted:
                yield service.describe() if verbose else service.name


class TextSearch(Service):
    """``tinker.search``: the properties whose value's text matches a regex (a scan, as in
    TinkerGraph): every vertex's properties, then every edge's, then every vertex property's
    meta-properties, or those of one ``type``. ``search`` is a term (the regex ``.*(term).*``),
    ``regex`` the whole regex. Like TinkerGraph's, it reads the graph itself: strategies such as
    PartitionStrategy do not filter what it finds."""

    name = "tinker.search"
    types = (START,)
    params = {"search": "Specify a search term - will be converted to regex via .*(search).*",
              "regex": "Directly specify the regex",
              "type": "Specify the type of Element to search for, one of Vertex/Edge/VertexProperty (optional)"}
    _TYPES = ("Vertex", "Edge", "VertexProperty")

    def start(self, ctx: Context, params: dict) -> Iterator[Any]:
        if "regex" in params:
            regex = params["regex"]
        elif "search" in params:
            regex = ".*(" + gremlin_str(params["search"]) + ").*"
        else:
            raise TraversalError("Missing search/regex parameter")
        kind = params.get("type")
        if kind is not None and kind not in self._TYPES:
            raise InvalidArgumentError(f"Type must be one of Vertex/Edge/VertexProperty: {gremlin_str(kind)}")
        if not isinstance(regex, str):
            raise InvalidArgumentError(f"regex must be a string, not {type(regex).__name__}")
        try:
            pattern = re.compile(regex)
        except re.error as error:
            raise InvalidArgumentError(f"Not a valid regex {regex!r}: {error}") from None

        def matches(value: Any) -> bool:
            return pattern.fullmatch(gremlin_str(value)) is not None

        store = ctx.store
        if kind in (None, "Vertex"):
            for vertex in store.scan_vertices():
                ctx.tick()
                # a vertex property becomes an element (an id) only when it is found
                keys = list(dict.fromkeys(key for key, value in vertex.property_items() if matches(value)))
                for key in keys:
                    yield from (vp for vp in store.vertex_properties(vertex, (key,)) if matches(vp.value))
        if kind in (None, "Edge"):
            for edge in store.scan_edges():
                ctx.tick()
                yield from (PropertyValue(edge, key, value) for key, value in edge.props.items() if matches(value))
        if kind in (None, "VertexProperty"):
            for vertex in store.scan_vertices():
                ctx.tick()
                for vp in store.vertex_properties(vertex) if _has_meta(vertex) else ():
                    yield from (PropertyValue(vp, key, value) for key, value in vp.meta.items() if matches(value))


def _has_meta(vertex: VertexRecord) -> bool:
    """Whether any property of ``vertex`` has meta-properties (only a record can)."""
    return any(getattr(record, "meta", None) for record in vertex.stored_properties())


class DegreeCentrality(Service):
    """``tinker.degree.centrality``: each vertex's number of edges, in ``direction`` (IN by
    default; a self-loop counts twice for BOTH). As in TinkerGraph, a traverser of bulk n gives
    n results, each of bulk n."""

    name = "tinker.degree.centrality"
    types = (STREAMING,)
    params = {"direction": "Specify the edge direction (optional), default is Direction.IN"}

    def stream(self, ctx: Context, traverser: Traverser, params: dict) -> Iterator[Any]:
        vertex = traverser.obj
        if isinstance(vertex, DetachedVertex) and not isinstance(vertex, VertexRecord):
            vertex = ctx.store.vertices.get(vertex.id, vertex)
        if not isinstance(vertex, VertexRecord):
            raise InvalidArgumentError(f"{self.name} needs a vertex, not {type(traverser.obj).__name__}")
        direction = params.get("direction", Direction.IN)
        if not isinstance(direction, Direction) or direction.name not in ("IN", "OUT", "BOTH"):
            raise InvalidArgumentError(f"direction must be IN, OUT or BOTH, not {direction!r}")
        count = long(len(vertex.edges(direction.name.lower())))
        for _ in range(traverser.bulk):
            yield count


def tinkergraph_services() -> list[Service]:
    """The services TinkerPop's test configuration registers with TinkerGraph."""
    return [TextSearch(), DegreeCentrality()]
