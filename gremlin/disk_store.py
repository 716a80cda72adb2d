"""The durable store: the graph served from its SQLite file, with a bounded cache of records.

The file is the primary copy (gremlin/disk_rows.py: one row per element, edges indexed by end
vertex and label). Nothing is loaded at open; a record is made from its row the first time a
traversal reaches the element and kept in a cache bounded by ``cache_mb``
(gremlin/record_cache.py), which also guarantees one record per element while anything holds
it. A vertex's edges are read per direction and label, on first use, as one index range.

Transactions: the undo log (GraphStore) keeps the records right; the rows a transaction
changes are gathered by row id and written in one SQLite transaction before the traversal's
result is returned (``_commit``), so a traversal is on disk whole or not at all and durable on
return. Reads that go to the file while a transaction has unwritten changes (a vertex's edges
read for the first time, a scan) first write them, inside that same SQLite transaction, so the
traversal reads its own writes; a failure rolls the SQLite transaction back with the records.
Reads never write: a vertex property read as an element gets an id derived from the row
(disk_rows.derived_vp_id), not a stored one.
"""

from __future__ import annotations

import sqlite3
import weakref
from bisect import insort
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .disk_rows import (Names, decode_edge_props, decode_vertex_props, derived_vp_id, encode_edge_props,
                        encode_vertex_props, id_column, id_key, typed_id)
from .errors import ConflictError, ElementNotFound, GremlinError
from .record_cache import RecordCache
from .storage import (_ABSENT, _HELD_AS_RECORDS, EXTERNAL, EdgeRecord, GraphStore, VertexPropertyRecord,
                      VertexRecord, _shared, _Transaction)

__all__ = ["DiskStore", "DiskAdjacency", "DEFAULT_CACHE_MB", "DurableStoreError"]

#: The default bound on what the store keeps in memory, in MiB (records and SQLite's pages).
DEFAULT_CACHE_MB = 256
#: Rows a scan reads per query: each query sees the writes made while the scan runs.
SCAN_CHUNK = 256
#: The most ids one ``rid IN (...)`` query names (SQLite allows 999 parameters in old builds).
_IN_CHUNK = 500

_OUT, _IN = 0, 1
_DIRECTIONS = {"out": (_OUT,), "in": (_IN,), "both": (_OUT, _IN)}
_END_COLUMN = ("out_rid", "in_rid")

_VERTEX_COLUMNS = "rid, key, id, label, props"
_EDGE_COLUMNS = "rid, key, id, label, out_rid, in_rid, props"
_UPSERT_VERTEX = ("INSERT INTO vertices (rid, key, id, label, props) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (rid) DO UPDATE SET props = excluded.props")
_UPSERT_EDGE = ("INSERT INTO edges (rid, key, id, label, out_rid, in_rid, props) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (rid) DO UPDATE SET props = excluded.props")

# Estimated bytes a record holds beyond its row's text (the record, its tables, the cache's
# references to it); calibrated with tracemalloc (docs/gremlin.md, "The durable store").
_VERTEX_BYTES = 480
_EDGE_BYTES = 400
_PER_TEXT_BYTE = 2
_PER_ADJACENT = 12


class DurableStoreError(GremlinError):
    """The graph directory cannot be opened, read or written."""


class _BareRef(weakref.ref):
    __slots__ = ("slot",)


class DiskAdjacency:
    """A disk vertex's edges (its ``out_edges``; its ``in_edges`` is ``EXTERNAL``): edge row ids
    per direction and label, read from the file on first use and kept current by the store."""

    __slots__ = ("store", "rid", "lists", "complete")

    def __init__(self, store: "DiskStore", rid: int, complete: bool = False):
        self.store = store
        self.rid = rid
        #: (direction, label) -> edge rids in creation order, for what has been read
        self.lists: dict[tuple[int, str], list[int]] | None = {} if complete else None
        #: per direction: True once every label's edges are in ``lists``
        self.complete = [complete, complete]

    def edges(self, direction: str, labels: tuple[str, ...] = ()) -> list[EdgeRecord]:
        return self.store._incident(self, direction, labels)

    def link(self, direction: int, label: str, rid: int) -> None:
        """A new edge: in its list if that list has been read (a later read finds it in the file)."""
        lists = self.lists
        if lists is None:
            return
        found = lists.get((direction, label))
        if found is not None:
            insort(found, rid)
        elif self.complete[direction]:
            lists[(direction, label)] = [rid]

    def unlink(self, direction: int, label: str, rid: int) -> None:
        found = self.lists.get((direction, label)) if self.lists is not None else None
        if found is not None and rid in found:
            found.remove(rid)

    def size(self) -> int:
        return 0 if not self.lists else sum(len(rids) for rids in self.lists.values()) * _PER_ADJACENT + 64 * len(self.lists)

    def __repr__(self) -> str:
        return f"DiskAdjacency(rid={self.rid})"


class _Table:
    """``store.vertices`` / ``store.edges``: element id -> record, read like a dict."""

    def __init__(self, store: "DiskStore", kind: str):
        self._store = store
        self._kind = kind

    def get(self, id: Any, default: Any = None) -> Any:
        store = self._store
        with store._lock:
            found = store._vertex(id) if self._kind == "V" else store._edge(id)
        return default if found is None else found

    def __getitem__(self, id: Any) -> Any:
        found = self.get(id)
        if found is None:
            raise KeyError(id)
        return found

    def __contains__(self, id: Any) -> bool:
        return self.get(id) is not None

    def __len__(self) -> int:
        return self._store._count("vertices" if self._kind == "V" else "edges")

    def values(self) -> Iterator[Any]:
        store = self._store
        return iter(store.scan_vertices() if self._kind == "V" else store.scan_edges())

    def __iter__(self) -> Iterator[Any]:
        return (record.id for record in self.values())

    def keys(self) -> list:
        return list(self)

    def items(self) -> Iterator[tuple[Any, Any]]:
        return ((record.id, record) for record in self.values())

    def __repr__(self) -> str:
        return f"<{'vertices' if self._kind == 'V' else 'edges'} of {self._store!r}>"


def _hashable(id: Any) -> bool:
    try:
        hash(id)
    except TypeError:
        return False
    return True


class DiskStore(GraphStore):
    """A GraphStore whose graph lives in an open SQLite connection in format 2 (see
    gremlin/durable.py for opening a directory, its lock and older formats)."""

    def __init__(self, conn: sqlite3.Connection, *, id_kind: str = "int", cache_mb: float = DEFAULT_CACHE_MB,
                 path: Path | None = None, on_close: Callable[[], None] | None = None):
        super().__init__(id_kind=id_kind)
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self._on_close = on_close
        self.cache_mb = cache_mb
        budget = int(cache_mb * 2 ** 20)
        # SQLite's page cache a quarter (the index pages every first read goes through), records
        # the rest: vertices (read by every step) two thirds of that, edges one third
        conn.execute(f"PRAGMA cache_size = {-max(1024, budget // 4 // 1024)}")
        self._vertices = RecordCache(budget * 3 // 4 * 2 // 3, _VERTEX_BYTES + 400)
        self._edges = RecordCache(budget * 3 // 4 // 3, _EDGE_BYTES + 100)
        self.vertices = _Table(self, "V")
        self.edges = _Table(self, "E")
        self._names = Names()
        self._names.load(conn)
        self._next_vertex_rid = (conn.execute("SELECT max(rid) FROM vertices").fetchone()[0] or 0) + 1
        self._next_edge_rid = (conn.execute("SELECT max(rid) FROM edges").fetchone()[0] or 0) + 1
        row = conn.execute("SELECT value FROM meta WHERE name = 'counter'").fetchone()
        self._next_id = self._stored_counter = int(row[0]) if row else 0
        # rid -> record to write, or None to delete; written by _flush
        self._pending_vertices: dict[int, VertexRecord | None] = {}
        self._pending_edges: dict[int, EdgeRecord | None] = {}
        # element id -> rid of what this transaction removed and has not written yet (the row
        # is still in the file: a look-up by id must not find it)
        self._removed_vertices: dict[Any, int] = {}
        self._removed_edges: dict[Any, int] = {}
        # rids this transaction removed, written or not (a scan's chunk may still list them)
        self._removed_vertex_rids: set[int] = set()
        self._removed_edge_rids: set[int] = set()
        self._writing = False  # an SQLite transaction is open
        # (vertex rid, key) -> the element of a value the vertex holds bare, while something
        # holds that element (see vertex_properties)
        self._bare: dict[tuple[int, str], _BareRef] = {}

    # -- transactions ---------------------------------------------------------------------------

    def _record(self, undo: Callable[[], None], vertex: Any = None, edge: Any = None) -> None:
        txn = self._txn
        if txn is None:
            raise RuntimeError("graph mutations must run inside Store.transaction()")
        txn.undo.append(undo)
        if vertex is not None:
            rid = vertex.out_edges.rid
            if self._vertices.by_rid(rid) is vertex:  # else removed: nothing to write
                self._pending_vertices[rid] = vertex
        if edge is not None:
            rid = self._edges.rid_of(edge.id)
            if rid is not None and self._edges.by_rid(rid) is edge:
                self._pending_edges[rid] = edge

    def _undo(self, undo: Callable[[], None]) -> None:
        txn = self._txn
        if txn is None:
            raise RuntimeError("graph mutations must run inside Store.transaction()")
        txn.undo.append(undo)

    def _commit(self, txn: _Transaction) -> None:
        self._flush()
        if self._writing:
            try:
                self._connection().execute("COMMIT")
            except sqlite3.Error as error:
                raise DurableStoreError(
                    f"cannot write {self._where()}: {error}; the traversal was rolled back") from error
            self._writing = False
        self._forget_removed()

    def _abort(self, txn: _Transaction) -> None:
        if self._writing:
            self._writing = False
            try:
                self._connection().execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite rolled back already (after an I/O error, say)
        self._pending_vertices.clear()
        self._pending_edges.clear()
        self._forget_removed()
        self._stored_counter = -1  # unknown now (the rollback may have undone a write): written with the next rows
        try:
            self._names.load(self._connection())  # names first given in this transaction are not stored
        except sqlite3.Error:
            pass

    def _forget_removed(self) -> None:
        self._removed_vertices.clear()
        self._removed_edges.clear()
        self._removed_vertex_rids.clear()
        self._removed_edge_rids.clear()

    def _flush(self) -> None:
        """Write every change not written yet, inside the transaction's SQLite transaction
        (begun here the first time). Rows are encoded first: a value the codec refuses fails
        the traversal before the file is touched."""
        vertices, edges = self._pending_vertices, self._pending_edges
        if not vertices and not edges:
            return  # (the counter is written with rows: ids a failed traversal took need no row)
        names = self._names
        vertex_rows, vertex_gone, edge_rows, edge_gone = [], [], [], []
        for rid, vertex in vertices.items():
            if vertex is None:
                vertex_gone.append((rid,))
            else:
                key = id_key(vertex.id)
                vertex_rows.append((rid, key, id_column(vertex.id, key), names.id(vertex.label),
                                    encode_vertex_props(vertex, names)))
        for rid, edge in edges.items():
            if edge is None:
                edge_gone.append((rid,))
            else:
                key = id_key(edge.id)
                edge_rows.append((rid, key, id_column(edge.id, key), names.id(edge.label),
                                  edge.out_v.out_edges.rid, edge.in_v.out_edges.rid,
                                  encode_edge_props(edge.props, names)))
        conn = self._connection()
        try:
            if not self._writing:
                conn.execute("BEGIN IMMEDIATE")
                self._writing = True
            names.write(conn)
            if edge_gone:
                conn.executemany("DELETE FROM edges WHERE rid = ?", edge_gone)
            if vertex_gone:
                conn.executemany("DELETE FROM vertices WHERE rid = ?", vertex_gone)
            if vertex_rows:
                conn.executemany(_UPSERT_VERTEX, vertex_rows)
            if edge_rows:
                conn.executemany(_UPSERT_EDGE, edge_rows)
            if self._next_id != self._stored_counter:
                conn.execute("INSERT INTO meta (name, value) VALUES ('counter', ?) "
                             "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (self._next_id,))
        except sqlite3.Error as error:
            raise DurableStoreError(
                f"cannot write {self._where()}: {error}; the traversal was rolled back") from error
        self._stored_counter = self._next_id
        vertices.clear()
        edges.clear()
        self._removed_vertices.clear()
        self._removed_edges.clear()

    def _unreadable(self, kind: str, rid: int, key: Any, error: BaseException) -> DurableStoreError:
        return DurableStoreError(f"{self._where()}: the {kind} row {rid} (key {key!r}) cannot be read "
                                 f"({type(error).__name__}: {error})")

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            raise DurableStoreError(f"{self._where()} is closed")
        return conn

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "the graph"

    def _write_pending(self) -> None:
        """Before a read of the file that this transaction's unwritten changes could affect."""
        if self._pending_vertices or self._pending_edges:
            self._flush()

    def _query(self, sql: str, params: Any = ()) -> list:
        """Rows of a read that must see this transaction's writes (written first)."""
        self._write_pending()
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise DurableStoreError(f"cannot read {self._where()}: {error}") from error

    def _read(self, sql: str, params: Any = ()) -> list:
        """Rows of a read that no unwritten change can affect."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise DurableStoreError(f"cannot read {self._where()}: {error}") from error

    def close(self) -> None:
        """Fold the WAL into the database file, close it and release the directory."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # the WAL stays and is replayed at the next open: nothing is lost
            finally:
                conn.close()
                self._vertices.clear()
                self._edges.clear()
                if self._on_close is not None:
                    self._on_close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __repr__(self) -> str:
        return f"DiskStore({self._where()!r}, cache_mb={self.cache_mb:g})"

    # -- ids ----------------------------------------------------------------------------------------

    def new_id(self) -> Any:
        """The next int id (every int id stored bumps the counter past itself, so no stored
        element has it: no look-up needed), or a UUID string."""
        if self.id_kind == "uuid":
            return super().new_id()
        id = self._next_id
        self._next_id = id + 1
        return id

    def bump_counter(self, used: Any) -> None:
        if isinstance(used, bool):
            return
        if isinstance(used, float) and used.is_integer():
            used = int(used)
        if isinstance(used, int) and used >= self._next_id:
            self._next_id = int(used) + 1

    # -- reading rows -------------------------------------------------------------------------------

    def _vertex(self, id: Any) -> VertexRecord | None:
        """The vertex with element id ``id``, or None."""
        if id is None or not _hashable(id):
            return None
        found = self._vertices.by_key(id)
        if found is not None:
            return found
        if self._removed_vertices and id in self._removed_vertices:
            return None
        rows = self._read(f"SELECT {_VERTEX_COLUMNS} FROM vertices WHERE key = ?", (id_key(id),))
        if not rows or rows[0][0] in self._removed_vertex_rids:
            return None
        return self._make_vertex(rows[0])

    def _edge(self, id: Any) -> EdgeRecord | None:
        if id is None or not _hashable(id):
            return None
        found = self._edges.by_key(id)
        if found is not None:
            return found
        if self._removed_edges and id in self._removed_edges:
            return None
        rows = self._read(f"SELECT {_EDGE_COLUMNS} FROM edges WHERE key = ?", (id_key(id),))
        if not rows or rows[0][0] in self._removed_edge_rids:
            return None
        return self._make_edges(rows)[0]

    def _make_vertex(self, row: tuple, hot: bool = True) -> VertexRecord:
        rid, key, column, label, props = row
        found = self._vertices.by_rid(rid)
        if found is not None:
            return found
        try:
            vertex = VertexRecord(typed_id(key, column), self._names.by_id[label])
            vertex.out_edges = DiskAdjacency(self, rid)
            vertex.in_edges = EXTERNAL
            vertex.props = decode_vertex_props(vertex, props, self._names)
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise self._unreadable("vertex", rid, key, error) from error
        self._vertices.add(rid, vertex.id, vertex, _VERTEX_BYTES + _PER_TEXT_BYTE * len(props), hot)
        return vertex

    def _vertices_by_rid(self, rids: Iterable[int]) -> dict[int, VertexRecord]:
        found: dict[int, VertexRecord] = {}
        missing = []
        by_rid = self._vertices.by_rid
        for rid in rids:
            if rid not in found:
                vertex = by_rid(rid)
                if vertex is None:
                    missing.append(rid)
                else:
                    found[rid] = vertex
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start:start + _IN_CHUNK]
            rows = self._read(f"SELECT {_VERTEX_COLUMNS} FROM vertices WHERE rid IN "
                              f"({','.join('?' * len(chunk))})", chunk)
            for row in rows:
                found[row[0]] = self._make_vertex(row)
        return found

    def _make_edges(self, rows: list, hot: bool = True) -> list[EdgeRecord]:
        """Records for edge rows (those alive already reused), their end vertices read in one go."""
        by_rid = self._edges.by_rid
        made: list[Any] = [by_rid(row[0]) for row in rows]
        ends = self._vertices_by_rid([rid for record, row in zip(made, rows) if record is None
                                      for rid in (row[4], row[5])])
        names = self._names
        for position, row in enumerate(rows):
            if made[position] is not None:
                continue
            rid, key, column, label, out_rid, in_rid, props = row
            try:
                edge = EdgeRecord(typed_id(key, column), names.by_id[label], ends[out_rid], ends[in_rid])
                edge.props = self._share(decode_edge_props(props, names))
            except (ValueError, TypeError, IndexError, KeyError) as error:
                raise self._unreadable("edge", rid, key, error) from error
            self._edges.add(rid, edge.id, edge, _EDGE_BYTES + _PER_TEXT_BYTE * len(props), hot)
            made[position] = edge
        return made

    def _edges_by_rid(self, rids: list[int]) -> list[EdgeRecord]:
        by_rid = self._edges.by_rid
        found = {}
        missing = []
        for rid in rids:
            edge = by_rid(rid)
            if edge is None:
                missing.append(rid)
            else:
                found[rid] = edge
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start:start + _IN_CHUNK]
            rows = self._query(f"SELECT {_EDGE_COLUMNS} FROM edges WHERE rid IN ({','.join('?' * len(chunk))})", chunk)
            for row, edge in zip(rows, self._make_edges(rows)):
                found[row[0]] = edge
        return [found[rid] for rid in rids if rid in found]

    # -- adjacency --------------------------------------------------------------------------------

    def _incident(self, adjacency: DiskAdjacency, direction: str, labels: tuple[str, ...]) -> list[EdgeRecord]:
        """VertexRecord.edges() of a disk vertex."""
        with self._lock:
            rids: list[int] = []
            for side in _DIRECTIONS[direction]:
                if labels:
                    for label in labels:
                        rids += self._adjacent(adjacency, side, label)
                else:
                    rids += self._all_adjacent(adjacency, side)
            return self._edges_by_rid(rids) if rids else []

    def _adjacent(self, adjacency: DiskAdjacency, side: int, label: str) -> list[int]:
        lists = adjacency.lists
        if lists is None:
            lists = adjacency.lists = {}
        found = lists.get((side, label))
        if found is not None:
            return found
        if adjacency.complete[side]:
            return []
        number = self._names.known(label)
        if number is None:  # a label never stored: no edge has it
            return []
        rows = self._query(f"SELECT {_EDGE_COLUMNS} FROM edges WHERE {_END_COLUMN[side]} = ? AND label = ? "
                           "ORDER BY rid", (adjacency.rid, number))
        found = lists[(side, label)] = [row[0] for row in rows]
        self._make_edges(rows)
        self._vertices.resize(adjacency.rid, self._vertices.estimate(adjacency.rid) + _PER_ADJACENT * len(found) + 64)
        return found

    def _all_adjacent(self, adjacency: DiskAdjacency, side: int) -> list[int]:
        """Every edge rid of one direction, by label number, then creation."""
        lists = adjacency.lists
        if lists is None:
            lists = adjacency.lists = {}
        if not adjacency.complete[side]:
            rows = self._query(f"SELECT {_EDGE_COLUMNS} FROM edges WHERE {_END_COLUMN[side]} = ? "
                               "ORDER BY label, rid", (adjacency.rid,))
            by_id = self._names.by_id
            for (direction, label) in [key for key in lists if key[0] == side]:
                del lists[(direction, label)]
            for row in rows:
                lists.setdefault((side, by_id[row[3]]), []).append(row[0])
            adjacency.complete[side] = True
            self._make_edges(rows)
            self._vertices.resize(adjacency.rid, self._vertices.estimate(adjacency.rid) + adjacency.size())
        names = self._names
        ordered = sorted((names.id(label), rids) for (direction, label), rids in lists.items() if direction == side)
        return [rid for _, rids in ordered for rid in rids]

    # -- scans ------------------------------------------------------------------------------------

    def scan_vertices(self) -> Iterator[VertexRecord]:
        """Every vertex present when the scan starts (those added meanwhile are not met), in
        creation order, read a chunk at a time; the scan's records do not displace the cache's."""
        with self._lock:
            self._write_pending()
            last = self._read("SELECT max(rid) FROM vertices")[0][0] or 0
        after = 0
        while after < last:
            with self._lock:
                rows = self._query(f"SELECT {_VERTEX_COLUMNS} FROM vertices WHERE rid > ? AND rid <= ? "
                                   f"ORDER BY rid LIMIT {SCAN_CHUNK}", (after, last))
                if not rows:
                    return
                after = rows[-1][0]
                chunk = [self._make_vertex(row, hot=False) for row in rows if row[0] not in self._removed_vertex_rids]
            for vertex in chunk:
                if self._vertices.by_rid(vertex.out_edges.rid) is vertex:  # not removed since
                    yield vertex

    def scan_edges(self) -> Iterator[EdgeRecord]:
        with self._lock:
            self._write_pending()
            last = self._read("SELECT max(rid) FROM edges")[0][0] or 0
        after = 0
        while after < last:
            with self._lock:
                rows = self._query(f"SELECT {_EDGE_COLUMNS} FROM edges WHERE rid > ? AND rid <= ? "
                                   f"ORDER BY rid LIMIT {SCAN_CHUNK}", (after, last))
                if not rows:
                    return
                after = rows[-1][0]
                rows = [row for row in rows if row[0] not in self._removed_edge_rids]
                chunk = list(zip([row[0] for row in rows], self._make_edges(rows, hot=False)))
            for rid, edge in chunk:
                if self._edges.by_rid(rid) is edge:
                    yield edge

    def _count(self, table: str) -> int:
        with self._lock:
            return self._query(f"SELECT count(*) FROM {table}")[0][0]

    def lookup(self, key: str, value: Any) -> list[VertexRecord] | None:
        """No value index: a look-up by value scans (see docs/gremlin.md)."""
        return None

    # -- vertices ----------------------------------------------------------------------------------

    def add_vertex(self, label: str, id: Any = None) -> VertexRecord:
        if id is None:
            id = self.new_id()
        elif self._vertex(id) is not None:
            raise ConflictError(f"Vertex with id already exists: {id}")
        rid = self._next_vertex_rid
        self._next_vertex_rid += 1
        vertex = VertexRecord(id, _shared(label))
        vertex.out_edges = DiskAdjacency(self, rid, complete=True)  # new: no edges, nothing to read
        vertex.in_edges = EXTERNAL
        self._vertices.add(rid, id, vertex, _VERTEX_BYTES)
        self.bump_counter(id)
        self._record(lambda: self._vertices.forget(rid, id), vertex=vertex)
        return vertex

    def remove_vertex(self, vertex: VertexRecord) -> None:
        rid = vertex.out_edges.rid
        if self._vertices.by_rid(rid) is not vertex:
            return
        for edge in vertex.edges("both"):
            self.remove_edge(edge)
        size = self._vertices.estimate(rid) or _VERTEX_BYTES
        self._vertices.forget(rid, vertex.id)
        self._pending_vertices[rid] = None
        self._removed_vertices[vertex.id] = rid
        self._removed_vertex_rids.add(rid)
        self._undo(lambda: self._vertices.add(rid, vertex.id, vertex, size))

    # -- vertex properties as elements ------------------------------------------------------------

    def vertex_properties(self, vertex: VertexRecord, keys: tuple[str, ...] = ()) -> list[VertexPropertyRecord]:
        """A vertex's properties under ``keys`` (all when empty) as elements, key by key.

        A value the vertex holds bare stays bare: its element is made here, with the id derived
        from the row (disk_rows.derived_vp_id), and found again while something holds it (one
        element per property, as for vertices). The vertex does not hold it: a vertex and its
        records would be a reference cycle, which only the collector frees once the cache lets
        the vertex go."""
        props = vertex.props
        found: list[VertexPropertyRecord] = []
        for key, held in (props.items() if not keys else [(key, props.get(key, _ABSENT)) for key in keys]):
            kind = type(held)
            if kind is VertexPropertyRecord:
                found.append(held)
            elif kind is tuple:
                found.extend(held)
            elif held is not _ABSENT:
                found.append(self._bare_element(vertex, key, held))
        return found

    def _bare_element(self, vertex: VertexRecord, key: str, value: Any) -> VertexPropertyRecord:
        slot = (vertex.out_edges.rid, key)
        ref = self._bare.get(slot)
        vp = ref() if ref is not None else None
        if vp is None or vp.value is not value or vp.vertex is not vertex:
            vp = VertexPropertyRecord(derived_vp_id(vertex.id, key, value), key, value, vertex)
            ref = _BareRef(vp, self._bare_gone)
            ref.slot = slot
            self._bare[slot] = ref
        return vp

    def _bare_gone(self, ref: "_BareRef") -> None:
        if self._bare.get(ref.slot) is ref:
            del self._bare[ref.slot]

    def _held_bare(self, vp: VertexPropertyRecord) -> bool:
        """``vp`` is the element of a value its vertex holds bare (not a record it holds)."""
        held = vp.vertex.props.get(vp.key, _ABSENT)
        if held is _ABSENT or type(held) in _HELD_AS_RECORDS:
            return False
        ref = self._bare.get((vp.vertex.out_edges.rid, vp.key))
        return ref is not None and ref() is vp

    def _record_for(self, vertex: VertexRecord, key: str, value: Any) -> VertexPropertyRecord:
        # a second value joins one held bare: its element (if something holds it) becomes the record
        return self._bare_element(vertex, key, value)

    def remove_vertex_property(self, vp: VertexPropertyRecord) -> None:
        if self._held_bare(vp):
            self._set_props(vp.vertex, vp.vertex.props.without(vp.key))
        else:
            super().remove_vertex_property(vp)

    def set_meta_property(self, vp: VertexPropertyRecord, key: str, value: Any) -> None:
        if self._held_bare(vp):  # a record from now on: the vertex holds it, with its id
            self._set_props(vp.vertex, vp.vertex.props.with_(vp.key, vp))
        super().set_meta_property(vp, key, value)

    def remove_meta_property(self, vp: VertexPropertyRecord, key: str) -> None:
        if not self._held_bare(vp):  # an element of a bare value has no meta-property
            super().remove_meta_property(vp, key)

    # -- edges ------------------------------------------------------------------------------------

    def _live_rid(self, vertex: VertexRecord) -> int | None:
        adjacency = vertex.out_edges
        if type(adjacency) is not DiskAdjacency or adjacency.store is not self:
            return None
        return adjacency.rid if self._vertices.by_rid(adjacency.rid) is vertex else None

    def add_edge(self, label: str, out_v: VertexRecord, in_v: VertexRecord, id: Any = None) -> EdgeRecord:
        if id is None:
            id = self.new_id()
        elif self._edge(id) is not None:
            raise ConflictError(f"Edge with id already exists: {id}")
        if self._live_rid(out_v) is None or self._live_rid(in_v) is None:
            raise ElementNotFound("Cannot add an edge to a vertex that has been removed")
        label = _shared(label)
        edge = EdgeRecord(id, label, out_v, in_v)
        rid = self._next_edge_rid
        self._next_edge_rid += 1
        self._edges.add(rid, id, edge, _EDGE_BYTES)
        out_v.out_edges.link(_OUT, label, rid)
        in_v.out_edges.link(_IN, label, rid)
        self.bump_counter(id)

        def undo() -> None:
            self._edges.forget(rid, id)
            out_v.out_edges.unlink(_OUT, label, rid)
            in_v.out_edges.unlink(_IN, label, rid)
        self._record(undo, edge=edge)
        return edge

    def remove_edge(self, edge: EdgeRecord) -> None:
        rid = self._edges.rid_of(edge.id)
        if rid is None or self._edges.by_rid(rid) is not edge:
            return
        size = self._edges.estimate(rid) or _EDGE_BYTES
        self._edges.forget(rid, edge.id)
        edge.out_v.out_edges.unlink(_OUT, edge.label, rid)
        edge.in_v.out_edges.unlink(_IN, edge.label, rid)
        self._pending_edges[rid] = None
        self._removed_edges[edge.id] = rid
        self._removed_edge_rids.add(rid)

        def undo() -> None:
            self._edges.add(rid, edge.id, edge, size)
            edge.out_v.out_edges.link(_OUT, edge.label, rid)
            edge.in_v.out_edges.link(_IN, edge.label, rid)
        self._undo(undo)

    # -- what the cache holds --------------------------------------------------------------------

    def cache_stats(self) -> dict[str, int]:
        """Records alive and hot, and the hot ones' estimated bytes, per kind."""
        return {"vertices_alive": len(self._vertices), "vertices_hot": self._vertices.hot_count,
                "vertex_bytes": self._vertices.hot_bytes, "edges_alive": len(self._edges),
                "edges_hot": self._edges.hot_count, "edge_bytes": self._edges.hot_bytes,
                "evicted": self._vertices.evicted + self._edges.evicted}

