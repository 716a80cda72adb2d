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

A full collection still walks what reached the oldest generation since the last freeze, and on
a store that serves from disk (``file://``) that is its record cache's churn: records made for a
walk live in the cache for a while, so they pass through both young generations into the oldest
one, then are let go and freed by reference counting. CPython collects the oldest generation
every 10 collections of the middle one, so at 200 resolves a second on the 1.18M-identifier graph
each full collection walked the records of about 500 walks (about 50,000 objects, 25-35 ms of
CPU, during which every request waits). The settler makes that every ``full_every`` (2)
collections of the middle one, and freezes after one that leaves ``threshold`` (4,000)
survivors: about the same objects walked in total, in pauses of 3-4 ms (docs/benchmarks.md,
"The embedded graph at scale"). It sets the collector's third threshold
while installed and puts back the one it found when uninstalled.

The settler also pauses the collector while a traversal runs in this process
(``paused_for_traversal``, called by the engine). A traversal's garbage is freed by reference
counting (tests/test_heap.py checks that traversals, failing ones included, leave no cyclic
garbage), and the results it builds are all reachable, so young collections during it walk
hundreds of new objects and free nothing. That saved about a tenth of the CPU of the 3-hop
traversal of benchmarks/engine.py (0.41 -> 0.37 ms, ``--heap-settler``). Concurrent
traversals do not keep it paused: the one that paused it resumes it when it ends, and the next
one to start pauses it again, so collections still run between them.

Only entry points that own the process install this (``identity serve`` and ``gremlin-server``):
a library must not change a host application's collector behind its back.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager, nullcontext
from typing import Any, ContextManager, Iterator

__all__ = ["HeapSettler", "DEFAULT_THRESHOLD", "DEFAULT_FULL_EVERY", "paused_for_traversal"]

#: Survivors of a full collection that trigger a freeze: what is not frozen yet is walked again
#: by each full collection, so this bounds the pause and how often a survivor is walked (with
#: 20,000, at ``DEFAULT_FULL_EVERY``, the disk store's churn was walked by two or three full
#: collections before a freeze: 1.8 times the CPU of 4,000).
DEFAULT_THRESHOLD = 4_000


#: Collections of the middle generation between two full collections (CPython's default: 10).
DEFAULT_FULL_EVERY = 2


#: The installed HeapSettler, if any.
_settler: "HeapSettler | None" = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for a block that allocates only live objects (a traversal);
    left as it was found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def paused_for_traversal() -> ContextManager[None]:
    """The collector paused for one traversal when an installed HeapSettler asks for it and
    it is on; otherwise nothing."""
    settler = _settler
    if settler is not None and settler.pause_traversals and gc.isenabled():
        return collector_paused()
    return nullcontext()


class HeapSettler:
    """Freezes the long-lived heap now and after each full collection that leaves at least
    ``threshold`` objects, makes a full collection every ``full_every`` collections of the
    middle generation, and (``pause_traversals``) pauses the collector while a traversal
    runs; ``freezes`` counts how often it froze."""

    def __init__(self, threshold: int = DEFAULT_THRESHOLD, *, pause_traversals: bool = True,
                 full_every: int = DEFAULT_FULL_EVERY):
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {threshold}")
        if full_every < 1:
            raise ValueError(f"full_every must be at least 1, not {full_every}")
        self.threshold = threshold
        self.pause_traversals = pause_traversals
        self.full_every = full_every
        self.freezes = 0
        self._installed = False
        self._found_thresholds: tuple[int, ...] | None = None
        self._lock = threading.Lock()

    def install(self) -> "HeapSettler":
        global _settler
        with self._lock:
            if not self._installed:
                gc.callbacks.append(self._after_collection)
                self._found_thresholds = gc.get_threshold()
                young, middle = self._found_thresholds[:2]
                gc.set_threshold(young, middle, self.full_every)
                self._installed = True
                _settler = self
        self.settle()
        return self

    def settle(self) -> None:
        """Collect what is garbage now, then freeze the rest (call when a graph is loaded)."""
        gc.collect()
        self._freeze()

    def uninstall(self) -> None:
        global _settler
        with self._lock:
            if self._installed:
                gc.callbacks.remove(self._after_collection)
                if self._found_thresholds is not None and gc.get_threshold()[2] == self.full_every:
                    gc.set_threshold(*self._found_thresholds)  # unless someone set it since
                self._installed = False
                if _settler is self:
                    _settler = None
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
