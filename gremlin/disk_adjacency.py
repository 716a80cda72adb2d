"""A durable vertex's edges: what is known of them (``DiskAdjacency``) and how the store reads
them from the file (``AdjacencyReads``, a part of gremlin.disk_store.DiskStore).

A vertex row names the labels it has edges of (gremlin/disk_rows.py); the edge rids of one
label on one side are read the first time something asks, as one range of the ``edges_out`` or
``edges_in`` index, and kept (charged to the record cache) while the vertex's record lives. A
frontier read (gremlin/engine/frontier.py) reads the lists a step would read one by one for many
vertices at once, with their far ends.
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from .disk_rows import EDGE_COLUMNS
from .storage import EdgeRecord, VertexRecord

__all__ = ["DiskAdjacency", "AdjacencyReads", "OUT", "IN"]

OUT, IN = 0, 1
_SIDES = {"out": (OUT,), "in": (IN,), "both": (OUT, IN)}
_END_COLUMN = ("out_rid", "in_rid")
#: an edge row then its far end's vertex row (read_frontier)
_FRONTIER_COLUMNS = ("e.rid, e.key, e.id, e.label, e.out_rid, e.in_rid, e.props, "
                     "v.rid, v.key, v.id, v.label, v.props, v.edges")
#: The most parameters one frontier read names (gremlin/engine/frontier.py): vertex rids and
#: label numbers, under the 999 of old SQLite builds; each SELECT of its UNION ALL names two or
#: more, so it has fewer than SQLite's 500 compound terms.
_FRONTIER_PARAMS = 900
#: Estimated bytes an edge rid kept in a list costs (the cache's estimate of a vertex grows by it)
_PER_ADJACENT = 12


class DiskAdjacency:
    """A disk vertex's edges (its ``out_edges``; its ``in_edges`` is ``EXTERNAL``): the labels it
    has edges of, per direction (its row's ``edges``), and the edge row ids per direction and
    label read from the file so far, kept current by the store. Also the vertex's row id, and
    whether it is still in the graph (``live``)."""

    __slots__ = ("store", "rid", "live", "labels", "sides", "labels_text")

    def __init__(self, store: AdjacencyReads, rid: int, labels: tuple = ((), ()), labels_text: Any = None):
        self.store = store
        self.rid = rid
        self.live = True
        #: (out labels, in labels): every label the vertex has edges of (maybe a few more)
        self.labels: tuple[tuple[str, ...], tuple[str, ...]] = labels
        #: (labels, the row's ``edges`` text for them): the text read or last written, reused
        #: while ``labels`` is that same tuple (it is replaced, never changed, when a label comes)
        self.labels_text: tuple[tuple, str | None] | None = (labels, labels_text) if labels_text is not None else None
        #: per direction (out, in): None, or label -> edge rids in creation order for the labels read
        self.sides: list[dict[str, list[int]] | None] | None = None

    def edges(self, direction: str, labels: tuple[str, ...] = ()) -> list[EdgeRecord]:
        return self.store._incident(self, direction, labels)

    def keep(self, side: int, label: str, rids: list[int]) -> list[int]:
        sides = self.sides
        if sides is None:
            sides = self.sides = [None, None]
        lists = sides[side]
        if lists is None:
            lists = sides[side] = {}
        lists[label] = rids
        return rids

    def link(self, side: int, label: str, rid: int) -> bool:
        """A new edge: in its list if that list has been read (a later read finds it in the
        file). True when the vertex had no edge of that label on that side (its row changes)."""
        if label not in self.labels[side]:
            self.labels = (self.labels[0] + (label,), self.labels[1]) if side == OUT else \
                (self.labels[0], self.labels[1] + (label,))
            self.keep(side, label, [rid])
            return True
        sides = self.sides
        lists = sides[side] if sides is not None else None
        found = lists.get(label) if lists is not None else None
        if found is not None:
            insort(found, rid)
        return False

    def unlink(self, side: int, label: str, rid: int) -> None:
        sides = self.sides
        lists = sides[side] if sides is not None else None
        found = lists.get(label) if lists is not None else None
        if found is not None and rid in found:
            found.remove(rid)

    def size(self) -> int:
        """Estimated bytes of what is known."""
        if self.sides is None:
            return 0
        return sum(64 + 56 * len(lists) + _PER_ADJACENT * sum(map(len, lists.values()))
                   for lists in self.sides if lists is not None)

    def __repr__(self) -> str:
        return f"DiskAdjacency(rid={self.rid})"


class AdjacencyReads:
    """DiskStore's reads of edge lists. It uses the store's connection and caches (``_lock``,
    ``_names``, ``_query``, ``_vertices``, ``_make_vertex``, ``_make_edges``, ``_edges_by_rid``)."""

    def _incident(self, adjacency: DiskAdjacency, direction: str, labels: tuple[str, ...]) -> list[EdgeRecord]:
        """VertexRecord.edges() of a disk vertex."""
        rids: list[int] = []
        for side in _SIDES[direction]:
            if labels:
                own = adjacency.labels[side]
                sides = adjacency.sides
                lists = sides[side] if sides is not None else None
                # (no call per label: a walk's every step asks) a label the vertex has no edge
                # of costs nothing; one whose edges were read is answered from memory
                for label in labels:
                    if label not in own:
                        continue
                    found = lists.get(label) if lists is not None else None
                    if found is None:
                        found = self._read_adjacent(adjacency, side, label)
                        lists = adjacency.sides[side]
                    rids += found
            else:
                rids += self._all_adjacent(adjacency, side)
        return self._edges_by_rid(rids) if rids else []

    def _read_adjacent(self, adjacency: DiskAdjacency, side: int, label: str) -> list[int]:
        """The edges of one label on one side of a vertex, read from the file (made records) and
        kept in its adjacency."""
        number = self._names.known(label)
        if number is None:  # a label never stored: no edge has it
            return []
        with self._lock:
            rows = self._query(f"SELECT {EDGE_COLUMNS} FROM edges WHERE {_END_COLUMN[side]} = ? AND label = ? "
                               "ORDER BY rid", (adjacency.rid, number))
            found = self._keep_list(adjacency, side, label, [row[0] for row in rows])
            self._make_edges(rows)
        return found

    def _keep_list(self, adjacency: DiskAdjacency, side: int, label: str, rids: list[int]) -> list[int]:
        """One list read from the file kept in ``adjacency``, the cache charged for it."""
        found = adjacency.keep(side, label, rids)
        self._vertices.resize(adjacency.rid, self._vertices.estimate(adjacency.rid) + _PER_ADJACENT * len(found) + 120)
        return found

    def _all_adjacent(self, adjacency: DiskAdjacency, side: int) -> list[int]:
        """Every edge rid of one side of a vertex, by label number, then creation."""
        labels = adjacency.labels[side]
        if not labels:
            return []
        sides = adjacency.sides
        lists = sides[side] if sides is not None else None
        if lists is None or any(label not in lists for label in labels):
            with self._lock:
                rows = self._query(f"SELECT {EDGE_COLUMNS} FROM edges WHERE {_END_COLUMN[side]} = ? "
                                   "ORDER BY label, rid", (adjacency.rid,))
                by_id = self._names.by_id
                lists: dict[str, list[int]] = {}
                for row in rows:
                    lists.setdefault(by_id[row[3]], []).append(row[0])
                if adjacency.sides is None:
                    adjacency.sides = [None, None]
                for label in labels:  # kept in the row though its last edge went
                    lists.setdefault(label, [])
                adjacency.sides[side] = lists
                self._make_edges(rows)
                self._vertices.resize(adjacency.rid, self._vertices.estimate(adjacency.rid) + adjacency.size())
        lists = adjacency.sides[side] if adjacency.sides is not None else None
        if not lists:
            return []
        names = self._names
        return [rid for _, rids in sorted((names.id(label), rids) for label, rids in lists.items()) for rid in rids]

    reads_frontiers = True

    def read_frontier(self, vertices: list[VertexRecord], direction: str, labels: tuple[str, ...]) -> None:
        """GraphStore.read_frontier: the edge lists (per vertex, side and label) that
        ``vertex.edges`` would read one query each, each with its far ends in a second, read
        together: each list an index range of ``(out_rid, label)`` or ``(in_rid, label)`` joined
        to its far ends' rows, in one ``UNION ALL`` per up to ``_FRONTIER_PARAMS`` parameters.
        Kept in each vertex's adjacency as ``_read_adjacent`` keeps one list."""
        names = self._names
        # (side, label number) -> the adjacencies whose list of it is not read yet
        groups: dict[tuple[int, int], list[DiskAdjacency]] = {}
        wanted: list[tuple[DiskAdjacency, int, str, int]] = []
        met: set[int] = set()
        for vertex in vertices:
            adjacency = vertex.out_edges
            if type(adjacency) is not DiskAdjacency or not adjacency.live or adjacency.rid in met:
                continue
            met.add(adjacency.rid)
            sides = adjacency.sides
            for side in _SIDES[direction]:
                own = adjacency.labels[side]
                lists = sides[side] if sides is not None else None
                for label in labels or own:
                    if label not in own or (lists is not None and label in lists):
                        continue  # known empty, or read already
                    number = names.known(label)
                    if number is not None:
                        groups.setdefault((side, number), []).append(adjacency)
                        wanted.append((adjacency, side, label, number))
        if not wanted:
            return
        statements: list[tuple[list[str], list[int]]] = [([], [])]
        for (side, number), adjacencies in groups.items():
            for start in range(0, len(adjacencies), _FRONTIER_PARAMS - 1):
                rids = [adjacency.rid for adjacency in adjacencies[start:start + _FRONTIER_PARAMS - 1]]
                parts, params = statements[-1]
                if parts and len(params) + len(rids) + 1 > _FRONTIER_PARAMS:
                    parts, params = [], []
                    statements.append((parts, params))
                parts.append(f"SELECT {side}, {_FRONTIER_COLUMNS} FROM edges e JOIN vertices v "
                             f"ON v.rid = e.{_END_COLUMN[1 - side]} "
                             f"WHERE e.{_END_COLUMN[side]} IN ({','.join('?' * len(rids))}) AND e.label = ?")
                params += rids
                params.append(number)
        with self._lock:
            found: dict[tuple[int, int, int], list[int]] = {}
            edge_rows: dict[int, tuple] = {}  # an edge between two frontier vertices comes once per end
            far: list[VertexRecord] = []  # held until their edges hold them
            make_vertex = self._make_vertex
            vertex_refs = self._vertices.refs
            for parts, params in statements:
                for row in self._query(" UNION ALL ".join(parts), params):
                    side, edge = row[0], row[1:8]
                    found.setdefault((side, edge[4 + side], edge[3]), []).append(edge[0])
                    if edge[0] not in edge_rows:
                        edge_rows[edge[0]] = edge
                        # most far ends are cached already (the vertex a hop came from): no call
                        ref = vertex_refs.get(row[8])
                        vertex = ref() if ref is not None else None
                        far.append(vertex if vertex is not None else make_vertex(row[8:]))
            self._make_edges(list(edge_rows.values()))  # its ends are made: no read
            for adjacency, side, label, number in wanted:
                rids = found.get((side, adjacency.rid, number), [])
                rids.sort()  # creation order, as _read_adjacent's ORDER BY rid
                self._keep_list(adjacency, side, label, rids)
