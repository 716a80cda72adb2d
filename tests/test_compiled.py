"""A Graph keeps its compiled traversals by shape (gremlin/engine/compiled.py): the same bytecode
with other start ids compiles once, and every run answers exactly as a fresh compile does."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import InlineFilterStrategy
from gremlin_python.process.traversal import Operator, P, Scope, T, TextP, WithOptions
from gremlin_python.statics import long

from gremlin import Graph
from gremlin.engine.compiled import CompiledTraversals
from gremlin.remote import LocalRemoteConnection


def _graph(cache_size: int) -> tuple[Graph, object]:
    graph = Graph()
    g = traversal().with_remote(LocalRemoteConnection(graph))
    for name, value in (("a", 1), ("b", True), ("c", 1.0), ("d", long(1)), ("e", "1")):
        g.add_v("n").property(T.id, name).property("x", value).property("w", len(name)).iterate()
    for out, into in (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("a", "c"), ("e", "a")):
        g.V(out).add_e("k").to(__.V(into)).property("since", ord(out)).iterate()
    graph.compiled = CompiledTraversals(cache_size)  # what the tests count starts here
    return graph, g


#: each shape runs once per start id: the first run compiles it, the others reuse it
SHAPES = [
    lambda g, i: g.V(i).out("k").values("x"),
    lambda g, i: g.inject(0).aggregate("s").V(i).both("k").aggregate("s").cap("s"),
    lambda g, i: g.V(i).repeat(__.both("k").simple_path()).times(2).emit().dedup().id_(),
    lambda g, i: g.V(i).repeat(__.out("k")).until(__.has("x", "1")).path().by(T.id),
    lambda g, i: g.V(i).union(__.out("k"), __.in_("k")).group_count().by(T.id),
    lambda g, i: g.V(i).as_("a").out("k").as_("b").select("a", "b").by(T.id),
    lambda g, i: g.V(i).out("k").where(__.in_("k").has("x", True)).id_(),
    lambda g, i: g.V(i).coalesce(__.out("k").has("x", P.gt(5)), __.constant("none")),
    lambda g, i: g.V(i).choose(__.has("x", 1), __.constant("one"), __.constant("other")),
    lambda g, i: g.V(i).both_e("k").order().by("since").project("s", "v").by("since").by(__.other_v().id_()),
    lambda g, i: g.with_sack(1).V(i).repeat(__.out("k").sack(Operator.sum_).by("w")).times(2).sack(),
    lambda g, i: g.V(i).match(__.as_("p").out("k").as_("q"), __.as_("q").out("k").as_("r")).select("r").by(T.id),
    lambda g, i: g.V(i).value_map().with_(WithOptions.tokens, WithOptions.ids),  # elementMap() takes no with()
    lambda g, i: g.V(i).out("k").fold().project("n", "ids").by(__.count(Scope.local)).by(__.unfold().id_().fold()),
    lambda g, i: g.V(i, "e").values("w").sum_(),
    lambda g, i: g.V(i).both("k").id_().is_(TextP.starting_with("c")),
]


def _answers(g, shape) -> list:
    return [shape(g, start).to_list() for start in ("a", "b", "c", "d", "e", "zz")]


@pytest.mark.parametrize("index", range(len(SHAPES)))
def test_a_kept_traversal_answers_as_a_fresh_compile(index):
    kept_graph, kept = _graph(16)
    _, fresh = _graph(0)
    assert _answers(kept, SHAPES[index]) == _answers(fresh, SHAPES[index])
    assert kept_graph.compiled.hits >= 5  # the same shape with other ids: compiled once


def test_arguments_equal_in_python_are_different_keys():
    graph, g = _graph(16)
    _, fresh = _graph(0)
    values = (1, True, 1.0, long(1), "1")
    assert [g.V().has("x", v).id_().to_list() for v in values] == \
        [fresh.V().has("x", v).id_().to_list() for v in values]
    assert g.V().has("x", True).id_().to_list() == ["b"]
    assert graph.compiled.misses == 5


def test_a_child_traversals_ids_are_in_the_key():
    graph, g = _graph(16)
    assert g.V("a").union(__.V("b")).id_().to_list() == ["b"]
    assert g.V("a").union(__.V("c")).id_().to_list() == ["c"]
    assert graph.compiled.misses == 2


def test_disabled_strategies_are_in_the_key():
    graph, g = _graph(16)
    g.V("a").out().id_().to_list()
    g.V("b").out().id_().to_list()
    g.without_strategies(InlineFilterStrategy).V("b").out().id_().to_list()
    assert (graph.compiled.hits, graph.compiled.misses) == (1, 2)


def test_a_long_write_is_compiled_each_time_not_kept():
    graph, g = _graph(16)
    rows = [{"id": f"r{i}", "w": i} for i in range(500)]
    g.inject(rows).unfold().add_v("row").property(T.id, __.select("id")).iterate()
    assert g.V().has_label("row").count().next() == 500
    assert graph.compiled.misses == 1 and len(graph.compiled._kept) == 1  # the count only


def test_the_least_recently_used_shape_goes_first():
    graph, g = _graph(2)
    g.V("a").id_().to_list()
    g.V("a").label().to_list()
    g.V("b").id_().to_list()  # used again: label() is the oldest now
    g.V("a").values("x").to_list()
    g.V("c").id_().to_list()
    assert (graph.compiled.hits, graph.compiled.misses) == (2, 3)
