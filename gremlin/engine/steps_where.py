"""where(): filtering by a child traversal, or by a predicate over path labels and side effects."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import P, Pop

from ..errors import InvalidArgumentError, TraversalError
from .base import Context, Step, Traversal, register
from .common import ByModulatedStep, NOTHING, Projection
from .steps_filter import PredicateError, combine_ternary, negate, reduce_ternary
from .steps_map import AsStep, select_value
from .traverser import Traverser
from .values import Members, g_equal, predicate_truth


class WhereStep(ByModulatedStep):
    """where(traversal), where(P) on the current object, where('a', P) on path labels, with by().

    As TinkerPop's WherePredicateStep: each predicate names one label (within()/without() the
    first of those it lists, whose value must be a collection), a label that is neither a key of
    the current map, a side effect nor a path label is an error, and an unproductive by() drops
    the traverser."""

    name = "where"

    def __init__(self, args: tuple):
        self.start_key: str | None = None
        self.traversal: Traversal | None = None
        self.predicate: Any = None
        self.bys: list[Projection] = []
        if len(args) == 1 and isinstance(args[0], Traversal):
            self.traversal = args[0]
            _check_where_traversal(self.traversal)
        elif len(args) == 1 and isinstance(args[0], P):
            self.predicate = args[0]
        elif len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], P):
            self.start_key, self.predicate = args
        else:
            raise InvalidArgumentError("where() takes a traversal, a predicate, or a label and a predicate")
        if self.predicate is not None:
            _check_scope_keys(self.predicate)
        #: where(within('x')) / where(without('x')): a walk tests each traverser against what it
        #: collected so far, so this shape skips building a predicate per traverser
        self.membership_label: str | None = None
        if (self.start_key is None and self.predicate is not None and self.predicate.other is None
                and self.predicate.operator in ("within", "without")):
            self.membership_label = _scope_key(self.predicate)

    def children(self) -> tuple:
        return (self.traversal,) if self.traversal is not None else ()

    def _by(self, index: int) -> Projection:
        if not self.bys:
            return Projection()
        return self.bys[index % len(self.bys)]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        passing = self._passing(ctx, traversers)
        keep = self.keep_labels
        return passing if keep is None else (traverser.keeping(keep) for traverser in passing)

    def _passing(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.traversal is not None:
            for traverser in traversers:
                # where(traversal) reads an ERROR from its child as false (a BinaryReductionStep)
                if reduce_ternary(lambda: _where_traversal(ctx, self.traversal, traverser)):
                    yield traverser
            return
        if self.membership_label is not None and not self.bys:
            yield from self._run_membership(ctx, traversers, self.membership_label)
            return
        for traverser in traversers:
            try:
                kept = self._keep(ctx, traverser)
            except PredicateError:
                if self.passes_errors:
                    raise
                continue
            if kept:
                yield traverser

    def _keep(self, ctx: Context, traverser: Traverser) -> bool:
        if self.start_key is None:
            left = self._by(0)(ctx, traverser)
        else:
            left = self._by(0)(ctx, traverser.split(scope_value(ctx, traverser, self.start_key, self)))
        # by() modulators go round: the first for the left side, the next for each label the
        # predicate names, in order
        ring = itertools.count(1)
        resolved = _resolve_predicate(ctx, traverser, self.predicate, lambda: self._by(next(ring)), self)
        if left is NOTHING or resolved is NOTHING:
            return False
        truth = predicate_truth(resolved, left)
        if truth is None:
            raise PredicateError()
        return truth

    def _run_membership(self, ctx: Context, traversers: Iterator[Traverser], label: str) -> Iterator[Traverser]:
        """What run() does for the current object tested by within/without against one label,
        without a predicate per traverser: a walk's every hop tests each identifier it reaches so.
        Two calls fewer per traverser than _keep: scope_value's look-up with its usual outcome
        first (a side effect the walk collects), and _label_members asked again only when the
        collection changed or grew."""
        keep_members = self.predicate.operator == "within"
        side_effects = ctx.side_effects
        collection: Any = None
        members: Members | None = None
        size = -1
        for traverser in traversers:
            obj = traverser.obj
            if label in side_effects and not isinstance(obj, dict):  # a map's own key comes first
                value = side_effects[label]
            else:
                value = scope_value(ctx, traverser, label, self)
            if value is not collection or len(value) != size:
                members = _label_members(ctx, value, label)
                collection, size = value, len(members)  # what is no collection fails at contains()
            if members.contains(obj) is keep_members:
                yield traverser

    def __repr__(self) -> str:
        return f"WherePredicateStep({self.start_key},{self.predicate})" if self.predicate is not None else \
            "WhereTraversalStep"


def scope_value(ctx: Context, traverser: Traverser, key: Any, step: Any) -> Any:
    """The value ``key`` names for ``step`` (a key of the current map, a side effect, or a path
    label, latest first); an error when it names none of them, as TinkerPop's getSafeScopeValue."""
    value = select_value(ctx, traverser, key, Pop.last)
    if value is NOTHING:
        raise TraversalError(f"Neither the map, sideEffects, nor path has a {key}-key: {step}")
    return value


def _check_where_traversal(child: Traversal) -> None:
    """Refuse a where() child with a variable only TinkerPop's filter tells apart and its where()
    cannot take (``where(where(as("a")))``, ``where(not(where(as("a"))))``): such a child makes a
    WhereTraversalStep, which finds no start or end label of its own to match, and fails as built."""
    if _has_variables(child) and not _has_scope_keys(child):
        raise InvalidArgumentError("A where()-traversal must have at least a start or end label (i.e. "
                                   "variable) of its own, not only in a where() child of it")


def _has_variables(child: Traversal) -> bool:
    """TinkerPop's TraversalHelper.getVariableLocations is not empty: a labelled start or end, a
    where('a', P) at either end, or such a child under an and()/or()/not()/where() that starts it."""
    steps = child.steps
    if not steps:
        return False
    first, last = steps[0], steps[-1]
    if isinstance(first, AsStep) or (isinstance(first, WhereStep) and first.start_key is not None):
        return True
    if (first.name in _CONNECTIVES or (isinstance(first, WhereStep) and first.traversal is not None)) \
            and any(_has_variables(c) for c in first.children()):
        return True
    if first.name == "match" and _match_has_variables(first):
        return True
    return (isinstance(last, WhereStep) and last.start_key is not None) or \
        (len(steps) > 1 and isinstance(last, AsStep))


def _match_has_variables(match: Step) -> bool:
    """A match() starting the child: TinkerPop looks into its patterns, where a start variable
    given by as() (not by a where()) or an end variable counts, so where(match(...)) is refused."""
    for pattern in match.patterns:
        if pattern.end_label is not None:
            return True
        if pattern.nested is not None:
            if _match_has_variables(pattern.nested):
                return True
        elif pattern.select_key is not None and not (
                pattern.body.steps and isinstance(pattern.body.steps[0], WhereStep)):
            return True
    return False


def _has_scope_keys(child: Traversal) -> bool:
    """What WhereTraversalStep configures a label to match from: an as() start or end, in the
    child or in those of an and()/or()/not() that starts it."""
    steps = child.steps
    if not steps:
        return False
    first = steps[0]
    if first.name in _CONNECTIVES and first.children():
        if any(_has_scope_keys(c) for c in first.children()):
            return True
    elif isinstance(first, AsStep):
        return True
    return len(steps) > 1 and isinstance(steps[-1], AsStep)


def _scope_key(predicate: P) -> Any:
    """The label a where() predicate names: its value, or the first of a within()/without() list."""
    value = predicate.value
    if isinstance(value, (list, tuple, set, frozenset)):
        return next(iter(value), None)
    return value


def _check_scope_keys(predicate: P) -> None:
    if predicate.operator in ("and", "or"):
        _check_scope_keys(predicate.value)
        _check_scope_keys(predicate.other)
        return
    if predicate.operator == "not":
        _check_scope_keys(predicate.value)
        return
    key = _scope_key(predicate)
    if not isinstance(key, str):
        kind = "null" if key is None else type(key).__name__
        raise InvalidArgumentError(
            f"where(P) requires a String scope key but encountered {kind}; use is(P) to compare values")


class _NotACollection(Members):
    """What within('a') in a where() tests against when 'a' is no collection: an error once it is
    tested (TinkerPop's Contains takes a Collection, and fails on anything else when it is
    tested), which and()/or() may never do (and(eq('a'), within('a')) stops at a false eq)."""

    __slots__ = ("value", "label")

    def __init__(self, value: Any, label: str):
        super().__init__(())
        self.value = value
        self.label = label

    def contains(self, value: Any) -> bool:
        raise TraversalError(f"where(within/without('{self.label}')) needs a collection under '{self.label}', "
                             f"not {type(self.value).__name__.replace('Record', '')}: "
                             f"{self.value!r} cannot be cast to java.util.Collection")


def _resolve_predicate(ctx: Context, traverser: Traverser, predicate: P, next_by: Callable[[], Projection],
                       step: Any) -> Any:
    """where(P.eq('a')): the predicate's argument names a path label or side effect; each label is
    projected by the next by() modulator (``next_by``)."""
    if predicate.operator in ("and", "or"):
        left = _resolve_predicate(ctx, traverser, predicate.value, next_by, step)
        right = _resolve_predicate(ctx, traverser, predicate.other, next_by, step)
        if left is NOTHING or right is NOTHING:
            return NOTHING
        return P(predicate.operator, left, right)
    if predicate.operator == "not":
        inner = _resolve_predicate(ctx, traverser, predicate.value, next_by, step)
        return NOTHING if inner is NOTHING else P("not", inner)
    label = _scope_key(predicate)
    by = next_by()
    value = by(ctx, traverser.split(scope_value(ctx, traverser, label, step)))
    if value is NOTHING:
        return NOTHING
    if predicate.operator in ("within", "without"):
        return P(predicate.operator, _label_members(ctx, value, label))
    return P(predicate.operator, value)


def _label_members(ctx: Context, value: Any, label: str) -> Members:
    """What within/without(label) in a where() tests against: the collection the label names (a
    value that is none fails once it is tested), indexed once while it does not grow."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        return _NotACollection(value, label)
    return _members(ctx, value)


#: Connectives whose children keep where()'s as() pattern semantics, and how they combine.
_CONNECTIVES: dict[str, Callable[[Context, Iterator[Callable[[], bool]]], bool]] = {
    "and": lambda ctx, outcomes: combine_ternary(outcomes, False),
    "or": lambda ctx, outcomes: combine_ternary(outcomes, True),
    "not": lambda ctx, outcomes: negate(ctx, next(outcomes))}


def _where_traversal(ctx: Context, child: Traversal, traverser: Traverser) -> bool:
    """A where() child that starts or ends with as('x') compares with the path's 'x'; so do the
    children of an and(), or() or not() that starts a where() child."""
    steps = child.steps
    # hasNot(k) is TinkerPop's not(properties(k)): a NotStep, which starts the child as not() does
    starts_connective = steps and ((steps[0].name in _CONNECTIVES and steps[0].children())
                                   or (steps[0].name == "hasNot" and len(steps) > 1))
    if starts_connective:
        if steps[0].name == "hasNot":
            passed = next(iter(steps[0].run(ctx, iter((traverser.copy(1),)))), None) is not None
        else:
            passed = _CONNECTIVES[steps[0].name](
                ctx, (lambda c=c: _where_traversal(ctx, c, traverser) for c in steps[0].children()))
        rest = steps[1:]
        if not rest:
            return passed
        starts = iter((traverser.copy(1),) if passed else ())  # the connective is a filter step
        if not isinstance(rest[-1], AsStep):
            return next(iter(Traversal(rest).run(ctx, starts)), None) is not None
        # TinkerPop gives such a child a WhereEndStep for its end label but no WhereStartStep (the
        # connective starts it), and only a WhereStartStep sets the value the end step matches
        # (Java's obj.equals(null)): it lets nothing through, whatever the label names
        for result in Traversal(rest[:-1]).run(ctx, starts):
            if result.obj is None:
                raise TraversalError('Cannot invoke "Object.equals(Object)" because the traverser\'s object is null')
        return False
    start_label = steps[0].labels[0] if steps and isinstance(steps[0], AsStep) else None
    end_label = steps[-1].labels[0] if len(steps) > 1 and isinstance(steps[-1], AsStep) else None
    if start_label is None and end_label is None:
        return child.has_result(ctx, traverser)
    start = traverser
    body = steps
    if start_label is not None:
        start = traverser.split(scope_value(ctx, traverser, start_label, f"WhereStartStep({start_label})"))
        body = body[1:]
    if end_label is not None:
        # the WhereStartStep primes the WhereEndStep as the traverser enters: the label is read
        # even when nothing reaches the end (V(2).where(out().as("b")) fails without "b")
        target = scope_value(ctx, traverser, end_label, f"WhereEndStep({end_label})")
        body = body[:-1]
        return any(g_equal(result.obj, target) for result in Traversal(body).apply(ctx, start))
    return Traversal(body).has_result(ctx, start)


@register("where")
def _where(*args: Any) -> Step:
    return WhereStep(args)




def _members(ctx: Context, collection: Any) -> Members:
    """The collection as Members, indexed once per traversal while it does not grow (a side
    effect such as aggregate('seen') is tested by every traverser of a walk)."""
    key = ("members", id(collection))
    cached = ctx.step_state.get(key)
    if cached is None or cached[0] is not collection or cached[1] != len(collection):
        cached = ctx.step_state[key] = (collection, len(collection), Members(collection))
    return cached[2]
