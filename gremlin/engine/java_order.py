"""Orders a TinkerPop server produces through Java collections, reproduced.

Some answers depend on the order a Java ``HashSet``/``HashMap`` iterates its keys in (which label
match() binds the incoming traverser to, the key order of match()'s result maps, group() and
groupCount() maps, the sets intersect()/difference()/disjunct() make) or on how
``Collections.sort`` places items its comparator calls equal. These functions give the same
order for the same inputs, so a traversal answers alike here and on a Gremlin Server.

A HashMap of n entries has a table of the smallest power of two of at least 16 that holds n at a
load factor of 0.75; keys sit in bucket ``(h ^ (h >>> 16)) & (size - 1)`` of their hashCode()
``h``, and each bucket keeps its keys in insertion order (a resize keeps it too). ``java_hash``
gives the hashCode() of the value a Gremlin Server would hold for one of this engine's values (a
Python int in the 32-bit range is an Integer, a wider one a Long; a float a Double; an element
hashes by its id); tokens and BigDecimals give None, and keys among which one has no known hash
keep their insertion order.
"""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any, Callable, Hashable, Iterable, Sequence, TypeVar

from gremlin_python.statics import long

from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .values import MapEntry, PathValue

__all__ = ["string_hash", "java_hash", "hash_order", "hash_positions", "java_sort"]

_Item = TypeVar("_Item")
_Key = TypeVar("_Key", bound=Hashable)
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_STRING_HASHES: dict[str, int] = {}


def string_hash(text: str) -> int:
    """Java's ``String.hashCode()`` (over UTF-16 code units), as an unsigned 32-bit number."""
    found = _STRING_HASHES.get(text)
    if found is None:
        h = 0
        data = text.encode("utf-16-be")
        for i in range(0, len(data), 2):
            h = (31 * h + (data[i] << 8 | data[i + 1])) & _MASK32
        found = h
        if len(_STRING_HASHES) < 65536:  # keys repeat (labels, property names): keep a bounded few
            _STRING_HASHES[text] = found
    return found


def _int32(value: int) -> int:
    value &= _MASK32
    return value - (1 << 32) if value >= 1 << 31 else value


def _long_hash(value: int) -> int:
    bits = value & _MASK64
    return _int32(bits ^ (bits >> 32))


def java_hash(value: Any) -> int | None:
    """The Java hashCode() of ``value`` as a Gremlin Server would hold it, or None if unknown."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1231 if value else 1237
    if isinstance(value, str):
        return _int32(string_hash(value))
    if isinstance(value, int):
        if -(1 << 31) <= value < 1 << 31 and type(value) is not long:
            return value  # Integer
        if -(1 << 63) <= value < 1 << 63:
            return _long_hash(value)
        return None  # BigInteger
    if isinstance(value, float):
        if value != value:
            return _long_hash(0x7FF8000000000000)  # doubleToLongBits' one NaN
        return _long_hash(struct.unpack(">q", struct.pack(">d", value))[0])
    if isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord)):
        return java_hash(value.id)
    if isinstance(value, MapEntry):
        key, item = java_hash(value.key), java_hash(value.value)
        return None if key is None or item is None else _int32(key ^ item)
    if isinstance(value, (list, tuple)) and not isinstance(value, PathValue):
        h = 1
        for item in value:
            inner = java_hash(item)
            if inner is None:
                return None
            h = (31 * h + inner) & _MASK32
        return _int32(h)
    if isinstance(value, (set, frozenset)):
        return _sum_of_hashes(value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            key_hash, item_hash = java_hash(key), java_hash(item)
            if key_hash is None or item_hash is None:
                return None
            total += key_hash ^ item_hash
        return _int32(total)
    if isinstance(value, Decimal):
        return None
    return None


def _sum_of_hashes(values: Iterable[Any]) -> int | None:
    total = 0
    for item in values:
        inner = java_hash(item)
        if inner is None:
            return None
        total += inner
    return _int32(total)


def hash_positions(keys: Sequence[Any]) -> list[int]:
    """The positions of ``keys`` (distinct, in insertion order; they need not be hashable in
    Python) in the order a HashMap holding them iterates; insertion order when a key's Java hash
    is unknown."""
    count = len(keys)
    if count < 2:
        return list(range(count))
    hashes = []
    for key in keys:
        h = java_hash(key)
        if h is None:
            return list(range(count))
        hashes.append(h & _MASK32)
    capacity = 16
    while count > capacity * 3 // 4:  # the default load factor, 0.75
        capacity *= 2
    mask = capacity - 1
    return sorted(range(count), key=lambda i: (hashes[i] ^ (hashes[i] >> 16)) & mask)


def hash_order(keys: Iterable[_Key]) -> list[_Key]:
    """The order a ``java.util.HashMap``/``HashSet`` filled with ``keys`` (in that order, from
    its default capacity) iterates them in: by bucket, and within a bucket by insertion."""
    unique = list(dict.fromkeys(keys))
    return [unique[i] for i in hash_positions(unique)]


def java_sort(items: Iterable[_Item], compare: Callable[[_Item, _Item], int]) -> list[_Item]:
    """``items`` sorted as Java's ``Collections.sort`` sorts fewer than 32 items (TimSort's
    leading run, then a binary insertion sort): the same result even when ``compare`` is not a
    consistent order, as match()'s label comparator is not."""
    a = list(items)
    n = len(a)
    if n < 2:
        return a
    run = 2
    if compare(a[1], a[0]) < 0:
        while run < n and compare(a[run], a[run - 1]) < 0:
            run += 1
        a[:run] = a[run - 1::-1]
    else:
        while run < n and compare(a[run], a[run - 1]) >= 0:
            run += 1
    for start in range(run, n):
        pivot = a[start]
        left, right = 0, start
        while left < right:
            mid = (left + right) >> 1
            if compare(pivot, a[mid]) < 0:
                right = mid
            else:
                left = mid + 1
        a[left + 1:start + 1] = a[left:start]
        a[left] = pivot
    return a
