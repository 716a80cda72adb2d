"""PropertyTable: a small read-only mapping for the store's per-element tables.

An edge's properties, a vertex property's meta-properties, a vertex's property records by key
and its adjacency by label. Stored as one flat tuple ``(key, value, key, value, ...)``: each
element holds a few entries and millions of elements are held at once, and a dict costs 184
bytes with one entry and 272 with six, this table 56 and 136. A change builds a new table
(``with_``, ``without``), which also makes undoing it a matter of putting the old table back.
Look-ups scan the tuple in C (tuple.index), which for a handful of keys costs about what
hashing does; tables with many keys are not what it is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any, Iterator

__all__ = ["PropertyTable", "EMPTY"]

_absent = object()
# tuple's own methods, bound once: PropertyTable overrides the mapping-facing ones
_contains, _index, _item = tuple.__contains__, tuple.index, tuple.__getitem__
_VALUES = slice(1, None, 2)


class PropertyTable(tuple):
    __slots__ = ()

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> "PropertyTable":
        return cls(item for pair in table.items() for item in pair) if table else EMPTY

    def _find(self, key: Any) -> int:
        """The position of ``key``'s value, or -1 (reads are hot: C scans, no exceptions
        unless a value equals the key)."""
        if not _contains(self, key):
            return -1
        position = _index(self, key)
        if position & 1:  # a value equal to the key: look on among the keys
            try:
                while position & 1:
                    position = _index(self, key, position + 1)
            except ValueError:
                return -1
        return position + 1

    def get(self, key: Any, default: Any = None) -> Any:
        if not _contains(self, key):
            return default
        position = _index(self, key)
        if position & 1:
            position = self._find(key) - 1
            if position < 0:
                return default
        return _item(self, position + 1)

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        value = self.get(key, _absent)
        if value is _absent:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return self._find(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return islice(tuple.__iter__(self), 0, None, 2)

    def __len__(self) -> int:
        return tuple.__len__(self) // 2

    def keys(self) -> list[str]:
        return list(self)

    def values(self) -> tuple[Any, ...]:
        """The values in order, as a tuple: one slice in C (reading a vertex's properties and
        adjacency calls this for every vertex a traversal meets)."""
        return _item(self, _VALUES)

    def items(self) -> list[tuple[str, Any]]:
        flat = tuple.__iter__(self)
        return list(zip(flat, flat))

    def with_(self, key: str, value: Any) -> "PropertyTable":
        """This table with ``key`` set to ``value`` (replaced in place, or added last)."""
        position = self._find(key)
        if position < 0:
            return PropertyTable((*tuple.__iter__(self), key, value))
        flat = list(tuple.__iter__(self))
        flat[position] = value
        return PropertyTable(flat)

    def without(self, key: Any) -> "PropertyTable":
        position = self._find(key)
        if position < 0:
            return self
        flat = list(tuple.__iter__(self))
        del flat[position - 1:position + 1]
        return PropertyTable(flat) if flat else EMPTY

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (PropertyTable, Mapping, dict)):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> Any:  # tuple concatenation would make no sense of a mapping
        return NotImplemented

    def __repr__(self) -> str:
        return repr(dict(self.items()))


Mapping.register(PropertyTable)

#: The table every element without properties shares.
EMPTY = PropertyTable()
