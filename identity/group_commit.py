"""Group commit: concurrent callers of one writer hand it their items, and one caller at a time
writes whatever is queued as one batch, then gives each caller its own slice of the results.

    writer = GroupCommit(write_batch)     # write_batch(items) -> one result per item, in order
    writer.submit(items)                  # from any thread: this caller's results

Why: one tenant's concurrent ingests in one process would otherwise each read, plan and write on
their own, and the optimistic guard (identity.ingest) would throw most of that work away as
conflicts. Queued behind one writer they never conflict with each other, and a group costs one
read where its callers would have cost one each. The guard stays for writers in other processes.

There is no writer thread: the caller that finds nobody writing becomes the writer and keeps
writing until the queue is empty, so nothing queued is ever left behind (a shutdown that waits for
its in-flight requests drains the queue), and an idle writer costs nothing. Callers are written in
the order they queued, whole (a caller's items are never split across two groups), so the results
are those of the callers' batches written one after another. Items must be validated before they
are submitted: a failing write fails every caller of its group, and only them.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
from typing import Callable, Generic, Sequence, TypeVar

__all__ = ["GroupCommit", "DEFAULT_MAX_GROUP"]

Item = TypeVar("Item")
Result = TypeVar("Result")

#: A group takes queued callers until it holds at least this many items: bounds how long one
#: group's write keeps the callers after it waiting.
DEFAULT_MAX_GROUP = 500


class GroupCommit(Generic[Item, Result]):
    def __init__(self, write_batch: Callable[[list[Item]], Sequence[Result]], *, max_group: int = DEFAULT_MAX_GROUP):
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._write_batch = write_batch
        self._max_group = max_group
        self._lock = threading.Lock()
        self._queue: deque[tuple[list[Item], Future]] = deque()
        self._writing = False

    @property
    def waiting(self) -> int:
        """How many callers are queued and not yet being written."""
        with self._lock:
            return len(self._queue)

    def submit(self, items: Sequence[Item]) -> list[Result]:
        """Write ``items`` (after whatever was queued before them); their results, in order."""
        if not items:
            return []
        done: Future = Future()
        with self._lock:
            self._queue.append((list(items), done))
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_until_empty()
        return done.result()

    def _write_until_empty(self) -> None:
        while True:
            with self._lock:
                group = self._take_group()
                if not group:
                    self._writing = False
                    return
            self._write_group(group)

    def _take_group(self) -> list[tuple[list[Item], Future]]:
        group, size = [], 0
        while self._queue and size < self._max_group:
            items, done = self._queue.popleft()
            group.append((items, done))
            size += len(items)
        return group

    def _write_group(self, group: list[tuple[list[Item], Future]]) -> None:
        try:
            results = list(self._write_batch([item for items, _ in group for item in items]))
            expected = sum(len(items) for items, _ in group)
            if len(results) != expected:
                raise RuntimeError(f"the batch writer returned {len(results)} results for {expected} items")
        except BaseException as error:  # every caller of the group is told; the writer goes on
            for _, done in group:
                done.set_exception(error)
            return
        start = 0
        for items, done in group:
            done.set_result(results[start:start + len(items)])
            start += len(items)
