"""What the handlers share: the tenant registry, per-tenant identity graphs, limits, the
worker pool and the bookkeeping for graceful shutdown. Passed to every handler through
``initialize()``, so tests build one from fakes."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from ..resilience import deadline
from ..tenants import TenantRegistry
from .ratelimit import RateLimiter

__all__ = ["Limits", "Service", "IdentityLike"]


class IdentityLike(Protocol):
    """The slice of identity.core.IdentityGraph the service calls."""

    def ingest(self, events: list[dict]) -> list[Any]: ...
    def resolve(self, id_type: str, value: str, **options: Any) -> Any: ...
    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None: ...
    def forget(self, id_type: str, value: str) -> dict: ...
    def export(self, id_type: str, value: str) -> dict: ...
    def stats(self) -> dict: ...


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    #: A request's head (request line and headers) beyond this is answered 431; beyond
    #: HEADER_READ_FACTOR times this the connection is closed without reading further.
    max_header_bytes: int = 16 * 1024
    #: Seconds a connection may take to send a request's head (and may sit idle between requests).
    header_timeout: float = 10.0
    #: Seconds a request may take to send its body.
    body_timeout: float = 30.0


@dataclass
class Service:
    registry: TenantRegistry
    #: tenant id -> its IdentityGraph (called once per tenant; the result is cached).
    identity_factory: Callable[[str], IdentityLike]
    #: region -> raises if that region's writer graph is unreachable (the readiness probe).
    ping: Callable[[str], None]
    limits: Limits = field(default_factory=Limits)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    workers: int = 8
    #: A call's graph work, retries included, is bounded by this many seconds.
    request_timeout: float = 10.0
    #: tenant id -> seconds until its graph takes requests again (0: now); the circuit breaker.
    circuit_wait: Callable[[str], float] = lambda tenant: 0.0
    #: Called once at shutdown, after requests drained (closes graph connections).
    on_close: Callable[[], None] = lambda: None
    #: The tenants' key rings (identity.keys.Keyring), for the data-key admin methods.
    keyring: Any = None
    #: The regions' graphs (identity.regions.RegionRouter), for inspecting connections and circuits.
    router: Any = None
    #: The regions this instance serves: the readiness probe pings each.
    served_regions: Callable[[], Sequence[str]] = lambda: ("default",)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="identity-worker")
        self.draining = False
        self._identities: dict[str, IdentityLike] = {}
        self._identities_lock = threading.Lock()
        self._inflight = 0
        self._idle: asyncio.Event | None = None

    def identity(self, tenant: str) -> IdentityLike:
        with self._identities_lock:
            graph = self._identities.get(tenant)
            if graph is None:
                graph = self._identities[tenant] = self.identity_factory(tenant)
            return graph

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Blocking graph work off the event loop, in the caller's context (its span) and
        under the request deadline."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.executor, context.run, self._bounded,
                                                                function, *args)

    def _bounded(self, function: Callable[..., Any], *args: Any) -> Any:
        with deadline(self.request_timeout):
            return function(*args)

    # -- graceful shutdown -----------------------------------------------------------------
    def request_started(self) -> None:
        self._inflight += 1

    def request_finished(self) -> None:
        self._inflight -= 1
        if self._inflight == 0 and self._idle is not None:
            self._idle.set()

    @property
    def inflight(self) -> int:
        return self._inflight

    async def drain(self, grace_period: float) -> bool:
        """Refuse new requests; wait up to ``grace_period`` for running ones. True if all finished."""
        self.draining = True
        if self._inflight == 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), grace_period)
            return True
        except asyncio.TimeoutError:
            return False

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.on_close()
