"""union() of one-step map branches reduced by a global count/sum/mean/max/min, which the optimizer
fuses into one step (gremlin/engine/optimize.py), answers and writes exactly as the steps do."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, T
from gremlin_python.statics import long

from gremlin import Graph
from gremlin.remote import LocalRemoteConnection


def _sources():
    """The same small graph twice: optimized, and run step by step."""
    sources = [traversal().with_remote(LocalRemoteConnection(Graph(optimize=flag))) for flag in (True, False)]
    for g in sources:
        (g.add_v("n").property(T.id, "a").property("count", 3).property("w", 1.5)
         .add_v("n").property(T.id, "b").property("count", long(2 ** 40)).property(Cardinality.list_, "w", 2)
         .property(Cardinality.list_, "w", 4.25)
         .add_v("n").property(T.id, "c").property("name", "x")).iterate()
        g.V("a").add_e("e").to(__.V("b")).property("count", 7).iterate()
    return sources


SHAPES = [
    lambda g: g.V().union(__.values("count"), __.constant(2)).sum_(),
    lambda g: g.V("a", "b", "c").local(__.union(__.values("count"), __.constant(long(1))).sum_()),
    lambda g: g.V().local(__.union(__.values("w"), __.constant(0.5)).sum_()),
    lambda g: g.V().local(__.union(__.values("count", "w"), __.constant(1)).max_()),
    lambda g: g.V().local(__.union(__.values("w"), __.constant(1)).min_()),
    lambda g: g.V().local(__.union(__.values("w"), __.values("count")).mean()),
    lambda g: g.V().local(__.union(__.values("nothing"), __.values("nothing")).sum_()),
    lambda g: g.V().local(__.union(__.id_(), __.label(), __.values("name")).count()),
    lambda g: g.V().union(__.out(), __.in_()).count(),
    lambda g: g.E().local(__.union(__.values("count"), __.constant(1)).sum_()),
    lambda g: g.V().barrier().local(__.union(__.values("count"), __.constant(1)).sum_()),
    lambda g: g.inject(1, 2, 2).union(__.identity(), __.constant(10)).sum_(),
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_fused_union_reduce_answers_as_the_steps_do(shape):
    optimized, stepwise = _sources()
    assert SHAPES[shape](optimized).to_list() == SHAPES[shape](stepwise).to_list()


def test_increments_write_the_same_values():
    optimized, stepwise = _sources()
    for g in (optimized, stepwise):
        g.V("a", "b", "c").property(Cardinality.single, "count",
                                    __.union(__.values("count"), __.constant(long(5))).sum_()).iterate()
        g.E().property("count", __.union(__.values("count"), __.constant(-2)).sum_()).iterate()
    read = [lambda g: g.V().value_map("count").to_list(), lambda g: g.E().values("count").to_list()]
    assert [r(optimized) for r in read] == [r(stepwise) for r in read] == [
        [{"count": [8]}, {"count": [2 ** 40 + 5]}, {"count": [5]}], [5]]


def test_a_reduction_of_values_that_are_not_numbers_fails_alike():
    for g in _sources():
        with pytest.raises(Exception, match="sum"):
            g.V("c").union(__.values("name"), __.constant(1)).sum_().to_list()


def test_only_that_shape_is_fused():
    from gremlin.engine.compiler import compile_bytecode
    from gremlin.engine.optimize import UnionReduceStep, optimize

    def fused(t) -> bool:
        steps = optimize(compile_bytecode(t.bytecode)).steps
        return len(steps) == 1 and isinstance(steps[0], UnionReduceStep)

    assert fused(__.union(__.values("count"), __.constant(1)).sum_())
    assert fused(__.union(__.id_(), __.label()).count())
    assert not fused(__.union(__.values("count"), __.constant(1)).sum_().is_(3))
    assert not fused(__.union(__.out().values("count"), __.constant(1)).sum_())
    assert not fused(__.union(__.values("count"), __.constant(1)).fold())
    assert not fused(__.union(__.values("count"), __.constant(1)).local(__.sum_()))


def test_a_fused_step_that_sees_many_traversers_reduces_them_in_union_order_and_as_a_barrier():
    """Fused where the branches' values of many traversers come in: a repeat() body (each traverser
    through both branches in turn: 1e16 + 1.0 is 1e16 in doubles, so the order shows in the sum)
    and a union() branch (a reducing barrier there, so the outer union() gives it every traverser).
    Gremlin Server 3.7.3 answers [1.0], [1.0, 0, 0] and [4, 0, 0], as the steps do."""
    shapes = [
        lambda g: g.V("a", "b").repeat(__.union(__.values("w"), __.constant(1.0)).sum_()).times(1),
        lambda g: g.V("a", "b").union(__.union(__.values("w"), __.constant(1.0)).sum_(), __.constant(0)),
        lambda g: g.V("a", "b").union(__.union(__.values("w"), __.constant(1.0)).count(), __.constant(0)),
    ]
    answers = []
    for flag in (True, False):
        g = traversal().with_remote(LocalRemoteConnection(Graph(optimize=flag)))
        (g.add_v("n").property(T.id, "a").property("w", 1e16)
         .add_v("n").property(T.id, "b").property("w", -1e16)).iterate()
        answers.append([shape(g).to_list() for shape in shapes])
    assert answers[0] == answers[1] == [[1.0], [1.0, 0, 0], [4, 0, 0]]
