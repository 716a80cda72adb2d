"""Group commit: concurrent callers of one writer hand it their items, and one caller at a time
writes whatever is queued as one batch, then gives each caller its own slice of the results.

    writer = GroupCommit(write_batch)     # write_batch(items) -> one result per item, in order
    writer.submit(items)                  # from any thread: this caller's results

Why: one tenant's concurrent ingests in one process would otherwise each read, plan and write on
their own, and the optimistic guard (identity.domain.ingest) would throw most of that work away as
conflicts. Queued behind one writer they never conflict with each other, and a group costs one
read where its callers would have cost one each. The guard stays for writers in other processes.

There is no writer thread: the caller that finds nobody writing becomes the writer, writes one
group (its own items and whatever queued behind them) and hands the writing to the first caller
still queued, so every caller waits for at most the groups queued before it and nothing queued is
ever left behind (a shutdown that waits for its in-flight requests drains the queue); an idle
writer costs nothing. Callers are written in the order they queued, whole (a caller's items are
never split across two groups), so the results are those of the callers' batches written one
after another. Items must be validated before they are submitted: a failing write fails every
caller of its group, and only them. A group is written in the context (contextvars: request
deadline, telemetry span) of its first caller.

A caller whose request deadline (identity.graph.resilience) passes while it is still queued leaves the
queue with DeadlineExceeded, its items unwritten, and hands the writing on if it was to write
next; once its items are in a group being written, it waits for that group.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from typing import Any, Callable, Generic, Sequence, TypeVar

from ..base.errors import DeadlineExceeded
from .resilience import remaining

__all__ = ["GroupCommit", "DEFAULT_MAX_GROUP"]

Item = TypeVar("Item")
Result = TypeVar("Result")

#: A group takes queued callers until it holds at least this many items: bounds how long one
#: group's write keeps the callers after it waiting.
DEFAULT_MAX_GROUP = 500


class _Caller:
    def __init__(self, items: list[Any]):
        self.items = items
        self.context = contextvars.copy_context()
        self.leads = False  # it writes the next group
        self.taken = False  # its items are in a group being written
        self.done = False
        self.results: list[Any] = []
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    def __init__(self, write_batch: Callable[[list[Item]], Sequence[Result]], *, max_group: int = DEFAULT_MAX_GROUP):
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._write_batch = write_batch
        self._max_group = max_group
        self._changed = threading.Condition()
        self._queue: deque[_Caller] = deque()
        self._writing = False

    @property
    def waiting(self) -> int:
        """How many callers are queued and not yet being written."""
        with self._changed:
            return len(self._queue)

    def submit(self, items: Sequence[Item]) -> list[Result]:
        """Write ``items`` (after whatever was queued before them); their results, in order."""
        if not items:
            return []
        me = _Caller(list(items))
        with self._changed:
            self._queue.append(me)
            if not self._writing:
                self._writing = me.leads = True
            while not (me.done or me.leads):
                left = None if me.taken else remaining()
                if left is not None and left <= 0:
                    self._leave(me)
                self._changed.wait(left)
            if me.leads and not me.done:
                left = remaining()
                if left is not None and left <= 0:
                    self._leave(me)
        if not me.done:
            self._write_next_group()  # me first in it: the queue's head is the one that leads
        if me.error is not None:
            raise me.error
        return me.results

    def _leave(self, me: _Caller) -> None:
        """Take a caller whose deadline passed out of the queue (holding the lock)."""
        self._queue.remove(me)
        if me.leads:
            self._hand_over()
        raise DeadlineExceeded("the request's deadline passed while its ingest waited for its tenant's writer")

    def _hand_over(self) -> None:
        """The first caller queued writes next; nobody writes when none is (holding the lock)."""
        if self._queue:
            self._queue[0].leads = True
        else:
            self._writing = False
        self._changed.notify_all()

    def _write_next_group(self) -> None:
        with self._changed:
            group, size = [], 0
            while self._queue and size < self._max_group:
                group.append(self._queue.popleft())
                group[-1].taken = True
                size += len(group[-1].items)
        try:
            results = list(group[0].context.run(self._write_batch, [i for caller in group for i in caller.items]))
            if len(results) != size:
                raise RuntimeError(f"the batch writer returned {len(results)} results for {size} items")
            error = None
        except BaseException as failure:  # every caller of the group is told; the writing goes on
            error = failure
        with self._changed:
            start = 0
            for caller in group:
                if error is None:
                    caller.results = results[start:start + len(caller.items)]
                    start += len(caller.items)
                caller.error, caller.done = error, True
            self._hand_over()
