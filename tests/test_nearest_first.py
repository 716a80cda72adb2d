"""A repeat() walk the optimizer turns into a breadth-first search (gremlin/engine/nearest_first.py)
answers exactly as the walk does: same vertices, same order, same paths."""

from __future__ import annotations

import random

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import SubgraphStrategy
from gremlin_python.process.traversal import P, T

from gremlin import Graph
from gremlin.remote import LocalRemoteConnection


def random_multigraph(g, seed: int) -> None:
    """40 vertices and 122 edges of two labels, drawn from ``seed``, a self-loop among them."""
    rng = random.Random(seed)
    t = g
    for i in range(40):
        t = t.add_v("node").property(T.id, f"v{i}").property("kind", i % 3)
    t.iterate()
    for i in range(120):
        a, b = rng.randrange(40), rng.randrange(40)
        label = "link" if i % 4 else "other"
        g.V(f"v{a}").add_e(label).to(__.V(f"v{b}")).property(T.id, f"e{i}").property("w", i % 5).iterate()
    g.V("v0").add_e("link").to(__.V("v0")).property(T.id, "loop").iterate()
    g.V("v1").add_e("link").to(__.V("v2")).property(T.id, "twin").iterate()


def _random_graph(seed: int):
    """Two sources over one random multigraph with self-loops: optimized, and walking every path."""
    sources = [traversal().with_remote(LocalRemoteConnection(Graph(optimize=flag))) for flag in (True, False)]
    for g in sources:
        random_multigraph(g, seed)
    return sources


SHAPES = [
    lambda g, s: g.V(s).repeat(__.both().simple_path()).times(3).emit().dedup(),
    lambda g, s: g.V(s).repeat(__.out().simple_path()).times(4).emit().dedup().limit(7),
    lambda g, s: g.V(s).repeat(__.in_("link").simple_path()).times(2).emit().dedup().path(),
    lambda g, s: g.V(s).both().repeat(__.both().simple_path()).times(2).emit().dedup().path(),
    lambda g, s: g.V(s, "v0", s).repeat(__.both().simple_path()).times(2).emit().dedup(),
    lambda g, s: g.V(s).out().out().repeat(__.both().simple_path()).times(3).emit().dedup().count(),
    lambda g, s: g.V(s).union(__.identity(), __.identity()).repeat(__.both().simple_path()).times(2).emit()
                  .dedup().path(),
    lambda g, s: g.V(s).local(__.repeat(__.both().simple_path()).times(2).emit().dedup().fold()),
    lambda g, s: g.V(s).repeat(__.both().simple_path()).times(1).emit().dedup().values("kind"),
    lambda g, s: g.with_strategies(SubgraphStrategy(edges=__.has("w", P.lt(3)))).V(s)
                  .repeat(__.both().simple_path()).times(3).emit().dedup().path(),
    lambda g, s: g.V(s).both().both().barrier().repeat(__.both().simple_path()).times(2).emit().dedup()
                  .range_(3, 40).path(),
    lambda g, s: g.V(s).repeat(__.repeat(__.both().simple_path()).times(2).emit().dedup()).times(2).path(),
    lambda g, s: g.V(s).out().path().unfold().repeat(__.both().simple_path()).times(2).emit().dedup(),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_search_answers_as_the_walk_does(seed, shape):
    searched, walked = _random_graph(seed)
    for start in ("v0", "v1", "v5", "v17"):
        assert SHAPES[shape](searched, start).to_list() == SHAPES[shape](walked, start).to_list()


def test_only_that_shape_is_searched():
    from gremlin.engine.compiler import compile_bytecode
    from gremlin.engine.optimize import optimize

    g = traversal().with_remote(LocalRemoteConnection(Graph()))

    def searched(t) -> bool:
        steps = optimize(compile_bytecode(t.bytecode)).steps
        return any(getattr(step, "nearest_first_by", None) is not None for step in steps)

    assert searched(g.V("a").repeat(__.both().simple_path()).times(3).emit().dedup())
    assert not searched(g.V("a").repeat(__.both().simple_path()).times(3).emit())
    assert not searched(g.V("a").repeat(__.both()).times(3).emit().dedup())
    assert not searched(g.V("a").repeat(__.both().simple_path()).times(3).emit().dedup().by("kind"))
    assert not searched(g.V("a").repeat(__.both().simple_path()).emit().times(3).dedup().by("kind"))
    assert not searched(g.V("a").repeat(__.both().simple_path()).until(__.has("kind", 1)).emit().dedup())
    assert not searched(g.V("a").emit().repeat(__.both().simple_path()).times(3).dedup())
    assert not searched(g.V("a").repeat(__.both_e().simple_path()).times(3).emit().dedup())
