"""What the handlers share: the tenant registry, per-tenant identity graphs, limits, the
worker pool and the bookkeeping for graceful shutdown. Passed to every handler through
``initialize()``, so tests build one from fakes."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Hashable, Protocol, Sequence

from ...base import telemetry
from ...base.errors import DeadlineExceeded
from ...graph.resilience import deadline
from ...security.tenants import TenantRegistry
from ..config import Config
from .admission import Admission
from .ratelimit import RateLimiter

__all__ = ["Limits", "Service", "IdentityLike", "Joinable", "UNIT_CPU_SECONDS"]


class IdentityLike(Protocol):
    """The slice of identity.domain.core.IdentityGraph the service calls."""

    def ingest(self, events: list[dict], *, atomic: bool = True) -> list[Any]: ...
    def ingest_each(self, calls: list[tuple[list[dict], bool]]) -> list[Any]: ...
    def resolve(self, id_type: str, value: str, **options: Any) -> Any: ...
    def resolve_many(self, identifiers: list[dict], **options: Any) -> list[Any]: ...
    def resolve_each(self, asked: list[tuple[str, str]], **options: Any) -> list[Any]: ...
    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None: ...
    def forget(self, id_type: str, value: str) -> dict: ...
    def export(self, id_type: str, value: str) -> dict: ...
    def stats(self) -> dict: ...


#: The service CPU one cost unit stands for (identity.service.rpc.methods: the costs are measured in it).
UNIT_CPU_SECONDS = 0.0005


class _CpuUsed:
    """The CPU seconds a worker thread spent on one call (written by the worker)."""

    seconds = 0.0


@dataclass(eq=False)
class Joinable:
    """A call that may run as one with calls of its tenant waiting for their turn: those with an
    equal ``key`` give ``many`` their ``each``, in queue order, and it answers one function per
    call, which returns that call's result or raises its error in the call's own context (its
    span); at most ``most`` calls run as one (1: each alone). identity.service.rpc.methods:
    resolve's walk together, ingest's write together."""

    method: str
    key: Hashable
    many: Callable[[list[Any]], list[Callable[[], Any]]]
    each: Any
    most: int


@dataclass(eq=False)
class _Waiting:
    """A Joinable call in its tenant's queue (identity.service.rpc.admission.Joining)."""

    call: Joinable
    until: float
    charged: float
    context: contextvars.Context
    answer: asyncio.Future
    taken: bool = False

    @property
    def key(self) -> Hashable:
        return self.call.key


_CONFIGURED = Config()


@dataclass(frozen=True)
class Limits:
    """The request limits the handlers enforce: the settings of the same names, whose defaults
    and meaning identity.service.config.Config gives."""

    max_body_bytes: int = _CONFIGURED.max_body_bytes
    max_batch: int = _CONFIGURED.max_batch
    max_header_bytes: int = _CONFIGURED.max_header_bytes
    header_timeout: float = _CONFIGURED.header_timeout
    body_timeout: float = _CONFIGURED.body_timeout
    max_request_cost: int = _CONFIGURED.max_request_cost
    tenant_concurrency: int = _CONFIGURED.tenant_concurrency
    tenant_queue: int = _CONFIGURED.tenant_queue
    resolve_together: int = _CONFIGURED.resolve_together
    ingest_together: int = _CONFIGURED.ingest_together

    @classmethod
    def of(cls, config: Config) -> "Limits":
        return cls(**{limit.name: getattr(config, limit.name) for limit in fields(cls)})


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
    #: A request's work (every call of a batch: waiting for a turn and a worker, graph round
    #: trips and their retries, planning) ends this many seconds after it starts.
    request_timeout: float = 10.0
    #: tenant id -> seconds until its graph takes requests again (0: now); the circuit breaker.
    circuit_wait: Callable[[str], float] = lambda tenant: 0.0
    #: Called once at shutdown, after requests drained (closes graph connections).
    on_close: Callable[[], None] = lambda: None
    #: The tenants' key rings (identity.security.keys.Keyring), for the data-key admin methods.
    keyring: Any = None
    #: The regions' graphs (identity.graph.regions.RegionRouter), for inspecting connections and circuits.
    router: Any = None
    #: The tenants' guard settings (identity.service.settings.GuardSettings), for the tenant.guards methods.
    guards: Any = None
    #: The regions this instance serves: the readiness probe pings each.
    served_regions: Callable[[], Sequence[str]] = lambda: ("default",)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="identity-worker")
        self.admission = Admission(self.limits.tenant_concurrency, self.limits.tenant_queue)
        self.draining = False
        self._identities: dict[str, IdentityLike] = {}
        self._identities_lock = threading.Lock()
        self._inflight = 0
        self._idle: asyncio.Event | None = None
        self._together: set[asyncio.Task] = set()  # groups running (a task is only weakly held)

    def identity(self, tenant: str) -> IdentityLike:
        with self._identities_lock:
            graph = self._identities.get(tenant)
            if graph is None:
                graph = self._identities[tenant] = self.identity_factory(tenant)
            return graph

    async def run(self, function: Callable[..., Any], *args: Any, tenant: str | None = None,
                  until: float | None = None, charged: float = 0.0, joinable: Joinable | None = None) -> Any:
        """Blocking graph work off the event loop, in the caller's context (its span), under the
        request's deadline ``until`` (time.monotonic; default: ``request_timeout`` from now) and,
        for a ``tenant``, in one of its slots (identity.service.rpc.admission). The tenant was charged
        ``charged`` units for it up front; the CPU the work took beyond that is charged after it
        (RateLimiter.settle): a call's price is known before it runs, its cost only after.

        A ``joinable`` call (``function(*args)`` is what it runs alone) whose turn comes while
        calls with its key wait for theirs takes up to ``Joinable.most`` - 1 of them along and
        runs them as one (``Joinable.many``) in its slot and one worker; one that was taken along
        gets its answer from that run. Each keeps its deadline and pays its price and an equal
        share of the run's CPU."""
        end = until if until is not None else time.monotonic() + self.request_timeout
        if tenant is None:
            return await self._in_worker(end, function, *args)
        if joinable is None or joinable.most <= 1:
            async with self.admission.slot(tenant, end):
                return await self._charged(tenant, end, charged, function, *args)
        waiting = _Waiting(joinable, end, charged, contextvars.copy_context(),
                           asyncio.get_running_loop().create_future())
        if await self.admission.turn(tenant, end, waiting):
            others = self.admission.take_along(tenant, joinable.key, joinable.most - 1)
            if not others:
                try:
                    return await self._charged(tenant, end, charged, function, *args)
                finally:
                    self.admission.release(tenant)
            task = asyncio.ensure_future(self._run_together(tenant, [waiting, *others]))
            self._together.add(task)
            task.add_done_callback(self._together.discard)
        try:  # the run goes on for the others when this call's deadline passes
            return await asyncio.wait_for(asyncio.shield(waiting.answer), max(0.0, end - time.monotonic()))
        except asyncio.TimeoutError:
            waiting.answer.cancel()  # nobody reads it now
            raise DeadlineExceeded("the request's deadline passed while it ran with others") from None

    async def _charged(self, tenant: str, end: float, charged: float, function: Callable[..., Any],
                       *args: Any) -> Any:
        used = _CpuUsed()
        try:
            return await self._in_worker(end, function, *args, used=used)
        finally:
            self.limiter.settle(tenant, used.seconds / UNIT_CPU_SECONDS - charged)

    async def _run_together(self, tenant: str, group: list[_Waiting]) -> None:
        """``group``'s calls run as one in the slot its first holds (given back at the end), under
        the latest of their deadlines; each answer goes to its call, the CPU in equal shares."""
        used = _CpuUsed()
        try:
            end = max(waiting.until for waiting in group)
            telemetry.current().calls_together(len(group), group[0].call.method)
            try:
                outcomes = await self._in_worker(end, self._each_answer, group, used=used)
            except Exception as error:  # the run as a whole failed (the graph, the deadline): each call fails
                outcomes = [(False, error)] * len(group)
            for waiting, (ok, outcome) in zip(group, outcomes):
                if waiting.answer.done():  # it gave up at its deadline
                    pass
                elif ok:
                    waiting.answer.set_result(outcome)
                else:
                    waiting.answer.set_exception(outcome)
                self.limiter.settle(tenant, used.seconds / len(group) / UNIT_CPU_SECONDS - waiting.charged)
        finally:
            self.admission.release(tenant)

    @staticmethod
    def _each_answer(group: list[_Waiting]) -> list[tuple[bool, Any]]:
        """In a worker: ``many`` on the group's inputs, then each call's own part in its context."""
        finish = group[0].call.many([waiting.call.each for waiting in group])
        outcomes: list[tuple[bool, Any]] = []
        for waiting, answer in zip(group, finish):
            try:
                outcomes.append((True, waiting.context.run(Service._marked, answer, len(group))))
            except Exception as error:  # this call's own error: the others still get their answers
                outcomes.append((False, error))
        return outcomes

    @staticmethod
    def _marked(answer: Callable[[], Any], calls: int) -> Any:
        telemetry.current().ran_with_others(calls)
        return answer()

    async def _in_worker(self, end: float, function: Callable[..., Any], *args: Any,
                         used: "_CpuUsed | None" = None) -> Any:
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.executor, context.run, self._bounded, end,
                                                                used or _CpuUsed(), function, *args)

    @staticmethod
    def _bounded(end: float, used: "_CpuUsed", function: Callable[..., Any], *args: Any) -> Any:
        left = end - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the request's deadline passed while it waited for a worker")
        started = time.thread_time()
        try:
            with deadline(left):
                return function(*args)
        finally:
            used.seconds = time.thread_time() - started

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
