"""TinkerPop's default filter optimizations, whose rewrites show in answers, and where an ERROR stops.

TinkerGraph applies FilterRankingStrategy and InlineFilterStrategy to every traversal (a client
may remove them with ``withoutStrategies``). They mean only to run cheap filters first and to
flatten filters into one line, but two things make their rewrites visible:

- ``dedup()`` and ``order()`` are ranked with the filters, so ``dedup().by(label).has('name', x)``
  runs as ``has('name', x).dedup().by(label)``, and ``order().by(k).dedup()`` dedups first;
- Gremlin's ternary logic: a comparison that cannot decide (NaN, a string against a number) is
  ERROR, not false. Which filter meets a traverser first decides whether it is dropped as false
  or carries ERROR up to a ``not()``, and ``and()`` holds an ERROR of one child until another
  child says false, while the same filters inlined into one line stop at the first ERROR.

Where an ERROR goes is TinkerPop's FilterStep rule: a filter that cannot decide passes ERROR up
only when the traversal it is in is the child of a filter step (``not``, ``and``, ``or``,
``where``), and is not itself ``filter()`` or ``where(traversal)`` (which read ERROR as false);
anywhere else it is false. ``finish_traversal`` records that on each step
(``Step.passes_errors``); the steps read it.

The rewrites here reproduce the strategies' effect on step order with this engine's steps
(``as()`` is a step here, a label on the step before it in TinkerPop), not their code.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from gremlin_python.process.traversal import P, Scope

from .base import Step, Traversal
from .count_limit import limit_counts
from .early_limit import move_ranges_early
from .common import NOTHING, Projection
from .steps_extra import is_lambda_holder
from .steps_filter import CoinStep, DedupStep, FilterStep, HasStep, PathFilterStep, RangeStep, _Children, _Connective
from .steps_map import AsStep, SelectStep, _Identity
from .steps_mutate import DropStep
from .steps_reduce import CountStep, OrderStep
from .steps_where import WhereStep

__all__ = ["finish_traversal", "DISABLED", "DEFAULT_FILTER_STRATEGIES"]

#: The strategies reproduced here, by the names withoutStrategies() gives them.
DEFAULT_FILTER_STRATEGIES = frozenset({"FilterRankingStrategy", "InlineFilterStrategy", "IdentityRemovalStrategy",
                                       "EarlyLimitStrategy", "CountStrategy"})

_HAS_NAMES = frozenset({"has", "hasLabel", "hasId", "hasKey", "hasValue"})
#: Filter steps (TinkerPop FilterStep subclasses) that take no part in ranking.
_UNRANKED_FILTER_NAMES = frozenset({"simplePath", "cyclicPath", "coin", "drop", "none", "discard", "all", "any"})


#: The strategies a traversal being compiled removed with withoutStrategies() (compiler.py sets it).
DISABLED: ContextVar[frozenset] = ContextVar("disabled_filter_strategies", default=frozenset())


def finish_traversal(traversal: Traversal) -> Traversal:
    """What TinkerGraph's default filter optimizations do to one traversal, and where ERROR stops
    in it; the compiler calls this for each traversal it has compiled, children first, so a
    traversal's children are finished when it is. Ranking a traversal comes before inlining its
    filter() and and() children into it, as TinkerPop ranks the whole tree before it inlines;
    a step's rank counts its children's steps as they were then (``Traversal.rank``)."""
    steps = traversal.steps
    filters = identities = ranges = counts = 0
    for step in steps:  # most traversals hold no filter: they cost this loop alone
        kind = type(step)
        if kind in _FILTER_TYPES:
            filters += 1
            ranges += kind is RangeStep
        elif kind is _Identity:
            identities += 1
        elif kind is CountStep:
            counts += 1
    if not filters and not identities:
        return traversal
    disabled = DISABLED.get()
    if ranges and "EarlyLimitStrategy" not in disabled:
        move_ranges_early(traversal)
    if identities and len(steps) > 1 and "IdentityRemovalStrategy" not in disabled:
        _remove_identities(traversal)
    if filters > 1 and "FilterRankingStrategy" not in disabled:
        _rank_filters(traversal)
    kinds = [_kind(step) for step in traversal.steps if type(step) in _FILTER_TYPES]
    if ("traversal-filter" in kinds or "and" in kinds) and "InlineFilterStrategy" not in disabled:
        _traversal_rank(traversal)  # fixed now, as the steps were before inlining
        _inline_filters(traversal)
    # CountStrategy comes after the filter strategies: count().filter(identity()).is(gt(0)) and
    # count().or(as("c")).is(...) have their count bounded, as count().is(...) has
    if counts and "CountStrategy" not in disabled:
        limit_counts(traversal)
    if not _ERROR_PARENTS.isdisjoint(kinds):
        _mark_children(traversal)
    if any(step.raises_errors for step in traversal.steps):
        _name_error_readers(traversal)
    return traversal


def _name_error_readers(traversal: Traversal) -> None:
    """An ERROR a step raises outside any filter (choose().option(lt(1)) of a string) goes down
    the traversal to the next filter step, whose loop over its starts catches it: there it is
    false (the traverser is gone, the stream goes on) unless that filter passes ERROR to its parent
    (TinkerPop's FilterStep). A barrier between loses only that traverser too: the filter asks it
    again and it goes on with its starts. With no filter after it, the ERROR fails the traversal."""
    steps = traversal.steps
    for position, step in enumerate(steps):
        if not step.raises_errors:
            continue
        step.error_reader = None
        for later in steps[position + 1:]:
            if type(later) in _FILTER_TYPES and type(later) is not OrderStep:
                step.error_reader = later
                break


def _traversal_rank(traversal: Traversal) -> int:
    """The highest rank of a traversal's steps (before any inlining), what a parent step holding
    it ranks at least; worked out when first needed."""
    if traversal.rank is None:
        traversal.rank = max((_rank(step) for step in traversal.steps if type(step) in _FILTER_TYPES), default=0)
    return traversal.rank


def _mark_children(traversal: Traversal) -> None:
    """For each filter step of ``traversal`` whose children pass an ERROR up to it, mark the
    filters of those children that pass it (see the module docstring)."""
    for step in traversal.steps:
        if _kind(step) in _ERROR_PARENTS:
            for child in child_traversals(step):
                for inner in child.steps:
                    kind = _kind(inner)
                    if kind is not None and kind not in _REDUCERS:
                        inner.passes_errors = True


def child_traversals(step: Step) -> list[Traversal]:
    """The step's child traversals, its by() modulators' included."""
    children = [c for c in step.children() if isinstance(c, Traversal)]
    for projection in _projections(step):
        if projection.kind == "traversal" and projection.arg not in children:
            children.append(projection.arg)
    return children


def _projections(step: Step) -> list:
    found = []
    for attribute in ("bys", "by"):
        value = getattr(step, attribute, None)
        if isinstance(value, Projection):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                item = item[0] if isinstance(item, tuple) else item
                if isinstance(item, Projection):
                    found.append(item)
    return found


# -- what kind of TinkerPop step a step of this engine is -------------------------------------------

def _kind(step: Step) -> str | None:
    """The TinkerPop filter class a step stands for, by a short name; None for a step that is no
    TinkerPop filter (order is named too: it is ranked with the filters). Worked out once per
    step (its modulators are all applied by then: the compiler finishes a traversal last)."""
    if type(step) not in _FILTER_TYPES:
        return None
    try:
        return step._tp_kind  # type: ignore[attr-defined]
    except AttributeError:
        kind = step._tp_kind = _kind_of(step)  # type: ignore[attr-defined]
        return kind


def _kind_of(step: Step) -> str | None:
    if isinstance(step, HasStep):
        if step.token is None and step.predicate is NOTHING and step.label is None:
            return "traversal-filter"  # has(k) is filter(properties(k)) in TinkerPop
        return "has"
    if isinstance(step, _Connective):
        return step.name  # and, or
    if isinstance(step, _Children):
        return "not" if step.name == "not" else "traversal-filter"
    if isinstance(step, WhereStep):
        if step.traversal is None:
            return "where-predicate"
        return "where-traversal" if _where_matches_labels(step.traversal) else "traversal-filter"
    if isinstance(step, FilterStep):
        if step.name == "is":
            return "is"
        if step.name in _HAS_NAMES:
            return "has"
        if step.name == "hasNot":
            return "not"  # TinkerPop's hasNot(k) is not(properties(k))
        return "filter"
    if isinstance(step, DedupStep):
        return "dedup" if step.scope is not Scope.local else None
    if isinstance(step, RangeStep):
        return "range" if step.scope is not Scope.local else None
    if isinstance(step, OrderStep):
        return "order" if step.scope is not Scope.local else None
    if isinstance(step, (PathFilterStep, CoinStep)) or getattr(step, "name", None) in _UNRANKED_FILTER_NAMES:
        return "filter"
    return None


def _where_matches_labels(child: Traversal) -> bool:
    """Whether where(child) compares with path labels (TinkerPop's WhereTraversalStep) rather than
    testing for a result (TraversalFilterStep): the child starts or ends with as(), or is one
    and()/or()/not() whose children do."""
    steps = child.steps
    if not steps:
        return False
    if isinstance(steps[0], AsStep) or (len(steps) > 1 and isinstance(steps[-1], AsStep)):
        return True
    if len(steps) == 1 and isinstance(steps[0], _Children) and steps[0].name != "filter":
        return any(_where_matches_labels(c) for c in steps[0].children())
    return False


def _is_filter(step: Step) -> bool:
    kind = _kind(step)
    return kind is not None and kind != "order"


#: The step classes that stand for TinkerPop filters (or order()): any other step is none.
_FILTER_TYPES = frozenset({HasStep, _Connective, _Children, WhereStep, FilterStep, DedupStep, RangeStep, OrderStep,
                           PathFilterStep, CoinStep, DropStep})


# -- IdentityRemovalStrategy ----------------------------------------------------------------------

def _remove_identities(traversal: Traversal) -> None:
    steps = traversal.steps
    if len(steps) <= 1 or not any(type(s) is _Identity for s in steps):
        return
    kept = [s for i, s in enumerate(steps)
            if type(s) is not _Identity or (i == 0 and len(steps) > 1 and isinstance(steps[1], AsStep))]
    traversal.steps[:] = kept or steps[:1]


# -- FilterRankingStrategy ------------------------------------------------------------------------

_RANKS = {"is": 1, "has": 2, "traversal-filter": 4, "not": 4, "where-traversal": 5, "or": 6, "and": 7,
          "dedup": 9, "order": 10}


def _base_rank(step: Step) -> int:
    kind = _kind(step)
    if kind == "where-predicate":
        return 8 if step.bys else 3
    return _RANKS.get(kind or "", 0)


def _rank(step: Step) -> int:
    """TinkerPop's rank: a lower rank may move before a higher one; 0 never moves. A step with
    children ranks at least as high as any step in them (as they were ranked, before inlining)."""
    if type(step) not in _FILTER_TYPES:
        return 0
    try:
        return step._tp_rank  # type: ignore[attr-defined]
    except AttributeError:
        pass
    rank = _base_rank(step)
    if rank:
        for child in child_traversals(step):
            rank = max(rank, _traversal_rank(child))
    step._tp_rank = rank  # type: ignore[attr-defined]
    return rank


class _Unit:
    """A step with the labels TinkerPop would hang on it (the as() steps after it)."""

    __slots__ = ("step", "labels", "rank")

    def __init__(self, step: Step | None, labels: list[str]):
        self.step = step
        self.labels = labels
        self.rank: int | None = None

    def ranked(self) -> int:
        if self.rank is None:
            self.rank = 0 if self.step is None else _rank(self.step)
        return self.rank


def _rank_filters(traversal: Traversal) -> None:
    steps = traversal.steps
    if len(steps) < 2:
        return
    # most traversals have no ranked step after a higher-ranked one: then nothing can move
    plain = [s for s in steps if type(s) is not AsStep]
    base = [_base_rank(s) if type(s) in _FILTER_TYPES else 0 for s in plain]
    if not any(_rank(plain[i]) > _rank(plain[i + 1]) for i in range(len(base) - 1) if base[i] and base[i + 1]):
        return
    units: list[_Unit] = []
    for position, step in enumerate(steps):
        if isinstance(step, AsStep) and units and units[-1].step is not None:
            units[-1].labels.extend(step.labels)
        else:
            units.append(_Unit(step, []) if not isinstance(step, AsStep) else _Unit(None, list(step.labels)))
    # a leading as() labels the start of the traversal: it stays where it is (a step of its own)
    moved = False
    modified = True
    while modified:
        modified = False
        for i in range(len(units) - 1):
            unit, following = units[i], units[i + 1]
            if following.step is None or _uses_labels(following.step, unit.labels):
                continue
            if following.ranked() == 0:
                continue
            if unit.labels and unit.step is not None:
                following.labels[:0] = unit.labels
                unit.labels = []
                modified = moved = True
            if unit.step is not None and unit.ranked() > following.ranked():
                units[i], units[i + 1] = following, unit
                modified = moved = True
    if moved:
        rebuilt: list[Step] = []
        for unit in units:
            if unit.step is not None:
                rebuilt.append(unit.step)
            if unit.labels:
                rebuilt.append(AsStep(tuple(dict.fromkeys(unit.labels))))
        traversal.steps[:] = rebuilt


def _uses_labels(step: Step, labels: list[str]) -> bool:
    """Whether ``step`` (or a step in its children) reads any of ``labels``; when a step's reads
    cannot be told, it is taken to read them (so nothing moves past it)."""
    wanted = set(labels)
    pending = [step]
    while pending:
        current = pending.pop()
        keys = _scope_keys(current)
        if keys is None or keys & wanted:
            return True
        for child in child_traversals(current):
            pending.extend(child.steps)
    return False


def _scope_keys(step: Step) -> set[str] | None:
    """The labels (path labels, side effects) a step reads; None when that cannot be told."""
    if is_lambda_holder(step):  # a lambda, sack(operator): TinkerPop's usesLabels takes it to read every label
        return None
    if isinstance(step, WhereStep):
        keys = set() if step.start_key is None else {step.start_key}
        if step.predicate is not None:
            keys |= _predicate_labels(step.predicate)
        if step.traversal is not None:
            keys |= _as_labels(step.traversal)
        return keys
    if isinstance(step, SelectStep):
        return {k for k in step.keys if isinstance(k, str)}
    if isinstance(step, DedupStep):
        return set(step.labels)
    variables = getattr(step, "scope_keys", None)  # match(), math(), format()
    if callable(variables):
        return set(variables())
    return set()


def _predicate_labels(predicate: Any) -> set[str]:
    if not isinstance(predicate, P):
        return {predicate} if isinstance(predicate, str) else set()
    found = set()
    for part in (predicate.value, predicate.other):
        if isinstance(part, P):
            found |= _predicate_labels(part)
        elif isinstance(part, str):
            found.add(part)
        elif isinstance(part, (list, tuple)):
            found |= {p for p in part if isinstance(p, str)}
    return found


def _as_labels(traversal: Traversal) -> set[str]:
    found = set()
    for step in traversal.all_steps():
        if isinstance(step, AsStep):
            found.update(step.labels)
    return found


# -- InlineFilterStrategy -------------------------------------------------------------------------

_NOT_INLINED = frozenset({"range", "dedup"})


def _inlinable(child: Traversal) -> bool:
    """A child made only of filters, none of them drop(), a global range or dedup()."""
    if not child.steps:
        return False
    for step in child.steps:
        kind = _kind(step)
        if kind is None or kind == "order" or kind in _NOT_INLINED or getattr(step, "name", "") == "drop":
            return False
    return True


def _inline_filters(traversal: Traversal) -> None:
    changed = True
    while changed:
        changed = False
        for position, step in enumerate(traversal.steps):
            kind = _kind(step)
            if kind == "traversal-filter" or kind == "and":
                children = _filter_children(step)
                if children and all(_inlinable(c) for c in children):
                    inlined = [s for child in children for s in child.steps]
                    traversal.steps[position:position + 1] = inlined
                    changed = True
                    break


def _filter_children(step: Step) -> list[Traversal]:
    if isinstance(step, WhereStep):
        return [step.traversal] if step.traversal is not None else []
    return [c for c in step.children() if isinstance(c, Traversal)]


# -- where ERROR stops ----------------------------------------------------------------------------

#: Filters that read an ERROR from their child as false (TinkerPop's BinaryReductionStep).
_REDUCERS = frozenset({"traversal-filter", "where-traversal"})
#: Filters whose children's ERROR reaches them (they decide with it: hold it, negate it, pass it).
_ERROR_PARENTS = frozenset({"not", "and", "or", "traversal-filter", "where-traversal", "where-predicate"})
