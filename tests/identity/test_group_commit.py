"""Group commit: concurrent ingests of one tenant in one process queue behind one writer, which
writes what is queued as one batch; each caller gets the results of its own events, exactly as
if the calls had been made one after another in the order they queued."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from identity import IdentityGraph, TenantConfig
from identity.base.errors import DeadlineExceeded, GraphUnavailable, ValidationError
from identity.domain.reference import ReferenceIdentity
from identity.graph.group_commit import GroupCommit
from identity.graph.resilience import deadline

from identity_helpers import event

PHONE = ("phone", "+15550100200")
ANN = ("email", "ann@example.com")
BOB = ("email", "bob@example.com")
DEVICE = ("device_id", "dev-1")

_WAIT_S = 30  # a bound for a test that would otherwise hang, not a timing assertion


class Gate:
    """Holds the first caller that reaches ``hold()`` until ``open()``."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._opened = threading.Event()
        self._first = True
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            first, self._first = self._first, False
        if first:
            self.entered.set()
            assert self._opened.wait(_WAIT_S), "the gate was never opened"

    def open(self) -> None:
        self._opened.set()


class GatedConnection(RemoteConnection):
    """Counts traversals; the first one waits at ``gate``."""

    def __init__(self, inner: RemoteConnection, gate: Gate):
        super().__init__(inner.url, inner.traversal_source)
        self.inner, self.gate, self.submits = inner, gate, 0

    def submit(self, bytecode: Any) -> Any:
        self.submits += 1
        self.gate.hold()
        return self.inner.submit(bytecode)

    def close(self) -> None:
        pass  # the connection fixture closes the inner one


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.001)


def queue_in_order(pool: ThreadPoolExecutor, waiting: Callable[[], int],
                   calls: list[Callable[[], Any]]) -> list[Future]:
    """Start ``calls`` one after another, each once the one before is queued (a fixed order)."""
    futures = []
    for call in calls:
        before = waiting()
        futures.append(pool.submit(call))
        wait_until(lambda: waiting() > before)
    return futures


def test_concurrent_ingests_are_written_as_one_batch_with_the_results_of_one_after_another(connection, clock) -> None:
    config = TenantConfig(type_limits={"email": 1})
    gate = Gate()
    gated = GatedConnection(connection, gate)
    ids = IdentityGraph(traversal().with_remote(gated), "acme", config=config, clock=clock)
    batches = [[event("e0", PHONE)],
               [event("e1", PHONE, ANN), event("e2", DEVICE)],
               [event("e3", PHONE, BOB)],        # refused: the phone already has Ann's email
               [event("e1", PHONE, ANN), event("e4", DEVICE, BOB)]]  # e1 again: a duplicate
    with ThreadPoolExecutor(len(batches)) as pool:
        first = pool.submit(ids.ingest, batches[0])
        assert gate.entered.wait(_WAIT_S)  # the first caller is writing (its read is held)
        rest = queue_in_order(pool, lambda: ids._ingest_writer.waiting,
                              [lambda b=b: ids.ingest(b) for b in batches[1:]])
        gate.open()
        got = [first.result(_WAIT_S)] + [f.result(_WAIT_S) for f in rest]
    reference = ReferenceIdentity("acme", config=config, clock=clock)
    expected = [reference.ingest(batch) for batch in batches]
    assert [[r.to_dict() for r in results] for results in got] == \
        [[r.to_dict() for r in results] for results in expected]
    assert [r.duplicate for r in got[3]] == [True, False]
    assert gated.submits == 4  # the first caller's read and write, then one read and one write for the rest


def test_an_invalid_batch_fails_its_caller_alone_and_is_never_queued(connection, clock) -> None:
    gate = Gate()
    ids = IdentityGraph(traversal().with_remote(GatedConnection(connection, gate)), "acme", clock=clock)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ids.ingest, [event("e0", PHONE, ANN)])
        assert gate.entered.wait(_WAIT_S)
        with pytest.raises(ValidationError):  # answered at once, while the writer is busy
            ids.ingest([event("e1", BOB), {"type": "login", "identifiers": "not a list"}])
        assert ids._ingest_writer.waiting == 0
        second = queue_in_order(pool, lambda: ids._ingest_writer.waiting, [lambda: ids.ingest([event("e2", BOB)])])
        gate.open()
        assert first.result(_WAIT_S)[0].event_id == "e0"
        assert second[0].result(_WAIT_S)[0].event_id == "e2"
    assert ids.resolve(*BOB) is not None and ids.resolve(*ANN) is not None
    assert [r.duplicate for r in ids.ingest([event("e1", BOB)])] == [False]  # the invalid batch wrote nothing


# -- GroupCommit on its own -------------------------------------------------------------------------

class RecordingWriter:
    """A batch writer that doubles its items, records each batch, and fails the batches that
    contain ``poison``; its first batch waits at ``gate``."""

    def __init__(self, gate: Gate, poison: int | None = None):
        self.gate, self.poison, self.batches = gate, poison, []

    def __call__(self, items: list[int]) -> list[int]:
        self.gate.hold()
        self.batches.append(list(items))
        if self.poison in items:
            raise GraphUnavailable("the graph went away")
        return [2 * item for item in items]


def test_a_failed_write_fails_the_callers_of_its_group_only_and_the_writer_goes_on() -> None:
    gate = Gate()
    writer = RecordingWriter(gate, poison=13)
    commit: GroupCommit[int, int] = GroupCommit(writer, max_group=3)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(commit.submit, [1])
        assert gate.entered.wait(_WAIT_S)
        # groups after the first: [2, 3] + [13] (3 items: full), then [4]
        queued = queue_in_order(pool, lambda: commit.waiting, [lambda: commit.submit([2, 3]),
                                                                lambda: commit.submit([13]),
                                                                lambda: commit.submit([4])])
        gate.open()
        assert first.result(_WAIT_S) == [2]
        for failed in queued[:2]:
            with pytest.raises(GraphUnavailable):
                failed.result(_WAIT_S)
        assert queued[2].result(_WAIT_S) == [8]
    assert writer.batches == [[1], [2, 3, 13], [4]]
    assert commit.submit([5]) == [10]  # not stuck: the next caller writes


@dataclass
class HeldWriting:
    """A GroupCommit whose first caller (``first``, submitted ``[first_item]``) is held writing
    at ``gate`` by ``writer``; ``pool`` runs more callers."""

    commit: GroupCommit
    writer: RecordingWriter
    gate: Gate
    pool: ThreadPoolExecutor
    first: Future


@contextlib.contextmanager
def writing_held(first_item: int, **options: Any) -> Iterator[HeldWriting]:
    gate = Gate()
    writer = RecordingWriter(gate)
    commit: GroupCommit[int, int] = GroupCommit(writer, **options)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(commit.submit, [first_item])
        assert gate.entered.wait(_WAIT_S)
        yield HeldWriting(commit, writer, gate, pool, first)


def test_every_queued_caller_is_written_before_the_writer_stops() -> None:
    with writing_held(0, max_group=2) as held:
        commit = held.commit
        queued = queue_in_order(held.pool, lambda: commit.waiting,
                                [lambda n=n: commit.submit([n]) for n in range(1, 6)])
        held.gate.open()
        assert [f.result(_WAIT_S) for f in [held.first, *queued]] == [[0], [2], [4], [6], [8], [10]]
    assert held.writer.batches == [[0], [1, 2], [3, 4], [5]]
    assert commit.waiting == 0


def test_a_caller_whose_deadline_passes_in_the_queue_leaves_it_unwritten() -> None:
    with writing_held(1) as held:
        commit = held.commit

        def submit_within(seconds: float, item: int) -> list[int]:
            with deadline(seconds):
                return commit.submit([item])

        hurried, patient = queue_in_order(held.pool, lambda: commit.waiting,
                                          [lambda: submit_within(0.2, 2), lambda: submit_within(_WAIT_S, 3)])
        with pytest.raises(DeadlineExceeded):
            hurried.result(_WAIT_S)  # while the writer is still held
        assert commit.waiting == 1
        held.gate.open()
        assert held.first.result(_WAIT_S) == [2] and patient.result(_WAIT_S) == [6]
    assert held.writer.batches == [[1], [3]]


def test_a_caller_due_to_write_next_whose_deadline_passed_hands_the_writing_on() -> None:
    with writing_held(1, max_group=1) as held:
        commit = held.commit

        def due_next() -> list[int]:
            with deadline(0.3):
                return commit.submit([2])

        hurried, patient = queue_in_order(held.pool, lambda: commit.waiting, [due_next, lambda: commit.submit([3])])
        time.sleep(0.4)  # its deadline passes while the first write is held: it leads next, too late
        held.gate.open()
        with pytest.raises(DeadlineExceeded):
            hurried.result(_WAIT_S)
        assert held.first.result(_WAIT_S) == [2] and patient.result(_WAIT_S) == [6]
    assert held.writer.batches == [[1], [3]]
    assert commit.submit([4]) == [8]  # not stuck


def test_a_writer_that_loses_results_fails_its_callers() -> None:
    commit: GroupCommit[int, int] = GroupCommit(lambda items: items[1:])
    with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
        commit.submit([1, 2])
    assert commit.submit([]) == []


def test_a_group_is_written_in_the_context_of_its_first_caller() -> None:
    import contextvars

    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")
    gate, seen = Gate(), []

    def write(items: list[int]) -> list[int]:
        gate.hold()
        seen.append(caller.get())
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)

    def submit_as(name: str, item: int) -> list[int]:
        caller.set(name)
        return commit.submit([item])

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(submit_as, "first", 1)
        assert gate.entered.wait(_WAIT_S)
        queued = queue_in_order(pool, lambda: commit.waiting, [lambda: submit_as("second", 2),
                                                                lambda: submit_as("third", 3)])
        gate.open()
        assert [f.result(_WAIT_S) for f in [first, *queued]] == [[1], [2], [3]]
    assert seen == ["first", "second"]  # the second and third were one group, in the second's context
