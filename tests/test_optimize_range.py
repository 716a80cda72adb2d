"""A global range after a global dedup() is cut as a slice (gremlin/engine/optimize.py): it answers
exactly as the counting range does, bulked traversers, skips, loops and laziness included."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Scope, T

from gremlin import Graph
from gremlin.remote import LocalRemoteConnection


def _sources():
    """The same small graph, optimized and not."""
    sources = [traversal().with_remote(LocalRemoteConnection(Graph(optimize=flag))) for flag in (True, False)]
    for g in sources:
        t = g
        for i in range(8):
            t = t.add_v("node").property(T.id, f"v{i}").property("kind", i % 3)
        t.iterate()
        for i in range(8):
            g.V(f"v{i}").add_e("link").to(__.V(f"v{(i * 3 + 1) % 8}")).iterate()
            g.V(f"v{i}").add_e("link").to(__.V(f"v{(i + 1) % 8}")).iterate()
    return sources


SHAPES = [
    lambda g: g.inject(1, 1, 2, 2, 2, 3, 4, 4).barrier().dedup().limit(2),
    lambda g: g.inject(1, 1, 2, 2, 2, 3, 4, 4).barrier().dedup().range_(1, 3),
    lambda g: g.inject(1, 1, 2, 2, 2, 3, 4, 4).barrier().dedup().skip(2),
    lambda g: g.inject(1, 1, 2).dedup().limit(0),
    lambda g: g.inject(1, 2, 3).dedup().range_(2, 2),
    lambda g: g.V().both().dedup().limit(5),
    lambda g: g.V().values("kind").dedup().limit(2),
    lambda g: g.V().both().dedup().by("kind").range_(1, 2),
    lambda g: g.V().as_("a").both().dedup("a").limit(3).select("a"),
    lambda g: g.V().local(__.both().both().dedup().limit(2)),
    lambda g: g.V("v0").repeat(__.both().dedup().limit(3)).times(2),
    lambda g: g.V().both().dedup(Scope.local).limit(4),
    lambda g: g.V().both().aggregate(Scope.local, "seen").dedup().limit(2).cap("seen").unfold().count(),
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_a_range_after_dedup_answers_as_the_counting_range_does(shape):
    optimized, plain = _sources()
    expected = SHAPES[shape](plain).to_list()
    assert SHAPES[shape](optimized).to_list() == expected
