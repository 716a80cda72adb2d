"""The durable store's value indexes (``ValueIndexes``, a part of gremlin.disk_store.DiskStore):
vertices by property value, for the keys something has looked up by value, kept in the file's
``value_index`` table (gremlin/disk_rows.py) and current with every write."""

from __future__ import annotations

import sqlite3
from typing import Any

from .codec import dumps_encoded, loads
from .disk_rows import index_value
from .property_table import PropertyTable
from .storage import _ABSENT, UNSELECTIVE_FROM, VertexRecord, _values

__all__ = ["ValueIndexes"]


class ValueIndexes:
    """DiskStore's value indexes. State on the store: ``_indexed`` (key -> its name number, for
    the keys indexed so far), ``_unselective`` (keys whose index narrowed nothing, see lookup) and
    ``_index_changes`` ((add?, key number, value, rid) rows the running transaction writes)."""

    def lookup(self, key: str, value: Any) -> list[VertexRecord] | None:
        """Vertices whose ``key`` may equal ``value`` (candidates: the caller compares), from the
        key's value index; None when no index can answer. As in the in-memory store, a key's
        index is built by its first lookup, with one scan, and kept current from then on; here
        it is kept in the file (``value_index``), so that scan happens once for the graph's
        life: the one write a read can cause. An index whose largest value holds most of 1,000
        or more vertices (a partition key) is not kept: lookups on that key scan."""
        if key in self._unselective or (self._read_only and key not in self._indexed):
            return None  # (a forked reader cannot write the index its scan would build: it scans)
        wanted = index_value(value)
        if wanted is None:
            return None
        with self.transaction():  # the traversal's (a first lookup's index is written with it)
            number = self._indexed.get(key)
            if number is None:
                number = self._build_index(key)
                if number is None:
                    return None
            rows = self._query("SELECT rid FROM value_index WHERE key = ? AND value = ? ORDER BY rid",
                               (number, wanted))
            found = self._vertices_by_rid([row[0] for row in rows])
            return [found[row[0]] for row in rows if row[0] in found]

    def _build_index(self, key: str) -> int | None:
        """Index ``key`` (one scan, its rows written with the running transaction); its name
        number, or None when the index narrows nothing."""
        number = self._names.id(key)
        self._indexed[key] = number  # _reindex keeps it current from here: the scan may write
        rows = []
        for vertex in self.scan_vertices():
            for value in _values(vertex.props.get(key, _ABSENT)):
                indexed = index_value(value)
                if indexed is not None:
                    rows.append((number, indexed, vertex.out_edges.rid))
        self._index_changes.extend((True, *row) for row in rows)
        self._write_pending()
        conn = self._connection()
        largest, vertices = self._read("SELECT coalesce(max(n), 0), (SELECT count(*) FROM vertices) FROM "
                                       "(SELECT count(*) AS n FROM value_index WHERE key = ? GROUP BY value)", (number,))[0]
        if vertices >= UNSELECTIVE_FROM and 2 * largest > vertices:
            del self._indexed[key]
            self._unselective.add(key)
            conn.execute("DELETE FROM value_index WHERE key = ?", (number,))
            number = None
        self._store_indexes(conn)
        return number

    def _load_indexes(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE name = 'indexes'").fetchone()
        indexed, unselective = loads(row[0]) if row else ([], [])
        self._indexed = {key: self._names.id(key) for key in indexed}
        self._unselective = set(unselective)

    def _store_indexes(self, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta (name, value) VALUES ('indexes', ?) ON CONFLICT (name) DO UPDATE SET "
                     "value = excluded.value", (dumps_encoded([sorted(self._indexed), sorted(self._unselective)]),))

    def _reindex(self, vertex: VertexRecord, before: PropertyTable, after: PropertyTable) -> None:
        """(changes to ``value_index`` rows, written with the vertex)"""
        if not self._indexed:
            return
        rid = vertex.out_edges.rid
        for key, number in self._indexed.items():
            old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if old is new:
                continue
            olds = {index_value(value) for value in _values(old)} - {None}
            news = {index_value(value) for value in _values(new)} - {None}
            self._index_changes.extend((False, number, value, rid) for value in olds - news)
            self._index_changes.extend((True, number, value, rid) for value in news - olds)
