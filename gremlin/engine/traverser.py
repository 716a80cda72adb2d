"""Traversers and their paths.

A path is a persistent linked list: extending it is one allocation and every traverser
split from the same parent shares its history, so tracking paths always costs little.
"""

from __future__ import annotations

from typing import Any

from ..errors import TraversalError
from ..storage import EdgeRecord, VertexRecord
from .values import PathValue, g_hash_key, java_equality_key

__all__ = ["Traverser", "PathNode", "is_simple", "sub_path_bounds", "on_path", "NO_LABELS", "OWN_KEY", "tagged_loops"]


class PathNode:
    __slots__ = ("obj", "labels", "parent")

    def __init__(self, obj: Any, labels: frozenset, parent: "PathNode | None"):
        self.obj = obj
        self.labels = labels
        self.parent = parent

    def nodes(self) -> list["PathNode"]:
        out = []
        node: PathNode | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        out.reverse()
        return out


NO_LABELS: frozenset = frozenset()

# The store holds one record per id, so a record is its own Gremlin equality key: the path
# checks below skip g_hash_key for them, the common case on the hot path.
OWN_KEY = (VertexRecord, EdgeRecord)


def is_simple(node: PathNode | None) -> bool:
    """No object occurs twice on the path (simplePath())."""
    seen = set()
    while node is not None:
        obj = node.obj
        key = obj if type(obj) in OWN_KEY else g_hash_key(obj)
        if key in seen:
            return False
        seen.add(key)
        node = node.parent
    return True


def sub_path_bounds(labels: list, from_label: str | None, to_label: str | None) -> tuple[int, int]:
    """The first and last positions of a path's part between from() and to() labels (inclusive), as
    TinkerPop's Path.subPath finds them: each label at its last position on the path, one that names
    nothing or a from() after the to() an IllegalArgumentException (not an empty part)."""
    found = {}
    for bound in (from_label, to_label):
        if bound is not None:
            found[bound] = next((i for i in range(len(labels) - 1, -1, -1) if bound in labels[i]), None)
    lo = found.get(from_label, 0) if from_label is not None else 0
    hi = found.get(to_label) if to_label is not None else len(labels) - 1
    if lo is None:
        raise TraversalError(f"Could not locate path from-label: {from_label}")
    if hi is None:
        raise TraversalError(f"Could not locate path to-label: {to_label}")
    if lo > hi:
        raise TraversalError(f"Could not isolate path because from comes after to: {from_label}->{to_label}")
    return lo, hi


def on_path(node: PathNode | None, obj: Any) -> bool:
    """``obj`` already occurs on the path: extending the path by it would not be simple."""
    key = obj if type(obj) in OWN_KEY else g_hash_key(obj)
    while node is not None:
        other = node.obj
        if other is key or (other if type(other) in OWN_KEY else g_hash_key(other)) == key:
            return True
        node = node.parent
    return False


def tagged_loops(loops: tuple, tags: tuple) -> tuple:
    """``loops`` (a traverser's repeat() entries, innermost last: (name, count) or (name, count,
    tags)) with ``tags`` added to its innermost entry: what a match() in a repeat() body marks a
    traverser with, TinkerPop's traverser tags, kept where only a traverser in a loop carries them."""
    name, count, *held = loops[-1]
    return loops[:-1] + ((name, count, (held[0] if held else ()) + tags),)


def _java_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) in OWN_KEY or type(b) in OWN_KEY:
        return False  # one record per id: elements are equal only when they are the same record
    return java_equality_key(a) == java_equality_key(b)


class Traverser:
    __slots__ = ("obj", "bulk", "path", "loops", "sack")

    def __init__(self, obj: Any, bulk: int = 1, path: PathNode | None = None,
                 loops: tuple = (), sack: Any = None):
        self.obj = obj
        self.bulk = bulk
        self.path = path
        self.loops = loops
        self.sack = sack

    @classmethod
    def start(cls, obj: Any, bulk: int = 1, sack: Any = None) -> "Traverser":
        return cls(obj, bulk, PathNode(obj, NO_LABELS, None), (), sack)

    def split(self, obj: Any) -> "Traverser":
        """A child traverser at ``obj`` whose path extends this one's."""
        return Traverser(obj, self.bulk, PathNode(obj, NO_LABELS, self.path), self.loops, self.sack)

    def split_on(self, result: "Traverser") -> "Traverser":
        """A child traverser at ``result``'s object, ``result`` being what a flatMap child
        (flatMap(), coalesce()) gave for this traverser run at a bulk of 1: as TinkerPop's
        FlatMapStep, each of the child's results stands for this traverser's whole bulk (the
        child's own merged traversers count as many as they stand for)."""
        made = self.split(result.obj)
        made.bulk = self.bulk * result.bulk
        return made

    def replace(self, obj: Any) -> "Traverser":
        """Same history, new head object (the path's last entry is replaced)."""
        parent = self.path.parent if self.path is not None else None
        labels = self.path.labels if self.path is not None else NO_LABELS
        return Traverser(obj, self.bulk, PathNode(obj, labels, parent), self.loops, self.sack)

    def copy(self, bulk: int | None = None) -> "Traverser":
        return Traverser(self.obj, self.bulk if bulk is None else bulk, self.path, self.loops, self.sack)

    def labelled(self, labels: tuple[str, ...]) -> "Traverser":
        if self.path is None:
            node = PathNode(self.obj, frozenset(labels), None)
        else:
            node = PathNode(self.path.obj, self.path.labels | frozenset(labels), self.path.parent)
        return Traverser(self.obj, self.bulk, node, self.loops, self.sack)

    def labelled_in_place(self, labels: tuple[str, ...]) -> "Traverser":
        """The labels of a step that passes its traverser on (a filter, a side effect, a branch's
        end) on a path that holds only labelled objects (TinkerPop's labelled-path traverser's
        addLabels): they join the newest labelled object when the traverser's object equals it
        (Java's equals), else they label the traverser's object. This path also holds the
        unlabelled steps, which are copied when the labels land behind them."""
        head = self.path
        node = head
        while node is not None and not node.labels:
            node = node.parent
        obj = self.obj
        if node is None or node is head or obj is None or not _java_equal(node.obj, obj):
            return self.labelled(labels)
        between = []
        walk = head
        while walk is not node:
            between.append(walk)
            walk = walk.parent
        made = PathNode(node.obj, node.labels | frozenset(labels), node.parent)
        for unlabelled in reversed(between):
            made = PathNode(unlabelled.obj, NO_LABELS, made)
        return Traverser(obj, self.bulk, made, self.loops, self.sack)

    def keeping(self, labels: frozenset) -> "Traverser":
        """This traverser with only ``labels`` left on its path (TinkerPop's keepLabels), itself
        when it has no other. Steps that label nothing are left out of the new path, as
        TinkerPop's labelled path holds none: only a traversal that reads no whole path drops
        labels (path_retraction.py); the head stays, it is the traverser's object."""
        head = self.path
        node = head
        while node is not None:
            held = node.labels
            if held and not held <= labels:
                break
            node = node.parent
        else:
            return self
        kept = []
        node = head.parent
        while node is not None:
            if node.labels:
                left = node.labels & labels
                if left:
                    kept.append((node.obj, left))
            node = node.parent
        parent = None
        for obj, left in reversed(kept):
            parent = PathNode(obj, left, parent)
        return Traverser(self.obj, self.bulk, PathNode(head.obj, head.labels & labels, parent), self.loops, self.sack)

    def path_value(self) -> PathValue:
        nodes = self.path.nodes() if self.path is not None else []
        return PathValue([set(n.labels) for n in nodes], [n.obj for n in nodes])

    def loop_count(self, name: str | None = None) -> int:
        if not self.loops:
            return 0
        if name is None:
            return self.loops[-1][1]
        for entry in reversed(self.loops):  # (name, count) or (name, count, match() tags)
            if entry[0] == name:
                return entry[1]
        # inside a loop, TinkerPop's looping traverser knows the names of its loops: no other
        raise TraversalError(f"Loop name not defined: {name}")

    def __repr__(self) -> str:
        return f"Traverser({self.obj!r}, bulk={self.bulk})"
