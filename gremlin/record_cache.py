"""The disk store's records in memory: one record per element, the recently used kept.

Two guarantees with two structures:

- *One record per element.* The engine compares records by identity (a path is simple when no
  record occurs twice on it, ``dedup()`` keys records by themselves), so while anything holds a
  record, reading that element again must give that same object. Every record made from a row
  is registered by row id and by element id through a weak reference: found again while it
  lives, forgotten by itself once the last holder lets go.
- *A bounded cache.* The recently used records are also held strongly ("hot"), up to a budget
  of estimated bytes; beyond it the least recently used are let go (and freed, unless a running
  traversal still holds them, in which case they stay findable through the weak references).
  Recency is kept the CLOCK way: a use marks the record (a set insertion in C), and the oldest
  record is let go only if unmarked; a marked one loses its mark and goes to the young end.

Records must not refer to each other in cycles, or letting go would not free them (reference
counting frees what has no cycle; the collector may be paused or the heap frozen, see
gremlin.heap): an edge refers to its end vertices, a vertex to its edges only by row id.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

__all__ = ["RecordCache"]


class _Ref(weakref.ref):
    __slots__ = ("rid", "key")


class RecordCache:
    """Records of one kind (vertices or edges) by row id (``rid``) and element id (``key``).

    The store's hot paths read ``refs`` (rid -> weak reference), ``keys`` (element id -> weak
    reference), ``hot`` and ``used`` directly, as ``get_rid`` does."""

    def __init__(self, budget_bytes: int, typical_bytes: int = 500):
        self.budget = max(0, int(budget_bytes))
        #: the estimate of a record found alive but not hot (one a scan made) when it is used again
        self.typical_bytes = typical_bytes
        self.refs: dict[int, _Ref] = {}
        self.keys: dict[Any, _Ref] = {}
        #: rid -> record, least recently let in first; its estimated bytes in ``sizes``. Not a
        #: (record, bytes) pair per entry: a tuple holding a record stays tracked by the cyclic
        #: collector, one more object per cached record that each full collection walks before
        #: the heap settler freezes it (gremlin.heap), and one more allocation per use
        self.hot: OrderedDict[int, Any] = OrderedDict()
        #: rid -> estimated bytes of each hot record (ints only: the collector does not track it)
        self.sizes: dict[int, int] = {}
        #: hot rids used since they last reached the young end
        self.used: set[int] = set()
        self.hot_bytes = 0
        self.evicted = 0
        #: weak references whose record was freed, to drop from ``refs`` and ``keys``
        self._dead: list[_Ref] = []
        # one callback for every reference: a bound method made per record would be one more
        # object for each to allocate and for the collector to walk while the record is cached
        self._on_gone = self._gone

    def _gone(self, ref: _Ref) -> None:
        # A weak reference's callback: the record was freed. It runs in whichever thread let go
        # of the record last, maybe one that does not hold the store: it only appends (atomic),
        # and the dead reference, which finds nothing meanwhile, is dropped by the next add().
        self._dead.append(ref)

    def _reap(self) -> None:
        dead, self._dead = self._dead, []
        refs, keys = self.refs, self.keys
        for ref in dead:
            if refs.get(ref.rid) is ref:
                del refs[ref.rid]
            if keys.get(ref.key) is ref:
                del keys[ref.key]

    def add(self, rid: int, key: Any, record: Any, size: int, hot: bool = True) -> None:
        """Register a record made from a row (or just created), hot unless ``hot`` is False (a
        scan's records: a full scan must not push out what requests keep using). Callers hold
        the store's lock, as for every change to the cache."""
        if self._dead:
            self._reap()
        ref = _Ref(record, self._on_gone)
        ref.rid, ref.key = rid, key
        self.refs[rid] = ref
        self.keys[key] = ref
        if hot:
            self.heat(rid, record, size)

    def heat(self, rid: int, record: Any, size: int | None = None) -> None:
        """Hold ``record`` strongly (again), as the most recently used."""
        hot, sizes = self.hot, self.sizes
        if hot.pop(rid, None) is not None:
            held = sizes[rid]
            self.hot_bytes -= held
            if size is None:
                size = held
        elif size is None:
            size = self.typical_bytes
        hot[rid] = record
        sizes[rid] = size
        self.hot_bytes += size
        if self.hot_bytes > self.budget:
            self.trim()

    def used_now(self, rid: int, record: Any) -> None:
        """``record`` (alive) was just used."""
        if rid in self.hot:
            self.used.add(rid)
        else:
            self.heat(rid, record)

    def get_key(self, key: Any) -> Any:
        """The live record of element id ``key``, or None (marked used)."""
        return self._use(self.keys.get(key))

    def get_rid(self, rid: int) -> Any:
        """The live record of row ``rid``, or None (marked used)."""
        return self._use(self.refs.get(rid))

    def _use(self, ref: _Ref | None) -> Any:
        record = ref() if ref is not None else None
        if record is not None:
            self.used_now(ref.rid, record)  # type: ignore[union-attr]
        return record

    def peek_rid(self, rid: int) -> Any:
        """The live record of row ``rid``, or None, without counting a use."""
        ref = self.refs.get(rid)
        return ref() if ref is not None else None

    def rid_of(self, key: Any) -> int | None:
        """The row id of the live record of element id ``key``."""
        ref = self.keys.get(key)
        return ref.rid if ref is not None and ref() is not None else None

    def resize(self, rid: int, size: int) -> None:
        """A hot record's estimate changed (its edges were read, say)."""
        held = self.sizes.get(rid)
        if held is not None:
            self.hot_bytes += size - held
            self.sizes[rid] = size

    def estimate(self, rid: int) -> int:
        return self.sizes.get(rid, 0)

    def forget(self, rid: int, key: Any) -> None:
        """The element is gone (removed): its id must not find this record any more."""
        ref = self.refs.get(rid)
        if ref is not None and ref.key == key:
            del self.refs[rid]
        ref = self.keys.get(key)
        if ref is not None and ref.rid == rid:
            del self.keys[key]
        if self.hot.pop(rid, None) is not None:
            self.hot_bytes -= self.sizes.pop(rid)
        self.used.discard(rid)

    def trim(self) -> None:
        """Let go of the least recently used records until the hot ones fit the budget."""
        hot, sizes, used, limit = self.hot, self.sizes, self.used, self.budget
        while self.hot_bytes > limit and hot:
            rid, record = hot.popitem(last=False)
            if rid in used:  # used since it came in: a second chance, at the young end
                used.discard(rid)
                hot[rid] = record
                continue
            self.hot_bytes -= sizes.pop(rid)
            self.evicted += 1

    def clear(self) -> None:
        """Forget every record (the store is closing)."""
        self._dead = []
        self.refs.clear()
        self.keys.clear()
        self.hot.clear()
        self.sizes.clear()
        self.used.clear()
        self.hot_bytes = 0

    def __len__(self) -> int:
        """Records alive (hot or held elsewhere)."""
        self._reap()
        return len(self.refs)

    @property
    def hot_count(self) -> int:
        return len(self.hot)
