"""repeat(<vertex step>.simplePath()).times(n).emit().dedup() as one breadth-first search.

The walk repeat() performs extends every simple path, so a 3-hop neighbourhood of degree d makes
about d³ traversers for dedup() to thin out to the few hundred distinct vertices. Followed by
dedup(), only the first walk to reach each vertex matters, and that is the search's answer:

- a vertex is first reached at the level of its distance from the start (in the graph without
  the vertices already on the start's path, which simplePath() forbids), as a shortest walk is
  simple and one extended from a vertex nearer than level - 1 finds nothing new;
- levels go out in order, and within a level the walks come in the order of the walks they
  extend, then of the adjacency; the search visits each level's vertices in the order their
  first walks came, and the first walk to a vertex extends the first walk to some vertex one
  nearer: the order in which the search discovers vertices is the order dedup() lets them out;
- the first walk's path is the search tree's path, so a path() after it reads the same.

The optimizer marks a repeat() for this only in that exact shape (see optimize.py); the results
are the same as the walk's, which tests/test_nearest_first.py checks against it.
"""

from __future__ import annotations

from typing import Iterator

from ..storage import VertexRecord
from .base import Context
from .traverser import NO_LABELS, PathNode, Traverser, is_simple

__all__ = ["walkable", "nearest_first"]


def walkable(start: Traverser) -> bool:
    """The search stands for the walk from ``start``: it is at a vertex of this graph, at the
    head of its path (a walk from it may not return to it)."""
    path = start.path
    return type(start.obj) is VertexRecord and path is not None and path.obj is start.obj


def nearest_first(ctx: Context, vertex_step, times: int, start: Traverser, seen: set) -> Iterator[Traverser]:
    """Every vertex a simple walk of 1 to ``times`` steps of ``vertex_step`` reaches from
    ``start``, once, in the order of the first walk to reach it, as the dedup() after the walk
    lets it out: one traverser of bulk 1 per vertex not yet in that dedup()'s ``seen``, which
    it joins. (The search still walks on from a vertex a search from an earlier start reached.)"""
    if not is_simple(start.path):
        return  # no extension of a path that repeats itself is simple
    visited = set()
    node: PathNode | None = start.path
    while node is not None:
        if type(node.obj) is VertexRecord:  # only a record can be a vertex the walk reaches
            visited.add(node.obj)
        node = node.parent
    filtered = bool(ctx.filters)
    targets_of, tick, new = vertex_step.targets, ctx.tick, object.__new__
    loops, sack = start.loops, start.sack
    frontier = [start.path]
    for _ in range(times):
        reached_level = []
        for here in frontier:
            targets = targets_of(ctx, here.obj, filtered)
            tick(len(targets))
            for target in targets:
                if target in visited:
                    continue
                visited.add(target)
                # PathNode(target, NO_LABELS, here) and Traverser(target, 1, reached, loops,
                # sack) without their __init__ calls: the search makes two per vertex it reaches
                reached = new(PathNode)
                reached.obj = target
                reached.labels = NO_LABELS
                reached.parent = here
                reached_level.append(reached)
                if target in seen:
                    continue
                seen.add(target)
                made = new(Traverser)
                made.obj = target
                made.bulk = 1
                made.path = reached
                made.loops = loops
                made.sack = sack
                yield made
        if not reached_level:
            return
        frontier = reached_level
