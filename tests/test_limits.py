"""What a traversal may use, set by whoever runs it (gremlin.engine.Limits), and the strategies a
runner imposes (``Graph.execute(imposed=...)``): nothing in the bytecode widens either.

Every runaway here runs in a daemon thread joined with a bound, so a regression fails the test
instead of hanging it (the thread then burns CPU until the test process ends).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import OptionsStrategy, PartitionStrategy, ReadOnlyStrategy, SubgraphStrategy
from gremlin_python.process.traversal import Bytecode, Operator, T
from gremlin_python.structure.graph import Edge, Vertex

import gremlin
from gremlin import Limits
from gremlin.errors import (LimitExceeded, ReadOnlyViolation, TraversalCancelled, TraversalError,
                            TraversalTimeout, UnsupportedStepError)
from gremlin.remote import LocalRemoteConnection

TIMEOUT_MS = 300
#: how long past its deadline a traversal may take to stop (a loaded 2-core machine)
SLACK_S = 1.5


@pytest.fixture(scope="module")
def graph() -> gremlin.Graph:
    """1,000 vertices and 3,000 random edges: the walks below (a million passes) never end in time,
    however quiet the machine (20 passes took 0.36 s on a quiet moment: past a 300 ms deadline
    on a loaded machine only)."""
    graph = gremlin.Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    rng = random.Random(5)
    for start in range(0, 1000, 250):
        t = g.inject(0)
        for n in range(start, start + 250):
            t = t.add_v("p").property(T.id, f"v{n}").property("n", n)
        t.iterate()
    for _ in range(6):
        t = g.inject(0)
        for _ in range(500):
            t = t.V(f"v{rng.randrange(1000)}").add_e("l").to(__.V(f"v{rng.randrange(1000)}"))
        t.iterate()
    return graph


@pytest.fixture(scope="module")
def g(graph: gremlin.Graph):
    """A source to build bytecode with (its traversals are run through graph.execute)."""
    return traversal().with_remote(LocalRemoteConnection(graph))


def run_bounded(work: Callable[[], Any], bound_s: float) -> tuple[Any, BaseException | None, float]:
    """``work()`` in a daemon thread: (result, error, seconds); fails when it outlives ``bound_s``."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # reported to the test
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(bound_s)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"still running after {bound_s:.1f}s"
    return outcome.get("result"), outcome.get("error"), elapsed


RUNAWAYS = {
    "repeat over a constant": lambda g: g.inject(1).repeat(__.constant(1)).times(10 ** 9).count(),
    "repeat until never": lambda g: g.inject(1).repeat(__.constant(1)).until(__.is_(2)).count(),
    "repeat doubling paths": lambda g: g.inject(1).repeat(__.union(__.constant(1), __.constant(1))).times(60)
    .path().count(),
    "repeat over a folded list": lambda g: g.inject(list(range(20_000))).repeat(__.unfold().fold()).times(10 ** 8)
    .count(),
    "long walk": lambda g: g.V().repeat(__.both()).times(10 ** 6).count(),
    "walk with every path": lambda g: g.V().repeat(__.both()).emit().path().count(),
    "cross product": lambda g: g.V().as_("a").V().as_("b").V().as_("c").count(),
    "cross product in a filter": lambda g: g.V().where(__.V().both().both().count().is_(0)).count(),
    "sample of an astronomical bulk": lambda g: g.inject(1).repeat(__.union(__.identity(), __.identity()))
    .times(60).sample(1),
    "match over a cross product": lambda g: g.V().match(__.as_("a").V().as_("b"), __.as_("b").V().as_("c"),
                                                        __.as_("c").both().as_("d")).count(),
    "subgraph filter that walks": lambda g: g.with_strategies(
        SubgraphStrategy(vertices=__.repeat(__.both()).times(10 ** 6))).V().count(),
}


@pytest.mark.parametrize("name", sorted(RUNAWAYS))
def test_the_evaluation_timeout_stops_every_runaway(graph: gremlin.Graph, g, name: str) -> None:
    bytecode = RUNAWAYS[name](g).bytecode
    _, error, elapsed = run_bounded(lambda: graph.execute(bytecode, {"evaluationTimeout": TIMEOUT_MS}),
                                    TIMEOUT_MS / 1000 + SLACK_S + 5)
    assert isinstance(error, TraversalTimeout), error
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S


def test_a_scan_that_finds_nothing_is_still_work_the_deadline_sees(graph: gremlin.Graph, g) -> None:
    # 200 passes, one traverser each, but each pass looks at 1,000 vertices
    bytecode = g.inject(1).repeat(__.V().has_label("none").fold()).times(200).count().bytecode
    with pytest.raises(TraversalCancelled):
        graph.execute(bytecode, limits=Limits(cancelled=lambda: True))


def _nested(depth: int) -> Bytecode:
    inner = __.identity()
    for _ in range(depth):
        inner = __.local(inner)
    return __.inject(1).local(inner).count().bytecode


def test_a_traversal_nested_too_deeply_is_a_traversal_error(graph: gremlin.Graph) -> None:
    bytecode = Bytecode()
    bytecode.step_instructions = _nested(5000).step_instructions
    _, error, _ = run_bounded(lambda: graph.execute(bytecode), 30)
    assert isinstance(error, TraversalError) and "nests too deeply" in str(error)


# ---- the runner's limits ---------------------------------------------------------------------------

@pytest.mark.parametrize("ask", ["argument", "OptionsStrategy", "with"])
def test_the_runners_timeout_caps_whatever_the_traversal_asks_for(graph: gremlin.Graph, g, ask: str) -> None:
    walk = g
    options = {}
    if ask == "argument":
        options = {"evaluationTimeout": 10 ** 12}
    elif ask == "OptionsStrategy":
        walk = g.with_strategies(OptionsStrategy(options={"evaluationTimeout": 10 ** 12}))
    else:
        walk = g.with_("evaluationTimeout", 10 ** 12)
    bytecode = walk.V().repeat(__.both()).times(10 ** 6).count().bytecode
    _, error, elapsed = run_bounded(lambda: graph.execute(bytecode, options, limits=Limits(timeout_ms=TIMEOUT_MS)),
                                    TIMEOUT_MS / 1000 + SLACK_S + 5)
    assert isinstance(error, TraversalTimeout), error
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S


def test_a_traversal_may_lower_the_runners_timeout(graph: gremlin.Graph, g) -> None:
    bytecode = g.V().repeat(__.both()).times(10 ** 6).count().bytecode
    _, error, elapsed = run_bounded(lambda: graph.execute(bytecode, {"evaluationTimeout": 100},
                                                          limits=Limits(timeout_ms=60_000)), 10)
    assert isinstance(error, TraversalTimeout) and elapsed < 0.1 + SLACK_S


def test_results_past_the_limit_are_refused(graph: gremlin.Graph, g) -> None:
    assert len(graph.execute(g.V().limit(10).bytecode, limits=Limits(max_results=10))) == 10
    with pytest.raises(LimitExceeded, match="more than 10 results"):
        graph.execute(g.V().limit(11).bytecode, limits=Limits(max_results=10))


COLLECTIONS = {
    "fold": lambda t: t.fold(),
    "aggregate": lambda t: t.aggregate("x").cap("x"),
    "store": lambda t: t.store("x").cap("x"),
    "group": lambda t: t.group().by(__.constant("k")),
    "tail": lambda t: t.tail(2),
}


@pytest.mark.parametrize("name", sorted(COLLECTIONS))
def test_a_collection_of_an_astronomical_bulk_is_refused_before_it_is_built(graph: gremlin.Graph, g,
                                                                            name: str) -> None:
    doubled = g.inject(1).repeat(__.union(__.identity(), __.identity())).times(40)  # one traverser, bulk 2^40
    bytecode = COLLECTIONS[name](doubled).bytecode
    _, error, _ = run_bounded(lambda: graph.execute(bytecode, limits=Limits(max_collection=1_000_000)), 30)
    assert isinstance(error, LimitExceeded), error
    assert "1,000,000" in str(error)


def test_a_seeded_fold_takes_a_traverser_once_whatever_its_bulk(graph: gremlin.Graph, g) -> None:
    # TinkerPop's FoldStep applies its operator to a traverser's object, not once per bulk: a seeded
    # fold of an astronomical bulk is no runaway (the last unrolled pass's two traversers reach it apart)
    doubled = g.inject(1).repeat(__.union(__.identity(), __.identity())).times(60)
    answer, error, _ = run_bounded(lambda: graph.execute(doubled.fold(0, Operator.sum_).bytecode), 30)
    assert error is None and [t.object for t in answer] == [2]


@pytest.mark.parametrize("shape", ["order", "aggregate", "group keys", "union with a barrier"])
def test_a_barrier_gathering_more_than_the_limit_is_refused(graph: gremlin.Graph, g, shape: str) -> None:
    walk = {"order": lambda: g.V().both().order().by("n"),
            "aggregate": lambda: g.V().both().aggregate("x"),
            "group keys": lambda: g.V().group().by(T.id),
            # a union whose branches hold no barrier passes one traverser at a time and gathers nothing
            "union with a barrier": lambda: g.V().both().union(__.identity(), __.count())}[shape]()
    with pytest.raises(LimitExceeded):
        graph.execute(walk.bytecode, limits=Limits(max_collection=500))
    assert graph.execute(g.V().limit(5).order().by("n").bytecode, limits=Limits(max_collection=500))


def test_cancellation_stops_a_running_traversal(graph: gremlin.Graph, g) -> None:
    gone = threading.Event()
    bytecode = g.V().repeat(__.both()).times(10 ** 6).count().bytecode
    threading.Timer(0.2, gone.set).start()
    _, error, elapsed = run_bounded(lambda: graph.execute(bytecode, limits=Limits(cancelled=gone.is_set)), 10)
    assert isinstance(error, TraversalCancelled) and elapsed < 0.2 + SLACK_S


def test_limits_are_checked() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            Limits(timeout_ms=bad)  # type: ignore[arg-type]


# ---- imposed strategies ----------------------------------------------------------------------------

@pytest.fixture
def tenants():
    """Two partitions, 'a' and 'b', of one graph."""
    graph = gremlin.Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    g.add_v("id").property(T.id, "a:1").property("tenant", "a").property("value", "secret-a") \
        .add_v("id").property(T.id, "a:2").property("tenant", "a") \
        .add_v("id").property(T.id, "b:1").property("tenant", "b").property("value", "secret-b").iterate()
    g.V("a:1").add_e("link").to(__.V("a:2")).property("tenant", "a").iterate()
    g.V("b:1").add_e("link").to(__.V("a:1")).property("tenant", "b").iterate()  # a (buggy) cross edge
    return graph, g


A_ONLY = (PartitionStrategy(partition_key="tenant", write_partition="a", read_partitions=["a"]), ReadOnlyStrategy())


def _values(graph: gremlin.Graph, bytecode: Bytecode, imposed: Any = A_ONLY) -> list:
    return [t.object for t in graph.execute(bytecode, imposed=imposed)]


@pytest.mark.parametrize("widen", [
    lambda g: g.without_strategies(PartitionStrategy),
    lambda g: g.with_strategies(PartitionStrategy(partition_key="tenant", write_partition="b",
                                                  read_partitions=["a", "b"])),
    lambda g: g.with_strategies(PartitionStrategy(partition_key="other", read_partitions=["x"])),
    lambda g: g.with_strategies(SubgraphStrategy(vertices=__.has("tenant", "b"))),
    lambda g: g.with_side_effect("x", Vertex("b:1")),
])
def test_a_clients_strategies_never_widen_an_imposed_partition(tenants, widen: Callable) -> None:
    graph, g = tenants
    source = widen(g)
    assert set(_values(graph, source.V().id_().bytecode)) <= {"a:1", "a:2"}
    assert "secret-b" not in _values(graph, source.V().values("value").bytecode)
    assert _values(graph, source.V("b:1").id_().bytecode) == []
    assert "b:1" not in _values(graph, source.V().both().id_().bytecode)
    assert _values(graph, source.E().has("tenant", "b").count().bytecode) == [0]


def test_an_element_named_by_the_client_outside_the_partition_is_as_missing(tenants) -> None:
    """A Gremlin Server's inject() attaches a vertex it is sent to the graph's, which a
    PartitionStrategy does not filter: g.inject(v).values() reads any vertex whose id the client
    knows (tests/test_tinkerpop_semantics.py). Under imposed strategies such an element is as
    missing (the same error), so a confined client can neither read it nor learn it exists."""
    graph, g = tenants
    b_edge = _edge_of(graph, "b")

    def refusal(walk: Any) -> str:
        with pytest.raises(TraversalError) as refused:
            _values(graph, walk.bytecode)
        return str(refused.value)

    missing_vertex = refusal(g.inject(Vertex("b:0")).id_()).replace("'b:0'", "'b:1'")
    missing_edge = refusal(g.inject(Edge("b:0", Vertex("b:1"), "link", Vertex("a:1"))).id_()).replace(
        "'b:0'", repr(b_edge))
    for read in (g.inject(Vertex("b:1")).values("value"), g.inject(Vertex("b:1")).element_map(),
                 g.inject(Vertex("b:1")).both(), g.inject(Vertex("b:1")).id_(),
                 g.inject(Vertex("a:1"), Vertex("b:1")), g.V("a:1").local(__.inject(Vertex("b:1")).values("value"))):
        assert refusal(read) == missing_vertex
    assert refusal(g.inject(Edge(b_edge, Vertex("b:1"), "link", Vertex("a:1"))).values("tenant")) == missing_edge
    # elsewhere a vertex sent is a reference, as on a Gremlin Server: its id (the client's own), no properties, no edges
    for reference in (g.with_side_effect("x", Vertex("b:1")).inject(1).select("x"), g.inject(1).constant(Vertex("b:1"))):
        assert _values(graph, reference.as_("v").both().id_().bytecode) == []
    assert _values(graph, g.with_side_effect("x", Vertex("b:1")).inject(1).select("x").values("value").bytecode) == []
    assert _values(graph, g.inject(Vertex("a:1")).out().id_().bytecode) == ["a:2"]
    assert _values(graph, g.inject(Vertex("a:1")).values("value").bytecode) == ["secret-a"]
    assert _values(graph, g.inject(Vertex("b:1")).values("value").bytecode, imposed=()) == ["secret-b"]


def _edge_of(graph: gremlin.Graph, tenant: str) -> Any:
    return next(edge.id for edge in graph.store.edges.values() if edge.props.get("tenant") == tenant)


@pytest.mark.parametrize("write", [
    lambda g: g.add_v("id").property(T.id, "a:3"),
    lambda g: g.V("a:1").property("value", "changed"),
    lambda g: g.V("a:1").drop(),
    lambda g: g.E().drop(),
    lambda g: g.merge_v({T.id: "a:4"}),
    lambda g: g.V("a:1").add_e("link").to(__.V("a:2")),
    lambda g: g.without_strategies(ReadOnlyStrategy).V("a:2").property("value", "x"),
])
def test_an_imposed_read_only_strategy_refuses_every_write(tenants, write: Callable) -> None:
    graph, g = tenants
    with pytest.raises(ReadOnlyViolation):
        _values(graph, write(g).bytecode)
    assert sorted(_values(graph, g.V().id_().bytecode, ())) == ["a:1", "a:2", "b:1"]
    assert _values(graph, g.V("a:1").values("value").bytecode, ()) == ["secret-a"]
    assert _values(graph, g.E().count().bytecode, ()) == [2]


def test_the_imposed_partition_decides_where_writes_go(tenants) -> None:
    graph, g = tenants
    imposed = (PartitionStrategy(partition_key="tenant", write_partition="a", read_partitions=["a"]),)
    client = g.with_strategies(PartitionStrategy(partition_key="tenant", write_partition="b", read_partitions=["b"]))
    _values(graph, client.add_v("id").property(T.id, "new").bytecode, imposed)
    assert _values(graph, g.V("new").values("tenant").bytecode, ()) == ["a"]


def test_only_restricting_strategies_can_be_imposed(tenants) -> None:
    graph, g = tenants
    with pytest.raises(ValueError, match="cannot be imposed"):
        graph.execute(g.V().bytecode, imposed=[OptionsStrategy(options={"evaluationTimeout": 1})])


def test_a_clients_subgraph_filter_is_confined_like_the_traversal(tenants) -> None:
    """A SubgraphStrategy filter is a traversal of its own: walking outside the imposed partition
    from it would make it an oracle over another tenant's values, and writing from it a write."""
    graph, g = tenants
    oracle = g.with_strategies(SubgraphStrategy(vertices=__.V("b:1").has("value", "secret-b")))
    assert _values(graph, oracle.V().count().bytecode) == [0]
    with pytest.raises(ReadOnlyViolation):
        _values(graph, g.with_strategies(SubgraphStrategy(vertices=__.property("value", "x"))).V().count().bytecode)
    assert _values(graph, g.V("a:1").values("value").bytecode, ()) == ["secret-a"]
    # without an imposed partition the filter walks the whole graph, as before
    assert _values(graph, oracle.V().count().bytecode, ()) == [3]


def test_call_services_are_refused_under_an_imposed_confinement(tenants) -> None:
    """tinker.search scans every element, as TinkerGraph's does, whatever strategies the
    traversal runs under: a confined traversal must not reach it, directly or from a filter."""
    graph, g = tenants
    search = g.call("tinker.search").with_("search", "secret")
    assert "secret-b" in [p.value for p in _values(graph, search.bytecode, ())]  # unconfined: everything
    for walk in (search, g.V().call("tinker.degree.centrality"),
                 g.with_strategies(SubgraphStrategy(vertices=__.call("tinker.degree.centrality"))).V()):
        with pytest.raises(UnsupportedStepError, match="not available"):
            _values(graph, walk.bytecode)
    assert "tinker.search" in _values(graph, g.call().bytecode)  # the list of names is harmless
