"""Short garbage-collector pauses for a process that holds a large in-memory graph.

CPython's full (generation 2) collection walks every object it tracks. Every vertex, edge and
vertex property record is such an object, so on a graph of a million identifiers one full
collection stops every request for seconds, and even on a few thousand it is the slowest
request of the run (measured in docs/benchmarks.md, "Resolve latency and the collector").

Graph records never need that walk: when the store drops an element it unlinks it from its
neighbours and its properties, so no reference cycle is left and reference counting frees it.
``gc.freeze()`` moves every object alive at that moment into a generation the collector never
walks again. A ``HeapSettler`` does that once the graph is loaded, and again after a full
collection that left at least ``threshold`` objects behind: what survives a full collection
in such a process is graph growth. The price: an object that is alive at a freeze and later
dies *inside a reference cycle* (an open connection, say) is never reclaimed. A freeze happens
only after ``threshold`` long-lived objects have accumulated, so that is a few objects per
``threshold`` graph objects, and ``uninstall()`` hands everything back to the collector.

Only entry points that own the process call this (``identity serve`` and ``gremlin-server``):
a library must not change a host application's collector behind its back.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

__all__ = ["HeapSettler", "DEFAULT_THRESHOLD"]

#: Survivors of a full collection that trigger a freeze: a pause over this many objects is a
#: few tens of milliseconds on a slow core.
DEFAULT_THRESHOLD = 20_000


class HeapSettler:
    """Freezes the long-lived heap now and after each full collection that leaves at least
    ``threshold`` objects; ``freezes`` counts how often it did."""

    def __init__(self, threshold: int = DEFAULT_THRESHOLD):
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {threshold}")
        self.threshold = threshold
        self.freezes = 0
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> "HeapSettler":
        with self._lock:
            if not self._installed:
                gc.callbacks.append(self._after_collection)
                self._installed = True
        self.settle()
        return self

    def settle(self) -> None:
        """Collect what is garbage now, then freeze the rest (call when a graph is loaded)."""
        gc.collect()
        self._freeze()

    def uninstall(self) -> None:
        with self._lock:
            if self._installed:
                gc.callbacks.remove(self._after_collection)
                self._installed = False
        gc.unfreeze()

    def _freeze(self) -> None:
        gc.freeze()
        self.freezes += 1

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # A full collection has just removed the garbage: its survivors are live, long-lived
        # objects. Counting them costs one more pass over what was just walked anyway.
        if phase == "stop" and info.get("generation") == 2 and len(gc.get_objects(2)) >= self.threshold:
            self._freeze()

    def __enter__(self) -> "HeapSettler":
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.uninstall()
