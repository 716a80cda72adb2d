"""where(): filtering by a child traversal, or by a predicate over path labels and side effects."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import P, Pop

from ..errors import InvalidArgumentError
from .base import Context, Step, Traversal, register
from .common import ByModulatedStep, NOTHING, Projection
from .steps_filter import combine_ternary, negate, reduce_ternary
from .traverser import Traverser
from .values import Members, test_predicate


class WhereStep(ByModulatedStep):
    """where(traversal), where(P) on the current object, where('a', P) on path labels, with by()."""

    name = "where"

    def __init__(self, args: tuple):
        self.start_key: str | None = None
        self.traversal: Traversal | None = None
        self.predicate: Any = None
        self.bys: list[Projection] = []
        if len(args) == 1 and isinstance(args[0], Traversal):
            self.traversal = args[0]
        elif len(args) == 1 and isinstance(args[0], P):
            self.predicate = args[0]
        elif len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], P):
            self.start_key, self.predicate = args
        else:
            raise InvalidArgumentError("where() takes a traversal, a predicate, or a label and a predicate")
        #: where(within('x')) / where(without('x')): a walk tests each traverser against what it
        #: collected so far, so this shape skips building a predicate per traverser
        self.membership_label: str | None = None
        if (self.start_key is None and self.predicate is not None and self.predicate.other is None
                and self.predicate.operator in ("within", "without")):
            labels = self.predicate.value
            labels = labels if isinstance(labels, list) else [labels]
            if len(labels) == 1 and isinstance(labels[0], str):
                self.membership_label = labels[0]

    def children(self) -> tuple:
        return (self.traversal,) if self.traversal is not None else ()

    def _by(self, index: int) -> Projection:
        if not self.bys:
            return Projection()
        return self.bys[index % len(self.bys)]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        from .steps_map import select_value
        if self.membership_label is not None and not self.bys:
            yield from self._run_membership(ctx, traversers, self.membership_label)
            return
        for traverser in traversers:
            if self.traversal is not None:
                if reduce_ternary(lambda: _where_traversal(ctx, self.traversal, traverser)):
                    yield traverser
                continue
            if self.start_key is None:
                left = self._by(0)(ctx, traverser)
            else:
                value = select_value(ctx, traverser, self.start_key, Pop.last)
                if value is NOTHING:
                    continue
                left = self._by(0)(ctx, traverser.split(value))
            if left is NOTHING:
                continue
            # by() modulators go round: the first for the left side, the next for each label the
            # predicate names, in order
            ring = itertools.count(1)
            resolved = _resolve_predicate(ctx, traverser, self.predicate, lambda: self._by(next(ring)))
            if resolved is NOTHING:
                continue
            if test_predicate(resolved, left):
                yield traverser

    def _run_membership(self, ctx: Context, traversers: Iterator[Traverser], label: str) -> Iterator[Traverser]:
        """What run() does for the current object tested by within/without against one label
        (a collection is indexed once while it does not grow, see _members)."""
        from .steps_map import select_value
        operator = self.predicate.operator
        keep_members = operator == "within"
        for traverser in traversers:
            value = select_value(ctx, traverser, label, Pop.last)
            if value is NOTHING:
                continue
            if isinstance(value, (list, set, tuple)):
                if _members(ctx, value).contains(traverser.obj) is keep_members:
                    yield traverser
            elif test_predicate(P(operator, [value]), traverser.obj):
                yield traverser


def _resolve_predicate(ctx: Context, traverser: Traverser, predicate: P, next_by: Callable[[], Projection]) -> Any:
    """where(P.eq('a')): the predicate's argument names a path label or side effect; each label is
    projected by the next by() modulator (``next_by``)."""
    from .steps_map import select_value
    if predicate.operator in ("and", "or"):
        left = _resolve_predicate(ctx, traverser, predicate.value, next_by)
        right = _resolve_predicate(ctx, traverser, predicate.other, next_by)
        if left is NOTHING or right is NOTHING:
            return NOTHING
        return P(predicate.operator, left, right)
    if predicate.operator == "not":
        inner = _resolve_predicate(ctx, traverser, predicate.value, next_by)
        return NOTHING if inner is NOTHING else P("not", inner)

    def resolve(label: Any) -> Any:
        by = next_by()
        value = select_value(ctx, traverser, label, Pop.last)
        if value is NOTHING:
            return NOTHING
        return by(ctx, traverser.split(value))

    if predicate.operator in ("within", "without"):
        labels = predicate.value if isinstance(predicate.value, list) else [predicate.value]
        values = [resolve(label) for label in labels]
        if any(v is NOTHING for v in values):
            return NOTHING
        if len(values) == 1 and isinstance(values[0], (list, set, tuple)):
            return P(predicate.operator, _members(ctx, values[0]))  # within('x') where x is a collection
        return P(predicate.operator, values)
    value = resolve(predicate.value)
    if value is NOTHING:
        return NOTHING
    if predicate.other is not None:
        other = resolve(predicate.other)
        return NOTHING if other is NOTHING else P(predicate.operator, value, other)
    return P(predicate.operator, value)


#: Connectives whose children keep where()'s as() pattern semantics, and how they combine.
_CONNECTIVES: dict[str, Callable[[Context, Iterator[Callable[[], bool]]], bool]] = {
    "and": lambda ctx, outcomes: combine_ternary(outcomes, False),
    "or": lambda ctx, outcomes: combine_ternary(outcomes, True),
    "not": lambda ctx, outcomes: negate(ctx, next(outcomes))}


def _where_traversal(ctx: Context, child: Traversal, traverser: Traverser) -> bool:
    """A where() child that starts or ends with as('x') compares with the path's 'x'; so do the
    children of an and(), or() or not() that is all of a where() child."""
    from .steps_map import AsStep, select_value
    steps = child.steps
    if len(steps) == 1 and steps[0].name in _CONNECTIVES and steps[0].children():
        return _CONNECTIVES[steps[0].name](
            ctx, (lambda c=c: _where_traversal(ctx, c, traverser) for c in steps[0].children()))
    start_label = steps[0].labels[0] if steps and isinstance(steps[0], AsStep) else None
    end_label = steps[-1].labels[0] if len(steps) > 1 and isinstance(steps[-1], AsStep) else None
    if start_label is None and end_label is None:
        return child.has_result(ctx, traverser)
    start = traverser
    body = steps
    if start_label is not None:
        value = select_value(ctx, traverser, start_label, Pop.last)
        if value is NOTHING:
            return False
        start = traverser.split(value)
        body = body[1:]
    if end_label is not None:
        target = select_value(ctx, traverser, end_label, Pop.last)
        if target is NOTHING:
            return False
        body = body[:-1]
        from .values import g_equal
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
