"""TinkerPop's PathRetractionStrategy as the engine reproduces it (gremlin/engine/path_retraction.py):
labels dropped from paths inside a repeat() body, as a Gremlin Server drops them, and kept
wherever the strategy does not apply. tests/differential/retraction.gremlin checks the same
shapes, and more, against a real server."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import PathRetractionStrategy
from gremlin_python.process.traversal import Pop, Scope, T

from gremlin import Graph
from gremlin.engine.compiler import compile_bytecode
from gremlin.engine.path_retraction import describe
from gremlin.remote import LocalRemoteConnection


@pytest.fixture(params=[True, False], ids=["optimized", "stepwise"])
def g(request):
    """A chain a -> b -> c -> d."""
    source = traversal().with_remote(LocalRemoteConnection(Graph(optimize=request.param)))
    for name in "abcd":
        source.add_v("n").property(T.id, name).iterate()
    for start, end in ("ab", "bc", "cd"):
        source.V(start).add_e("next").to(__.V(end)).iterate()
    return source


def _counted(body):
    """How many 'v' labels each pass sees, read only inside the body's sideEffect() child."""
    return (__.out().as_("v").side_effect(__.select(Pop.all_, "v").count(Scope.local).aggregate(Scope.local, "c"))
            .as_("r").select(Pop.last, "r") if body is None else body)


def test_a_label_read_only_in_a_child_is_gone_in_the_next_pass(g):
    # the body is its repeat()'s only child: its select() keeps 'r' alone (g_V_shortestpath's case)
    assert g.V("a").as_("v").repeat(_counted(None)).cap("c").next() == [2, 1, 1]


@pytest.mark.parametrize("keeps", [
    lambda g: g.with_("x", 1).without_strategies(PathRetractionStrategy).V("a").as_("v").repeat(_counted(None)),
    lambda g: g.with_path().V("a").as_("v").repeat(_counted(None)),
    lambda g: g.V("a").as_("v").repeat(_counted(None)).until(__.out().count().is_(0)),
    lambda g: g.V("a").as_("v").repeat(_counted(None)).emit(),
    lambda g: g.V("a").as_("v").repeat(_counted(None)).times(3),
    lambda g: g.V("a").as_("v").repeat(_counted(None)).map(__.select(Pop.all_, "v")),
], ids=["withoutStrategies", "withPath", "until", "emit", "unrolled-times", "read-after"])
def test_the_label_is_kept_where_tinkerpop_keeps_it(g, keeps):
    assert keeps(g).cap("c").next() == [2, 3, 4]


@pytest.mark.parametrize("whole_path", [__.path(), __.simple_path(), __.both_e().other_v()])
def test_a_traversal_reading_whole_paths_keeps_every_label(g, whole_path):
    assert g.V("a").as_("v").repeat(_counted(None)).local(whole_path.fold()).cap("c").next() == [2, 3, 4]


def test_only_steps_in_a_repeat_body_drop_labels():
    """Outside a repeat() a dropped label is one no later step reads: nothing to drop, no cost."""
    outside = compile_bytecode(__.V().as_("a").out().as_("b").select("a").dedup().bytecode)
    assert describe(outside) == []
    inside = compile_bytecode(__.V().as_("a").repeat(
        __.out().as_("b").side_effect(__.select("a")).select("b").where(__.as_("b").out()).dedup()).bytecode)
    # the body's steps keep what the body reads ('b'); the child's select() what it and its parent's
    # traversal read after it: 'a' is gone from the traversers that go round again
    assert describe(inside) == [("SelectStep", ["a", "b"]), ("SelectStep", ["b"]), ("WhereTraversalStep", ["b"]),
                                ("DedupStep", ["b"])]


def test_a_child_of_a_repeat_with_several_children_pushes_its_labels_into_the_body():
    # times(2) is a child of the repeat() too (TinkerPop's loop counter), so the sideEffect()
    # child's 'a' is pushed into every step of the body (dedup() keeps the repeat from unrolling);
    # with the body the only child, the body's own steps keep only 'b'
    def body():
        return __.out().as_("b").side_effect(__.select("a")).select("b").dedup()

    alone = compile_bytecode(__.V().as_("a").repeat(body()).bytecode)
    assert [kept for _, kept in describe(alone)] == [["a", "b"], ["b"], ["b"]]
    with_times = compile_bytecode(__.V().as_("a").repeat(body()).times(2).bytecode)
    assert [kept for _, kept in describe(with_times)] == [["a", "b"], ["a", "b"], ["a", "b"]]
