"""TinkerPop's EarlyLimitStrategy, where its rewrite shows in answers: side effects before a range.

TinkerGraph moves each global ``range()``/``limit()``/``skip()`` in front of the map steps that
always give one value and the side-effect steps before it, so only the traversers the range lets
through reach them: ``V().sideEffect(aggregate('x')).range(1, 2).cap('x')`` holds one vertex, and
``V().groupCount('m').limit(1)`` counts one. Moving a range past pure map steps changes nothing an
answer shows, so the range moves here only when a side-effect step is among the steps it passes
(and in front of that step and the map steps around it): the rest of the traversal keeps the
shapes the optimizer knows.
"""

from __future__ import annotations

from gremlin_python.process.traversal import Scope

from .base import Step, Traversal
from .steps_filter import RangeStep
from .steps_map import AsStep, MapStep
from .steps_mutate import PropertyStep
from .steps_reduce import AggregateStep, GroupStep, SideEffectStep

__all__ = ["move_ranges_early"]

#: MapStep names whose function gives a value for every traverser (StepOutputArityPredictor's
#: always-bound map steps among this engine's MapSteps)
_ONE_VALUE_MAPS = frozenset({"id", "label", "constant", "key", "value", "valueMap", "elementMap", "propertyMap"})


def _side_effect(step: Step) -> bool:
    kind = type(step)
    if kind is SideEffectStep or kind is PropertyStep:
        return True
    if kind is AggregateStep:
        return step.scope == Scope.local  # aggregate('x') is a barrier, which no range passes
    if kind is GroupStep:
        return step.label is not None
    return False  # sack(operator) is no SideEffectStep in TinkerPop 3.7: an unproductive by() filters


def _movable(step: Step) -> bool:
    kind = type(step)
    return kind is AsStep or (kind is MapStep and step.name in _ONE_VALUE_MAPS) or _side_effect(step)


def move_ranges_early(traversal: Traversal) -> None:
    steps = traversal.steps
    anchored = bool(steps) and not _movable(steps[0])
    index = 0
    while index + 1 < len(steps):
        index += 1
        step = steps[index]
        if type(step) is not RangeStep or step.scope != Scope.global_:
            anchored = anchored or not _movable(step)
            continue
        if anchored:
            # TinkerPop moves a range's labels to the step before it whenever some earlier step
            # could take the range: the as() after it goes in front of it (where the labels land
            # on a labelled path depends on that step, labelled_paths.py)
            end = index + 1
            while end < len(steps) and type(steps[end]) is AsStep:
                end += 1
            if end > index + 1:
                steps[index:end] = steps[index + 1:end] + [step]
                index = end - 1
        to = index
        while to > 1 and _movable(steps[to - 1]):  # a traversal's first step starts it: no range goes before
            to -= 1
        if any(_side_effect(passed) for passed in steps[to:index]):
            steps.insert(to, steps.pop(index))
        anchored = True  # a later range may go behind this one
