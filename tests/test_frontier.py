"""A vertex step between two barriers has its traversers' edges read together on the disk store
(gremlin/engine/frontier.py, DiskStore.read_frontier): one query for a hop's frontier and its far
ends where each vertex, side and label was one and their far ends another, and answers, their
order and errors as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Order, P, Scope, T

from gremlin import Graph, disk_adjacency
from gremlin.durable import open_store
from gremlin.engine import frontier
from gremlin.engine.compiler import compile_bytecode
from gremlin.engine.optimize import optimize
from gremlin.engine.steps_graph import VertexStep
from gremlin.remote import LocalRemoteConnection

from tests.test_disk_store import counted_reads
from tests.test_nearest_first import random_multigraph


def _build(g, seed: int) -> None:
    """A random multigraph with self-loops, an edge each way between two vertices and two labels."""
    random_multigraph(g, seed)
    g.V("v2").add_e("link").to(__.V("v1")).property(T.id, "back").iterate()


def _source(graph: Graph):
    return traversal().with_remote(LocalRemoteConnection(graph))


SHAPES = [
    # the identity service's hop
    lambda g: g.V("v0", "v5").aggregate("seen").has("kind", P.lte(1)).has_not("shared").both_e("link")
               .has("w", P.lt(4)).aggregate("crossed").other_v().where(P.without("seen")).dedup()
               .aggregate("seen").has("kind", P.lte(1)).both_e("link").aggregate("crossed").other_v()
               .where(P.without("seen")).dedup().id_(),
    lambda g: g.V().aggregate("a").both().aggregate("b").id_(),
    lambda g: g.V().barrier().out("link", "other").fold().unfold().id_(),
    lambda g: g.V().order().by(T.id, Order.desc).has_label("node").in_e().order().by("w").id_(),
    lambda g: g.V().aggregate("a").both_e().aggregate("b").cap("b").unfold().id_(),
    lambda g: g.V().aggregate("a").out_e("other").count(),
    lambda g: g.V("v3", "v7", "v3").aggregate("a").both("link").aggregate("b").path().by(T.id),
    lambda g: g.V().aggregate("a").both("nothing", "link").aggregate("b").id_(),
    # the traversal's own writes, unwritten when the frontier is read
    lambda g: g.V("v3").add_e("link").to(__.V("v4")).property(T.id, "fresh").V().aggregate("a")
               .both("link").aggregate("b").id_(),
    lambda g: g.V("v9").side_effect(__.drop()).V().aggregate("a").both_e().aggregate("b").id_(),
]


@pytest.mark.parametrize("chunk, params", [(256, 900), (3, 4)])  # (3, 4): chunks and statements of a few
@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_a_frontier_read_together_answers_as_each_vertex_read_alone(tmp_path: Path, monkeypatch, shape, chunk,
                                                                   params) -> None:
    monkeypatch.setattr(frontier, "FRONTIER_CHUNK", chunk)
    monkeypatch.setattr(disk_adjacency, "_FRONTIER_PARAMS", params)
    answers = []
    for reads_ahead in (True, False):
        directory = tmp_path / str(reads_ahead)
        graph = Graph(open_store(directory))
        _build(_source(graph), seed=shape)
        graph.close()
        graph = Graph(open_store(directory))  # cold: nothing read yet
        graph.store.reads_frontiers = reads_ahead
        answers.append(SHAPES[shape](_source(graph)).to_list())
        graph.close()
    assert answers[0] == answers[1]
    assert answers[0]


def _chain(directory: Path) -> Graph:
    """v0 -> v1 -> ... -> v19 (``next`` edges), stored, and opened again: nothing read yet."""
    store = open_store(directory)
    with store.transaction():
        vertices = [store.add_vertex("item", f"v{n}") for n in range(20)]
        for n in range(19):
            store.add_edge("next", vertices[n], vertices[n + 1], f"e{n}")
    store.close()
    return Graph(open_store(directory))


def test_a_hops_frontier_is_read_with_its_far_ends_in_one_query(tmp_path: Path) -> None:
    graph = _chain(tmp_path)
    g = _source(graph)
    frontier_ids = [f"v{n}" for n in range(10)]
    for id in frontier_ids:  # their rows read: what the hop reads is their edges and v10
        graph.store.vertices.get(id)
    reads = counted_reads(graph.store)
    found = g.V(*frontier_ids).aggregate("a").both("next").aggregate("b").id_().to_list()
    assert found == ["v1"] + [f"v{n}" for n in range(1, 10) for n in (n + 1, n - 1)]  # out, then in
    assert len(reads) == 1 and "UNION ALL" in reads[0]  # each vertex read alone: 20, and v10's row
    reads.clear()
    assert g.V(*frontier_ids).aggregate("a").both("next").aggregate("b").count().next() == 19
    assert reads == []  # kept with each vertex, as a vertex's own read keeps them
    graph.close()


def test_a_step_a_limit_can_stop_reads_each_vertex_alone(tmp_path: Path) -> None:
    graph = _chain(tmp_path)
    reads = counted_reads(graph.store)
    g = _source(graph)
    assert g.V(*[f"v{n}" for n in range(10)]).aggregate("a").out("next").limit(1).id_().to_list() == ["v1"]
    # v0's edges, then v1's: one by one, as TinkerGraph walks (its range pulls one traverser past
    # the limit before it stops, and that one is v1's)
    assert len([sql for sql in reads if "FROM edges" in sql]) == 2
    graph.close()


def _marked(traversal_) -> list[bool]:
    compiled = optimize(compile_bytecode(traversal_.bytecode, set()))
    return [step.reads_frontier for step in compiled.steps if isinstance(step, VertexStep)]


MARKS = [
    (lambda g: g.V().aggregate("a").has("k", 1).has_label("x").both_e("l").has("w", 1).aggregate("b"), [True]),
    (lambda g: g.V().fold().unfold().out().count(), [False]),  # unfold() is no filter
    (lambda g: g.V().aggregate("a").out().limit(1), [False]),  # a limit could stop it
    (lambda g: g.V().aggregate("a").out(), [False]),  # the caller could stop iterating
    (lambda g: g.V().out().aggregate("a"), [False]),  # V() is lazy
    (lambda g: g.V().aggregate("a").side_effect(__.property("k", 1)).out().count(), [False]),
    (lambda g: g.V().aggregate("a").has("k", __.is_(1)).out().count(), [False]),  # a child runs
    (lambda g: g.V().aggregate("a").out().add_v("x").count(), [False]),
    (lambda g: g.V().aggregate(Scope.local, "a").out().count(), [False]),  # aggregate(local) is lazy
    (lambda g: g.V().aggregate("a").out().simple_path().count(), [False]),
    (lambda g: g.V().aggregate("a").out().in_().count(), [False, False]),
    (lambda g: g.V().local(__.aggregate("a").out().fold()), []),
]


@pytest.mark.parametrize("case", range(len(MARKS)))
def test_only_a_vertex_step_between_two_barriers_with_element_filters_around_it_reads_ahead(case) -> None:
    shape, expected = MARKS[case]
    assert _marked(shape(traversal().with_remote(LocalRemoteConnection(Graph())))) == expected


def test_a_child_traversal_between_barriers_is_marked_too() -> None:
    g = traversal().with_remote(LocalRemoteConnection(Graph()))
    compiled = optimize(compile_bytecode(g.V().local(__.aggregate("a").out().fold()).bytecode, set()))
    (child,) = compiled.steps[-1].children()
    assert [step.reads_frontier for step in child.steps if isinstance(step, VertexStep)] == [True]


def test_an_error_pulling_a_traverser_comes_after_those_pulled_before_it_are_walked(tmp_path: Path) -> None:
    # an edge reaches out() first (out() of an edge is an error), then an edge property, which
    # hasNot() refuses: reading ahead pulls the property before out() sees the edge
    errors = []
    for graph in (Graph(open_store(tmp_path)), Graph()):
        g = _source(graph)
        g.add_v("node").property(T.id, "a").add_e("link").to(__.add_v("node")).property("w", 1).iterate()
        with pytest.raises(Exception) as raised:
            g.V("a").union(__.out_e(), __.out_e().properties("w")).aggregate("x").has_not("zzz").out().fold().to_list()
        errors.append(str(raised.value))
        graph.close()
    assert "needs a vertex" in errors[0] and errors[0] == errors[1]
