"""TinkerPop's CountStrategy, where its rewrite shows in answers: ``count().is(P)``.

TinkerGraph puts a ``range(0, n)`` in front of a global ``count()`` that an ``is()`` with a numeric
predicate follows, n the least count that decides the predicate, so the count stops early. Where the
count is only tested (``where(out().count().is(gt(0)))``) nothing shows; where it is the answer it
does: ``g.inject(0, 10, 7).count().is(gt(0))`` is 1 on a Gremlin Server, not 3. This reproduces the
range it inserts (and so the counts it gives), not the strategy's other rewrites into ``not()``,
which answer alike. Its bound for ``within()``/``without()`` is the greatest member by Java's natural
order (``Collections.max``), which fails the traversal before it runs when there is no member or
members of two classes (``count().is(within())``, ``count().is(within(1, "a"))``).
"""

from __future__ import annotations

import math
from typing import Any

from gremlin_python.process.traversal import P, Scope

from ..errors import TraversalError

from .base import Traversal
from .steps_filter import RangeStep
from .steps_map import AsStep
from .steps_reduce import CountStep
from .values import is_number, java_type_name

__all__ = ["limit_counts"]

#: predicates whose bound is one more than the value (TinkerPop's INCREASED_OFFSET_SCALAR_PREDICATES)
_PLUS_ONE = frozenset({"eq", "neq", "lte", "gt"})
_SCALAR = frozenset({"eq", "neq", "lt", "lte", "gt", "gte"})
_NEGATED = {"eq": "neq", "neq": "eq", "lt": "gte", "gte": "lt", "lte": "gt", "gt": "lte",
            "within": "without", "without": "within"}
#: range predicates as TinkerPop builds them from two scalar ones
_RANGES = {"between": ("gte", "lt"), "inside": ("gt", "lt"), "outside": ("lt", "gt")}


def _parts(predicate: Any) -> list[tuple[str, Any]]:
    """The (operator, value) pairs CountStrategy reads: a connective's predicates (TinkerPop's AndP
    and OrP take in nested ones of their own kind; between/inside are an AndP, outside an OrP), or
    the predicate itself."""
    kind = _connective(predicate)
    if kind is None:
        if isinstance(predicate, P) and predicate.operator == "not" and isinstance(predicate.value, P) \
                and predicate.value.operator in _NEGATED:  # NotP: its inner predicate negated
            return [(_NEGATED[predicate.value.operator], predicate.value.value)]
        return [(predicate.operator, predicate.value)] if isinstance(predicate, P) else []
    return [pair for child in _flattened(predicate, kind) for pair in
            ([(child.operator, child.value)] if _connective(child) is None else [])]


def _connective(predicate: Any) -> str | None:
    if not isinstance(predicate, P):
        return None
    if predicate.operator in ("and", "between", "inside"):
        return "and"
    if predicate.operator in ("or", "outside"):
        return "or"
    return None


def _flattened(predicate: P, kind: str) -> list[P]:
    if predicate.operator in _RANGES:
        low, high = _RANGES[predicate.operator]
        return [P(low, predicate.value), P(high, predicate.other)]
    out = []
    for child in (predicate.value, predicate.other):
        out.extend(_flattened(child, kind) if _connective(child) == kind else [child])
    return out


def _ceiling(value: Any) -> int:
    number = float(value)
    if math.isnan(number):
        return 0  # Java's (long) Math.ceil(NaN)
    if math.isinf(number):
        return 2 ** 63 - 1 if number > 0 else -(2 ** 63)
    return math.ceil(number)


def _greatest(members: list, operator: str) -> Any:
    """Collections.max of the members, failing where it does."""
    if not members:
        raise TraversalError(f"{operator}() of no values after count(): CountStrategy takes their greatest "
                             "(NoSuchElementException)")
    if len(members) == 1:
        return members[0]
    classes = [java_type_name(member) for member in members]
    if "null" in classes or len(set(classes)) > 1:
        other = next((c for c in classes if c != classes[0]), classes[0])
        raise TraversalError(f"class {other} cannot be cast to class {classes[0]} ({operator}() after count(): "
                             "CountStrategy compares its values to take their greatest)")
    return max(members)


def high_range(predicate: Any) -> int | None:
    """The count past which ``is(predicate)`` is decided, as CountStrategy works it out."""
    high = None
    for operator, value in _parts(predicate):
        candidate = None
        if operator in _SCALAR and is_number(value):
            candidate = _ceiling(value) + (1 if operator in _PLUS_ONE else 0)
        elif operator in ("within", "without") and isinstance(value, (list, tuple, set, frozenset)):
            greatest = _greatest(list(value), operator)
            if is_number(greatest):
                candidate = int(greatest) + (1 if operator == "within" else 0)
        if candidate is not None and (high is None or candidate > high):
            high = candidate
    return high


def limit_counts(traversal: Traversal) -> None:
    steps = traversal.steps
    index = 0
    while index < len(steps) - 1:
        step = steps[index]
        # as() labels TinkerPop's count step itself: count().as("c").is(P) is a count and an is()
        after = index + 1
        while after < len(steps) - 1 and type(steps[after]) is AsStep:
            after += 1
        predicate = getattr(steps[after], "is_predicate", None)
        if type(step) is CountStep and step.scope == Scope.global_ and predicate is not None \
                and not (index > 0 and type(steps[index - 1]) is RangeStep):  # a range given is kept
            high = high_range(predicate)
            if high is not None:
                limit = RangeStep("range", Scope.global_, 0, max(high, 0))
                limit.count_limit = True  # a match() pattern ending in a variable takes it out again
                steps.insert(index, limit)
                index += 1
        index += 1
