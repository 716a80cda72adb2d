"""Where scenarios run: one loaded graph per scenario, reloaded only when needed.

``memory://``   each standard graph gets its own fresh in-process graph, loaded once and shared
                by every read-only scenario; "the empty graph" is a new graph each time.
``endpoint``    this package's own WebSocket endpoint, started in-process on a free port
                (``endpoint?profile=neptune&serializer=graphson`` pass through), then as ws://.
``reference``   a real Gremlin Server 3.7.3 with TinkerPop's test configuration, started for
                the run and stopped after it (``reference?port=N``; see reference.py), then as ws://.
``ws://...``    any Gremlin Server: one graph, dropped and reloaded when a scenario needs a
                different graph, or the previous one wrote to it. So are file:// and named
                memory://NAME URLs (their data is replaced!).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource

from .graphs import GRAPH_FILES, GraphData, Lookups, build_lookups, load_graph, read_graphson

__all__ = ["GraphHandle", "Backend", "PerGraphBackend", "SharedGraphBackend", "open_backend"]

EMPTY = "empty"


class GraphHandle:
    """One graph a scenario runs against: its connection and the names of its elements.

    For a standard graph the lookups are computed once after loading; for the empty graph
    they follow the graph as the scenario changes it (``invalidate`` after each traversal)."""

    def __init__(self, name: str, connection: RemoteConnection, lookups: Lookups | None = None):
        self.name = name
        self.connection = connection
        self.g: GraphTraversalSource = traversal().with_remote(connection)
        self._lookups = lookups

    @property
    def lookups(self) -> Lookups:
        if self._lookups is None:
            self._lookups = build_lookups(self.g)
        return self._lookups

    def invalidate(self) -> None:
        if self.name == EMPTY:
            self._lookups = None

    # the Resolver protocol of notation.py
    def vertex(self, name: str) -> Any:
        return self.lookups.vertex(name)

    def edge(self, name: str) -> Any:
        return self.lookups.edge(name)

    def vertex_property(self, name: str) -> Any:
        return self.lookups.vertex_property(name)


class Backend:
    """Hands out loaded graphs; subclasses decide how graphs are kept apart."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self._data: dict[str, GraphData] = {}
        #: None until a load succeeds; True when the backend took ids only as strings.
        self._string_ids: bool | None = None

    def load(self, connection: RemoteConnection, name: str) -> GraphHandle:
        """Load standard graph ``name`` through ``connection``; a backend that refuses the
        files' integer ids (Neptune takes only strings) gets them as strings instead."""
        from .execution import UNEXPECTED, classify_error

        data = self.graph_data(name)
        g = traversal().with_remote(connection)
        try:
            load_graph(g, data, string_ids=bool(self._string_ids), vertex_property_ids=not self._string_ids)
        except Exception as error:
            if self._string_ids is not None or classify_error(error) == UNEXPECTED:
                raise
            try:
                load_graph(g, data, string_ids=True)
            except Exception:
                raise error from None  # string ids did not help: the first error is the story
            self._string_ids = True
        if self._string_ids is None:
            self._string_ids = False
        return GraphHandle(name, connection, build_lookups(g))

    def graph_data(self, name: str) -> GraphData:
        if name not in GRAPH_FILES:
            raise KeyError(f"unknown graph {name!r}: expected one of {', '.join([*GRAPH_FILES, EMPTY])}")
        if name not in self._data:
            self._data[name] = read_graphson(self.data_dir / GRAPH_FILES[name])
        return self._data[name]

    def graph(self, name: str) -> GraphHandle:
        raise NotImplementedError

    def scratch(self) -> GraphHandle:
        """An empty graph for probing the backend's capabilities."""
        return self.graph(EMPTY)

    def mark_dirty(self, name: str) -> None:
        """The scenario that used graph ``name`` wrote to it: reload before it is used again."""

    def close(self) -> None:
        pass


class PerGraphBackend(Backend):
    """A new connection per standard graph (``connect`` gives a fresh graph each call)."""

    def __init__(self, data_dir: str | Path, connect: Callable[[], RemoteConnection]):
        super().__init__(data_dir)
        self._connect = connect
        self._loaded: dict[str, GraphHandle] = {}

    def graph(self, name: str) -> GraphHandle:
        if name == EMPTY:
            return GraphHandle(EMPTY, self._connect())
        handle = self._loaded.get(name)
        if handle is None:
            handle = self._loaded[name] = self.load(self._connect(), name)
        return handle

    def mark_dirty(self, name: str) -> None:
        handle = self._loaded.pop(name, None)
        if handle is not None:
            handle.connection.close()

    def close(self) -> None:
        for handle in self._loaded.values():
            handle.connection.close()
        self._loaded.clear()


class SharedGraphBackend(Backend):
    """One graph behind one connection, reloaded as scenarios require."""

    def __init__(self, data_dir: str | Path, connection: RemoteConnection, on_close: Callable[[], None] | None = None):
        super().__init__(data_dir)
        self._connection = connection
        self._on_close = on_close
        self._current: GraphHandle | None = None
        self._clean = False

    def graph(self, name: str) -> GraphHandle:
        if name == EMPTY:
            handle = GraphHandle(EMPTY, self._connection)
            handle.g.V().drop().iterate()
            self._current, self._clean = handle, False
            return handle
        if self._current is not None and self._current.name == name and self._clean:
            return self._current
        self._current = None
        self._current = self.load(self._connection, name)
        self._clean = True
        return self._current

    def mark_dirty(self, name: str) -> None:
        self._clean = False

    def close(self) -> None:
        try:
            self._connection.close()
        finally:
            if self._on_close is not None:
                self._on_close()


def _endpoint_backend(data_dir: str | Path, url: str) -> SharedGraphBackend:
    import gremlin
    from gremlin.server import ServerThread

    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    graph = gremlin.Graph(profile=params.pop("profile", None))
    server = ServerThread(graph).start()
    return _served(data_dir, server.url + (f"?{urlencode(params)}" if params else ""), server.stop)


def _reference_backend(data_dir: str | Path, url: str) -> SharedGraphBackend:
    from .reference import ReferenceServer

    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    server = ReferenceServer(int(params["port"]) if "port" in params else None)
    return _served(data_dir, server.start(), server.stop)


def _served(data_dir: str | Path, ws_url: str, stop: Callable[[], None]) -> SharedGraphBackend:
    """The backend of a server started for this run, which is stopped when the backend closes
    (or at once, when no connection can be made)."""
    import gremlin

    try:
        connection = gremlin.connect(ws_url)
    except BaseException:
        stop()
        raise
    return SharedGraphBackend(data_dir, connection, on_close=stop)


def open_backend(url: str, data_dir: str | Path) -> Backend:
    """The backend for a runner URL (see the module docstring)."""
    import gremlin

    parts = urlsplit(url)
    if url == "endpoint" or url.startswith("endpoint?"):
        return _endpoint_backend(data_dir, url)
    if url == "reference" or url.startswith("reference?"):
        return _reference_backend(data_dir, url)
    if parts.scheme == "memory" and not (parts.netloc + parts.path).strip("/"):
        return PerGraphBackend(data_dir, lambda: gremlin.connect(url))
    return SharedGraphBackend(data_dir, gremlin.connect(url))
