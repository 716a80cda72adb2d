"""Where a step's labels land on a path that holds only labelled objects.

TinkerPop gives a traversal that no step needs the whole path of (no ``path()``, ``simplePath()``,
``cyclicPath()``, ``tree()``, ``otherV()``, ``select(traversal)``, no ``withPath()``: TinkerPop's
PATH requirement) traversers whose path holds only the labelled objects. A map or flatMap step
that carries labels puts its new object on that path with them. Every other step (a filter, a side
effect, a barrier, a branch step's end) hands its traverser on unsplit, and its labels join the
newest labelled object when the traverser's object equals it, else label the object: so
``V(1).as('a').out().in().has('name').as('a')`` names v[1] once where the walk came back to it,
and twice where ``in()`` itself carries the label. With a PATH requirement every step's object is
on the path and labels always name the newest.

This engine's path always holds every step's object, so only the second rule needs telling apart:
when a traversal is compiled, each ``as()`` that follows a step of the first kind is marked
(``AsStep.in_place``), and at run time its traversers take the labels there
(``Traverser.labelled_in_place``). Run after the rewrites that move labels (IdentityRemovalStrategy,
EarlyLimitStrategy), so each label sits where TinkerPop's does.
"""

from __future__ import annotations

from gremlin_python.process.traversal import Scope

from .base import PATH_READERS, Step, Traversal
from .steps_graph import EdgeVertexStep
from .steps_map import AsStep, SelectStep
from .steps_match import MatchStep
from .steps_reduce import GroupStep
from .steps_where import WhereStep

__all__ = ["needs_whole_path", "mark_in_place_labels", "WITH_PATH"]

#: Entered among a traversal's disabled strategies by ``withPath()`` (the compiled traversals are
#: kept apart by that set): every traverser then carries its whole path.
WITH_PATH = "withPath"


#: Steps that hand on the traversers they receive (TinkerPop's filters, side effects, barriers and
#: branch steps) rather than splitting them onto a new object; each scoped one only globally (its
#: local form is a map step). Any other step keeps the labels on its own object.
_UNSPLIT = frozenset({
    "has", "hasLabel", "hasId", "hasNot", "hasKey", "hasValue", "is", "where", "filter", "not", "and",
    "or", "coin", "simplePath", "cyclicPath", "none", "all", "any", "drop", "barrier", "sideEffect",
    "aggregate", "store", "property", "inject", "union", "local", "optional", "choose", "branch",
    "repeat",
})
_UNSPLIT_GLOBALLY = frozenset({"dedup", "limit", "range", "skip", "tail", "sample", "order"})


def needs_whole_path(step: Step) -> bool:
    """The step reads whole paths (TinkerPop's PATH requirement)."""
    return (step.name in PATH_READERS or (isinstance(step, EdgeVertexStep) and step.name == "otherV")
            or (isinstance(step, SelectStep) and step.traversal is not None))


def mark_in_place_labels(traversal: Traversal) -> None:
    """Mark the ``as()`` steps of ``traversal`` (a root, compiled) whose labels join an equal
    labelled object, unless some step needs the whole path."""
    steps = list(traversal.all_steps())
    if not any(isinstance(step, AsStep) for step in steps) or any(needs_whole_path(step) for step in steps):
        return
    pending = [traversal]
    while pending:
        current = pending.pop()
        before: Step | None = None
        for step in current.steps:
            if isinstance(step, AsStep):
                # a child's first as() is TinkerPop's StartStep, which hands its traverser on
                step.in_place = before is None or _unsplit(before)
                continue
            before = step
            if isinstance(step, (WhereStep, MatchStep)):
                continue  # their as() steps name variables to compare, not path labels
            pending.extend(step.children())


def _unsplit(step: Step) -> bool:
    name = step.name
    if name in _UNSPLIT:
        return True
    if name in _UNSPLIT_GLOBALLY:
        return getattr(step, "scope", None) != Scope.local
    if isinstance(step, GroupStep):
        return step.label is not None  # group('m'), groupCount('m'): side effects
    return False
