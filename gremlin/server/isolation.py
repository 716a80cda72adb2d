"""Where the endpoint runs a traversal: on its worker thread, or in a process forked for it.

``IN_THREAD`` (the default of ``python -m gremlin.server``, whose process does nothing else) runs
it on the worker thread. That is not enough beside another service on the same graph, as the
console endpoint of ``identity serve`` is: a traversal holds the store's lock for as long as it
runs (one traversal at a time, docs/gremlin.md), so one long console traversal stops every
request of the service, and its memory is the service's memory.

``ProcessIsolation`` runs each traversal that does not write in a child process forked for it,
at the moment no traversal is half done (``GraphStore.quiescent``): the child reads a consistent
copy of the graph as of the request (copy-on-write: only the pages it touches are copied) while
the service goes on without waiting for it; a store that keeps the graph in a file lets the child
read the file as it was at that moment through the parent (``GraphStore.forked_reader``;
gremlin.disk_snapshot), as SQLite cannot be used across a fork. The child

- runs at a lower priority (``niceness``), so on a busy machine the service's requests go first;
- may allocate ``memory_bytes`` beyond what it was forked with (RLIMIT_AS; past it, a clear
  LimitExceeded instead of the kernel's OOM killer choosing a victim);
- gets SIGALRM at its evaluation timeout, which stops even work the engine's own deadline checks
  cannot see, and is killed outright ``_GRACE_S`` later, or as soon as its client goes away;
- shares no file descriptor with the service but the pipe its answer comes back through (and the
  socket its store reads through), and
  dies with the thread that forked it, so it never holds the service's port or graph files.

A traversal that writes must change the live graph, so it runs on the worker thread under the
store's lock like any other write, with its evaluation timeout capped at ``write_timeout_ms``:
that cap is as long as a console write can hold the service up. A grant that imposes
ReadOnlyStrategy never writes, so all of its traversals are forked. Forking needs ``os.fork``
(POSIX); elsewhere everything runs on the worker thread.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Protocol

from gremlin_python.process.strategies import ReadOnlyStrategy

from ..engine.bytecode import step_names
from ..errors import GremlinError, LimitExceeded, TraversalTimeout
from . import ops
from .protocol import Codec, error_response

__all__ = ["Runner", "InThread", "IN_THREAD", "ProcessIsolation", "MUTATING_STEPS", "writes"]

log = logging.getLogger("gremlin.server")

#: Steps that change the graph.
MUTATING_STEPS = frozenset({"addV", "addE", "property", "drop", "mergeV", "mergeE"})
#: How long after its evaluation timeout a child is killed if it has not answered.
_GRACE_S = 1.0
#: How often a waiting worker looks whether the client is still there.
_POLL_S = 0.05
_LENGTH = struct.Struct(">I")
_DONE = _LENGTH.pack(0)


class Runner(Protocol):
    def run(self, graph: Any, plan: ops.Plan, settings: ops.Settings, codec: Codec,
            on_unexpected: Callable[[BaseException], None] | None = None) -> list[bytes]:
        """Every response frame of ``plan``, encoded (errors as one error frame)."""


class InThread:
    """On the calling worker thread."""

    def run(self, graph: Any, plan: ops.Plan, settings: ops.Settings, codec: Codec,
            on_unexpected: Callable[[BaseException], None] | None = None) -> list[bytes]:
        return ops.run(graph, plan, settings, codec, on_unexpected)


IN_THREAD = InThread()


def writes(plan: ops.Plan) -> bool:
    """Whether ``plan``'s traversal may change the graph (its script parsed already)."""
    if any(s.strategy_name == "ReadOnlyStrategy" for s in plan.strategies):
        return False
    return bool(plan.bytecode is None or step_names(plan.bytecode) & MUTATING_STEPS)


@dataclass(frozen=True)
class ProcessIsolation:
    """Reads in a forked child process, writes on the worker thread (module docstring)."""

    #: what a child may allocate beyond what it was forked with
    memory_bytes: int = 1 << 30
    #: the largest encoded answer a child may send back
    max_result_bytes: int = 64 << 20
    #: the longest a traversal that writes may run (it holds the service's graph meanwhile)
    write_timeout_ms: int = 1000
    niceness: int = 10

    def run(self, graph: Any, plan: ops.Plan, settings: ops.Settings, codec: Codec,
            on_unexpected: Callable[[BaseException], None] | None = None) -> list[bytes]:
        if plan.cancelled is not None and plan.cancelled():
            return []  # its client left while it queued
        try:
            ops.parse(plan, settings)
        except GremlinError as error:
            return [codec.encode_response(error_response(plan.request_id, error))]
        if writes(plan) or not hasattr(os, "fork"):
            if not plan.timeout_ms or plan.timeout_ms > self.write_timeout_ms:
                plan.timeout_ms = self.write_timeout_ms
            return ops.run(graph, plan, settings, codec, on_unexpected)
        return self._forked(graph, plan, settings, codec)

    # -- the parent ------------------------------------------------------------------------
    def _forked(self, graph: Any, plan: ops.Plan, settings: ops.Settings, codec: Codec) -> list[bytes]:
        store = graph.store
        started = time.monotonic()
        with store.quiescent():
            reader = store.forked_reader()
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
                if pid == 0:
                    os.close(read_fd)
                    self._child(graph, plan, settings, codec, write_fd, reader)
            except BaseException:
                os.close(read_fd)
                reader.close()
                raise
            finally:
                os.close(write_fd)
        log.debug("forked traversal worker %d in %.1f ms", pid, (time.monotonic() - started) * 1000)
        try:
            reader.serve()
            return self._collect(pid, read_fd, plan, codec, started)
        finally:
            os.close(read_fd)
            _end(pid)
            reader.close()

    def _collect(self, pid: int, read_fd: int, plan: ops.Plan, codec: Codec, started: float) -> list[bytes]:
        kill_at = started + plan.timeout_ms / 1000.0 + _GRACE_S if plan.timeout_ms else None
        received = bytearray()
        while True:
            if plan.cancelled is not None and plan.cancelled():
                return []
            now = time.monotonic()
            if kill_at is not None and now >= kill_at:
                return [ops.timeout_frame(plan, codec)]
            wait = _POLL_S if kill_at is None else max(0.0, min(_POLL_S, kill_at - now))
            if not select.select([read_fd], [], [], wait)[0]:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            received += chunk
            if len(received) > self.max_result_bytes + (1 << 20):  # a child that ignores its own cap
                return [_error_frame(plan, codec, self._too_big())]
        frames = _frames(bytes(received))
        if frames is None:
            return [_error_frame(plan, codec, GremlinError(
                f"The traversal's worker process ended without an answer ({_exit_status(pid)})"))]
        return frames

    def _too_big(self) -> LimitExceeded:
        return LimitExceeded(f"The answer would be larger than the {self.max_result_bytes // (1 << 20)} MiB this "
                             f"server sends for one request: narrow the traversal or page with range()")

    # -- the child -------------------------------------------------------------------------
    def _child(self, graph: Any, plan: ops.Plan, settings: ops.Settings, codec: Codec, write_fd: int,
               reader: Any) -> NoReturn:
        status = 0
        try:
            _die_with_parent()
            reader.in_child(graph.store)
            _close_all_but(write_fd, *reader.child_fds)
            os.nice(self.niceness)
            _limit_memory(self.memory_bytes)
            if plan.timeout_ms:
                signal.signal(signal.SIGALRM, _timed_out)
                signal.setitimer(signal.ITIMER_REAL, plan.timeout_ms / 1000.0)
            plan.cancelled = None  # the parent watches the client; an Event would not cross the fork
            # a write here would change a copy nobody keeps: refused, should one ever get here
            plan.strategies = (*plan.strategies, ReadOnlyStrategy())
            frames = ops.run(graph, plan, settings, codec)
            signal.setitimer(signal.ITIMER_REAL, 0)
            if sum(len(frame) for frame in frames) > self.max_result_bytes:
                frames = [_error_frame(plan, codec, self._too_big())]
            _send(write_fd, frames)
        except BaseException as error:  # answer with the error rather than die without a word
            status = 1
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                _send(write_fd, [_error_frame(plan, codec, error)])
            except BaseException:
                pass
        finally:
            os._exit(status)


def _timed_out(signum: int, frame: Any) -> None:
    raise TraversalTimeout("A timeout occurred during traversal evaluation (evaluationTimeout exceeded)")


def _error_frame(plan: ops.Plan, codec: Codec, error: BaseException) -> bytes:
    if isinstance(error, MemoryError):
        error = LimitExceeded("The traversal needs more memory than this server gives one request: narrow it")
    return codec.encode_response(error_response(plan.request_id, error))


def _send(fd: int, frames: list[bytes]) -> None:
    for frame in frames:
        _write_all(fd, _LENGTH.pack(len(frame)))
        _write_all(fd, frame)
    _write_all(fd, _DONE)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _frames(received: bytes) -> list[bytes] | None:
    """The frames a child sent, or None when it ended before saying it was done."""
    frames, at = [], 0
    while at + _LENGTH.size <= len(received):
        (size,) = _LENGTH.unpack_from(received, at)
        at += _LENGTH.size
        if size == 0:
            return frames if at == len(received) else None
        frames.append(received[at:at + size])
        at += size
    return None


def _end(pid: int) -> None:
    """Kill the child if it still runs, and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _exit_status(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return "status unknown"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}" if os.WIFEXITED(status) else "status unknown"


def _close_all_but(*kept: int) -> None:
    """Close every inherited descriptor but stdin/stdout/stderr and ``kept``: the service's
    sockets and graph files are not the child's to hold."""
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _max_fd())


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):  # pragma: no cover - every POSIX system has it
        return 65536


def _die_with_parent() -> None:
    """Linux: SIGKILL when the thread that forked us ends (the service stopped or was killed)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _limit_memory(extra: int) -> None:
    """Allow ``extra`` bytes of address space beyond what the child was forked with (Linux:
    the forked copy counts, so the limit is relative to it)."""
    try:
        import resource
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError):
        return
    limit = current + extra
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and hard < limit:
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
