"""Optimizations: rewrites that make a traversal faster without changing its answer.

The engine is correct without them (every test passes with ``optimize=False``); they only
let the store's indexes do work a scan would otherwise do, or fold a filter into the step
before it.
"""

from __future__ import annotations

from typing import Any, Iterator

from gremlin_python.process.traversal import Scope

from .base import Context, Traversal
from .common import NOTHING
from .frontier import between_barriers
from .steps_branch import RepeatStep, UnionStep
from .steps_filter import DedupStep, HasStep, PathFilterStep, RangeStep
from .steps_graph import GraphStep, VertexStep
from .steps_map import FlatMapStep, MapStep
from .steps_reduce import ReduceStep
from .traverser import Traverser

__all__ = ["optimize"]


def optimize(traversal: Traversal) -> Traversal:
    """V().has(key, value): answer from the property index instead of scanning every vertex.
    The has() step stays in place as the exact filter; the index only narrows the candidates.

    both().simplePath() (any vertex step): the vertex step skips neighbours already on the
    path instead of making traversers for simplePath() to drop, the inner step of a
    repeat(both().simplePath()) walk; and such a walk followed by dedup() becomes a
    breadth-first search.

    dedup().limit(n) (any global range after a global dedup()): the range counts traversers of
    bulk 1, so it is a slice.

    barrier.has(...).bothE(...).has(...).barrier (a vertex step between two barriers with only
    element filters around it, a hop of the identity service's walk): on a store that reads
    adjacency from a file, the step has a chunk of its traversers' edges read together
    (frontier.py).

    union(values(k), constant(n)).sum() (a union of one-step map branches reduced by a global
    count/sum/mean/max/min, the whole of a traversal): one step that reduces the branches' values
    without a traverser per value (the counter increments every ingest writes)."""
    steps = traversal.steps
    _fold_simple_path(steps)
    _fold_union_reduce(steps)
    for position, step in enumerate(steps[:-1]):
        follower = steps[position + 1]
        if isinstance(step, GraphStep) and step.kind == "V" and step.ids is None \
                and step.index_key is None and isinstance(follower, HasStep):
            value = follower.index_value
            if value is not NOTHING and isinstance(follower.key, str):
                step.index_key = follower.key
                step.index_value = value
        if isinstance(step, DedupStep) and step.scope == Scope.global_ \
                and isinstance(follower, RangeStep) and follower.scope == Scope.global_:
            follower.unit_bulks = True
    for position, step in enumerate(steps):
        if type(step) is VertexStep and not step.simple_path and not step.no_edges \
                and between_barriers(steps, position):
            step.reads_frontier = True
    for step in steps:
        for child in step.children():
            optimize(child)
    _search_nearest_first(steps)
    return traversal


def _search_nearest_first(steps: list) -> None:
    """repeat(<vertex step>.simplePath()).times(n).emit().dedup(), with nothing more on the
    repeat(): a breadth-first search gives dedup() the same traversers (nearest_first.py), and
    does dedup()'s work as it finds them (one generator frame less per result)."""
    for step, follower in zip(steps, steps[1:]):
        if isinstance(step, RepeatStep) and isinstance(follower, DedupStep) and follower.is_plain() \
                and step.times is not None and step.times >= 1 and step.emit_all and not step.emit_first \
                and step.until is None and not step.until_first and step.emit is None \
                and len(step.body.steps) == 1:
            walk = step.body.steps[0]
            if isinstance(walk, VertexStep) and walk.simple_path and not walk.to_edges:
                step.nearest_first_by = walk
                step.nearest_first_dedup = follower
                follower.done_before = True


def _fold_simple_path(steps: list) -> None:
    position = 0
    while position < len(steps) - 1:
        step, follower = steps[position], steps[position + 1]
        if isinstance(step, VertexStep) and isinstance(follower, PathFilterStep) and follower.is_plain_simple():
            step.simple_path = True
            del steps[position + 1]
        position += 1


def _fold_union_reduce(steps: list) -> None:
    if len(steps) != 2:
        return
    union, reducer = steps
    if type(union) is UnionStep and isinstance(reducer, ReduceStep) and type(reducer).run is ReduceStep.run \
            and reducer.scope != Scope.local and union.branches \
            and all(len(b.steps) == 1 and type(b.steps[0]) in (MapStep, FlatMapStep) for b in union.branches):
        steps[:] = [UnionReduceStep(union, reducer)]


class UnionReduceStep(ReduceStep):
    """union() of one-step map branches, then a global ReduceStep: the reducer given the values the
    branches make, in union()'s order (each traverser through every branch in turn, with its
    bulk), without a traverser each. A reducing barrier like the reducer it stands for."""

    def __init__(self, union: UnionStep, reducer: ReduceStep):
        super().__init__(reducer.name, reducer.scope)
        self.union = union
        self.reducer = reducer
        self.branches = [branch.steps[0].values_of for branch in union.branches]

    def children(self) -> tuple:
        return self.union.branches

    def inputs(self, ctx: Context, traversers: Iterator[Traverser]) -> list[tuple[Any, int]]:
        return [(value, traverser.bulk) for traverser in traversers
                for values_of in self.branches for value in values_of(ctx, traverser)]

    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        return self.reducer.reduce(pairs)
