"""Several service instances on one graph (issue #16): IdentityGraph objects in separate processes
ingest interleaved, overlapping streams (the same events on several instances at the same time, so
redeliveries race too) on one shared graph; afterwards identity.domain.check finds nothing wrong and the
graph holds what the events imply whatever order they landed in.

The guards are switched off here so that the end state does not depend on the order (with them a
merge refused one way is accepted the other): every link's count is then the number of distinct
events that observed both its ends, its first/last seen their times, and customers are the
connected groups of identifiers. The backends are those several processes can share: our
endpoint (one traversal at a time) and the real Gremlin Server serving TinkerTransactionGraph,
which refuses conflicting concurrent commits as Neptune does."""

from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T
from hypothesis import HealthCheck, given, settings, strategies as st

import gremlin
from identity import IdentityGraph, TenantConfig
from identity.domain import model
from identity.domain.check import check_graph
from identity.security.protect import DevelopmentProtector
from tests.backends import clear, empty_graph
from tests.gremlin_servers import is_real_server

import cross_process

PROCESSES = 3
POOL = [("email", f"p{n}@example.com") for n in range(4)] + [("phone", f"+1555010{n:04d}") for n in range(3)] + \
    [("device_id", f"dev-{n}") for n in range(3)]
#: no guard refuses anything and every customer fits in one walk: the end state is order-free
OPEN = {"shareable_types": frozenset(), "account_types": frozenset(), "multi_user_on_conflict": frozenset(),
        "shared_on_conflict": frozenset(), "weak_types": frozenset(), "type_limits": {}, "max_hops": 10}

pytestmark = [pytest.mark.slow, pytest.mark.transactions]
#: what a forget or unlink racing an ingest may leave on a read-committed graph (all repairable)
RACED = {"orphan_event", "degree", "suppressed", "do_not_link"}


@pytest.fixture(scope="module")
def workers() -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(params=["endpoint-graphbinary", "gremlin-server-tx"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_graph(request.param, request, tmp_path) as url:
        yield url


@st.composite
def streams(draw, redelivered: bool = True) -> tuple[list[dict], list[list[list[dict]]]]:
    """Events over POOL, and per process the batches it delivers: each event goes to one or more
    processes (one, unless ``redelivered``), each in its own order."""
    count = draw(st.integers(4, 24))
    events = []
    for n in range(count):
        chosen = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=3, unique=True))
        ts = 1_714_550_400_000 + draw(st.integers(0, 10_000)) * 1000
        events.append({"event_id": f"ev{n}", "type": "login", "timestamp": ts,
                       "identifiers": [{"type": t, "value": v} for t, v in chosen]})
    deliveries = []
    owners = [draw(st.sets(st.integers(0, PROCESSES - 1), min_size=1, max_size=PROCESSES if redelivered else 1))
              for _ in events]
    for process in range(PROCESSES):
        mine = draw(st.permutations([e for e, o in zip(events, owners) if process in o]))
        batches, at = [], 0
        while at < len(mine):
            size = draw(st.integers(1, 5))
            batches.append(mine[at:at + size])
            at += size
        deliveries.append(batches)
    return events, deliveries


def _run(workers: ProcessPoolExecutor, url: str, deliveries: list) -> list[dict]:
    start = time.time() + 0.2  # every process starts its first ingest at once
    futures = [workers.submit(cross_process.deliver, url, "acme", OPEN, [("ingest", b) for b in batches], start)
               for batches in deliveries]
    return [result for future in futures for result in future.result(timeout=150)]


def examples(count: int) -> settings:
    """Few examples (each starts processes), none timed; the pool and server fixtures are reused."""
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@examples(12)
@given(stream=streams())
def test_concurrent_instances_lose_duplicate_and_split_nothing(workers, shared_url: str, stream) -> None:
    events, deliveries = stream
    clear(shared_url)
    results = _run(workers, shared_url, deliveries)
    conn = gremlin.connect(shared_url)
    try:
        g = traversal().with_remote(conn)
        report = check_graph(g, "acme", protector=DevelopmentProtector(), acknowledged=[r["event_id"] for r in results])
        assert report.findings == []
        identity = IdentityGraph(g, "acme", config=TenantConfig(**OPEN))
        # every event stored once, observing each of its identifiers once
        assert report.events == len(events)
        assert report.observations == sum(len(e["identifiers"]) for e in events)
        # each link counts the distinct events that observed both its ends; its times are theirs
        expected: dict[str, list] = defaultdict(list)
        for e in events:
            ids = [identity.vertex_id(i["type"], i["value"]) for i in e["identifiers"]]
            for a, b in combinations(ids, 2):
                expected[model.link_id("acme", a, b)].append(e["timestamp"])
        stored = {row["id"]: (row["count"], row["first_seen"], row["last_seen"]) for row in
                  g.E().has_label(model.LINK).project("id", "count", "first_seen", "last_seen")
                  .by(T.id).by("count").by("first_seen").by("last_seen").to_list()}
        assert stored == {lid: (len(ts), min(ts), max(ts)) for lid, ts in expected.items()}
        # customers are the connected groups of identifiers: one id each, never two
        group = {i: i for i in POOL}

        def root(i):
            while group[i] != i:
                i = group[i]
            return i
        for e in events:
            first, *rest = [(i["type"], i["value"]) for i in e["identifiers"]]
            for other in rest:
                group[root(other)] = root(first)
        seen = [i for i in POOL if identity.resolve(*i) is not None]
        customers = {i: identity.resolve(*i).customer_id for i in seen}
        for a, b in combinations(seen, 2):
            assert (customers[a] == customers[b]) == (root(a) == root(b)), (a, b)
        # every result names the customer its event's identifiers belong to now or an alias of it
        assert all(r["customer_id"] is not None and not r["refused"] for r in results)
    finally:
        conn.close()


@st.composite
def mixed(draw) -> tuple[list[dict], list[list[tuple]]]:
    """Per process, ingest batches with unlinks and forgets among them (the default guards). Each
    event is delivered once: TinkerTransactionGraph 3.7.3 refuses for good to create again an
    element that was read and then dropped (fixed in 3.7.4; tests/gremlin_servers.py), which a
    forget does to the events it leaves without identifiers, so an event sent again after it
    fails there (test_property_based leaves such streams out too); redeliveries race in the
    test above."""
    events, deliveries = draw(streams(redelivered=False))
    operations = []
    for process, batches in enumerate(deliveries):
        mine: list[tuple] = []
        for batch in batches:
            mine.append(("ingest", batch))
            # one process unlinks and forgets, racing the others' ingests: on TinkerTransactionGraph
            # 3.7.3 an unlink whose outE() meets a link a concurrent forget dropped fails inside the
            # server (a NullPointerException in HasStep: the dropped edge comes back as null)
            kind = draw(st.sampled_from(["none", "none", "unlink", "forget"])) if process == 0 else "none"
            if kind == "unlink":
                a, b = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=2, unique=True))
                mine.append(("unlink", a, b))
            elif kind == "forget":
                mine.append(("forget", *draw(st.sampled_from(POOL))))
        operations.append(mine)
    return events, operations


@examples(10)
@given(stream=mixed())
def test_concurrent_ingest_unlink_and_forget_keep_the_invariants(workers, shared_url: str, stream) -> None:
    events, operations = stream
    clear(shared_url)
    start = time.time() + 0.2
    futures = [workers.submit(cross_process.deliver, shared_url, "acme", {}, mine, start) for mine in operations]
    results = [result for future in futures for result in future.result(timeout=150)]
    forgotten = {(op[1], op[2]) for mine in operations for op in mine if op[0] == "forget"}
    by_id = {e["event_id"]: e for e in events}
    # an acknowledged event stays unless every identifier it carries was forgotten since
    kept = [r["event_id"] for r in results if r["customer_id"] is not None and any(
        (i["type"], i["value"]) not in forgotten for i in by_id[r["event_id"]]["identifiers"])]
    conn = gremlin.connect(shared_url)
    try:
        g = traversal().with_remote(conn)
        report = check_graph(g, "acme", protector=DevelopmentProtector(), acknowledged=kept, repair=True)
        if not is_real_server(shared_url):  # our engine runs one traversal at a time: serializable
            assert report.repaired == []
        # TinkerTransactionGraph reads committed data only: a forget (or unlink) that commits
        # after an ingest's guard looked and before its writes can leave an event observing none
        # of its identifiers, a degree counting a link that was not made, the forgotten identifier
        # created again or a link an unlink forbade (docs/data-model.md); all of them repairable,
        # never a lost event or a second vertex. Neptune's mutation queries read with locks
        assert {f.kind for f in report.repaired} <= RACED
        assert report.findings == []
    finally:
        conn.close()
