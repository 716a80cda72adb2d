"""The durable graph directory behind ``file://``: open it, lock it, bring old files up to date.

    store = open_store("/var/lib/identity/graph")           # or gremlin.connect("file:///...")

The directory holds ``graph.sqlite3`` (SQLite in WAL mode) and ``graph.lock``. The file is the
graph (format 2, gremlin/disk_rows.py); the store reads it on demand through a bounded cache
(gremlin/disk_store.py), so opening reads nothing but a few header rows, whatever the size.

Durability (``synchronous``): each traversal's changes are one SQLite transaction, committed
before the traversal returns, so a traversal is on disk whole or not at all. In WAL mode
``NORMAL`` (the default) survives the process being killed at any point, because a commit has
been handed to the OS before it returns; a power loss or kernel crash may lose the last
transactions (never corrupt the file). ``FULL`` fsyncs the WAL at every commit and survives
power loss too, at several times the cost per commit (see ``benchmarks/durable_cost.py``).
Choose with ``?synchronous=FULL``.

Only one process may open a directory: an exclusive ``flock`` on ``graph.lock`` (released by
the OS if the process dies, so a crash leaves no stale lock), taken before the file is opened:
a second process gets GraphInUseError at once.

Format 1 (until this store: the file was a journal of whole elements, ``vertices(key, body)``
and ``edges(key, body)``, read whole into memory at every open) is converted in place on the
first open, in one SQLite transaction: a conversion that stops half-way (a crash, a full disk)
leaves the format-1 file as it was, to be converted at the next open. It is logged (logger
``gremlin.durable``) with its counts and time; nothing is lost: every element, property, id
(vertex property ids that were stored keep them) and the order of creation.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import codec
from .disk_rows import FORMAT_VERSION, SCHEMA, Names, encode_edge_props, encode_vertex_props, id_column
from .disk_store import DEFAULT_CACHE_MB, DiskStore, DurableStoreError
from .element_ids import derived_vp_id, id_key
from .engine.common import batched
from .property_table import PropertyTable
from .storage import VertexPropertyRecord, VertexRecord

__all__ = ["open_store", "DurableStoreError", "GraphInUseError", "DATABASE_NAME", "SYNCHRONOUS_MODES"]

DATABASE_NAME = "graph.sqlite3"
LOCK_NAME = "graph.lock"
SYNCHRONOUS_MODES = ("NORMAL", "FULL", "EXTRA")
#: WAL pages (4 KiB each) after which a commit folds the WAL into the database file
WAL_CHECKPOINT_PAGES = 10_000

log = logging.getLogger("gremlin.durable")


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


# -- opening ---------------------------------------------------------------------------------

def open_store(path: str | os.PathLike, *, synchronous: str = "NORMAL", id_kind: str = "int",
               cache_mb: float = DEFAULT_CACHE_MB) -> DiskStore:
    """The DiskStore of the graph directory ``path`` (created if need be), locked for this
    process until ``store.close()`` (``Graph.close()`` does)."""
    mode = str(synchronous).upper()
    if mode not in SYNCHRONOUS_MODES:
        raise DurableStoreError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {synchronous!r}")
    try:
        cache_mb = float(cache_mb)
    except (TypeError, ValueError):
        raise DurableStoreError(f"cache_mb must be a number of MiB, not {cache_mb!r}") from None
    if not cache_mb > 0:
        raise DurableStoreError(f"cache_mb must be more than 0, not {cache_mb:g}")
    directory = Path(path).expanduser().absolute()
    try:  # the graph holds every tenant's data: its owner's alone (files 0600, directories 0700)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise DurableStoreError(f"cannot create graph directory {directory}: {error}") from error
    lock = _DirectoryLock(directory)
    try:
        conn = _connect(directory / DATABASE_NAME, mode)
    except BaseException:
        lock.release()
        raise
    try:
        return DiskStore(conn, id_kind=id_kind, cache_mb=cache_mb, path=directory / DATABASE_NAME,
                         on_close=lock.release)
    except BaseException:
        conn.close()
        lock.release()
        raise


def _connect(database: Path, synchronous: str) -> sqlite3.Connection:
    try:
        # SQLite creates a database 0644 (less the umask) and gives its -wal and -shm files the
        # database's mode: made here first, all three are 0600
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
        # Autocommit mode: the store begins and ends every transaction itself.
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
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        # the WAL back to 64 MiB after each checkpoint (a long write, a conversion, grows it)
        conn.execute("PRAGMA journal_size_limit = 67108864")
        # checkpoint every WAL_CHECKPOINT_PAGES (40 MiB) instead of SQLite's 1,000 (4 MiB): a
        # page ingest rewrites (an index page, a busy vertex's) is copied into the file once per
        # checkpoint, so a longer WAL copies it fewer times (commit CPU 0.19 -> 0.16 ms per
        # ingested event, docs/benchmarks.md); what a commit makes durable is the same, and the
        # open after a crash reads at most these 40 MiB of WAL
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        if version == 1:
            _convert_format_1(conn, database)
        else:  # new, or tables a later version of format 2 added (IF NOT EXISTS: none written else)
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    except sqlite3.Error as error:
        conn.close()
        raise DurableStoreError(f"cannot open {database}: {error}") from error
    except BaseException:
        conn.close()
        raise
    return conn


# -- format 1 ----------------------------------------------------------------------------------

def _convert_format_1(conn: sqlite3.Connection, database: Path) -> None:
    """Rewrite a format-1 file as format 2, in place, in one transaction (see the module
    docstring). Format 1 rows: ``vertices(key, body)`` with body ``[id, label, [[key, vp_id,
    value(, [meta key, meta value, ...])], ...]]``, ``edges(key, body)`` with body ``[id, label,
    out_id, in_id, [key, value, ...]]``, both in creation order by rowid."""
    counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("vertices", "edges")]
    log.warning("converting %s from format 1 to format %d (once): %d vertices, %d edges", database,
                FORMAT_VERSION, *counts)
    started = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE vertices RENAME TO format1_vertices")
        conn.execute("ALTER TABLE edges RENAME TO format1_edges")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        names = Names()
        counter = _Counter()
        _write_batched(conn, "INSERT INTO vertices (rid, key, id, label, props) VALUES (?, ?, ?, ?, ?)",
                       _vertex_rows(conn, names, counter, database))
        _write_batched(conn, "INSERT INTO edges (rid, key, id, label, out_rid, in_rid, props) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", _edge_rows(conn, names, counter, database))
        _write_batched(conn, "UPDATE vertices SET edges = ? WHERE rid = ?", _edge_label_rows(conn))
        names.write(conn)
        conn.execute("INSERT INTO meta (name, value) VALUES ('counter', ?)", (counter.next,))
        conn.execute("DROP TABLE format1_vertices")
        conn.execute("DROP TABLE format1_edges")
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise
    free = conn.execute("PRAGMA freelist_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    log.warning("converted %s to format %d in %.1f s; the old format's %d MiB are free pages the graph reuses as "
                "it grows (VACUUM gives them back to the file system)", database, FORMAT_VERSION,
                time.monotonic() - started, free // 2 ** 20)


class _Counter:
    """The next generated id: past every int id met (elements' and vertex properties')."""

    def __init__(self) -> None:
        self.next = 0

    def saw(self, id: Any) -> None:
        if isinstance(id, int) and not isinstance(id, bool) and id >= self.next:
            self.next = int(id) + 1


_BATCH = 2000


def _write_batched(conn: sqlite3.Connection, statement: str, rows: Iterable[tuple]) -> None:
    """``statement`` for each of ``rows`` (a stream), a batch of them at a time."""
    for batch in batched(rows, _BATCH):
        conn.executemany(statement, batch)


def _vertex_rows(conn: sqlite3.Connection, names: Names, counter: _Counter, database: Path) -> Iterator[tuple]:
    for rid, (row_key, body) in enumerate(conn.execute("SELECT key, body FROM format1_vertices ORDER BY rowid"), 1):
        try:
            id, label, entries = codec.loads(body)
            vertex = VertexRecord(id, label)
            vertex.props = _format1_properties(vertex, entries, counter)
            key = id_key(id)
            row = (rid, key, id_column(id, key), names.id(label), encode_vertex_props(vertex, names))
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise _unconvertible(database, "vertex", row_key, error) from error
        counter.saw(id)
        yield row


def _unconvertible(database: Path, kind: str, row_key: str, error: BaseException) -> DurableStoreError:
    return DurableStoreError(f"{database}: the format-1 {kind} row {row_key} cannot be converted "
                             f"({type(error).__name__}: {error})")


def _format1_properties(vertex: VertexRecord, entries: list, counter: _Counter) -> PropertyTable:
    """A format-1 vertex's property entries as the table the store holds: one value without
    an id or meta-properties under its key bare, anything else records (ids kept; a record
    stored without one gets the derived id)."""
    by_key: dict[str, list] = {}
    for entry in entries:
        by_key.setdefault(entry[0], []).append(entry)
    flat: list = []
    for key, found in by_key.items():
        if len(found) == 1 and len(found[0]) == 3 and found[0][1] is None:
            flat += (key, found[0][2])
            continue
        records = []
        for entry in found:
            vp_id = entry[1] if entry[1] is not None else derived_vp_id(vertex.id, key, entry[2])
            counter.saw(entry[1])
            meta = dict(zip(entry[3][0::2], entry[3][1::2])) if len(entry) > 3 else None
            records.append(VertexPropertyRecord(vp_id, key, entry[2], vertex, meta))
        flat += (key, records[0] if len(records) == 1 else tuple(records))
    return PropertyTable(flat)


def _edge_label_rows(conn: sqlite3.Connection) -> Iterator[tuple[str, int]]:
    """Every vertex's ``edges`` column (the labels of its edges, per direction) and rid, from one
    ordered pass over each edge index, merged by vertex."""
    def labels_by_vertex(side: int, column: str) -> Iterator[tuple[int, int, list[int]]]:
        rid, labels = None, []
        for found, label in conn.execute(f"SELECT DISTINCT {column}, label FROM edges ORDER BY {column}, label"):
            if found != rid:
                if rid is not None:
                    yield rid, side, labels
                rid, labels = found, []
            labels.append(label)
        if rid is not None:
            yield rid, side, labels

    merged = heapq.merge(labels_by_vertex(0, "out_rid"), labels_by_vertex(1, "in_rid"))
    for rid, parts in itertools.groupby(merged, key=lambda part: part[0]):
        sides: list[list[int]] = [[], []]
        for _, side, labels in parts:
            sides[side] = labels
        yield codec.dumps_encoded(sides), rid


def _edge_rows(conn: sqlite3.Connection, names: Names, counter: _Counter, database: Path) -> Iterator[tuple]:
    # every vertex's rid by key, in memory: a look-up in SQLite for each end of millions of edges
    # took most of a conversion, and the graph being converted was held whole in memory by the
    # version that wrote it
    rids = dict(conn.execute("SELECT key, rid FROM vertices"))
    for rid, (row_key, body) in enumerate(conn.execute("SELECT key, body FROM format1_edges ORDER BY rowid"), 1):
        try:
            id, label, out_id, in_id, properties = codec.loads(body)
            out_rid, in_rid = rids.get(id_key(out_id)), rids.get(id_key(in_id))
            if out_rid is None or in_rid is None:
                raise KeyError(f"its end vertex {out_id if out_rid is None else in_id!r} is not stored")
            key = id_key(id)
            row = (rid, key, id_column(id, key), names.id(label), out_rid, in_rid,
                   encode_edge_props(PropertyTable(properties), names))
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise _unconvertible(database, "edge", row_key, error) from error
        counter.saw(id)
        yield row
