"""A hop's frontier read together: a vertex step between two barriers asks the store for the
adjacency of a chunk of its traversers' vertices at once, before it walks them one at a time.

The engine pulls traversers one at a time (base.py), so each vertex of a hop is read alone: on a
store that reads adjacency from a file (``GraphStore.reads_frontiers``: gremlin/disk_store.py)
that is a query per vertex, side and label. Reading ahead must not change what a traversal
does, so the optimizer marks a vertex step for it only when nothing could tell:

- before it, back to a barrier (a step that has taken every traverser before it emits one:
  steps_reduce.is_barrier), only filters that read the element they test (has(), hasLabel(),
  hasId(), hasNot()): the traversers are already made, and pulling them early runs nothing else;
- after it, up to a barrier, only such filters too: every traverser the step could emit is asked
  for anyway, so no limit() or lazy consumer could have stopped it sooner, and no write or side
  effect runs between two of its reads.

The identity service's neighbourhood walk is this shape at every hop
(``aggregate('seen').has('degree', lte(L)).hasNot('shared').bothE('link').aggregate('crossed')``).
The step walks the traversers in the order it received them, as before: the store has each
vertex's edges in memory by the time the step asks for them, in the order its own read gives. An
error pulling a traverser is raised after the step has walked those pulled before it, as it would
have been.
"""

from __future__ import annotations

from typing import Iterator

from ..storage import VertexRecord
from .base import Context, Step, Traversal
from .steps_filter import FilterStep, HasStep
from .steps_reduce import is_barrier
from .traverser import Traverser

__all__ = ["FRONTIER_CHUNK", "between_barriers", "read_ahead"]

#: Traversers pulled, and vertices read, together: bounds what the step holds beyond what the
#: barrier before it holds anyway, and one read's size.
FRONTIER_CHUNK = 256

#: the filter steps (by name) whose test reads only the element tested
_ELEMENT_FILTERS = frozenset({"hasLabel", "hasId", "hasNot"})


def between_barriers(steps: list[Step], position: int) -> bool:
    """Whether the step at ``position`` has a barrier before it and one after it with only
    element filters between (module docstring): the optimizer's test (optimize.py)."""
    return _barrier_before(steps, position) and _barrier_after(steps, position)


def _element_filter(step: Step) -> bool:
    if type(step) is HasStep:
        return not isinstance(step.predicate, Traversal)  # has(key, traversal) runs a child
    return type(step) is FilterStep and step.name in _ELEMENT_FILTERS


def _barrier_before(steps: list[Step], position: int) -> bool:
    position -= 1
    while position >= 0 and _element_filter(steps[position]):
        position -= 1
    return position >= 0 and is_barrier(steps[position])


def _barrier_after(steps: list[Step], position: int) -> bool:
    position += 1
    while position < len(steps) and _element_filter(steps[position]):
        position += 1
    return position < len(steps) and is_barrier(steps[position])


def read_ahead(ctx: Context, traversers: Iterator[Traverser], direction: str,
               labels: tuple[str, ...]) -> Iterator[Traverser]:
    """``traversers`` as they come, each chunk of them pulled first and its vertices' edges in
    ``direction`` with ``labels`` (all when empty) read together (``store.read_frontier``)."""
    read = ctx.store.read_frontier
    upstream = iter(traversers)
    while True:
        chunk: list[Traverser] = []
        failure: Exception | None = None
        try:
            for traverser in upstream:
                chunk.append(traverser)
                if len(chunk) == FRONTIER_CHUNK:
                    break
        except Exception as error:  # raised once the step has walked what came before it
            failure = error
        vertices = [traverser.obj for traverser in chunk if type(traverser.obj) is VertexRecord]
        if vertices:
            read(vertices, direction, labels)
        yield from chunk
        if failure is not None:
            raise failure
        if len(chunk) < FRONTIER_CHUNK:
            return
