"""The durable in-process graph: a Store whose every committed traversal lands in SQLite.

    store = open_store("/var/lib/identity/graph")           # or gremlin.connect("file:///...")

The directory holds ``graph.sqlite3`` (WAL mode) and ``graph.lock``. The whole graph lives in
memory, as for ``memory://``; SQLite is the journal, read once at open and written at every
commit, never queried by traversals.

Schema: one row per element, ``vertices(key, body)`` and ``edges(key, body)``, ``body`` being
the element's current state as one tagged-JSON array (see :mod:`gremlin.codec`)::

    vertex: [id, label, [[key, vp_id, value], [key, vp_id, value, [meta_key, meta_value, ...]], ...]]
    edge:   [id, label, out_id, in_id, [key, value, key, value, ...]]

``vp_id`` is null for a vertex property whose id nothing has read yet: the store gives one
only when a traversal asks for the property as an element (see ``Store.vertex_properties``),
and that write is journaled like any other, so an id once read survives a reopen.

Why this shape: the store reports which element ids a transaction touched, not how, so a
commit writes the current state of each touched element (or deletes its row); one row per
element makes that a single upsert with no diffing. Reopening is two sequential scans with
one JSON parse per element, no joins. The cost is that changing one property rewrites the
vertex's whole row, which suits identity vertices (a handful of properties); edges are
separate rows, so a high-degree vertex is never rewritten for its edges. ``key`` is a
canonical form of the id in which ids Python treats as one dict key (``5``, ``long(5)``,
``5.0``) coincide, so a delete finds the row whichever spelling the change set holds. Rows
are upserted in place and reloaded ``ORDER BY rowid``, so elements created by different
transactions keep their order across a restart (within one transaction the order is that
of ``Changes``, an unordered set).

Durability (``synchronous``): each commit is one SQLite transaction, so a traversal is on
disk whole or not at all. In WAL mode ``NORMAL`` (the default) survives the process being
killed at any point, because a commit has been handed to the OS before ``commit`` returns;
a power loss or kernel crash may lose the last transactions (never corrupt the file).
``FULL`` fsyncs the WAL at every commit and survives power loss too, at several times the
cost per commit (see ``benchmarks/durable_cost.py``). Choose with ``?synchronous=FULL``.

Only one process may open a directory: an exclusive ``flock`` on ``graph.lock`` (released by
the OS if the process dies, so a crash leaves no stale lock). SQLite itself would let two
writers interleave commits against two diverging in-memory graphs.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from . import codec
from .errors import GremlinError
from .heap import collector_paused, graph_loaded
from .storage import Changes, EdgeRecord, Journal, Store, VertexPropertyRecord, VertexRecord

__all__ = ["SqliteJournal", "open_store", "DurableStoreError", "GraphInUseError", "DATABASE_NAME"]

DATABASE_NAME = "graph.sqlite3"
LOCK_NAME = "graph.lock"
FORMAT_VERSION = 1
SYNCHRONOUS_MODES = ("NORMAL", "FULL", "EXTRA")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vertices (key TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (key TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
"""
_UPSERT = "INSERT INTO {table} (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body"


class DurableStoreError(GremlinError):
    """The graph directory cannot be opened, read or written."""


class GraphInUseError(DurableStoreError):
    """Another process (or another open store in this one) holds the graph directory."""


# -- the directory lock ---------------------------------------------------------------------

class _DirectoryLock:
    """An exclusive, non-blocking OS lock on ``graph.lock``; the file records the holder's pid."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_NAME
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock_fd(self._fd)
        except OSError:
            os.close(self._fd)
            self._fd = None
            holder = _read_pid(self.path)
            who = f" (pid {holder})" if holder else ""
            raise GraphInUseError(f"graph directory {directory} is in use by another process{who}") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the lock


def _lock_fd(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_pid(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


# -- row encoding ------------------------------------------------------------------------------

def row_key(id: Any) -> str:
    """The canonical row key of an element id: ids equal as Python dict keys share one key."""
    if isinstance(id, int):  # int, bool, long and the other gremlinpython int types
        return str(int(id))
    if isinstance(id, float) and id.is_integer():
        return str(int(id))
    return codec.dumps(id)


def _vertex_body(vertex: VertexRecord) -> str:
    to_json = codec.to_json
    properties = [_property_entry(vp, to_json) for vp in vertex.stored_properties()]
    return codec.dumps_encoded([to_json(vertex.id), vertex.label, properties])


def _property_entry(vp: VertexPropertyRecord, to_json: Any) -> list:
    if not vp.meta:
        return [vp.key, to_json(vp.id), to_json(vp.value)]
    meta = []
    for meta_key, meta_value in vp.meta.items():
        meta.append(meta_key)
        meta.append(to_json(meta_value))
    return [vp.key, to_json(vp.id), to_json(vp.value), meta]


def _edge_body(edge: EdgeRecord) -> str:
    to_json = codec.to_json
    properties = []
    for key, value in edge.props.items():
        properties.append(key)
        properties.append(to_json(value))
    return codec.dumps_encoded([to_json(edge.id), edge.label, to_json(edge.out_v.id),
                                to_json(edge.in_v.id), properties])


def _bare_values(entries: list) -> bool:
    """Every entry a value without an id given yet or meta-properties, each key once: what
    add_first_vertex_properties() holds as it would hold them one at a time."""
    return all(len(entry) == 3 and entry[1] is None for entry in entries) and \
        len({entry[0] for entry in entries}) == len(entries)


def _pairs(flat: list) -> Iterable[tuple[Any, Any]]:
    return zip(flat[0::2], flat[1::2])


def _share(value: Any, shared: dict[str, str]) -> Any:
    """One string object per distinct string value of a load: each row is parsed on its own,
    and without this every element held its own copy of the values they repeat (a tenant,
    a type, an event id named by several links)."""
    return shared.setdefault(value, value) if type(value) is str else value


# -- the journal -------------------------------------------------------------------------------

class SqliteJournal(Journal):
    """A :class:`~gremlin.storage.Journal` on ``<path>/graph.sqlite3`` in WAL mode."""

    def __init__(self, path: str | os.PathLike, *, synchronous: str = "NORMAL"):
        mode = str(synchronous).upper()
        if mode not in SYNCHRONOUS_MODES:
            raise DurableStoreError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {synchronous!r}")
        self.directory = Path(path).expanduser().absolute()
        self.synchronous = mode
        self._mutex = threading.Lock()
        try:  # the graph holds every tenant's data: its owner's alone (files 0600, directories 0700)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise DurableStoreError(f"cannot create graph directory {self.directory}: {error}") from error
        self._lock = _DirectoryLock(self.directory)
        try:
            self._conn: sqlite3.Connection | None = self._connect()
        except BaseException:
            self._lock.release()
            raise

    def _connect(self) -> sqlite3.Connection:
        database = self.directory / DATABASE_NAME
        try:
            # SQLite creates a database 0644 (less the umask) and gives its -wal and -shm files the
            # database's mode: made here first, all three are 0600
            os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
            # Autocommit mode: transactions are begun and ended explicitly, one per commit().
            conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, OSError) as error:
            raise DurableStoreError(f"cannot open {database}: {error}") from error
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > FORMAT_VERSION:
                raise DurableStoreError(
                    f"{database} has format {version}; this version reads format {FORMAT_VERSION} or older")
            journal_mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(journal_mode).lower() != "wal":
                raise DurableStoreError(f"{database}: the file system does not support WAL mode")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.executescript(_SCHEMA)
            if version == 0:
                conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        except sqlite3.Error as error:
            conn.close()
            raise DurableStoreError(f"cannot open {database}: {error}") from error
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DurableStoreError(f"graph directory {self.directory} is closed")
        return self._conn

    # -- Journal ---------------------------------------------------------------------------

    def load(self, store: Store) -> None:
        """Fill ``store`` (inside ``store._loading()``) through its mutation methods, so its
        value index, adjacency and id counter are built exactly as by live writes.

        The cyclic garbage collector is paused meanwhile: loading allocates only live
        objects, and letting it rescan the growing graph made a 100k-vertex load 5x slower."""
        with self._mutex, collector_paused():
            conn = self._connection()
            try:
                conn.execute("BEGIN")  # one snapshot for both scans
                shared: dict[str, str] = {}
                try:
                    self._load_vertices(store, conn, shared)
                    self._load_edges(store, conn, shared)
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as error:
                raise DurableStoreError(f"cannot read {self.directory / DATABASE_NAME}: {error}") from error
        graph_loaded()

    def _load_vertices(self, store: Store, conn: sqlite3.Connection, shared: dict[str, str]) -> None:
        loads = codec.loads
        add_vertex, add_property = store.add_vertex, store.add_vertex_property
        add_bare = store.add_first_vertex_properties
        for key, body in conn.execute("SELECT key, body FROM vertices ORDER BY rowid"):
            try:
                id, label, properties = loads(body)
                vertex = add_vertex(label, id)
                if _bare_values(properties):  # the usual row: one table for the whole vertex
                    add_bare(vertex, {entry[0]: _share(entry[2], shared) for entry in properties})
                    continue
                for entry in properties:
                    meta = {name: _share(value, shared) for name, value in _pairs(entry[3])} if len(entry) > 3 else None
                    add_property(vertex, entry[0], _share(entry[2], shared), "list", meta, entry[1])
            except (ValueError, TypeError, IndexError, KeyError, GremlinError) as error:
                raise self._unreadable("vertex", key, error) from error

    def _load_edges(self, store: Store, conn: sqlite3.Connection, shared: dict[str, str]) -> None:
        loads = codec.loads
        vertices = store.vertices
        add_edge, add_properties = store.add_edge, store.add_first_edge_properties
        for key, body in conn.execute("SELECT key, body FROM edges ORDER BY rowid"):
            try:
                id, label, out_id, in_id, properties = loads(body)
                edge = add_edge(label, vertices[out_id], vertices[in_id], id)
                add_properties(edge, {name: _share(value, shared) for name, value in _pairs(properties)})
            except (ValueError, TypeError, IndexError, KeyError, GremlinError) as error:
                raise self._unreadable("edge", key, error) from error

    def _unreadable(self, kind: str, key: str, error: BaseException) -> DurableStoreError:
        return DurableStoreError(
            f"{self.directory / DATABASE_NAME}: the {kind} row {key} cannot be loaded "
            f"({type(error).__name__}: {error})")

    def commit(self, store: Store, changes: Changes) -> None:
        """Write the current state of every touched element in one SQLite transaction.

        Rows are encoded before the transaction begins, so a value the codec refuses
        (InvalidArgumentError) fails the traversal without touching the file."""
        vertex_rows, vertex_gone = _split(changes.vertices, store.vertices, _vertex_body)
        edge_rows, edge_gone = _split(changes.edges, store.edges, _edge_body)
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if edge_gone:
                        conn.executemany("DELETE FROM edges WHERE key = ?", edge_gone)
                    if vertex_gone:
                        conn.executemany("DELETE FROM vertices WHERE key = ?", vertex_gone)
                    if vertex_rows:
                        conn.executemany(_UPSERT.format(table="vertices"), vertex_rows)
                    if edge_rows:
                        conn.executemany(_UPSERT.format(table="edges"), edge_rows)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except sqlite3.Error as error:
                raise DurableStoreError(
                    f"cannot write {self.directory / DATABASE_NAME}: {error}; the traversal was rolled back") from error

    def close(self) -> None:
        """Fold the WAL into the database file, close it and release the directory."""
        with self._mutex:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # the WAL stays and is replayed at the next open: nothing is lost
            finally:
                conn.close()
                self._lock.release()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self.directory)!r}, synchronous={self.synchronous!r})"


def _split(ids: Iterable[Any], live: dict, body: Any) -> tuple[list[tuple[str, str]], list[tuple[str]]]:
    """Rows to upsert (elements still present) and keys to delete (elements gone)."""
    rows: list[tuple[str, str]] = []
    gone: list[tuple[str]] = []
    for id in ids:
        record = live.get(id)
        if record is None:
            gone.append((row_key(id),))
        else:
            rows.append((row_key(record.id), body(record)))
    return rows, gone




def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # SQLite already rolled back (e.g. after an I/O error)


def open_store(path: str | os.PathLike, *, synchronous: str = "NORMAL", **store_kwargs: Any) -> Store:
    """A Store loaded from (and journaled to) the graph directory ``path``.

    ``store_kwargs`` go to :class:`~gremlin.storage.Store` (``id_kind``, ``index_keys``).
    Close it with ``store.journal.close()`` (``Graph.close()`` does)."""
    journal = SqliteJournal(path, synchronous=synchronous)
    try:
        return Store(journal=journal, **store_kwargs)
    except BaseException:
        journal.close()
        raise
