"""How much of the service one tenant may hold at once, so that one tenant cannot starve others.

    admission = Admission(concurrency=2, queue=16)
    if not admission.enter(tenant): ...            # 429: the tenant has ``queue`` requests open
    async with admission.slot(tenant, until):      # at most ``concurrency`` calls of the tenant run
        ...                                        # DeadlineExceeded if none frees up by ``until``
    admission.leave(tenant)

Why: every call runs on the shared worker pool. Without a bound, one tenant's flood (a batch of
a thousand full scans, a hundred concurrent ingests) took every worker, and the other tenants'
resolves waited behind it: 5-30 ms became 400-500 ms (issue #14). With it, a tenant's calls
beyond ``concurrency`` wait here, on the event loop, in the order they came, holding no worker;
each waits at most until its request's deadline. ``queue`` bounds what a tenant's waiting costs
the process (each open request holds its body): past it, requests are refused at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import AsyncIterator

from ...base.errors import DeadlineExceeded

__all__ = ["Admission", "Slots"]


class Slots:
    """At most ``size`` holders at once; waiters get a slot in the order they asked, or give up
    at their deadline. One event loop's tasks only (no locks needed)."""

    def __init__(self, size: int):
        self.size = size
        self.held = 0
        self._waiters: deque[asyncio.Future] = deque()

    async def acquire(self, until: float) -> bool:
        """True once a slot is held; False when ``until`` (time.monotonic) came first."""
        if self.held < self.size and not self._waiters:
            self.held += 1
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(max(0.0, until - time.monotonic()),
                                lambda: waiter.done() or waiter.set_result(False))
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()  # handed a slot just as the task was cancelled: pass it on
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes to it: ``held`` stays
                return
        self.held -= 1


class Admission:
    def __init__(self, concurrency: int, queue: int):
        if concurrency < 1 or queue < 1:
            raise ValueError("concurrency and queue must be at least 1")
        self.concurrency = concurrency
        self.queue = queue
        self._open: dict[str, int] = {}
        self._slots: dict[str, Slots] = {}

    def open_requests(self, tenant: str) -> int:
        return self._open.get(tenant, 0)

    def enter(self, tenant: str) -> bool:
        """Count a request of ``tenant`` as open; False (and not counted) when ``queue`` are."""
        if self._open.get(tenant, 0) >= self.queue:
            return False
        self._open[tenant] = self._open.get(tenant, 0) + 1
        return True

    def leave(self, tenant: str) -> None:
        left = self._open.get(tenant, 0) - 1
        if left > 0:
            self._open[tenant] = left
        else:
            self._open.pop(tenant, None)

    @contextlib.asynccontextmanager
    async def slot(self, tenant: str, until: float) -> AsyncIterator[None]:
        """Hold one of ``tenant``'s ``concurrency`` slots for the block (DeadlineExceeded when
        none frees up by ``until``)."""
        slots = self._slots.get(tenant)
        if slots is None:
            slots = self._slots[tenant] = Slots(self.concurrency)
        if not await slots.acquire(until):
            raise DeadlineExceeded("the request's deadline passed while it waited for its tenant's turn")
        try:
            yield
        finally:
            slots.release()
