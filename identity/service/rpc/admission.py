"""How much of the service one tenant may hold at once, so that one tenant cannot starve others.

    admission = Admission(concurrency=2, queue=16)
    if not admission.enter(tenant): ...            # 429: the tenant has ``queue`` requests open
    async with admission.slot(tenant, until):      # at most ``concurrency`` calls of the tenant run
        ...                                        # DeadlineExceeded if none frees up by ``until``
    admission.leave(tenant)

    if await admission.turn(tenant, until, call):  # a slot, or False: another call's turn took
        others = admission.take_along(tenant, call.key, 7)    # ``call`` along, and runs it
        ...                                        # ``call`` and ``others`` run as one
        admission.release(tenant)

Why: every call runs on the shared worker pool. Without a bound, one tenant's flood (a batch of
a thousand full scans, a hundred concurrent ingests) took every worker, and the other tenants'
resolves waited behind it: 5-30 ms became 400-500 ms (issue #14). With it, a tenant's calls
beyond ``concurrency`` wait here, on the event loop, in the order they came, holding no worker;
each waits at most until its request's deadline. ``queue`` bounds what a tenant's waiting costs
the process (each open request holds its body): past it, requests are refused at once.

Calls that can run as one (a tenant's resolves with the same options, walked together:
identity.service.rpc.service) wait with a ``key``: when such a call's turn comes, the calls
already waiting with its key are taken out of the queue (``take_along``, up to a bound) and
run with it in its slot. Nothing waits for more to come; the calls left keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import AsyncIterator, Hashable, Protocol

from ...base.errors import DeadlineExceeded

__all__ = ["Admission", "Slots", "Joining"]


class Joining(Protocol):
    """A waiting call that may run with others of its tenant: the calls with an equal ``key``
    run as one; ``until`` is its deadline; ``taken`` is set once another call's turn took it."""

    key: Hashable
    until: float
    taken: bool


class Slots:
    """At most ``size`` holders at once; waiters get a slot in the order they asked, or give up
    at their deadline. One event loop's tasks only (no locks needed)."""

    def __init__(self, size: int):
        self.size = size
        self.held = 0
        self._waiters: deque[tuple[asyncio.Future, Joining | None]] = deque()

    async def acquire(self, until: float, joining: Joining | None = None) -> bool:
        """True once a slot is held, or once ``joining`` was taken along by another call that
        holds one (then ``joining.taken`` is set and no slot is held); False when ``until``
        (time.monotonic) came first."""
        if self.held < self.size and not self._waiters:
            self.held += 1
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        entry = (waiter, joining)
        self._waiters.append(entry)
        timer = loop.call_later(max(0.0, until - time.monotonic()),
                                lambda: waiter.done() or waiter.set_result(False))
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result() and not (joining and joining.taken):
                self.release()  # handed a slot just as the task was cancelled: pass it on
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    def release(self) -> None:
        while self._waiters:
            waiter, _ = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes to it: ``held`` stays
                return
        self.held -= 1

    def take_along(self, key: Hashable, limit: int, now: float) -> list[Joining]:
        """Up to ``limit`` of the calls waiting with ``key`` whose deadline is still ahead, in
        queue order, out of the queue: their holder runs them (each acquire() returns True)."""
        taken: list[Joining] = []
        for entry in list(self._waiters):
            if len(taken) >= limit:
                break
            waiter, joining = entry
            if joining is None or waiter.done() or joining.key != key or joining.until <= now:
                continue
            self._waiters.remove(entry)
            joining.taken = True
            waiter.set_result(True)
            taken.append(joining)
        return taken


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

    def _of(self, tenant: str) -> Slots:
        slots = self._slots.get(tenant)
        if slots is None:
            slots = self._slots[tenant] = Slots(self.concurrency)
        return slots

    async def turn(self, tenant: str, until: float, joining: Joining | None = None) -> bool:
        """True once one of ``tenant``'s ``concurrency`` slots is held (give it back with
        release()); False once ``joining`` was taken along by a call holding one, which runs it;
        DeadlineExceeded when neither came by ``until``."""
        if not await self._of(tenant).acquire(until, joining):
            raise DeadlineExceeded("the request's deadline passed while it waited for its tenant's turn")
        return not (joining is not None and joining.taken)

    def take_along(self, tenant: str, key: Hashable, limit: int) -> list[Joining]:
        """Up to ``limit`` of ``tenant``'s calls waiting with ``key`` (their deadline still
        ahead), in queue order: the caller, which holds a slot, runs them with its own."""
        return self._of(tenant).take_along(key, limit, time.monotonic()) if limit > 0 else []

    def release(self, tenant: str) -> None:
        self._slots[tenant].release()

    @contextlib.asynccontextmanager
    async def slot(self, tenant: str, until: float) -> AsyncIterator[None]:
        """Hold one of ``tenant``'s ``concurrency`` slots for the block (DeadlineExceeded when
        none frees up by ``until``)."""
        await self.turn(tenant, until)
        try:
            yield
        finally:
            self.release(tenant)
