"""The heap settler freezes long-lived objects, and dropped graph records never need the
collector (the property that makes freezing them safe)."""

from __future__ import annotations

import gc
import weakref

import pytest
from gremlin_python.process.anonymous_traversal import traversal

from gremlin import Graph
from gremlin.heap import HeapSettler
from gremlin.remote import LocalRemoteConnection


@pytest.fixture
def settler():
    created: list[HeapSettler] = []

    def make(threshold: int) -> HeapSettler:
        created.append(HeapSettler(threshold).install())
        return created[-1]

    yield make
    for each in created:
        each.uninstall()


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


def test_dropped_records_are_freed_without_the_collector():
    graph = Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    g.add_v("person").property("id", "a").property("name", "a").iterate()
    a = g.V().has("name", "a").next()
    g.add_v("person").property("name", "b").as_("b").V(a.id).add_e("knows").to("b").property("w", 1).iterate()
    g.V().has("name", "b").property("nick", "bee").iterate()
    records = [weakref.ref(r) for r in (*graph.store.vertices.values(), *graph.store.edges.values())]
    # a vertex property points back at its vertex, so a property left in a cycle would keep
    # its vertex alive too
    assert sum(len(v.props) for v in graph.store.vertices.values()) == 4
    assert len(records) == 3
    gc.disable()
    try:
        g.V().drop().iterate()
        assert [r for r in records if r() is not None] == []
    finally:
        gc.enable()
