"""Results are plain gremlinpython values, owned by their caller alone.

The in-process engine makes result vertices without running gremlinpython's constructors
(gremlin/engine/detach.py); these tests pin that they are the same values the constructors and
the stock driver make, and that changing one result never shows in another.
"""

from __future__ import annotations

from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import Bytecode, T
from gremlin_python.process.traversal import Traverser as GTraverser
from gremlin_python.structure.graph import Vertex, VertexProperty

import gremlin
from gremlin.remote import LocalRemoteConnection


def _person(g) -> None:
    g.add_v("person").property(T.id, "p1").property("name", "ann").property("age", 40).iterate()


def test_result_vertices_hold_the_attributes_gremlinpython_gives_them(g):
    _person(g)
    vertex = g.V("p1").next()
    assert list(vars(vertex)) == list(vars(Vertex("x", "person", [])))
    assert (vertex.id, vertex.label) == ("p1", "person")
    assert sorted((p.key, p.label, p.value) for p in vertex.properties) == [("age", "age", 40), ("name", "name", "ann")]
    for made in vertex.properties:
        assert type(made) is VertexProperty
        assert list(vars(made)) == list(vars(VertexProperty("x", "k", "v", None, [])))
    [standalone] = g.V("p1").properties("name").to_list()
    assert list(vars(standalone)) == list(vars(VertexProperty("x", "k", "v", None, [])))
    assert (standalone.key, standalone.value) == ("name", "ann")


def test_changing_a_result_changes_no_other_result(g):
    _person(g)
    first = g.V("p1").next()
    first.label = "changed"
    for made in first.properties:
        made.value = "changed"
    first.properties.append("extra")
    second, third = g.V("p1").next(), g.V("p1").next()
    assert second.label == "person" and len(second.properties) == 2
    assert {p.key: p.value for p in second.properties} == {"name": "ann", "age": 40}
    assert second.properties is not third.properties
    assert all(a is not b for a in second.properties for b in third.properties)


def test_results_of_one_traversal_share_nothing():
    """Engine-only: the in-process engine makes each result traverser its own objects. Through the
    stock driver a Gremlin Server's equal results arrive as one traverser with a bulk, which
    gremlinpython hands out as the same object each time (test_detach's other tests hold for both)."""
    g = traversal().with_remote(LocalRemoteConnection(gremlin.Graph()))
    _person(g)
    second, third = g.V("p1", "p1").to_list()
    assert second.properties is not third.properties
    assert all(a is not b for a in second.properties for b in third.properties)


def test_meta_properties_and_references_detach_as_the_constructors_make_them():
    graph = gremlin.Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    _person(g)
    g.V("p1").properties("name").property("since", 2020).iterate()
    vertex = g.V("p1").next()
    by_key = {p.key: p for p in vertex.properties}
    assert [(m.key, m.value) for m in by_key["name"].properties] == [("since", 2020)]
    assert by_key["age"].properties == [] and by_key["age"].properties is not by_key["name"].properties
    assert all(p.vertex is None for p in vertex.properties)
    reference = gremlin.Graph(graph.store, profile="neptune")
    [only] = traversal().with_remote(LocalRemoteConnection(reference)).V("p1").to_list()
    assert vars(only) == vars(Vertex("p1", "person"))


def test_result_traversers_are_gremlinpython_traversers_with_their_bulk():
    graph = gremlin.Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    results = graph.execute(g.inject(1, 1, 2).barrier().bytecode)  # barrier() bulks the two 1s
    assert [type(t) for t in results] == [GTraverser, GTraverser]
    assert all(list(vars(t)) == list(vars(GTraverser(0, 1))) for t in results)
    assert [(t.object, t.bulk) for t in results] == [(1, 2), (2, 1)]
    assert sum(t.bulk for t in graph.execute(Bytecode())) == 0
