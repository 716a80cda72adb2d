"""TinkerPop's PathRetractionStrategy, where it changes answers: labels dropped in a repeat() body.

TinkerGraph runs every traversal without a whole-path reader (``path()``, ``simplePath()``,
``cyclicPath()``, ``tree()``, ``otherV()``, ``select(traversal)``, ``sack(operator)``, a lambda,
``withPath()``) with this strategy: each step that reads labels (a PathProcessor: ``select()``,
``where()``, global ``dedup()``, ``math()``, ``format()``, ``match()``) is given the labels to keep,
and drops every other label from the paths of the traversers it passes on. The labels kept are,
by TinkerPop's rules (worked out here over a model of TinkerPop's traversal tree, not its code):

- those the steps after it in its own traversal read (only the steps themselves: a label read
  inside a ``by()`` or ``sideEffect()`` child is not counted there);
- those a child traversal reads, pushed back to every step before the child's parent step, at
  every level up, and into every child of a step before it; into the parent's other children
  (and the child itself) only when the parent has more than one child (``repeat()`` with
  ``until()``, ``emit()`` or ``times()`` has; a plain ``repeat(body)`` has only its body);
- those a parent step reads, or a step after it in the parent's traversal, at every level up;
- inside a ``repeat()`` (at any depth), every label any step of its own traversal reads.

``math()`` and ``format()`` hold their traversal's own set rather than a copy of it, so they
keep whatever it grows to. RepeatUnrollStrategy runs first: ``repeat(x).times(n)`` with no
``emit()``, no global ``dedup()``, no ``loops()`` and no ``sack(operator)`` in ``x`` is, for this
strategy, ``x`` written n times in its parent (so each pass's steps see the next pass's reads
as later steps, and nothing is lost between passes). A ``match()`` never drops labels itself;
the steps of its patterns keep its variables (and what the levels above read), ``select()`` there
every label.

A label dropped is one no later step reads, so it shows in an answer only where traversers go
round again: in a repeat() body the next pass reads the body's labels again, and a label only a
``by()`` child reads is gone by then (scenario ``g_V_shortestpath``); and traversers that differ
only in dropped labels become equal, so a repeat() merges them into one of a larger bulk between
passes (a child run at a bulk of 1, ``sideEffect()``, then sees them once, as on a Gremlin
Server). So the labels to keep are worked out for the whole traversal, as TinkerPop does, but only
the steps inside a repeat() body (an unrolled one's first pass standing for every pass: the passes
before the last keep alike, and the last keeps more than TinkerPop only of labels nothing reads
any more) drop labels at run time (``Step.keep_labels``); elsewhere a step keeps every label, at
no cost. ``withoutStrategies(PathRetractionStrategy)`` keeps them all.
"""

from __future__ import annotations

from typing import Any, Iterator

from .base import Step, Traversal
from .common import ByModulatedStep
from .steps_branch import ChooseStep, RepeatStep, UnionStep, global_children, unrolled_by_strategy
from .steps_extra import FormatStep, is_lambda_holder
from .steps_filter import DedupStep
from .labelled_paths import needs_whole_path
from .steps_map import AsStep, SelectStep
from .steps_match import MatchStep, where_scope_keys
from .steps_math import MathStep
from .steps_reduce import GroupStep
from .steps_where import WhereStep

__all__ = ["retract_paths", "NAME"]

NAME = "PathRetractionStrategy"

# how a PathProcessor takes the labels the strategy gives it
_COPY, _SHARE, _MATCH = "copy", "share", "match"


class _Step:
    """A step of TinkerPop's traversal tree, as the strategy sees it."""

    __slots__ = ("step", "owner", "scope_keys", "processor", "keep", "children", "is_repeat", "live")

    def __init__(self, step: Step, owner: "_Traversal", live: bool):
        self.step = step
        self.owner = owner
        self.scope_keys = _scope_keys(step)
        self.processor = _processor_kind(step)
        #: the labels to keep (None: not given any yet); a _SHARE processor may hold its traversal's set
        self.keep: set | None = None
        #: local children, then global ones, in TinkerPop's order; None for a child with no steps
        #: of its own (by('name'), times(2)'s loop counter), which counts only towards how many
        self.children: list[_Traversal | None] = []
        self.is_repeat = isinstance(step, RepeatStep)
        #: whether the engine's step drops labels at run time (see the module's docstring)
        self.live = live

    def referenced(self) -> set:
        """TinkerPop's PathUtil.getReferencedLabels: the step's own scope keys (a match() that ends
        its traversal names all its variables)."""
        if self.processor == _MATCH and self.owner.steps[-1] is self:
            return self.scope_keys | set(self.step.start_labels) | set(self.step.end_labels)
        return self.scope_keys


class _Traversal:
    __slots__ = ("steps", "parent")

    def __init__(self, parent: _Step | None):
        self.steps: list[_Step] = []
        self.parent = parent


def retract_paths(traversal: Traversal) -> None:
    """Give the steps of ``traversal`` (compiled, before optimize()) the labels they keep, when
    the strategy applies to it (``withPath()`` removes it as withoutStrategies() does)."""
    if not _may_drop(traversal):
        return
    root = _model(traversal, None, live=False, primary=True)
    for each in _pre_order(root):
        _apply(each)
    for each in _pre_order(root):
        for step in each.steps:
            if step.live and step.keep is not None:
                step.step.keep_labels = frozenset(step.keep)


def _may_drop(traversal: Traversal) -> bool:
    """The strategy applies (no step needs the whole path) and some step may drop a label at run
    time (there is a repeat()): one look at each step, all a traversal without repeat() pays."""
    looped = False
    for step in traversal.all_steps():
        if needs_whole_path(step):
            return False
        if is_lambda_holder(step):
            return False
        looped = looped or isinstance(step, RepeatStep)
    return looped


# --- the model -------------------------------------------------------------------------------

def _model(traversal: Traversal, parent: _Step | None, *, live: bool, primary: bool) -> _Traversal:
    """``live``: inside a repeat() body, where steps drop labels at run time; ``primary``: the first
    copy of the steps (an unrolled repeat's later copies are the same engine steps again)."""
    model = _Traversal(parent)
    for step in traversal.steps:
        if isinstance(step, RepeatStep) and unrolled_by_strategy(step):
            for copy in range(min(step.times, 2)):  # the passes after the first are all alike
                for inner in step.body.steps:
                    model.steps.append(_modelled(inner, model, live=True, primary=primary and copy == 0))
            continue
        model.steps.append(_modelled(step, model, live=live, primary=primary))
    return model


def _modelled(step: Step, owner: _Traversal, *, live: bool, primary: bool) -> _Step:
    made = _Step(step, owner, live and primary)
    inside = live or made.is_repeat
    for child in _tinkerpop_children(step):
        made.children.append(None if child is None else
                             _model(child, made, live=inside, primary=primary))
    if isinstance(step, WhereStep) and step.traversal is not None and made.processor and made.children:
        _mark_where_ends(made.children[0], step.traversal)
    if made.processor == _MATCH:
        for pattern, child in zip(step.patterns, made.children):
            # TinkerPop's MatchStartStep and MatchEndStep read the pattern's variables
            child.steps[:0] = [_variable_step(child, pattern.select_key)]
            child.steps.append(_variable_step(child, pattern.end_label))
            for pattern_step in child.steps:  # TinkerPop's select() leaves a pattern's labels alone
                if isinstance(pattern_step.step, SelectStep):
                    pattern_step.live = False
    return made


def _variable_step(owner: _Traversal, variable: str | None) -> _Step:
    made = _Step(Step(), owner, False)
    made.scope_keys = {variable} if variable is not None else set()
    return made


def _tinkerpop_children(step: Step) -> list[Traversal | None]:
    """The step's children as TinkerPop's step has them: its local children, then its global
    ones; None for one that holds no step of the engine's (it counts, it is never looked into)."""
    if isinstance(step, RepeatStep):
        until = step.until if step.until is not None else (None if step.times is not None else False)
        emit = step.emit if step.emit is not None else (None if step.emit_all else False)
        return [c for c in (until, emit) if c is not False] + [step.body]
    if isinstance(step, UnionStep):
        return [None] + list(step.branches)  # the branch traversal that picks every option
    if isinstance(step, ChooseStep):
        globals_ = global_children(step)
        return [None] + [c for c in step.children() if not any(c is g for g in globals_)] + globals_
    if isinstance(step, GroupStep):
        children = [b.arg if b.kind == "traversal" else None for b in step.bys]
        return children + [None] * (2 - len(children)) if step.name == "group" else children
    if isinstance(step, (SelectStep, WhereStep)):
        own = [step.traversal] if step.traversal is not None else []
        return own + [b.arg if b.kind == "traversal" else None for b in step.bys]
    if isinstance(step, ByModulatedStep):
        return [b.arg if b.kind == "traversal" else None for b in step.bys]
    if isinstance(step, MatchStep):
        return [p.body for p in step.patterns]
    return list(step.children())


def _mark_where_ends(model: _Traversal, traversal: Traversal) -> None:
    """where(as('a')...as('b')): TinkerPop's WhereStartStep and WhereEndStep read 'a' and 'b'."""
    steps = traversal.steps
    for position in {0, len(steps) - 1} if steps else ():
        if isinstance(steps[position], AsStep) and position < len(model.steps):
            model.steps[position].scope_keys = set(steps[position].labels[:1] if position == 0 else
                                                   steps[position].labels)


def _scope_keys(step: Step) -> set:
    if isinstance(step, SelectStep):
        return {k for k in step.keys if isinstance(k, str)} if step.column is None and step.traversal is None \
            else set()
    if isinstance(step, WhereStep):
        return set(where_scope_keys(step))
    if isinstance(step, DedupStep):
        return set(step.labels) if step.scope != step.scope.local else set()
    if isinstance(step, (MathStep, FormatStep, MatchStep)):
        return set(step.scope_keys())
    return set()


def _processor_kind(step: Step) -> str | None:
    if isinstance(step, SelectStep):
        return _COPY if step.column is None and step.traversal is None else None
    if isinstance(step, WhereStep):
        # a where(traversal) that names no label is TinkerPop's TraversalFilterStep: no PathProcessor
        return _COPY if step.traversal is None or where_scope_keys(step) else None
    if isinstance(step, DedupStep):
        return _COPY if step.scope != step.scope.local else None
    if isinstance(step, (MathStep, FormatStep)):
        return _SHARE
    if isinstance(step, MatchStep):
        return _MATCH
    return None


def _pre_order(model: _Traversal) -> Iterator[_Traversal]:
    """TinkerPop's applyTraversalRecursively: a traversal, then each step's children in turn."""
    yield model
    for step in model.steps:
        for child in step.children:
            if child is not None:
                yield from _pre_order(child)


def _all_model_steps(model: _Traversal | None) -> Iterator[_Step]:
    if model is None:
        return
    for each in _pre_order(model):
        yield from each.steps


# --- the strategy ----------------------------------------------------------------------------

def _apply(model: _Traversal) -> None:
    found: set = set()
    keep: set = set()  # grows as the loop goes back; _SHARE processors hold it, not a copy
    for step in reversed(model.steps):
        keep |= found
        for label in step.referenced():
            if label in found:
                keep.add(label)
            else:
                found.add(label)
        if step.processor == _MATCH:
            step.keep = set(step.step.start_labels) | set(step.step.end_labels)
        elif step.processor is not None:
            if step.keep is None:
                step.keep = keep if step.processor == _SHARE else set(keep)
            else:
                step.keep |= keep
            if model.parent is not None and model.parent.processor == _MATCH:
                # a step of a match() pattern keeps the match's variables, whatever came before
                step.keep = set(model.parent.step.start_labels) | set(model.parent.step.end_labels)
    keep |= found

    ancestry = []
    parent = model.parent
    while parent is not None:
        level = set()
        for later in parent.owner.steps[parent.owner.steps.index(parent):]:
            level |= later.referenced()
        ancestry.append((parent, level))
        parent = parent.owner.parent
    ancestry.reverse()

    in_repeat = False
    trail: set = set()
    for parent, level in ancestry:
        in_repeat = in_repeat or parent.is_repeat
        if len(parent.children) > 1:
            _push_into_children(keep, parent.children)
        for earlier in reversed(parent.owner.steps[:parent.owner.steps.index(parent)]):
            if earlier.processor is not None:
                _add(earlier, keep)
            if earlier.children:
                _push_into_children(keep, earlier.children)
        trail |= level
    for step in model.steps:
        if step.processor is not None:
            step.keep |= trail
            if in_repeat:
                step.keep |= keep


def _push_into_children(labels: set, children: list[_Traversal | None]) -> None:
    if not labels:
        return
    for child in children:
        for step in _all_model_steps(child):
            if step.processor is not None:
                _add(step, labels)


def _add(step: _Step, labels: set) -> None:
    if step.keep is None:
        step.keep = set(labels)
        if step.processor == _MATCH:
            step.keep |= set(step.step.dedup_labels)
    else:
        step.keep |= labels


def describe(traversal: Traversal) -> list[tuple[str, Any]]:
    """(step, the labels it keeps) for every step given some, depth first: for tests and debugging."""
    return [(repr(step), sorted(step.keep_labels)) for step in traversal.all_steps()
            if getattr(step, "keep_labels", None) is not None]
