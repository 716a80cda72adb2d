"""The graph store: element records, transactions, vertex properties, and the in-memory store.

``GraphStore`` is what every kind of store does the same way: one transaction at a time with an
undo log (a traversal that fails is rolled back whole), generated ids, and the vertex property
rules (cardinality, meta-properties, a single value held without a record). A kind of store
supplies where elements live, their adjacency and their indexes: ``Store`` here holds the whole
graph in memory (``memory://``); ``gremlin.disk_store.DiskStore`` serves it from SQLite with a
bounded cache (``file://``). The engine reads a store only through this interface.
"""

from __future__ import annotations

import itertools
import sys
import threading
import uuid
import weakref
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

from gremlin_python.statics import long

from .element_ids import derived_vp_id
from .errors import ConflictError, ElementNotFound, InvalidArgumentError
from .property_table import EMPTY, PropertyTable

__all__ = ["GraphStore", "ForkedReader", "Store", "VertexRecord", "EdgeRecord", "VertexPropertyRecord", "EXTERNAL"]


# An element's tables (properties, meta-properties, adjacency by label) are PropertyTables,
# read-only: the store replaces an element's table to change it. Elements with none share
# one empty table (most vertex properties have no meta-properties, many edges no properties).
NO_PROPERTIES: PropertyTable = EMPTY
NO_EDGES: PropertyTable = EMPTY
#: From this many vertices on, a value index is kept only if no one value holds most of them.
UNSELECTIVE_FROM = 1000
_ABSENT = object()


class VertexPropertyRecord:
    __slots__ = ("id", "key", "value", "vertex", "meta", "__weakref__")

    def __init__(self, id: Any, key: str, value: Any, vertex: "VertexRecord", meta: Mapping | None = None):
        self.id = id
        self.key = key
        self.value = value
        self.vertex = vertex
        self.meta: PropertyTable = PropertyTable.of(meta) if meta else NO_PROPERTIES

    def __repr__(self) -> str:
        return f"vp[{self.key}->{self.value!r}]"


# Values a vertex cannot hold as themselves, as they would read as its record or records.
_HELD_AS_RECORDS = (VertexPropertyRecord, tuple)


#: A vertex's ``in_edges`` when its store keeps the adjacency elsewhere (on disk): its
#: ``out_edges`` is then an object whose ``edges(direction, labels)`` answers for both directions.
EXTERNAL: Any = type("ExternalAdjacency", (), {"__slots__": (), "__repr__": lambda self: "EXTERNAL"})()


class VertexRecord:
    # __weakref__: a disk store finds every record still in use through weak references, so
    # that one element is one record however often it is read (gremlin/record_cache.py)
    __slots__ = ("id", "label", "props", "out_edges", "in_edges", "__weakref__")

    def __init__(self, id: Any, label: str):
        self.id = id
        self.label = label
        # key -> what the vertex holds under it, one of:
        # - the value itself, held bare: one value with no meta-property and no id given (most:
        #   a record apiece cost 72 bytes and an int id 28 more, per property); its element,
        #   when something reads one, has the id derived from the value (element_ids);
        # - its one VertexPropertyRecord (an id given, meta-properties);
        # - a tuple of two or more records (list and set cardinality).
        # Only _values() and _records() tell these apart: read values with values_of() and
        # property_items(), elements through the store (GraphStore.vertex_properties()).
        self.props: PropertyTable = NO_PROPERTIES
        # Per-label adjacency: out('knows') is one dict look-up, not a scan of every edge.
        # label -> its bucket: the one edge of that label, a tuple of up to SMALL_BUCKET edges,
        # or {edge id: edge} beyond: a dict per label and vertex cost 184 to 360 bytes, and most
        # vertices have a few edges of a label. A vertex with edges of one label only in a
        # direction (most) holds that bucket itself, without the table (56 bytes more).
        # Read them with edges().
        self.out_edges: Any = NO_EDGES
        self.in_edges: Any = NO_EDGES

    def values_of(self, key: str) -> tuple:
        """The values the vertex holds under ``key``, in order."""
        return _values(self.props.get(key, _ABSENT))

    def property_items(self, keys: Iterable[str] = ()) -> list[tuple[str, Any]]:
        """(key, value) of every vertex property under ``keys`` (all when empty), key by key."""
        props = self.props
        found: list[tuple[str, Any]] = []
        for key, held in (props.items() if not keys else _held_under(props, keys)):
            kind = type(held)
            if kind is not VertexPropertyRecord and kind is not tuple and held is not _ABSENT:
                found.append((key, held))  # held bare (most), read without a call: elementMap() reads them all
            else:
                found += [(key, value) for value in _values(held)]
        return found

    def stored_properties(self) -> list["VertexPropertyRecord"]:
        """Every vertex property as it is stored, key by key, for a test to read: a value held
        bare shows as a new record with id None, not an element a traversal may see (those
        come from GraphStore.vertex_properties())."""
        return [vp for key, held in self.props.items() for vp in _records(held, self, key, _unnumbered)]

    def edges(self, direction: str, labels: tuple[str, ...] = ()) -> list["EdgeRecord"]:
        """Incident edges, as a snapshot a caller may hold while it changes the graph;
        ``direction`` is 'out', 'in' or 'both'."""
        if self.in_edges is EXTERNAL:
            return self.out_edges.edges(direction, labels)
        if direction == "both":
            # A self-loop is both an out- and an in-edge, so both()/bothE() meet it twice,
            # as in TinkerGraph.
            tables: tuple = (self.out_edges, self.in_edges)
        else:
            tables = (self.out_edges,) if direction == "out" else (self.in_edges,)
        found: list[EdgeRecord] = []
        for table in tables:
            if type(table) is not PropertyTable:  # one label's bucket, held without a table
                if labels:
                    own = _bucket_label(table)
                    buckets: Any = [table for label in labels if label == own]
                else:
                    buckets = (table,)
            else:
                buckets = [table.get(label) for label in labels] if labels else table.values()
            for bucket in buckets:
                if type(bucket) is tuple:
                    found.extend(bucket)
                elif type(bucket) is dict:
                    found.extend(bucket.values())
                elif bucket is not None:
                    found.append(bucket)
        return found

    def __repr__(self) -> str:
        return f"v[{self.id}]"


class EdgeRecord:
    __slots__ = ("id", "label", "out_v", "in_v", "props", "__weakref__")

    def __init__(self, id: Any, label: str, out_v: VertexRecord, in_v: VertexRecord):
        self.id = id
        self.label = label
        self.out_v = out_v
        self.in_v = in_v
        self.props: PropertyTable = NO_PROPERTIES

    def __repr__(self) -> str:
        return f"e[{self.id}][{self.out_v.id}-{self.label}->{self.in_v.id}]"


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _index_key(value: Any) -> Any:
    # bool is an int in Python; keep True and 1 apart in the index.
    return (bool, value) if isinstance(value, bool) else value


class _Transaction:
    __slots__ = ("undo", "longs")

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []
        #: long -> the one copy of it this transaction's writes share (GraphStore._one_copy)
        self.longs: dict[Any, Any] = {}


class ForkedReader:
    """How a child process forked inside ``GraphStore.quiescent()`` reads the store: set up in
    the child (``in_child``), answered by the parent while the child runs (``serve``) and ended
    once it has (``close``). This one is a store held wholly in memory's: nothing to do."""

    #: descriptors the child must keep open (it closes every other one it inherited)
    child_fds: tuple[int, ...] = ()

    def in_child(self, store: "GraphStore") -> None:
        """In the child, straight after the fork."""

    def serve(self) -> None:
        """In the parent, straight after the fork."""

    def close(self) -> None:
        """In the parent, once the child has ended."""


class GraphStore:
    """A property graph with TinkerGraph's data model, changed one transaction at a time.

    ``id_kind`` chooses generated ids: "int" (TinkerGraph's default counter) or "uuid"
    (strings, as Neptune generates them).

    What a kind of store supplies (``Store`` and ``gremlin.disk_store.DiskStore``):

    - ``vertices`` and ``edges``: id -> record, read like dicts (``get``, ``in``, ``len``, ids
      in creation order); ``scan_vertices()``/``scan_edges()``: every element present when the
      scan starts, an iterable the caller may hold while it changes the graph;
    - ``add_vertex``, ``remove_vertex``, ``add_edge``, ``remove_edge`` (a vertex's incident edges
      come from ``VertexRecord.edges``); ``lookup(key, value)``: index candidates or None;
    - ``_commit``/``_abort`` (what a transaction's end does beyond the undo log), ``close()``.

    One record per element: while anything holds a record, reading that element again gives the
    same object (the engine compares records by identity). That holds for the elements of vertex
    properties held bare too (``vertex_properties``), which no vertex holds.
    """

    vertices: Mapping[Any, VertexRecord]
    edges: Mapping[Any, "EdgeRecord"]

    def __init__(self, *, id_kind: str = "int"):
        self.id_kind = id_kind
        self._counter = itertools.count(0)
        # (key, type, value) -> the one-entry edge property table every edge holding just that
        # shares (see _one_copy)
        self._one_entry_tables: dict[tuple, PropertyTable] = {}
        self._lock = threading.RLock()
        self._txn: _Transaction | None = None
        # (id of the vertex, key) -> the element of the value the vertex holds bare under the
        # key, while something holds that element (see vertex_properties); the element holds
        # its vertex, so the vertex's id() names no other while the entry is alive
        self._bare: dict[tuple[int, str], _BareRef] = {}
        self._bare_dead: list[_BareRef] = []

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """Run a block atomically: every change is undone if it raises, and other
        threads never see a partial write (one traversal holds the store at a time)."""
        with self._lock:
            if self._txn is not None:  # nested: join the outer transaction
                yield self._txn
                return
            txn = self._txn = _Transaction()
            try:
                yield txn
                self._commit(txn)
            except BaseException:
                for undo in reversed(txn.undo):
                    undo()
                self._abort(txn)
                raise
            finally:
                self._txn = None

    def _commit(self, txn: _Transaction) -> None:
        """Make the transaction's changes durable (if this store keeps anything anywhere);
        raising undoes them."""

    def _abort(self, txn: _Transaction) -> None:
        """After the undo log has run: drop whatever else the transaction left."""

    @contextmanager
    def quiescent(self) -> Iterator[None]:
        """A block during which no traversal runs and none is half done: the moment to take a
        consistent copy of the store (gremlin.server.isolation forks the process in one)."""
        with self._lock:
            yield

    def forked_reader(self) -> "ForkedReader":
        """Called inside ``quiescent()`` just before the process forks a child to read the store
        (gremlin.server.isolation): what the child needs to read it as it is now. In memory,
        nothing: the child's copy of the process is the graph."""
        return ForkedReader()

    def _record(self, undo: Callable[[], None], vertex: Any = None, edge: Any = None) -> None:
        """Every change: how to undo it, and the record (``vertex`` or ``edge``) it changed."""
        txn = self._txn
        if txn is None:
            raise RuntimeError("graph mutations must run inside Store.transaction()")
        txn.undo.append(undo)

    def close(self) -> None:
        """Release what the store holds outside the process (nothing, in memory)."""

    # -- ids ------------------------------------------------------------------------------

    def new_id(self) -> Any:
        if self.id_kind == "uuid":
            return str(uuid.uuid4())
        return next(self._counter)

    def bump_counter(self, used: Any) -> None:
        """After loading ids from elsewhere, generated ids continue past the largest int."""
        if isinstance(used, int) and not isinstance(used, bool):
            current = next(self._counter)
            self._counter = itertools.count(max(current, used + 1))

    # -- vertices -------------------------------------------------------------------------

    def _set_props(self, vertex: VertexRecord, after: PropertyTable) -> None:
        """Every change to a vertex's properties: its new table, the value indexes, one undo
        entry (which puts the old table back: tables are never changed in place)."""
        before = vertex.props
        vertex.props = after
        self._reindex(vertex, before, after)

        def undo() -> None:
            vertex.props = before
            self._reindex(vertex, after, before)
        self._record(undo, vertex=vertex)

    def _reindex(self, vertex: VertexRecord, before: PropertyTable, after: PropertyTable) -> None:
        """Bring the store's value indexes in line with a vertex's properties going from
        ``before`` to ``after`` (a store without value indexes has nothing to do)."""

    def _new_record(self, vertex: VertexRecord, key: str, value: Any, meta: Mapping | None,
                    id: Any) -> VertexPropertyRecord:
        if id is None:
            id = self.new_id()
        else:  # generated ids are past the counter already
            self.bump_counter(id)
        return VertexPropertyRecord(id, key, value, vertex, _shared_keys(meta) if meta else None)

    def _held(self, vertex: VertexRecord, key: str, value: Any, meta: Mapping | None, id: Any) -> Any:
        """What a vertex holds for one new value of ``key`` (see VertexRecord.props): the value
        itself unless it needs a record now (an id given, meta-properties, or a value that
        would read as a record or as several)."""
        value = self._one_copy(value)
        if id is None and not meta and type(value) not in _HELD_AS_RECORDS:
            return value
        return self._new_record(vertex, key, value, meta, id)

    def _one_copy(self, value: Any) -> Any:
        """One object for equal values that many elements hold, written or loaded:

        - a gremlinpython long (48 bytes), one per value for the running transaction: an ingest
          batch writes an event's time to its vertex, its identifiers and their links, each a
          new object as it arrives (the transaction bounds how many are kept);
        - an edge's property table holding one property and no other (56 bytes: the tenant, on
          most edges of a multi-tenant graph), one per value for the store's life: only short
          strings, ints and bools, whose equal values are the same value, and at most
          SHARED_TABLES of them."""
        kind = type(value)
        if kind is long:
            txn = self._txn
            if txn is not None:
                return txn.longs.setdefault(value, value)
        elif kind is PropertyTable and tuple.__len__(value) == 2:
            key, held = _item(value, 0), _item(value, 1)
            kind = type(held)
            if kind is str and len(held) <= SHARED_STRING or kind is int or kind is bool:
                shared = self._one_entry_tables.get((key, kind, held))
                if shared is not None:
                    return shared
                if len(self._one_entry_tables) < SHARED_TABLES:
                    self._one_entry_tables[(key, kind, held)] = value
        return value

    def add_vertex_property(self, vertex: VertexRecord, key: str, value: Any,
                            cardinality: str = "single", meta: Mapping | None = None,
                            id: Any = None) -> None:
        """Add a vertex property with ``cardinality`` 'single', 'list' or 'set'."""
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError("Property key must be a non-empty string")
        key = _shared(key)
        props = vertex.props
        if cardinality == "single":
            self._set_props(vertex, props.with_(key, self._held(vertex, key, value, meta, id)))
            return
        if cardinality == "set":
            for position, held_value in enumerate(vertex.values_of(key)):
                if _same_value(held_value, value):
                    if meta:
                        vp = self.vertex_properties(vertex, (key,))[position]
                        for meta_key, meta_value in meta.items():
                            self.set_meta_property(vp, meta_key, meta_value)
                    return
        elif cardinality != "list":
            raise InvalidArgumentError(f"Unknown cardinality: {cardinality}")
        if key not in props:
            self._set_props(vertex, props.with_(key, self._held(vertex, key, value, meta, id)))
            return
        # two or more values under one key are records: a value held bare so far becomes its
        # element (with the id it has read with), in the same table change
        existing = _records(props[key], vertex, key, self._bare_element)
        added = self._new_record(vertex, key, value, meta, id)
        self._set_props(vertex, props.with_(key, (*existing, added)))

    def add_first_vertex_properties(self, vertex: VertexRecord, props: Mapping[str, Any]) -> None:
        """Give a vertex that holds no property yet one single value per key of ``props``, as
        add_vertex_property() for each would, with one table and one undo entry (a new element's
        merge map sets several at once)."""
        flat: list[Any] = []
        for key, value in _first_properties(vertex, props):
            flat += (key, self._held(vertex, key, value, None, None))
        if flat:
            self._set_props(vertex, PropertyTable(flat))

    def remove_vertex_property(self, vp: VertexPropertyRecord) -> None:
        """Remove ``vp`` (a record the vertex holds, or the element of the value it holds bare);
        nothing if it holds neither any more."""
        vertex = vp.vertex
        records = _records(vertex.props.get(vp.key, _ABSENT), vertex, vp.key, self._bare_element)
        if not any(record is vp for record in records):
            return
        rest = tuple(record for record in records if record is not vp)
        if rest:
            self._set_props(vertex, vertex.props.with_(vp.key, rest[0] if len(rest) == 1 else rest))
        else:
            self._set_props(vertex, vertex.props.without(vp.key))

    def remove_vertex_properties(self, vertex: VertexRecord, key: str) -> None:
        """Remove every value of ``key`` (property(key, null))."""
        if key in vertex.props:
            self._set_props(vertex, vertex.props.without(key))

    def set_meta_property(self, vp: VertexPropertyRecord, key: str, value: Any) -> None:
        if self._held_bare(vp):  # a record from now on: the vertex holds it, with its id
            self._set_props(vp.vertex, vp.vertex.props.with_(vp.key, vp))
        before, vp.meta = vp.meta, vp.meta.with_(_shared(key), value)
        self._record(lambda: setattr(vp, "meta", before), vertex=vp.vertex)

    def remove_meta_property(self, vp: VertexPropertyRecord, key: str) -> None:
        if key in vp.meta:  # (the element of a value held bare has none)
            before, vp.meta = vp.meta, vp.meta.without(key)
            self._record(lambda: setattr(vp, "meta", before), vertex=vp.vertex)

    # -- vertex properties as elements -----------------------------------------------------

    def vertex_properties(self, vertex: VertexRecord, keys: tuple[str, ...] = ()) -> list[VertexPropertyRecord]:
        """A vertex's properties under ``keys`` (all when empty) as elements, key by key.

        A read writes nothing: a value the vertex holds bare stays bare, and its element is made
        here with the id derived from the value (element_ids.derived_vp_id), which reads the
        same every time and in every store; it is found again while something holds it (one
        element per property, as for vertices). The vertex does not hold it: a vertex and its
        records would be a reference cycle, which only the collector frees."""
        props = vertex.props
        bare = self._bare_element
        found: list[VertexPropertyRecord] = []
        for key, held in (props.items() if not keys else _held_under(props, keys)):
            found.extend(_records(held, vertex, key, bare))
        return found

    def _bare_element(self, vertex: VertexRecord, key: str, value: Any) -> VertexPropertyRecord:
        """The element of ``value``, which ``vertex`` holds bare under ``key``."""
        if self._bare_dead:
            dead, self._bare_dead = self._bare_dead, []
            for ref in dead:
                if self._bare.get(ref.slot) is ref:
                    del self._bare[ref.slot]
        slot = (id(vertex), key)
        ref = self._bare.get(slot)
        vp = ref() if ref is not None else None
        if vp is None or vp.value is not value or vp.vertex is not vertex:
            vp = VertexPropertyRecord(derived_vp_id(vertex.id, key, value), key, value, vertex)
            ref = _BareRef(vp, self._bare_gone)
            ref.slot = slot
            self._bare[slot] = ref
        return vp

    def _bare_gone(self, ref: "_BareRef") -> None:
        self._bare_dead.append(ref)  # (as RecordCache._gone: in any thread, dropped under the lock)

    def _held_bare(self, vp: VertexPropertyRecord) -> bool:
        """``vp`` is the element of a value its vertex holds bare (not a record it holds)."""
        held = vp.vertex.props.get(vp.key, _ABSENT)  # (a record or a tuple of them is no element's value)
        return held is vp.value and self._bare_element(vp.vertex, vp.key, held) is vp

    # -- edges ----------------------------------------------------------------------------

    def set_edge_property(self, edge: EdgeRecord, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError("Property key must be a non-empty string")
        before, edge.props = edge.props, self._one_copy(edge.props.with_(_shared(key), self._one_copy(value)))
        self._record(lambda: setattr(edge, "props", before), edge=edge)

    def add_first_edge_properties(self, edge: EdgeRecord, props: Mapping[str, Any]) -> None:
        """Give an edge that holds no property yet ``props``, with one table and one undo entry."""
        flat = [part for key, value in _first_properties(edge, props) for part in (key, self._one_copy(value))]
        if not flat:
            return
        edge.props = self._one_copy(PropertyTable(flat))
        self._record(lambda: setattr(edge, "props", NO_PROPERTIES), edge=edge)

    def remove_edge_property(self, edge: EdgeRecord, key: str) -> None:
        if key in edge.props:
            before, edge.props = edge.props, self._one_copy(edge.props.without(key))
            self._record(lambda: setattr(edge, "props", before), edge=edge)

    def label_counts(self) -> dict[str, int]:
        """Elements per label, vertices' and edges' (a scan: for operators and benchmarks)."""
        counts = Counter(vertex.label for vertex in self.scan_vertices())
        counts.update(edge.label for edge in self.scan_edges())
        return dict(counts)

    def clear(self) -> None:
        """Remove everything (used by tests and tenant purges on a private graph)."""
        for vertex in list(self.scan_vertices()):
            self.remove_vertex(vertex)
        for edge in list(self.scan_edges()):
            self.remove_edge(edge)

    #: Whether ``read_frontier`` is worth calling: a store that reads adjacency from a file opts
    #: in (gremlin/disk_store.py); one holding it in memory has nothing to read ahead.
    reads_frontiers = False

    def read_frontier(self, vertices: list[VertexRecord], direction: str, labels: tuple[str, ...]) -> None:
        """Make ``vertex.edges(direction, labels)`` of each of ``vertices`` cheap to ask next, in
        as few reads as the store can (the engine calls it for a hop's frontier when nothing
        between two barriers could tell: gremlin/engine/frontier.py). Changes nothing a
        traversal sees."""

    def read_ids(self, kind: str, ids: list) -> None:
        """Make the look-ups of ``ids`` (vertices when ``kind`` is "V", else edges) that follow
        cheap: a store that reads elements from a file reads those it has not met in one query
        and learns which are absent (gremlin/disk_store.py); the engine calls it for ``V(ids)`` and
        ``E(ids)`` of several ids. Changes nothing a traversal sees."""

    # -- what each kind of store supplies ---------------------------------------------------

    def scan_vertices(self) -> Iterable[VertexRecord]:  # pragma: no cover - interface
        raise NotImplementedError

    def scan_edges(self) -> Iterable[EdgeRecord]:  # pragma: no cover - interface
        raise NotImplementedError

    def lookup(self, key: str, value: Any) -> list[VertexRecord] | None:  # pragma: no cover - interface
        raise NotImplementedError

    def add_vertex(self, label: str, id: Any = None) -> VertexRecord:  # pragma: no cover - interface
        raise NotImplementedError

    def remove_vertex(self, vertex: VertexRecord) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def add_edge(self, label: str, out_v: VertexRecord, in_v: VertexRecord,
                 id: Any = None) -> EdgeRecord:  # pragma: no cover - interface
        raise NotImplementedError

    def remove_edge(self, edge: EdgeRecord) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class Store(GraphStore):
    """The whole graph in memory (``memory://``): element tables are dicts, adjacency lives in
    the vertex records (per label), value indexes are built per key on first lookup.

    ``index_keys`` names the vertex property keys that may be kept in a value index (None: any
    key). A key's index is built by the first lookup that needs it and kept up to date from then
    on, so keys no traversal looks up by value (timestamps, sealed values) cost no memory.
    """

    def __init__(self, *, id_kind: str = "int", index_keys: Iterable[str] | None = None):
        super().__init__(id_kind=id_kind)
        self.vertices: dict[Any, VertexRecord] = {}
        self.edges: dict[Any, EdgeRecord] = {}
        self.index_keys = None if index_keys is None else frozenset(index_keys)
        # key -> value -> {vertex id: vertex}, only for keys looked up so far
        self._index: dict[str, dict[Any, dict[Any, VertexRecord]]] = {}
        # keys whose index, when built, did not narrow a lookup (see _build_index)
        self._unselective: set[str] = set()

    def new_id(self) -> Any:
        if self.id_kind == "uuid":
            return str(uuid.uuid4())
        while True:
            candidate = next(self._counter)
            if candidate not in self.vertices and candidate not in self.edges:
                return candidate

    def scan_vertices(self) -> list[VertexRecord]:
        return list(self.vertices.values())

    def scan_edges(self) -> list[EdgeRecord]:
        return list(self.edges.values())

    # -- indexes ----------------------------------------------------------------------------

    def _indexable(self, key: str) -> bool:
        return (self.index_keys is None or key in self.index_keys) and key not in self._unselective

    def _index_values(self, vertex: VertexRecord, by_value: dict, values: Iterable[Any]) -> None:
        for value in values:
            if _hashable(value):
                by_value.setdefault(_index_key(value), {})[vertex.id] = vertex

    def _reindex(self, vertex: VertexRecord, before: PropertyTable, after: PropertyTable) -> None:
        """(a vertex stays in a value's bucket while it holds that value under the key)"""
        for key, by_value in self._index.items():
            old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if old is new:
                continue
            new_values = _values(new)
            kept = {_index_key(value) for value in new_values if _hashable(value)}
            for value in _values(old):
                if _hashable(value) and _index_key(value) not in kept:
                    bucket = by_value.get(_index_key(value))
                    if bucket is not None:
                        bucket.pop(vertex.id, None)
                        if not bucket:
                            del by_value[_index_key(value)]
            self._index_values(vertex, by_value, new_values)

    def lookup(self, key: str, value: Any) -> list[VertexRecord] | None:
        """Vertices whose ``key`` may equal ``value``; None when no index can answer.

        Candidates only: the caller still applies Gremlin equality (29 == 29.0)."""
        if not self._indexable(key) or not _hashable(value):
            return None
        by_value = self._index.get(key)
        if by_value is None:
            by_value = self._build_index(key)
        bucket = by_value.get(_index_key(value))
        return list(bucket.values()) if bucket else []

    def _build_index(self, key: str) -> dict[Any, dict[Any, VertexRecord]]:
        # one scan, which the lookup would otherwise have done itself; kept current from now on
        by_value: dict[Any, dict[Any, VertexRecord]] = {}
        self._index[key] = by_value
        for vertex in self.vertices.values():
            self._index_values(vertex, by_value, vertex.values_of(key))
        # an index whose largest bucket holds most vertices (a partition key, a type) costs
        # memory per vertex and saves no work: drop it, and let lookups on the key scan
        if len(self.vertices) >= UNSELECTIVE_FROM and 2 * max(map(len, by_value.values()), default=0) > len(self.vertices):
            del self._index[key]
            self._unselective.add(key)
        return by_value

    # -- vertices -------------------------------------------------------------------------

    def add_vertex(self, label: str, id: Any = None) -> VertexRecord:
        if id is None:
            id = self.new_id()
        elif id in self.vertices:
            raise ConflictError(f"Vertex with id already exists: {id}")
        vertex = VertexRecord(id, _shared(label))
        self.vertices[id] = vertex
        self.bump_counter(id)
        self._record(lambda: self.vertices.pop(id, None), vertex=vertex)
        return vertex

    def remove_vertex(self, vertex: VertexRecord) -> None:
        if self.vertices.get(vertex.id) is not vertex:
            return
        for edge in vertex.edges("both"):
            self.remove_edge(edge)
        if vertex.props:
            self._set_props(vertex, NO_PROPERTIES)
        del self.vertices[vertex.id]

        def undo() -> None:
            self.vertices[vertex.id] = vertex
        self._record(undo, vertex=vertex)

    # -- edges ----------------------------------------------------------------------------

    def add_edge(self, label: str, out_v: VertexRecord, in_v: VertexRecord, id: Any = None) -> EdgeRecord:
        if id is None:
            id = self.new_id()
        elif id in self.edges:
            raise ConflictError(f"Edge with id already exists: {id}")
        if self.vertices.get(out_v.id) is not out_v or self.vertices.get(in_v.id) is not in_v:
            raise ElementNotFound("Cannot add an edge to a vertex that has been removed")
        edge = EdgeRecord(id, _shared(label), out_v, in_v)
        self.edges[id] = edge
        _attach(edge)
        self.bump_counter(id)

        def undo() -> None:
            self.edges.pop(id, None)
            _detach(edge)
        self._record(undo, edge=edge)
        return edge

    def remove_edge(self, edge: EdgeRecord) -> None:
        if self.edges.get(edge.id) is not edge:
            return
        del self.edges[edge.id]
        _detach(edge)

        def undo() -> None:
            self.edges[edge.id] = edge
            _attach(edge)
        self._record(undo, edge=edge)


def _shared(name: str) -> str:
    # Keys and labels arrive as new strings with every request: one shared copy of each
    # instead of one per element (sys.intern keeps only strings something still refers to).
    return sys.intern(name) if type(name) is str else name


def _shared_keys(table: dict) -> dict:
    return {_shared(key): value for key, value in table.items()}


def _first_properties(element: VertexRecord | EdgeRecord, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``props`` for an element that holds no property yet, each key checked and shared."""
    if element.props:
        raise InvalidArgumentError(f"{element!r} holds properties already: these would not be its first")
    items = []
    for key, value in props.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError("Property key must be a non-empty string")
        items.append((_shared(key), value))
    return items


def _attach(edge: EdgeRecord) -> None:
    out_v, in_v = edge.out_v, edge.in_v
    out_v.out_edges = _link(out_v.out_edges, edge)
    in_v.in_edges = _link(in_v.in_edges, edge)


def _detach(edge: EdgeRecord) -> None:
    out_v, in_v = edge.out_v, edge.in_v
    out_v.out_edges = _unlink(out_v.out_edges, edge)
    in_v.in_edges = _unlink(in_v.in_edges, edge)


#: The most distinct one-entry edge property tables a store shares (GraphStore._one_copy).
SHARED_TABLES = 4096
#: The longest string value such a table holds (the tables are kept while the store is open).
SHARED_STRING = 256

_item = tuple.__getitem__

#: The most edges of one label a vertex holds in a tuple (scanned to remove one) before a dict.
SMALL_BUCKET = 8


def _link(table: Any, edge: EdgeRecord) -> Any:
    """A vertex's adjacency in one direction, ``table``, with ``edge`` added last under its
    label (see VertexRecord.out_edges)."""
    if type(table) is not PropertyTable:  # one label's bucket, held without a table
        own = _bucket_label(table)
        if own == edge.label:
            return _bucket_with(table, edge)
        table = PropertyTable((own, table))
    elif not tuple.__len__(table):
        return edge
    bucket = table.get(edge.label)
    grown = _bucket_with(bucket, edge)
    return table if grown is bucket else table.with_(edge.label, grown)


def _unlink(table: Any, edge: EdgeRecord) -> Any:
    """A vertex's adjacency in one direction, ``table``, without ``edge``."""
    if type(table) is not PropertyTable:
        if _bucket_label(table) != edge.label:
            return table
        rest = _bucket_without(table, edge)
        return EMPTY if rest is None else rest
    bucket = table.get(edge.label)
    if bucket is None:
        return table
    rest = _bucket_without(bucket, edge)
    if rest is bucket:
        return table
    table = table.without(edge.label) if rest is None else table.with_(edge.label, rest)
    # one label left: its bucket is held without the table
    return _item(table, 1) if tuple.__len__(table) == 2 else table


def _bucket_label(bucket: Any) -> str:
    kind = type(bucket)
    if kind is tuple:
        return bucket[0].label
    if kind is dict:
        return next(iter(bucket.values())).label
    return bucket.label


def _bucket_with(bucket: Any, edge: EdgeRecord) -> Any:
    """``bucket`` (None for none yet) with ``edge`` added last; a dict grows in place."""
    if type(bucket) is dict:
        bucket[edge.id] = edge
        return bucket
    edges = () if bucket is None else bucket if type(bucket) is tuple else (bucket,)
    if len(edges) < SMALL_BUCKET:
        return (*edges, edge) if edges else edge
    bigger = {other.id: other for other in edges}
    bigger[edge.id] = edge
    return bigger


def _bucket_without(bucket: Any, edge: EdgeRecord) -> Any:
    """``bucket`` without ``edge`` (None when that empties it); a dict shrinks in place."""
    kind = type(bucket)
    if kind is dict:
        if bucket.get(edge.id) is edge:
            del bucket[edge.id]
            if len(bucket) <= SMALL_BUCKET // 2:  # not at SMALL_BUCKET: one edge coming and going would flip it
                return _small_bucket(tuple(bucket.values()))
        return bucket
    if bucket is edge:
        return None
    if kind is tuple and edge in bucket:
        return _small_bucket(tuple(other for other in bucket if other is not edge))
    return bucket


def _small_bucket(edges: tuple[EdgeRecord, ...]) -> EdgeRecord | tuple[EdgeRecord, ...]:
    return edges[0] if len(edges) == 1 else edges


# What a vertex holds under a key is a value held bare, a record or a tuple of records (see
# VertexRecord.props): these two alone tell them apart, one for values, one for elements.

def _values(held: Any) -> tuple:
    """The values in what a vertex holds under one key (_ABSENT: none)."""
    kind = type(held)
    if kind is VertexPropertyRecord:
        return (held.value,)
    if kind is tuple:
        return tuple(vp.value for vp in held)
    return () if held is _ABSENT else (held,)


def _records(held: Any, vertex: VertexRecord, key: str,
             bare: Callable[[VertexRecord, str, Any], VertexPropertyRecord]) -> tuple:
    """The elements in what ``vertex`` holds under ``key`` (_ABSENT: none): its records, or
    for a value held bare what ``bare(vertex, key, value)`` makes of it."""
    kind = type(held)
    if kind is VertexPropertyRecord:
        return (held,)
    if kind is tuple:
        return held
    return () if held is _ABSENT else (bare(vertex, key, held),)


def _held_under(props: PropertyTable, keys: Iterable[str]) -> list[tuple[str, Any]]:
    """(key, what the vertex holds under it, or _ABSENT) for each of ``keys``."""
    return [(key, props.get(key, _ABSENT)) for key in keys]


def _unnumbered(vertex: VertexRecord, key: str, value: Any) -> VertexPropertyRecord:
    return VertexPropertyRecord(None, key, value, vertex)


class _BareRef(weakref.ref):
    __slots__ = ("slot",)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b
