"""Orders a TinkerPop server produces through Java collections, reproduced.

Some answers depend on the order a Java ``HashSet``/``HashMap`` iterates its keys in (which label
match() binds the incoming traverser to, the key order of match()'s result maps) or on how
``Collections.sort`` places items its comparator calls equal. These functions give the same
order for the same inputs, so a traversal answers alike here and on a Gremlin Server.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, TypeVar

__all__ = ["string_hash", "hash_order", "java_sort"]

_Item = TypeVar("_Item")
_Key = TypeVar("_Key", bound=Hashable)


def string_hash(text: str) -> int:
    """Java's ``String.hashCode()`` (over UTF-16 code units), as an unsigned 32-bit number."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def _bucket(key: object, mask: int) -> int:
    h = string_hash(key) if isinstance(key, str) else hash(key) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & mask  # HashMap.hash() spreads the high bits down


def hash_order(keys: Iterable[_Key]) -> list[_Key]:
    """The order a ``java.util.HashMap``/``HashSet`` filled with ``keys`` (in that order, from
    its default capacity) iterates them in: by bucket, and within a bucket by insertion (a
    resize keeps that order). Exact for string keys; other keys keep a stable order."""
    unique = list(dict.fromkeys(keys))
    capacity = 16
    while len(unique) > capacity * 3 // 4:  # the default load factor, 0.75
        capacity *= 2
    mask = capacity - 1
    return sorted(unique, key=lambda key: _bucket(key, mask))


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
