"""Retries, reconnection, the circuit breaker, the deadline and the reader's fallback
(identity/graph/resilience.py), on a fake connection that fails on cue and on a real endpoint that
is stopped and restarted."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import pytest
import tenacity
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.strategies import OptionsStrategy

import gremlin
from gremlin.errors import TraversalTimeout
from gremlin.server.app import ServerThread
from identity import IdentityGraph
from identity.base.errors import DeadlineExceeded, GraphUnavailable
from identity.graph.connection import open_endpoints, timed_out, unavailable
from identity.graph.resilience import (CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen, ResilientConnection,
                                       RetryPolicy, deadline, transient_server_error, with_evaluation_timeout)
from tests.ports import refused_port

EVENT = {"event_id": "e1", "type": "signup", "identifiers": [
    {"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+14155550100"}]}


def server_error(code: int, message: str) -> GremlinServerError:
    return GremlinServerError({"code": code, "message": message, "attributes": {}})


CONFLICT = server_error(500, "{\"code\":\"ConcurrentModificationException\",\"detailedMessage\":\"Failed\"}")
#: how Gremlin Server with TinkerTransactionGraph refuses a commit that conflicts
TX_CONFLICT = server_error(500, "Conflict: element modified in another transaction")


class Flaky(RemoteConnection):
    """Delegates to ``inner``; the next ``failures`` submits raise ``error`` instead, before
    the graph sees them or, with ``after_commit``, after the graph ran them (a lost answer)."""

    def __init__(self, inner: RemoteConnection, error: BaseException | None = None, failures: int = 0,
                 after_commit: bool = False):
        super().__init__("flaky", "g")
        self.inner, self.error, self.failures, self.after_commit = inner, error, failures, after_commit
        self.submits = 0
        self.closed = False

    def submit(self, bytecode: Any) -> Any:
        self.submits += 1
        if self.failures > 0 and self.error is not None:
            self.failures -= 1
            if self.after_commit:
                list(self.inner.submit(bytecode))
            raise self.error
        return self.inner.submit(bytecode)

    def close(self) -> None:
        self.closed = True


def resilient(opener: Callable[[], RemoteConnection], **options: Any) -> ResilientConnection:
    options.setdefault("policy", RetryPolicy(attempts=4, initial=0.0, maximum=0.0))
    return ResilientConnection(opener, name="test", is_outage=unavailable, is_timeout=timed_out, sleep=lambda s: None,
                               **options)


@pytest.fixture
def graph_connection() -> RemoteConnection:
    return gremlin.connect("memory://?profile=neptune")


def ingest_twice_stats(connection: RemoteConnection) -> dict:
    ids = IdentityGraph(traversal().with_remote(connection), "acme")
    ids.ingest([EVENT])
    return ids.stats()


def test_a_concurrent_modification_is_retried_and_the_write_lands_once(graph_connection: RemoteConnection) -> None:
    flaky = Flaky(graph_connection, CONFLICT, failures=2)
    ids = IdentityGraph(traversal().with_remote(resilient(lambda: flaky)), "acme")
    [result] = ids.ingest([EVENT])
    assert result.customer_id.startswith("c-")
    assert flaky.submits > 2
    assert ids.stats()["identifiers"] == 2 and ids.stats()["links"] == 1


class RefusesWrites(RemoteConnection):
    """Delegates to ``inner`` but refuses the next ``refusals`` writes (every ingest traversal
    after its read) with a concurrent-modification error, as a transactional server would."""

    def __init__(self, inner: RemoteConnection, refusals: int):
        super().__init__("refuses", "g")
        self.inner, self.refusals, self.submits = inner, refusals, []

    def submit(self, bytecode: Any) -> Any:
        # an ingest write opens with its guard (the batch read has a sideEffect step too)
        write = [step[0] for step in bytecode.step_instructions[:2]] == ["inject", "and"]
        self.submits.append("write" if write else "read")
        if write and self.refusals > 0:
            self.refusals -= 1
            raise TX_CONFLICT
        return self.inner.submit(bytecode)

    def close(self) -> None:
        self.inner.close()


def test_a_write_refused_for_a_concurrent_modification_is_read_and_planned_again(
        graph_connection: RemoteConnection) -> None:
    # before, on a connection that does not retry (or once its retries were spent) the refusal
    # failed the ingest, though the write had changed nothing and a new plan could go through
    refusing = RefusesWrites(graph_connection, refusals=2)
    ids = IdentityGraph(traversal().with_remote(refusing), "acme")
    [result] = ids.ingest([EVENT])
    assert refusing.submits == ["read", "write", "read", "write", "read", "write"]
    assert result.customer_id.startswith("c-") and result.merged == [] and result.refused == []
    assert ids.stats()["identifiers"] == 2 and ids.stats()["links"] == 1
    always = IdentityGraph(traversal().with_remote(RefusesWrites(graph_connection, refusals=10 ** 6)), "acme")
    with pytest.raises(GraphUnavailable, match="kept conflicting"):
        always.ingest([dict(EVENT, event_id="e2")])


def test_a_retry_after_the_graph_committed_is_not_a_duplicate_write(graph_connection: RemoteConnection) -> None:
    clean = IdentityGraph(traversal().with_remote(gremlin.connect("memory://?profile=neptune")), "acme")
    clean.ingest([EVENT])
    flaky = Flaky(graph_connection, ConnectionResetError("reset by peer"), failures=3, after_commit=True)
    ids = IdentityGraph(traversal().with_remote(resilient(lambda: flaky)), "acme")
    ids.ingest([EVENT])
    assert flaky.submits > 3  # every write ran twice: once lost, once answered
    assert ids.stats() == clean.stats()


def test_a_batch_cut_short_acknowledges_nothing_and_resending_it_adds_nothing_twice(
        graph_connection: RemoteConnection) -> None:
    second = dict(EVENT, event_id="e2", identifiers=[{"type": "email", "value": "bob@example.com"},
                                                     {"type": "phone", "value": "+14155550100"}])
    clean = IdentityGraph(traversal().with_remote(gremlin.connect("memory://?profile=neptune")), "acme")
    expected = clean.ingest([EVENT, second])
    flaky = Flaky(graph_connection)
    ids = IdentityGraph(traversal().with_remote(resilient(lambda: flaky)), "acme")
    ids.ingest([EVENT])  # the first event of the batch committed, then the graph went away
    flaky.error, flaky.failures = ConnectionResetError("reset"), 100
    with pytest.raises(GraphUnavailable):
        ids.ingest([EVENT, second])
    flaky.failures = 0
    assert [r.customer_id for r in ids.ingest([EVENT, second])] == [r.customer_id for r in expected]
    assert ids.stats() == clean.stats()


def test_a_bad_request_is_not_retried_and_does_not_trip_the_breaker(graph_connection: RemoteConnection) -> None:
    flaky = Flaky(graph_connection, server_error(597, "The provided traversal is invalid"), failures=10)
    connection = resilient(lambda: flaky, breaker=CircuitBreaker("test", threshold=1))
    with pytest.raises(GremlinServerError):
        traversal().with_remote(connection).V().count().next()
    assert flaky.submits == 1
    assert connection.breaker.state == CLOSED


@pytest.mark.parametrize("error, retried", [
    (CONFLICT, True), (TX_CONFLICT, True), (server_error(429, "Too many requests"), True),
    (server_error(503, "unavailable"), True),
    (server_error(500, "ThrottlingException: rate exceeded"), True),
    (server_error(500, "ReadOnlyViolationException: the writer failed over"), True),
    (server_error(597, "Cannot add a vertex"), False), (server_error(500, "NullPointerException"), False),
    (ValueError("bad"), False)])
def test_which_server_errors_are_transient(error: BaseException, retried: bool) -> None:
    assert transient_server_error(error) is retried


@pytest.mark.parametrize("error", [
    ConnectionRefusedError("refused"), server_error(500, "ReadOnlyViolationException: the writer failed over")])
def test_a_connection_failure_or_failover_opens_a_fresh_connection(graph_connection: RemoteConnection,
                                                                   error: BaseException) -> None:
    opened: list[Flaky] = []

    def opener() -> RemoteConnection:
        opened.append(Flaky(graph_connection, error, failures=1 if not opened else 0))
        return opened[-1]

    g = traversal().with_remote(resilient(opener))
    assert g.V().count().next() == 0
    assert len(opened) == 2 and opened[0].closed and not opened[1].closed


@pytest.mark.parametrize("error", [TimeoutError(), server_error(429, "Too many requests"), CONFLICT])
def test_retries_end_at_the_policy_limit_with_graph_unavailable(graph_connection: RemoteConnection,
                                                                 error: BaseException) -> None:
    flaky = Flaky(graph_connection, error, failures=100)
    ids = IdentityGraph(traversal().with_remote(resilient(lambda: flaky)), "acme")
    with pytest.raises(GraphUnavailable):
        ids.stats()
    assert flaky.submits == 4


class SteadyPolicy(RetryPolicy):
    def wait(self) -> Any:
        return tenacity.wait_fixed(self.initial)


def test_the_deadline_bounds_the_retries(graph_connection: RemoteConnection) -> None:
    flaky = Flaky(graph_connection, TimeoutError(), failures=100)
    connection = resilient(lambda: flaky, policy=SteadyPolicy(attempts=50, initial=1.0, maximum=1.0))
    with deadline(0.5), pytest.raises(TimeoutError):
        traversal().with_remote(connection).V().count().next()
    assert flaky.submits == 1  # the first backoff would already pass the deadline


class Recording(RemoteConnection):
    """Delegates to ``inner`` and keeps the evaluationTimeout each submit carried; with
    ``stall``, it stalls until the deadline passes and answers as the graph does when it stops a
    traversal at its evaluationTimeout."""

    def __init__(self, inner: RemoteConnection, stall: bool = False):
        super().__init__("recording", "g")
        self.inner, self.stall, self.timeouts = inner, stall, []

    def submit(self, bytecode: Any) -> Any:
        options = [i[1].configuration for i in bytecode.source_instructions
                   if i[0] == "withStrategies" and type(i[1]) is OptionsStrategy]
        self.timeouts.append(options[0].get("evaluationTimeout") if options else None)
        if self.stall:
            time.sleep(options[0]["evaluationTimeout"] / 1000 + 0.01)
            raise TraversalTimeout("evaluationTimeout exceeded")
        return self.inner.submit(bytecode)


def test_each_attempt_carries_what_is_left_of_the_deadline_to_the_graph(graph_connection: RemoteConnection) -> None:
    recording = Recording(graph_connection)
    g = traversal().with_remote(resilient(lambda: recording))
    assert g.V().count().next() == 0 and recording.timeouts == [None]  # no deadline: no timeout sent
    with deadline(5.0):
        assert g.V().count().next() == 0
        assert g.with_("evaluationTimeout", 100).V().count().next() == 0  # a shorter one asked for is kept
    assert 4000 < recording.timeouts[1] <= 5000 and recording.timeouts[2] == 100


def test_a_traversal_stopped_at_the_deadline_is_deadline_exceeded_and_does_not_trip_the_breaker(
        graph_connection: RemoteConnection) -> None:
    breaker = CircuitBreaker("test", threshold=2)
    recording = Recording(graph_connection, stall=True)
    g = traversal().with_remote(resilient(lambda: recording, breaker=breaker))
    for _ in range(3):
        with deadline(0.05), pytest.raises(DeadlineExceeded):
            g.V().count().next()
    assert breaker.state == CLOSED and len(recording.timeouts) == 3  # each tried once: no retry
    with deadline(0.0), pytest.raises(DeadlineExceeded):  # spent: the graph is not even asked
        g.V().count().next()
    assert len(recording.timeouts) == 3


def test_with_evaluation_timeout_keeps_the_traversal_and_its_other_options() -> None:
    g = traversal().with_remote(gremlin.connect("memory://"))
    original = g.with_("batchSize", 7).V().count().bytecode
    bounded = with_evaluation_timeout(original, 250)
    options = [i[1].configuration for i in bounded.source_instructions if i[0] == "withStrategies"]
    assert options == [{"batchSize": 7, "evaluationTimeout": 250}]
    assert bounded.step_instructions == original.step_instructions
    assert [i[1].configuration for i in original.source_instructions] == [{"batchSize": 7}]  # a copy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_fails_fast_and_closes_after_a_good_trial(graph_connection: RemoteConnection) -> None:
    clock = FakeClock()
    flaky = Flaky(graph_connection, OSError("down"), failures=2 * 4)
    breaker = CircuitBreaker("test", threshold=2, reset_after=10.0, clock=clock)
    g = traversal().with_remote(resilient(lambda: flaky, breaker=breaker))
    for _ in range(2):
        with pytest.raises(OSError):
            g.V().count().next()
    assert breaker.state == OPEN
    sent = flaky.submits
    with pytest.raises(CircuitOpen) as raised:
        g.V().count().next()
    assert flaky.submits == sent and raised.value.retry_after == pytest.approx(10.0)
    assert isinstance(raised.value, GraphUnavailable)
    clock.now = 10.0
    assert breaker.state == HALF_OPEN
    assert g.V().count().next() == 0
    assert breaker.state == CLOSED


def test_a_failed_trial_opens_the_breaker_again(graph_connection: RemoteConnection) -> None:
    clock = FakeClock()
    flaky = Flaky(graph_connection, OSError("down"), failures=100)
    breaker = CircuitBreaker("test", threshold=1, reset_after=5.0, clock=clock)
    g = traversal().with_remote(resilient(lambda: flaky, breaker=breaker, policy=RetryPolicy(1, 0.0, 0.0)))
    with pytest.raises(OSError):
        g.V().count().next()
    clock.now = 5.0
    with pytest.raises(OSError):
        g.V().count().next()
    assert breaker.state == OPEN and breaker.retry_after() == pytest.approx(5.0)


def test_reads_fall_back_to_the_writer_when_the_reader_is_down() -> None:
    endpoints = open_endpoints("test", "memory://resilience-writer", "memory://resilience-reader")
    endpoints.writer.add_v("person").property("name", "ann").iterate()
    assert endpoints.reader.V().count().next() == 0  # the reader is its own graph here
    reader = endpoints.reader_connection
    reader.breaker.record_failure()
    for _ in range(reader.breaker.threshold):
        reader.breaker.record_failure()
    assert reader.breaker.state == OPEN
    assert endpoints.reader.V().count().next() == 1  # answered by the writer
    gremlin.forget_graph("memory://resilience-writer")
    gremlin.forget_graph("memory://resilience-reader")


@pytest.mark.integration
def test_a_restarted_endpoint_is_reached_through_a_fresh_connection() -> None:
    graph = gremlin.open_graph("memory://")
    server = ServerThread(graph).start()
    port = server.port
    url = f"ws://127.0.0.1:{port}/gremlin"
    opened: list[RemoteConnection] = []

    def opener() -> RemoteConnection:
        opened.append(gremlin.connect(url))
        return opened[-1]

    connection = ResilientConnection(opener, name="restart", is_outage=unavailable,
                                     policy=RetryPolicy(attempts=2, initial=0.01, maximum=0.01))
    g = traversal().with_remote(connection)
    try:
        g.add_v("person").iterate()
        server.stop()
        with refused_port(port):  # while it is down, no other process may listen on its port
            with pytest.raises(OSError):  # down: every attempt fails, each on a fresh connection
                g.V().count().next()
            server = ServerThread(graph, port=port).start()
        assert g.V().count().next() == 1
        assert len(opened) == 3 and all(c.is_closed() for c in opened[:2])
    finally:
        connection.close()
        server.stop()


@pytest.mark.integration
def test_reads_fall_back_to_the_writer_when_the_reader_endpoint_refuses_connections() -> None:
    writer_url = f"memory://fallback-{uuid.uuid4().hex}"
    with refused_port() as port:  # held: no other process can start listening on it meanwhile
        endpoints = open_endpoints("test", writer_url, f"ws://127.0.0.1:{port}/gremlin",
                                   policy=RetryPolicy(attempts=2, initial=0.0, maximum=0.0))
        try:
            endpoints.writer.add_v("person").iterate()
            for _ in range(endpoints.reader_connection.breaker.threshold):
                assert endpoints.reader.V().count().next() == 1
            assert endpoints.reader_connection.breaker.state == OPEN  # now straight to the writer
            assert endpoints.reader.V().count().next() == 1
        finally:
            endpoints.reader_connection.close()
            endpoints.writer_connection.close()
            gremlin.forget_graph(writer_url)


def test_every_backend_stops_a_traversal_at_the_deadline_it_was_sent(url: str, gremlin_servers: Any) -> None:
    """The evaluationTimeout each attempt carries is honoured by the embedded engine, our endpoint
    and a real Gremlin Server alike; what comes back is DeadlineExceeded, not an outage, and the
    graph does not go on with the traversal after the caller gave up."""
    endpoints = open_endpoints("deadline", url, breaker_threshold=1)
    try:
        g = endpoints.writer
        g.inject(*range(2000)).add_v("filler").iterate()
        started = time.monotonic()
        with deadline(0.5), pytest.raises(DeadlineExceeded):
            g.V().V().V().count().next()  # 8 billion traversers
        assert time.monotonic() - started < 10
        assert endpoints.writer_connection.breaker.state == CLOSED  # threshold 1: one failure would open it
        assert g.V().limit(1).count().next() == 1  # the graph still answers
        before = gremlin_servers.cpu_seconds(url)
        if before is not None:  # a real server this session started: stopped, not just abandoned
            time.sleep(1.5)
            assert gremlin_servers.cpu_seconds(url) - before < 0.75
    finally:
        endpoints.writer_connection.close()
