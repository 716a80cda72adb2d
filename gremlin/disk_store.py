"""The durable store: the graph served from its SQLite file, with a bounded cache of records.

The file is the primary copy (gremlin/disk_rows.py: one row per element, edges indexed by end
vertex and label). Nothing is loaded at open; a record is made from its row the first time a
traversal reaches the element and kept in a cache bounded by ``cache_mb``
(gremlin/record_cache.py), which also guarantees one record per element while anything holds
it. A vertex's edges are read per direction and label, on first use, as one index range
(gremlin/disk_adjacency.py); vertices are found by property value through the value indexes kept
in the file (gremlin/disk_index.py).

Transactions: the undo log (GraphStore) keeps the records right; the rows a transaction
changes are gathered and written in one SQLite transaction before the traversal's result is
returned (``_commit``), so a traversal is on disk whole or not at all and durable on return.
Reads that go to the file while a transaction has unwritten changes (a vertex's edges read for
the first time, a scan) first write them, inside that same SQLite transaction, so the traversal
reads its own writes; a failure rolls the SQLite transaction back with the records. Reads never
write: a vertex property held bare and read as an element gets an id derived from its value
(GraphStore.vertex_properties, as in every store), not a stored one.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .disk_adjacency import IN, OUT, AdjacencyReads, DiskAdjacency
from .disk_index import ValueIndexes
from .disk_rows import (EDGE_COLUMNS, VERTEX_COLUMNS, Names, decode_edge_labels, decode_edge_props,
                        decode_vertex_props, encode_edge_labels, encode_edge_props, encode_vertex_props, id_column,
                        typed_id)
from .disk_snapshot import ParentLink, SnapshotReader
from .element_ids import id_key
from .errors import ConflictError, ElementNotFound, GremlinError
from .property_table import EMPTY
from .record_cache import RecordCache
from .storage import EXTERNAL, EdgeRecord, GraphStore, VertexRecord, _shared, _Transaction

__all__ = ["DiskStore", "DiskAdjacency", "DEFAULT_CACHE_MB", "DurableStoreError"]

#: The default bound on what the store keeps in memory, in MiB (records and SQLite's pages).
DEFAULT_CACHE_MB = 256
#: Rows a scan reads per query: each query sees the writes made while the scan runs.
SCAN_CHUNK = 256
#: The most ids one ``rid IN (...)`` query names (SQLite allows 999 parameters in old builds).
_IN_CHUNK = 500
#: Ids remembered as absent per kind (ingest asks for many that are not there yet: a new
#: event's, a suppression's), so that asking again costs no read of the file.
ABSENT_IDS = 50_000

_UPSERT_VERTEX = ("INSERT INTO vertices (rid, key, id, label, props, edges) VALUES (?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (rid) DO UPDATE SET props = excluded.props, edges = excluded.edges")
_UPSERT_EDGE = ("INSERT INTO edges (rid, key, id, label, out_rid, in_rid, props) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (rid) DO UPDATE SET props = excluded.props")

# Estimated bytes a record holds beyond its row's text (the record, its tables, the cache's
# references to it); calibrated with tracemalloc (docs/gremlin.md, "The durable store").
_VERTEX_BYTES = 480
_EDGE_BYTES = 400
_PER_TEXT_BYTE = 2
#: The records' share of the cache that edge records get: what they take of the records a walk
#: makes (identity's neighbourhoods at 1.18M identifiers: 2.4 edges a vertex, 54% of the bytes;
#: docs/gremlin.md, "The durable store"). Two thirds went to vertices before, so edges filled
#: their third and were let go while a third of the vertices' share lay unused.
_EDGE_SHARE = 0.55


class DurableStoreError(GremlinError):
    """The graph directory cannot be opened, read or written."""


class _Table:
    """``store.vertices`` / ``store.edges``: element id -> record, read like a dict."""

    def __init__(self, store: "DiskStore", kind: str):
        self._store = store
        self._kind = kind
        # straight to the look-up (a partial is called in C): one Python frame per V(id)
        self.get = partial(store._by_id, store._vertex_kind if kind == "V" else store._edge_kind)

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


class DiskStore(AdjacencyReads, ValueIndexes, GraphStore):
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
        # the rest, split as a walk fills them (_EDGE_SHARE): a kind whose share is full lets its
        # records go, and the walk reads them again, however much room the other kind has left
        conn.execute(f"PRAGMA cache_size = {-max(1024, budget // 4 // 1024)}")
        records = budget * 3 // 4
        self._vertices = RecordCache(records - int(records * _EDGE_SHARE), _VERTEX_BYTES + 400)
        self._edges = RecordCache(int(records * _EDGE_SHARE), _EDGE_BYTES + 100)
        self._names = Names()
        self._names.load(conn)
        self._next_vertex_rid = (conn.execute("SELECT max(rid) FROM vertices").fetchone()[0] or 0) + 1
        self._next_edge_rid = (conn.execute("SELECT max(rid) FROM edges").fetchone()[0] or 0) + 1
        row = conn.execute("SELECT value FROM meta WHERE name = 'counter'").fetchone()
        self._next_id = self._stored_counter = int(row[0]) if row else 0
        # value indexes: key -> its name number, for the keys looked up by value so far; the keys
        # whose index narrowed nothing (see lookup); changes to write, (add?, key number, value, rid)
        self._indexed: dict[str, int] = {}
        self._unselective: set[str] = set()
        self._load_indexes(conn)
        self._index_changes: list[tuple[bool, int, Any, int]] = []
        # What the running transaction has changed and not written yet (_flush writes it):
        # vertex rid -> the vertex, or None to delete its row; edges to write, by identity; edge
        # rids to delete
        self._pending_vertices: dict[int, VertexRecord | None] = {}
        self._pending_edges: dict[int, EdgeRecord] = {}
        self._deleted_edges: list[int] = []
        # element id -> rid of what the transaction removed and has not written yet (the row is
        # still in the file: a look-up by id must not find it)
        self._removed_vertices: dict[Any, int] = {}
        self._removed_edges: dict[Any, int] = {}
        # rids the transaction removed, written or not (a scan's chunk may still list them)
        self._removed_vertex_rids: set[int] = set()
        self._removed_edge_rids: set[int] = set()
        self._absent_vertices: OrderedDict[Any, None] = OrderedDict()
        self._absent_edges: OrderedDict[Any, None] = OrderedDict()
        self._vertex_kind = _Kind(self._vertices, self._absent_vertices, self._removed_vertices,
                                  self._removed_vertex_rids, f"SELECT {VERTEX_COLUMNS} FROM vertices WHERE key = ?",
                                  self._make_vertex)
        self._edge_kind = _Kind(self._edges, self._absent_edges, self._removed_edges, self._removed_edge_rids,
                                f"SELECT {EDGE_COLUMNS} FROM edges WHERE key = ?", lambda row: self._make_edges([row])[0])
        self._writing = False  # an SQLite transaction is open
        #: a copy in a forked child (read_through): it reads through its parent and writes nothing
        self._read_only = False
        self.vertices = _Table(self, "V")
        self.edges = _Table(self, "E")

    # -- transactions ---------------------------------------------------------------------------

    def _record(self, undo: Callable[[], None], vertex: Any = None, edge: Any = None) -> None:
        txn = self._txn
        if txn is None:
            raise RuntimeError("graph mutations must run inside Store.transaction()")
        txn.undo.append(undo)
        if vertex is not None:
            adjacency = vertex.out_edges
            if adjacency.live:  # else removed: its row goes, whatever changed
                self._pending_vertices[adjacency.rid] = vertex
        if edge is not None:
            self._pending_edges[id(edge)] = edge

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
        self._deleted_edges.clear()
        self._index_changes.clear()
        self._forget_removed()
        # what the file holds is the last commit's again: a row this transaction deleted (and
        # found absent since) is back, and the counter written with its rows is undone
        self._absent_vertices.clear()
        self._absent_edges.clear()
        self._stored_counter = -1  # written with the next rows
        try:
            self._names.load(self._connection())  # names first given in this transaction are not stored
            self._load_indexes(self._connection())  # nor indexes first built in it
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
        vertices, edges, deleted = self._pending_vertices, self._pending_edges, self._deleted_edges
        if not vertices and not edges and not deleted and not self._index_changes:
            return  # (the counter is written with rows: ids a failed traversal took need no row)
        names = self._names
        numbers = names.numbers
        vertex_rows, vertex_gone, edge_rows = [], [], []
        for rid, vertex in vertices.items():
            if vertex is None:
                vertex_gone.append((rid,))
            else:
                key = id_key(vertex.id)
                vertex_rows.append((rid, key, id_column(vertex.id, key), numbers[vertex.label],
                                    encode_vertex_props(vertex, names), self._labels_text(vertex.out_edges)))
        keys = self._edges.keys
        for edge in edges.values():
            ref = keys.get(edge.id)
            if ref is None or ref() is not edge:
                continue  # removed (its row, if any, is among the deleted)
            key = id_key(edge.id)
            edge_rows.append((ref.rid, key, id_column(edge.id, key), numbers[edge.label],
                              edge.out_v.out_edges.rid, edge.in_v.out_edges.rid,
                              encode_edge_props(edge.props, names)))
        conn = self._connection()
        try:
            if not self._writing:
                conn.execute("BEGIN IMMEDIATE")
                self._writing = True
            names.write(conn)
            if deleted:
                conn.executemany("DELETE FROM edges WHERE rid = ?", [(rid,) for rid in deleted])
            if vertex_gone:
                conn.executemany("DELETE FROM vertices WHERE rid = ?", vertex_gone)
            if vertex_rows:
                conn.executemany(_UPSERT_VERTEX, vertex_rows)
            if edge_rows:
                conn.executemany(_UPSERT_EDGE, edge_rows)
            for add, key, value, rid in self._index_changes:
                conn.execute("INSERT OR IGNORE INTO value_index (key, value, rid) VALUES (?, ?, ?)" if add else
                             "DELETE FROM value_index WHERE key = ? AND value = ? AND rid = ?", (key, value, rid))
            if self._next_id != self._stored_counter:
                conn.execute("INSERT INTO meta (name, value) VALUES ('counter', ?) "
                             "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (self._next_id,))
        except sqlite3.Error as error:
            raise DurableStoreError(
                f"cannot write {self._where()}: {error}; the traversal was rolled back") from error
        self._stored_counter = self._next_id
        vertices.clear()
        edges.clear()
        deleted.clear()
        self._index_changes.clear()
        self._removed_vertices.clear()
        self._removed_edges.clear()

    def _labels_text(self, adjacency: DiskAdjacency) -> str | None:
        """A vertex row's ``edges`` column: most vertices written have the labels they were
        read or last written with (their properties changed), so the text is kept, not encoded
        again. (A label numbered by a transaction that then failed cannot be in a kept text:
        the failed transaction's undo put back the labels from before it.)"""
        labels = adjacency.labels
        kept = adjacency.labels_text
        if kept is not None and kept[0] is labels:
            return kept[1]
        text = encode_edge_labels(labels, self._names)
        adjacency.labels_text = (labels, text)
        return text

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
        if self._pending_vertices or self._pending_edges or self._deleted_edges or self._index_changes:
            self._flush()

    def _query(self, sql: str, params: Any = ()) -> list:
        """Rows of a read that must see this transaction's writes (written first)."""
        self._write_pending()
        return self._read(sql, params)

    def _read(self, sql: str, params: Any = ()) -> list:
        """Rows of a read that no unwritten change can affect."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise DurableStoreError(f"cannot read {self._where()}: {error}") from error

    def forked_reader(self) -> SnapshotReader:
        """(a read-only snapshot of the file, which the child reads through: gremlin.disk_snapshot)"""
        return SnapshotReader(self)

    def read_through(self, link: ParentLink) -> None:
        """In a child process forked from this store's (gremlin.disk_snapshot): read through
        ``link`` (what ``sqlite3.Connection`` does for reading) instead of the inherited
        connection, which must never be used, nor closed, in the child; write nothing."""
        self._inherited = self._conn
        self._conn = link
        self._read_only = True

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

    def _vertex(self, id: Any, default: Any = None) -> Any:
        """The vertex with element id ``id``, or ``default`` (``store.vertices.get``)."""
        return self._by_id(self._vertex_kind, id, default)

    def _edge(self, id: Any, default: Any = None) -> Any:
        """The edge with element id ``id``, or ``default`` (``store.edges.get``)."""
        return self._by_id(self._edge_kind, id, default)

    def _by_id(self, kind: "_Kind", id: Any, default: Any = None) -> Any:
        # every V(id) and E(id) comes here (an ingest batch: hundreds of thousands of times), most
        # for a live record: that path is one frame, RecordCache.used_now inlined
        cache = kind.cache
        try:
            ref = cache.keys.get(id)
        except TypeError:  # an unhashable id names no element
            return default
        if ref is not None:
            record = ref()
            if record is not None:
                rid = ref.rid
                if rid in cache.hot:
                    cache.used.add(rid)
                else:
                    cache.heat(rid, record)
                return record
        if id is None or id in kind.absent or (kind.removed and id in kind.removed):
            return default
        with self._lock:
            rows = self._read(kind.by_key, (id_key(id),))
            if not rows or rows[0][0] in kind.removed_rids:
                _remember(kind.absent, id)
                return default
            return kind.make(rows[0])

    def read_ids(self, kind: str, ids: list) -> None:
        """GraphStore.read_ids: the ids neither cached nor known absent, read in one ``key IN
        (...)`` query per ``_IN_CHUNK``; those found made records, the others remembered absent,
        as ``_by_id`` would one read each (ingest's write asks for every element it creates, to
        fail on one that exists: about 7 reads an event, one by one)."""
        vertices = kind == "V"
        which = self._vertex_kind if vertices else self._edge_kind
        keys, absent, removed = which.cache.keys, which.absent, which.removed
        try:  # most are cached (a read's, a write's own elements): no call of ours for those
            unknown = [id for id in ids if (ref := keys.get(id)) is None or ref() is None]
        except TypeError:  # an unhashable id (it names no element): all left to the look-ups by id
            return
        missing: dict[Any, list] = {}  # key column -> the ids asked for with it (5 and 5.0 share one)
        for id in unknown:
            if id is None or id in absent or (removed and id in removed):
                continue
            try:
                missing.setdefault(id_key(id), []).append(id)
            except GremlinError:
                continue  # an id the file cannot hold: the look-up by id answers it
        if len(missing) < 2:
            return  # one read either way
        table, columns = ("vertices", VERTEX_COLUMNS) if vertices else ("edges", EDGE_COLUMNS)
        wanted = list(missing)
        with self._lock:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                rows = [row for row in self._read(f"SELECT {columns} FROM {table} WHERE key IN "
                                                  f"({','.join('?' * len(chunk))})", chunk)
                        if row[0] not in which.removed_rids]
                if vertices:
                    for row in rows:
                        self._make_vertex(row)
                else:
                    self._make_edges(rows)
                for row in rows:
                    missing.pop(row[1], None)
            for found_none in missing.values():
                for id in found_none:
                    _remember(absent, id)

    def _make_vertex(self, row: tuple, hot: bool = True) -> VertexRecord:
        rid, key, column, label, props, edges = row
        found = self._vertices.peek_rid(rid)
        if found is not None:
            return found
        try:
            vertex = VertexRecord(typed_id(key, column), self._names.by_id[label])
            vertex.out_edges = DiskAdjacency(self, rid, decode_edge_labels(edges, self._names), edges)
            vertex.in_edges = EXTERNAL
            vertex.props = decode_vertex_props(vertex, props, self._names)
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise self._unreadable("vertex", rid, key, error) from error
        self._vertices.add(rid, vertex.id, vertex, _VERTEX_BYTES + _PER_TEXT_BYTE * len(props), hot)
        return vertex

    def _vertices_by_rid(self, rids: Iterable[int]) -> dict[int, VertexRecord]:
        found: dict[int, VertexRecord] = {}
        missing = []
        get = self._vertices.get_rid
        for rid in rids:
            if rid not in found:
                vertex = get(rid)
                if vertex is None:
                    missing.append(rid)
                else:
                    found[rid] = vertex
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start:start + _IN_CHUNK]
            rows = self._read(f"SELECT {VERTEX_COLUMNS} FROM vertices WHERE rid IN "
                              f"({','.join('?' * len(chunk))})", chunk)
            for row in rows:
                found[row[0]] = self._make_vertex(row)
        return found

    def _make_edges(self, rows: list, hot: bool = True) -> list[EdgeRecord]:
        """Records for edge rows (those alive already reused), their end vertices read in one go."""
        peek = self._edges.peek_rid
        made: list[Any] = [peek(row[0]) for row in rows]
        ends = self._vertices_by_rid([rid for record, row in zip(made, rows) if record is None
                                      for rid in (row[4], row[5])])
        names = self._names
        for position, row in enumerate(rows):
            if made[position] is not None:
                continue
            rid, key, column, label, out_rid, in_rid, props = row
            try:
                edge = EdgeRecord(typed_id(key, column), names.by_id[label], ends[out_rid], ends[in_rid])
                edge.props = self._one_copy(decode_edge_props(props, names))
            except (ValueError, TypeError, IndexError, KeyError) as error:
                raise self._unreadable("edge", rid, key, error) from error
            self._edges.add(rid, edge.id, edge, _EDGE_BYTES + _PER_TEXT_BYTE * len(props), hot)
            made[position] = edge
        return made

    def _edges_by_rid(self, rids: list[int]) -> list[EdgeRecord]:
        """The edge records of ``rids``, in order (a walk's hot path: live ones without a call each)."""
        cache = self._edges
        refs, hot, used = cache.refs, cache.hot, cache.used
        found: list[Any] = []
        missing = None
        for rid in rids:
            ref = refs.get(rid)
            edge = ref() if ref is not None else None
            if edge is None:
                if missing is None:
                    missing = []
                missing.append(rid)
            elif rid in hot:
                used.add(rid)
            else:
                cache.heat(rid, edge)
            found.append(edge)
        if missing is None:
            return found
        loaded: dict[int, EdgeRecord] = {}
        with self._lock:
            for start in range(0, len(missing), _IN_CHUNK):
                chunk = missing[start:start + _IN_CHUNK]
                rows = self._query(f"SELECT {EDGE_COLUMNS} FROM edges WHERE rid IN ({','.join('?' * len(chunk))})",
                                   chunk)
                for row, edge in zip(rows, self._make_edges(rows)):
                    loaded[row[0]] = edge
        return [edge if edge is not None else loaded[rid] for rid, edge in zip(rids, found)
                if edge is not None or rid in loaded]

    # -- scans ------------------------------------------------------------------------------------

    def scan_vertices(self) -> Iterator[VertexRecord]:
        """Every vertex present when the scan starts (those added meanwhile are not met), in
        creation order, read a chunk at a time; the scan's records do not displace the cache's."""
        for rids, vertices in self._scan("vertices", VERTEX_COLUMNS, self._removed_vertex_rids,
                                         lambda rows: [self._make_vertex(row, hot=False) for row in rows]):
            for vertex in vertices:
                if vertex.out_edges.live:  # not removed since
                    yield vertex

    def scan_edges(self) -> Iterator[EdgeRecord]:
        for rids, edges in self._scan("edges", EDGE_COLUMNS, self._removed_edge_rids,
                                      lambda rows: self._make_edges(rows, hot=False)):
            for rid, edge in zip(rids, edges):
                if rid not in self._removed_edge_rids:  # not removed since
                    yield edge

    def _scan(self, table: str, columns: str, removed: set[int],
              make: Callable[[list], list]) -> Iterator[tuple[list[int], list]]:
        """The rows of ``table`` up to its last rid now, a chunk at a time (each read after the
        writes made meanwhile), as (rids, records), those removed so far left out."""
        with self._lock:
            self._write_pending()
            last = self._read(f"SELECT max(rid) FROM {table}")[0][0] or 0
        after = 0
        while after < last:
            with self._lock:
                rows = self._query(f"SELECT {columns} FROM {table} WHERE rid > ? AND rid <= ? "
                                   f"ORDER BY rid LIMIT {SCAN_CHUNK}", (after, last))
                if not rows:
                    return
                after = rows[-1][0]
                rows = [row for row in rows if row[0] not in removed]
                chunk = ([row[0] for row in rows], make(rows))
            yield chunk

    def label_counts(self) -> dict[str, int]:
        """(one pass over each table in SQLite, without making records)"""
        with self._lock:
            by_id = self._names.by_id
            counts: dict[str, int] = {}
            for table in ("vertices", "edges"):
                for label, count in self._query(f"SELECT label, count(*) FROM {table} GROUP BY label"):
                    counts[by_id[label]] = counts.get(by_id[label], 0) + count
            return counts

    def _count(self, table: str) -> int:
        with self._lock:
            return self._query(f"SELECT count(*) FROM {table}")[0][0]

    # -- vertices ----------------------------------------------------------------------------------

    def add_vertex(self, label: str, id: Any = None) -> VertexRecord:
        if id is None:
            id = self.new_id()
        elif self._vertex(id) is not None:
            raise ConflictError(f"Vertex with id already exists: {id}")
        rid = self._next_vertex_rid
        self._next_vertex_rid += 1
        vertex = VertexRecord(id, _shared(label))
        vertex.out_edges = DiskAdjacency(self, rid)  # no edges yet: nothing to read
        vertex.in_edges = EXTERNAL
        self._vertices.add(rid, id, vertex, _VERTEX_BYTES)
        self._absent_vertices.pop(id, None)
        self.bump_counter(id)

        def undo() -> None:
            self._vertices.forget(rid, id)
            vertex.out_edges.live = False
        self._record(undo, vertex=vertex)
        return vertex

    def remove_vertex(self, vertex: VertexRecord) -> None:
        adjacency = vertex.out_edges
        if not adjacency.live or adjacency.store is not self:
            return
        for edge in vertex.edges("both"):
            self.remove_edge(edge)
        rid = adjacency.rid
        size = self._vertices.estimate(rid) or _VERTEX_BYTES
        self._reindex(vertex, vertex.props, EMPTY)  # its values leave the indexes
        self._vertices.forget(rid, vertex.id)
        adjacency.live = False
        self._pending_vertices[rid] = None
        self._removed_vertices[vertex.id] = rid
        self._removed_vertex_rids.add(rid)

        def undo() -> None:
            self._vertices.add(rid, vertex.id, vertex, size)
            adjacency.live = True
        self._undo(undo)

    # -- edges ------------------------------------------------------------------------------------

    def _live(self, vertex: VertexRecord) -> bool:
        adjacency = vertex.out_edges
        return type(adjacency) is DiskAdjacency and adjacency.store is self and adjacency.live

    def add_edge(self, label: str, out_v: VertexRecord, in_v: VertexRecord, id: Any = None) -> EdgeRecord:
        if id is None:
            id = self.new_id()
        elif self._edge(id) is not None:
            raise ConflictError(f"Edge with id already exists: {id}")
        if not self._live(out_v) or not self._live(in_v):
            raise ElementNotFound("Cannot add an edge to a vertex that has been removed")
        label = _shared(label)
        edge = EdgeRecord(id, label, out_v, in_v)
        rid = self._next_edge_rid
        self._next_edge_rid += 1
        self._edges.add(rid, id, edge, _EDGE_BYTES)
        self._absent_edges.pop(id, None)
        self.bump_counter(id)
        self._link(edge, rid)
        self._record(lambda: self._edges.forget(rid, id), edge=edge)
        return edge

    def _link(self, edge: EdgeRecord, rid: int) -> None:
        """``edge`` (row ``rid``) in its ends' adjacency; an end that gets its first edge of the
        label on that side has its row written (its labels), and all of it is undone with the edge."""
        ends = ((edge.out_v, OUT), (edge.in_v, IN))
        for vertex, side in ends:
            adjacency = vertex.out_edges
            labels = adjacency.labels
            if adjacency.link(side, edge.label, rid):
                self._record(lambda adjacency=adjacency, labels=labels: setattr(adjacency, "labels", labels),
                             vertex=vertex)

        def undo() -> None:
            for vertex, side in ends:
                vertex.out_edges.unlink(side, edge.label, rid)
        self._undo(undo)

    def remove_edge(self, edge: EdgeRecord) -> None:
        rid = self._edges.rid_of(edge.id)
        if rid is None or self._edges.peek_rid(rid) is not edge:
            return
        size = self._edges.estimate(rid) or _EDGE_BYTES
        self._edges.forget(rid, edge.id)
        edge.out_v.out_edges.unlink(OUT, edge.label, rid)
        edge.in_v.out_edges.unlink(IN, edge.label, rid)
        self._deleted_edges.append(rid)
        self._removed_edges[edge.id] = rid
        self._removed_edge_rids.add(rid)

        def undo() -> None:
            self._edges.add(rid, edge.id, edge, size)
            edge.out_v.out_edges.link(OUT, edge.label, rid)  # its labels still hold edge.label
            edge.in_v.out_edges.link(IN, edge.label, rid)
        self._undo(undo)

    # -- what the cache holds --------------------------------------------------------------------

    def cache_stats(self) -> dict[str, int]:
        """Records alive and hot, and the hot ones' estimated bytes, per kind."""
        return {"vertices_alive": len(self._vertices), "vertices_hot": self._vertices.hot_count,
                "vertex_bytes": self._vertices.hot_bytes, "edges_alive": len(self._edges),
                "edges_hot": self._edges.hot_count, "edge_bytes": self._edges.hot_bytes,
                "evicted": self._vertices.evicted + self._edges.evicted}


class _Kind:
    """What looking a vertex or an edge up by id needs: its cache, the ids known absent, those
    the running transaction removed (by id and rid), the query by key, and how a row becomes a
    record."""

    __slots__ = ("cache", "absent", "removed", "removed_rids", "by_key", "make")

    def __init__(self, cache: RecordCache, absent: OrderedDict, removed: dict, removed_rids: set, by_key: str,
                 make: Callable[[tuple], Any]):
        self.cache, self.absent, self.removed, self.removed_rids = cache, absent, removed, removed_rids
        self.by_key, self.make = by_key, make


def _remember(absent: OrderedDict, id: Any) -> None:
    absent[id] = None
    if len(absent) > ABSENT_IDS:
        absent.popitem(last=False)
