"""Surviving a flaky graph: retries with backoff, a circuit breaker, reconnection, a reader
that falls back to the writer, and a per-request deadline.

    writer = ResilientConnection(lambda: connect(writer_url), name="us-west-2/writer", is_outage=...)
    reader = ResilientConnection(lambda: connect(reader_url), name="us-west-2/reader", is_outage=...,
                                 fallback=writer)
    with deadline(10.0):               # set once per request by the RPC layer
        traversal().with_remote(writer).V().to_list()
    check_deadline()                   # long client-side work checks it between steps

Everything the identity core writes is idempotent (deterministic ids, mergeV/mergeE), so a
request that failed after the graph committed it can be sent again without a duplicate.
Retries are bounded twice: by ``RetryPolicy.attempts`` and by the request's deadline, so a
retry never outlives the caller. Each attempt also carries what is left of the deadline to the
graph as its ``evaluationTimeout`` (Neptune honours it per query, as Gremlin Server and the
embedded engine do), so the graph stops a traversal the caller no longer waits for; an attempt
that finds the deadline spent, or times out because of it, raises DeadlineExceeded, which the
circuit breaker does not count: the graph is up, the request was too slow. The breaker counts requests that failed after their retries;
while it is open, requests fail at once with ``CircuitOpen`` (HTTP 503 + Retry-After).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import tenacity
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection, RemoteTraversal
from gremlin_python.process.strategies import OptionsStrategy
from gremlin_python.process.traversal import Bytecode

from ..base import telemetry
from ..base.errors import DeadlineExceeded, GraphUnavailable

__all__ = [
    "RetryPolicy", "CircuitBreaker", "CircuitOpen", "ResilientConnection", "deadline", "remaining",
    "check_deadline", "with_evaluation_timeout", "transient_server_error", "concurrent_modification", "id_taken",
    "retry_call", "CLOSED", "OPEN", "HALF_OPEN",
]

log = logging.getLogger("identity.resilience")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"

#: What a Gremlin server error says when it refused to commit a traversal because a concurrent
#: transaction changed an element the traversal wrote (nothing of it was written): Neptune's
#: ConcurrentModificationException, and TinkerTransactionGraph's TransactionException (Gremlin
#: Server with a transactional TinkerGraph, which the tests run against).
_CONFLICT_NAMES = ("ConcurrentModificationException", "Conflict: element modified in another transaction")
#: Names in a Gremlin server error message that mark a failure worth retrying: a refused
#: concurrent write, Neptune's other transient exceptions (throttling, a writer that became a
#: reader during a failover, a server restarting) and the plain-HTTP statuses Neptune returns
#: behind a proxy.
_TRANSIENT_NAMES = (*_CONFLICT_NAMES, "ThrottlingException", "ReadOnlyViolationException",
                    "TooManyRequestsException", "ServiceUnavailable", "MemoryLimitExceededException")
_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: Failures after which the old connection is useless: open a fresh one before retrying
#: (after a failover the writer's DNS name points at a new instance).
_RECONNECT_NAMES = ("ReadOnlyViolationException",)

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("identity_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every graph retry inside the block to ``seconds`` from now (None: no bound)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current request's deadline, or None when there is none."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def check_deadline() -> None:
    """DeadlineExceeded when the current request's deadline has passed (no deadline: never)."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded("the request's deadline passed before its work was done")


def with_evaluation_timeout(bytecode: Bytecode, milliseconds: int) -> Bytecode:
    """A copy of ``bytecode`` that the graph stops after ``milliseconds`` (or sooner, when it
    already asked for less): ``g.with('evaluationTimeout', ms)``, in the traversal's one
    OptionsStrategy (the driver reads request options from the first)."""
    copy = Bytecode(bytecode)
    for index, instruction in enumerate(copy.source_instructions):
        if instruction[0] == "withStrategies" and type(instruction[1]) is OptionsStrategy:
            options = dict(instruction[1].configuration)
            asked = options.get("evaluationTimeout")
            options["evaluationTimeout"] = milliseconds if not asked else min(int(asked), milliseconds)
            copy.source_instructions[index] = ["withStrategies", OptionsStrategy(options), *instruction[2:]]
            return copy
    copy.add_source("withStrategies", OptionsStrategy({"evaluationTimeout": milliseconds}))
    return copy


def transient_server_error(error: BaseException) -> bool:
    """A GremlinServerError that a later attempt may not see (throttling, a conflict, 5xx)."""
    if not isinstance(error, GremlinServerError):
        return False
    status = _status(error)
    return status in _RETRYABLE_STATUSES or any(name in str(error) for name in _TRANSIENT_NAMES)


def concurrent_modification(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is a commit the server refused because
    of a concurrent write (the traversal wrote nothing; planning it again may succeed)."""
    while error is not None:
        if isinstance(error, GremlinServerError) and any(name in str(error) for name in _CONFLICT_NAMES):
            return True
        error = error.__cause__
    return False


def id_taken(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, refused to create an element because
    its id is in use (TinkerGraph's and our engine's "Vertex/Edge with id already exists")."""
    while error is not None:
        if "with id already exists" in str(error):
            return True
        error = error.__cause__
    return False


def _status(error: GremlinServerError) -> int | None:
    try:
        return int(error.status_code)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits up to ``initial * 2**n`` seconds,
    at most ``maximum``."""

    attempts: int = 4
    initial: float = 0.05
    maximum: float = 2.0

    def wait(self) -> tenacity.wait.wait_base:
        return tenacity.wait_random_exponential(multiplier=self.initial, max=self.maximum)


def retry_call(function: Callable[[], Any], *, policy: RetryPolicy, retryable: Callable[[BaseException], bool],
               before_retry: Callable[[BaseException], None] = lambda error: None,
               sleep: Callable[[float], None] = time.sleep) -> Any:
    """``function()``, retried on ``retryable`` failures under ``policy`` and the current
    deadline; the last failure is re-raised as it was."""
    try:
        return function()  # the common case pays nothing for the retry machinery
    except Exception as error:
        if not retryable(error) or policy.attempts <= 1:
            raise
        seen = [error]

    def attempt() -> Any:
        # tenacity's first attempt replays the failure already seen, so that the backoff, the
        # attempt limit and the deadline all count it
        if seen:
            raise seen.pop()
        return function()

    def notify(state: tenacity.RetryCallState) -> None:
        before_retry(state.outcome.exception())

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts) | _DeadlineStop(),
        wait=policy.wait(), retry=tenacity.retry_if_exception(retryable), before_sleep=notify,
        sleep=sleep, reraise=True)
    return retrying(attempt)


class _DeadlineStop(tenacity.stop.stop_base):
    """Stop when the next backoff would end past the request's deadline."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        left = remaining()
        return left is not None and left <= (retry_state.upcoming_sleep or 0.0)


class CircuitOpen(GraphUnavailable):
    """The graph failed repeatedly: requests fail at once until ``retry_after`` seconds pass."""

    def __init__(self, name: str, retry_after: float):
        super().__init__(f"graph circuit {name} is open; retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failed requests; open -> half-open after
    ``reset_after`` seconds, when one trial request may pass; its success closes the circuit,
    its failure opens it again."""

    def __init__(self, name: str, *, threshold: int = 5, reset_after: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.threshold = threshold
        self.reset_after = reset_after
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        return HALF_OPEN if self.clock() - self._opened_at >= self.reset_after else OPEN

    def retry_after(self) -> float:
        """Seconds until the circuit lets a trial request through (0 when closed)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_after - (self.clock() - self._opened_at))

    def before_call(self) -> None:
        """Raise CircuitOpen unless a request may go to the graph now."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            wait = self.reset_after - (self.clock() - self._opened_at) if state == OPEN else 1.0
        raise CircuitOpen(self.name, max(1.0, wait))

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.info("graph circuit %s closed", self.name)
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or (self._opened_at is None and self._failures >= self.threshold):
                log.warning("graph circuit %s opened after %d failed request(s)", self.name, self._failures)
                self._opened_at = self.clock()
            self._trial_running = False


class ResilientConnection(RemoteConnection):
    """A RemoteConnection that retries, reconnects, trips a breaker and may fall back.

    ``open_connection`` makes the underlying connection (called again after a connection
    failure); ``is_outage`` says which errors mean "the backend is unreachable" (the engine's
    and the socket's; server-side transient errors are known here). ``fallback`` (a reader's
    writer) serves a request this connection could not. No ``submit_async``: the identity core
    runs blocking traversals on worker threads and never uses ``promise()``."""

    def __init__(self, open_connection: Callable[[], RemoteConnection], *, name: str,
                 is_outage: Callable[[BaseException], bool], policy: RetryPolicy = RetryPolicy(),
                 breaker: CircuitBreaker | None = None, fallback: "ResilientConnection | None" = None,
                 sleep: Callable[[float], None] = time.sleep,
                 is_timeout: Callable[[BaseException], bool] = lambda error: False):
        self._open = open_connection
        self._connection: RemoteConnection | None = None
        self._connection_lock = threading.Lock()
        self.name = name
        self.is_outage = is_outage
        #: the graph stopped a traversal at its evaluationTimeout
        self.is_timeout = is_timeout
        self.policy = policy
        self.breaker = breaker if breaker is not None else CircuitBreaker(name)
        self.fallback = fallback
        telemetry.watch_circuit(self.breaker)
        self._sleep = sleep
        self._closed = False
        # connect lazily: the service starts (and reports "not ready") while the graph is down
        super().__init__(name, "g")

    # -- the RemoteConnection interface ----------------------------------------------------------
    def submit(self, bytecode: Any) -> RemoteTraversal:
        with telemetry.current().graph_request(self.name, _operation(bytecode)):
            if self.fallback is None:
                return self._submit_here(bytecode)
            try:  # a reader: one attempt, then the writer (which retries)
                return self._submit_here(bytecode, attempts=1)
            except Exception as error:
                if not (self.retryable(error) or isinstance(error, CircuitOpen)):
                    raise
                log.warning("graph %s unavailable (%s): using %s", self.name, type(error).__name__,
                            self.fallback.name)
                return self.fallback.submit(bytecode)

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        telemetry.forget_circuit(self.breaker)
        with self._connection_lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # -- retries, reconnection, the breaker ------------------------------------------------------
    def retryable(self, error: BaseException) -> bool:
        return not isinstance(error, CircuitOpen) and (self.is_outage(error) or transient_server_error(error))

    def _submit_here(self, bytecode: Any, attempts: int | None = None) -> RemoteTraversal:
        check_deadline()
        self.breaker.before_call()
        policy = self.policy if attempts is None else RetryPolicy(attempts, self.policy.initial, self.policy.maximum)
        try:
            result = retry_call(lambda: self._attempt(bytecode), policy=policy, retryable=self.retryable,
                                before_retry=self._before_retry, sleep=self._sleep)
        except DeadlineExceeded:
            raise  # nothing was learned about the graph
        except Exception as error:
            left = remaining()
            if self.is_timeout(error) and left is not None and left <= 0:
                # the graph stopped it at the deadline we sent: it is up, the request was too slow
                raise DeadlineExceeded("the request's deadline passed while the graph worked on it") from error
            if self.retryable(error):
                self.breaker.record_failure()
            else:  # the graph answered: it is up, the request was bad
                self.breaker.record_success()
            raise
        self.breaker.record_success()
        return result

    def _attempt(self, bytecode: Any) -> RemoteTraversal:
        left = remaining()
        if left is not None:
            if left <= 0:
                raise DeadlineExceeded("the request's deadline passed before the graph was asked")
            bytecode = with_evaluation_timeout(bytecode, max(1, math.ceil(left * 1000)))
        connection = self._current()
        try:
            return connection.submit(bytecode)
        except Exception as error:
            if self.is_outage(error) or any(name in str(error) for name in _RECONNECT_NAMES):
                self._discard(connection)
            raise

    def _before_retry(self, error: BaseException) -> None:
        log.info("graph %s: retrying after %s", self.name, type(error).__name__)
        telemetry.current().graph_retry(self.name, type(error).__name__)

    def _current(self) -> RemoteConnection:
        with self._connection_lock:
            if self._connection is None:
                if self._closed:
                    raise GraphUnavailable(f"graph connection {self.name} is closed")
                self._connection = self._open()
            return self._connection

    def _discard(self, connection: RemoteConnection) -> None:
        """Drop a connection that failed so the next attempt opens a fresh one."""
        with self._connection_lock:
            if self._connection is connection:
                self._connection = None
        with contextlib.suppress(Exception):
            connection.close()


def _operation(bytecode: Any) -> str:
    """The first step's name: enough to tell reads from writes, free of arguments (PII)."""
    steps = getattr(bytecode, "step_instructions", None) or [["traversal"]]
    return str(steps[0][0])
