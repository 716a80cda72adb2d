"""Per-tenant token buckets charged by cost: ``rate`` units a second on average, bursts up to
``burst`` units. A unit is what one ``resolve`` costs (identity.service.rpc.methods: what each call
costs); a request is charged the sum of its calls.

A request costing more than the bucket holds is let through once the bucket is full and leaves
it in debt: the tenant's next requests wait until the debt is paid back at ``rate``. So the
long-run rate holds whatever the request sizes, and a request up to the service's
``max_request_cost`` (identity.service.rpc.service.Limits) never waits forever for a bucket too small.

A call's price is known before it runs; what it really costs only after (a full scan grows with
the tenant): the service charges the CPU a call used beyond its price when it ends (settle), in
the same units (identity.service.rpc.service.UNIT_CPU_SECONDS).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["TokenBucket", "RateLimiter"]


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float, cost: float = 1.0) -> float:
        """0 if ``cost`` was charged, else the seconds until it can be (nothing is charged)."""
        wait = self.wait(now, cost)
        if wait == 0.0:
            self.tokens -= cost
        return wait

    def settle(self, now: float, extra: float) -> None:
        """Charge ``extra`` more, whatever the bucket holds (it may go into debt)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate) - extra
        self.updated = now

    def wait(self, now: float, cost: float = 1.0) -> float:
        """The seconds until ``cost`` can be charged: until the bucket holds it (or is full,
        for a cost beyond ``burst``)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        needed = min(cost, self.burst)
        return 0.0 if self.tokens >= needed else (needed - self.tokens) / self.rate


class RateLimiter:
    """One bucket per tenant. ``rate <= 0`` disables limiting."""

    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, tenant: str, cost: float = 1.0) -> int:
        """0 when ``cost`` was charged and the request may proceed, else the whole seconds to
        wait (for Retry-After); nothing is charged then."""
        return self._ask(tenant, cost, charge=True)

    def wait(self, tenant: str, cost: float = 1.0) -> int:
        """Like check() without charging: whether the tenant could spend ``cost`` now."""
        return self._ask(tenant, cost, charge=False)

    def settle(self, tenant: str, extra: float) -> None:
        """Charge ``extra`` units a call used beyond what it was charged before it ran (nothing
        when it used less: a price paid is not refunded). It may leave the bucket in debt: the
        tenant's next requests wait until the rate has paid it back."""
        if self.rate <= 0 or extra <= 0:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(tenant)
            if bucket is None:
                bucket = self._buckets[tenant] = TokenBucket(self.rate, self.burst, self.burst, now)
            bucket.settle(now, extra)

    def _ask(self, tenant: str, cost: float, *, charge: bool) -> int:
        if self.rate <= 0:
            return 0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(tenant)
            if bucket is None:
                bucket = self._buckets[tenant] = TokenBucket(self.rate, self.burst, self.burst, now)
            wait = bucket.take(now, cost) if charge else bucket.wait(now, cost)
        return max(1, math.ceil(wait)) if wait > 0 else 0
