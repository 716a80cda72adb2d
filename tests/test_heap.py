"""The heap settler freezes long-lived objects, and dropped graph records never need the
collector (the property that makes freezing them safe)."""

from __future__ import annotations

import contextlib
import gc

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from gremlin import Graph
from gremlin.heap import HeapSettler
from gremlin.remote import LocalRemoteConnection
from gremlin.storage import EdgeRecord, VertexRecord


@pytest.fixture
def settler():
    # a settler an earlier test left installed (identity serve's, in process) would freeze the
    # survivors first, and the one under test would find none: set aside while this test runs
    others = [cb for cb in gc.callbacks if isinstance(getattr(cb, "__self__", None), HeapSettler)]
    for cb in others:
        gc.callbacks.remove(cb)
    created: list[HeapSettler] = []

    def make(threshold: int) -> HeapSettler:
        created.append(HeapSettler(threshold).install())
        return created[-1]

    yield make
    for each in created:
        each.uninstall()
    gc.callbacks.extend(others)


def test_install_freezes_what_is_alive_and_uninstall_hands_it_back(settler):
    kept = [[n] for n in range(2_000)]
    hs = settler(10**9)
    assert hs.freezes == 1
    assert gc.get_freeze_count() >= len(kept)
    hs.uninstall()
    assert gc.get_freeze_count() == 0
    assert hs._after_collection not in gc.callbacks


def test_a_full_collection_leaving_many_survivors_freezes_them(settler):
    hs = settler(1_000)
    before = hs.freezes
    grown = [[n] for n in range(5_000)]
    gc.collect()
    assert hs.freezes == before + 1
    assert gc.get_freeze_count() >= len(grown)


def test_a_full_collection_leaving_few_survivors_does_not_freeze(settler):
    hs = settler(10**9)
    grown = [[n] for n in range(5_000)]
    gc.collect()
    assert hs.freezes == 1 and grown


def test_threshold_must_be_positive():
    with pytest.raises(ValueError, match="threshold"):
        HeapSettler(0)
    with pytest.raises(ValueError, match="full_every"):
        HeapSettler(full_every=0)


def test_installed_it_makes_full_collections_more_often_and_puts_back_the_found_threshold():
    # a full collection walks what reached the oldest generation since the last freeze: on a
    # disk store's churning cache, the oftener the shorter each pause
    found = gc.get_threshold()
    try:
        gc.set_threshold(900, 11, 12)
        hs = HeapSettler(10**9, full_every=3).install()
        assert gc.get_threshold() == (900, 11, 3)
        hs.uninstall()
        assert gc.get_threshold() == (900, 11, 12)
        hs = HeapSettler(10**9).install()
        assert gc.get_threshold() == (900, 11, 2)
        gc.set_threshold(900, 11, 50)  # the host's own choice since: kept
        hs.uninstall()
        assert gc.get_threshold() == (900, 11, 50)
    finally:
        gc.set_threshold(*found)


def test_dropped_records_are_freed_without_the_collector():
    graph = Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    g.add_v("person").property("id", "a").property("name", "a").iterate()
    a = g.V().has("name", "a").next()
    g.add_v("person").property("name", "b").as_("b").V(a.id).add_e("knows").to("b").property("w", 1).iterate()
    g.V().has("name", "b").property("nick", "bee").iterate()
    # the records by address (records hold no weak references): with the collector off, a
    # record left in a cycle stays among the objects it tracks
    records = {id(r) for r in (*graph.store.vertices.values(), *graph.store.edges.values())}
    # a vertex property points back at its vertex, so a property left in a cycle would keep
    # its vertex alive too
    assert sum(len(v.props) for v in graph.store.vertices.values()) == 4
    assert len(records) == 3
    gc.disable()
    try:
        g.V().drop().iterate()
        alive = {id(o) for o in gc.get_objects() if type(o) in (VertexRecord, EdgeRecord)}
        assert records & alive == set()
    finally:
        gc.enable()


def _graph_with_edges() -> tuple[Graph, object]:
    graph = Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    for n in range(30):
        g.add_v("p").property(T.id, str(n)).property("name", f"n{n}").iterate()
    for n in range(30):
        g.V(str(n)).add_e("k").to(__.V(str((n * 7 + 1) % 30))).iterate()
    return graph, g


@pytest.mark.parametrize("run", [
    lambda g: g.V("1").repeat(__.both().simple_path()).times(3).emit().dedup().limit(20).to_list(),
    lambda g: g.V().repeat(__.both()).times(2).path().to_list(),
    lambda g: g.V().group().by("name").by(__.both().count()).next(),
    lambda g: g.V().as_("a").out().as_("b").select("a", "b").by("name").to_list(),
    lambda g: g.V().both().fail("stop").to_list(),
    lambda g: g.V("1").has("name", "n1").both().has_label("p").has_not("x").values("name").to_list(),
], ids=["nearest-first", "paths", "group", "select", "failing", "has"])
def test_traversals_leave_no_cyclic_garbage(run):
    """What makes pausing the collector during a traversal safe: reference counting frees all of
    a traversal's garbage, so nothing piles up while the collector is paused, and nothing the
    settler froze meanwhile (a running traversal's steps, say) is left as a cycle never freed."""
    graph, g = _graph_with_edges()
    gc.collect()
    gc.disable()
    try:
        with contextlib.suppress(Exception):
            run(g)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_the_settler_pauses_the_collector_only_while_a_traversal_runs(settler):
    graph, g = _graph_with_edges()
    seen: list[bool] = []
    original = graph.store.transaction

    @contextlib.contextmanager
    def watched():
        with original() as txn:
            yield txn
            seen.append(gc.isenabled())

    graph.store.transaction = watched  # type: ignore[method-assign]
    g.V().count().next()
    settler(10**9)
    g.V().count().next()
    assert seen == [True, False]
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_stays_off(settler):
    graph, g = _graph_with_edges()
    settler(10**9)
    gc.disable()
    try:
        g.V().count().next()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_durable_graphs_records_let_go_of_are_freed_without_the_collector(tmp_path):
    # the disk store's cache lets records go as it reads others: reference counting must free
    # them (an installed settler may have frozen them, and it pauses the collector meanwhile),
    # those that hold vertex property records too (vertex <-> record is a cycle)
    from gremlin import connect, forget_graph, open_graph
    url = (tmp_path / "graph").as_uri()
    g = traversal().with_remote(connect(url))
    for n in range(300):
        g.add_v("p").property(T.id, str(n)).property("name", f"n{n}").iterate()
    forget_graph(url)
    g = traversal().with_remote(connect(url + "?cache_mb=0.05"))
    store = open_graph(url + "?cache_mb=0.05").store
    gc.disable()
    try:
        assert g.V().properties().count().next() == 300  # each vertex holds its records for a while
        assert sum(1 for _ in g.V().to_list()) == 300  # results with their properties: records again
        with store.transaction():
            for n in range(300):
                store.vertex_properties(store.vertices[str(n)])
        stats = store.cache_stats()
        assert stats["vertices_alive"] <= stats["vertices_hot"] + 2
    finally:
        gc.enable()
    forget_graph(url)
