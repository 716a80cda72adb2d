"""Where a step's labels land on a path (gremlin/engine/labelled_paths.py): a step that hands its
traverser on labels the newest labelled object when the traverser's object equals it, as
TinkerPop's labelled-path traverser does, unless some step reads whole paths.
tests/differential/path_labels.gremlin checks the same shapes, and more, against a real server."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import EarlyLimitStrategy
from gremlin_python.process.traversal import Pop, T
from gremlin_python.statics import long

from gremlin import Graph
from gremlin.remote import LocalRemoteConnection


@pytest.fixture(params=[True, False], ids=["optimized", "stepwise"])
def g(request):
    """a -> b, so a.out().in() walks back to a."""
    source = traversal().with_remote(LocalRemoteConnection(Graph(optimize=request.param)))
    for name in "ab":
        source.add_v("n").property(T.id, name).property("name", name).iterate()
    source.V("a").add_e("next").to(__.V("b")).iterate()
    return source


def _back(g):
    return g.V("a").as_("x").out().in_()


def _ids(g, walk) -> list:
    return [[v.id for v in named] for named in walk.select(Pop.all_, "x").to_list()]


@pytest.mark.parametrize("step", [
    lambda t: t.has("name"), lambda t: t.where(__.out()), lambda t: t.dedup(), lambda t: t.side_effect(__.out()),
    lambda t: t.barrier(), lambda t: t.order(), lambda t: t.union(__.identity()), lambda t: t.local(__.identity()),
    lambda t: t.limit(1).has("name"),
], ids=["has", "where", "dedup", "sideEffect", "barrier", "order", "union", "local", "limit-then-has"])
def test_a_step_that_hands_its_traverser_on_labels_the_equal_labelled_object(g, step):
    assert _ids(g, step(_back(g)).as_("x")) == [["a"]]


@pytest.mark.parametrize("step", [
    lambda t: t, lambda t: t.has("name").map(__.identity()), lambda t: t.limit(1),
], ids=["in", "map", "limit"])
def test_a_map_step_with_the_label_adds_its_object(g, step):
    # limit(): EarlyLimitStrategy gives its labels to the in() before it
    assert _ids(g, step(_back(g)).as_("x")) == [["a", "a"]]


def test_without_early_limit_a_limit_labels_as_a_filter(g):
    walk = g.without_strategies(EarlyLimitStrategy).V("a").as_("x").out().in_().limit(1).as_("x")
    assert _ids(g, walk) == [["a"]]


def test_a_different_object_is_added(g):
    assert _ids(g, g.V("a").as_("x").out().has("name").as_("x")) == [["a", "b"]]


def test_a_label_between_stops_the_merge(g):
    assert _ids(g, g.V("a").as_("x").out().as_("y").in_().has("name").as_("x")) == [["a", "a"]]


def test_a_whole_path_reader_labels_the_newest_object(g):
    assert _ids(g, _back(g).has("name").as_("x").side_effect(__.path())) == [["a", "a"]]
    assert _ids(g, g.with_path().V("a").as_("x").out().in_().has("name").as_("x")) == [["a", "a"]]


def test_numbers_merge_only_when_java_equals_them(g):
    def named(value, again):
        return g.inject(value).as_("x").constant(again).is_(again).as_("x").select(Pop.all_, "x").next()
    assert named(1, 1) == [1]
    assert len(named(1, long(1))) == 2
    assert len(named(1, 1.0)) == 2
