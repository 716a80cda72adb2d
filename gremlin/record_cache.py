"""The disk store's records in memory: one record per element, the recently used kept.

Two guarantees with two structures:

- *One record per element.* The engine compares records by identity (a path is simple when no
  record occurs twice on it, ``dedup()`` keys records by themselves), so while anything holds a
  record, reading that element again must give that same object. Every record made from a row
  is registered by row id and by element id through a weak reference: found again while it
  lives, forgotten by itself once the last holder lets go.
- *A bounded cache.* The most recently used records are also held strongly, up to a budget of
  estimated bytes; beyond it the least recently used are let go (and freed, unless a running
  traversal still holds them, in which case they stay findable through the weak references).

Records must not refer to each other in cycles, or letting go would not free them (reference
counting frees what has no cycle; the collector may be paused or the heap frozen, see
gremlin.heap): edges refer to their end vertices, a vertex to its edges only by row id.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

__all__ = ["RecordCache"]


class _Ref(weakref.ref):
    __slots__ = ("rid", "key")


class RecordCache:
    """Records of one kind (vertices or edges) by row id (``rid``) and element id (``key``)."""

    def __init__(self, budget_bytes: int, typical_bytes: int = 500):
        self.budget = max(0, int(budget_bytes))
        #: the estimate of a record found alive but not hot (one a scan made) when it is used again
        self.typical_bytes = typical_bytes
        self._by_rid: dict[int, _Ref] = {}
        self._by_key: dict[Any, _Ref] = {}
        #: rid -> (record, estimated bytes), least recently used first
        self._hot: OrderedDict[int, tuple[Any, int]] = OrderedDict()
        self.hot_bytes = 0
        self.evicted = 0

    def _gone(self, ref: _Ref) -> None:
        # a weak reference's callback: the record was freed
        if self._by_rid.get(ref.rid) is ref:
            del self._by_rid[ref.rid]
        if self._by_key.get(ref.key) is ref:
            del self._by_key[ref.key]

    def add(self, rid: int, key: Any, record: Any, size: int, hot: bool = True) -> None:
        """Register a record made from a row (or just created), hot unless ``hot`` is False (a
        scan's records: a full scan must not push out what requests keep using)."""
        ref = _Ref(record, self._gone)
        ref.rid, ref.key = rid, key
        self._by_rid[rid] = ref
        self._by_key[key] = ref
        if hot:
            self._heat(rid, record, size)

    def _heat(self, rid: int, record: Any, size: int) -> None:
        held = self._hot.get(rid)
        if held is not None:
            self.hot_bytes -= held[1]
        self._hot[rid] = (record, size)
        self.hot_bytes += size
        if self.hot_bytes > self.budget:
            self.trim()

    def by_key(self, key: Any) -> Any:
        """The live record of element id ``key``, or None; it becomes the most recently used."""
        ref = self._by_key.get(key)
        if ref is None:
            return None
        record = ref()
        if record is not None:
            hot = self._hot
            if ref.rid in hot:
                hot.move_to_end(ref.rid)
            else:
                self._heat(ref.rid, record, self.typical_bytes)
        return record

    def by_rid(self, rid: int) -> Any:
        """The live record of row ``rid``, or None; it becomes the most recently used."""
        ref = self._by_rid.get(rid)
        if ref is None:
            return None
        record = ref()
        if record is not None:
            hot = self._hot
            if rid in hot:
                hot.move_to_end(rid)
            else:
                self._heat(rid, record, self.typical_bytes)
        return record

    def rid_of(self, key: Any) -> int | None:
        """The row id of the live record of element id ``key``."""
        ref = self._by_key.get(key)
        return ref.rid if ref is not None and ref() is not None else None

    def resize(self, rid: int, size: int) -> None:
        """A hot record's estimate changed (its adjacency was read, say)."""
        held = self._hot.get(rid)
        if held is not None:
            self.hot_bytes += size - held[1]
            self._hot[rid] = (held[0], size)

    def estimate(self, rid: int) -> int:
        held = self._hot.get(rid)
        return held[1] if held is not None else 0

    def forget(self, rid: int, key: Any) -> None:
        """The element is gone (removed): its id must not find this record any more."""
        ref = self._by_rid.get(rid)
        if ref is not None and ref.key == key:
            del self._by_rid[rid]
        ref = self._by_key.get(key)
        if ref is not None and ref.rid == rid:
            del self._by_key[key]
        held = self._hot.pop(rid, None)
        if held is not None:
            self.hot_bytes -= held[1]

    def trim(self, budget: int | None = None) -> list:
        """Let go of the least recently used records until the hot ones fit ``budget`` (the
        cache's own by default); returns what was let go."""
        limit = self.budget if budget is None else budget
        hot, dropped = self._hot, []
        while self.hot_bytes > limit and hot:
            _, (record, size) = hot.popitem(last=False)
            self.hot_bytes -= size
            dropped.append(record)
        self.evicted += len(dropped)
        return dropped

    def clear(self) -> None:
        """Forget every record (after the file changed under them: a rollback of a flush)."""
        self._by_rid.clear()
        self._by_key.clear()
        self._hot.clear()
        self.hot_bytes = 0

    def __len__(self) -> int:
        """Records alive (hot or held elsewhere)."""
        return len(self._by_rid)

    @property
    def hot_count(self) -> int:
        return len(self._hot)
