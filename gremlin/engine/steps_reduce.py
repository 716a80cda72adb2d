"""Barrier and reducing steps: count, fold, sum/min/max/mean, group, groupCount, order, side effects."""

from __future__ import annotations

import uuid
from collections.abc import Sized
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Iterator

from gremlin_python.process.traversal import Order, Scope
from gremlin_python.statics import bigint

from gremlin_python.structure.graph import Element as GElement
from gremlin_python.structure.io.util import HashableDict

from ..errors import InvalidArgumentError, TraversalError
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .base import Context, Step, Traversal, register
from .common import ByModulatedStep, NOTHING, Projection, enum_name, merge_bulks, project_value
from . import java_numbers
from .java_order import hash_positions
from .operators import apply_operator
from .randomness import step_random
from .traverser import Traverser
from .values import MapEntry, PathValue, PropertyValue, g_hash_key, is_number, java_type_name, order_compare, order_key


def _value_traversal(traversal: Traversal) -> bool:
    """Whether a by() traversal is one TinkerPop rewrites into a ValueTraversal (values(k), id(),
    label(): ByModulatorOptimizationStrategy)."""
    return len(traversal.steps) == 1 and getattr(traversal.steps[0], "by_equivalent", None) is not None


def _folded_value_traversal(traversal: Traversal) -> bool:
    """Whether a group's value traversal is ``values(k).fold()`` (or of ``id()``/``label()``, a
    seeded fold too), which ByModulatorOptimizationStrategy takes for ``by(k)``: TinkerPop's
    group then folds each member's ValueTraversal (``Vertex.property(k)``), not what values() reads."""
    steps = traversal.steps
    return len(steps) == 2 and isinstance(steps[1], FoldStep) and \
        getattr(steps[0], "by_equivalent", None) is not None


def _java_comparable(value: Any) -> bool:
    """Whether Java holds the value as a Comparable: scalars, strings, dates and tokens do;
    elements, properties, collections, maps, map entries and paths do not."""
    return not isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord, PropertyValue, GElement,
                                  list, tuple, set, frozenset, dict, MapEntry, PathValue))


def _scope(args: tuple) -> tuple[Any, tuple]:
    if args and isinstance(args[0], Scope):
        return args[0], args[1:]
    return Scope.global_, args


def _local_items(value: Any) -> list:
    if isinstance(value, dict):
        return [MapEntry(k, v) for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, PathValue):
        return list(value.objects)
    return [value]


class ReduceStep(Step):
    """A reducing barrier; with Scope.local it reduces each traverser's collection instead."""

    def __init__(self, name: str, scope: Any):
        self.name = name
        self.scope = scope

    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        raise NotImplementedError

    def inputs(self, ctx: Context, traversers: Iterator[Traverser]) -> list[tuple[Any, int]]:
        """What a global reduction reduces: each traverser's object, with its bulk."""
        return [(t.obj, t.bulk) for t in traversers]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.scope == Scope.local:
            for traverser in traversers:
                value = self.reduce([(item, 1) for item in _local_items(traverser.obj)])
                if value is not NOTHING:
                    yield traverser.split(value)
            return
        value = self.reduce(self.inputs(ctx, traversers))
        if value is not NOTHING:
            yield Traverser.start(value, sack=ctx.sack_initial)


class CountStep(ReduceStep):
    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        return sum(bulk for _, bulk in pairs)


def _total(scope: Any, numbers: list[tuple[Any, int]]) -> Any:
    """The sum as TinkerPop's NumberHelper makes it (java_numbers.py): sum() first multiplies each
    value by its bulk (a long, so a NaN counts 0), sum(local) adds the collection's items."""
    if scope == Scope.local:
        total = numbers[0][0]
        for value, _ in numbers[1:]:
            total = java_numbers.add(total, value)
        return total
    total = None
    for value, bulk in numbers:
        term = java_numbers.mul(value, bulk)
        total = term if total is None else java_numbers.add(total, term)
    return total


class SumStep(ReduceStep):
    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        numbers = [(v, b) for v, b in pairs if v is not None]
        _require_numbers(self.name, [v for v, _ in numbers])
        if not numbers:
            return _all_null(pairs)
        return _total(self.scope, numbers)


class MeanStep(ReduceStep):
    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        numbers = [(v, b) for v, b in pairs if v is not None]
        _require_numbers(self.name, [v for v, _ in numbers])
        count = sum(b for _, b in numbers)
        if not count:
            return _all_null(pairs)
        total = _total(self.scope, numbers)
        # divided as floating point: a Double, or a BigDecimal for a BigInteger or BigDecimal sum
        if isinstance(total, (Decimal, bigint)) or (isinstance(total, int) and not -(1 << 63) <= total < 1 << 63):
            return java_numbers.decimal_divide(Decimal(total), Decimal(count))
        return float(total) / count


class ExtremumStep(ReduceStep):
    """min()/max() as TinkerPop's NumberHelper: nulls and NaNs are passed over (unless there is
    nothing else), and the values must be Java Comparables of one kind (numbers, strings, ...)."""

    def reduce(self, pairs: list[tuple[Any, int]]) -> Any:
        values = [v for v, _ in pairs if v is not None]
        if not values:
            return _all_null(pairs)
        kinds = {_comparable_kind(self.name, v) for v in values}
        if len(kinds) > 1:
            raise InvalidArgumentError(f"{self.name}() cannot compare {' with '.join(sorted(kinds))}")
        values = [v for v in values if v == v] or values[:1]  # NaN loses to any number
        best = values[0]
        for value in values[1:]:
            c = order_compare(value, best)
            if (c < 0) if self.name == "min" else (c > 0):
                best = value
        return best


def _comparable_kind(step: str, value: Any) -> str:
    """The kind of Java Comparable ``value`` would be; an error for what is none (an element, a
    list, a map: TinkerPop fails to cast it to Comparable)."""
    if is_number(value):
        return "numbers"
    if isinstance(value, (str, bool, datetime, uuid.UUID, Enum)):
        return type(value).__name__
    raise InvalidArgumentError(f"{step}() compares Comparable values: {type(value).__name__.replace('Record', '')} "
                               f"cannot be cast to class java.lang.Comparable")


def _all_null(pairs: list) -> Any:
    """What a numeric reduction of no numbers gives: null when it saw nulls, nothing when it saw nothing."""
    return None if pairs else NOTHING


def _require_numbers(name: str, values: list) -> None:
    for value in values:
        if not is_number(value):
            raise InvalidArgumentError(f"The {name}() step can only be applied to numbers, not {value!r}")


@register("count")
def _count(*args: Any) -> Step:
    scope, rest = _scope(args)
    if rest:
        raise InvalidArgumentError(f"count() takes a Scope or nothing, not {rest!r}")
    return CountStep("count", scope)


@register("sum")
def _sum(*args: Any) -> Step:
    return SumStep("sum", _scope(args)[0])


@register("mean")
def _mean(*args: Any) -> Step:
    return MeanStep("mean", _scope(args)[0])


@register("min")
def _min(*args: Any) -> Step:
    return ExtremumStep("min", _scope(args)[0])


@register("max")
def _max(*args: Any) -> Step:
    return ExtremumStep("max", _scope(args)[0])


class FoldStep(Step):
    name = "fold"

    def __init__(self, args: tuple):
        self.seeded = bool(args)
        self.seed = args[0] if args else None
        self.operator = args[1] if len(args) > 1 else None

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if not self.seeded:
            out = []
            append = out.append
            limit = ctx.budget.max_collection
            for traverser in traversers:
                bulk = traverser.bulk
                if bulk == 1 and (limit is None or len(out) < limit):  # most: one value, room for it
                    append(traverser.obj)
                    continue
                ctx.collecting(len(out) + bulk)
                out.extend([traverser.obj] * bulk)
            yield Traverser.start(out, sack=ctx.sack_initial)
            return
        acc = self.seed
        # with a collection seed (fold([], addAll)) TinkerPop hands the operator each value in a
        # list, so it joins the seed as one member
        list_fold = isinstance(self.seed, (list, tuple, set, frozenset))
        for traverser in traversers:
            if list_fold:
                ctx.collecting(traverser.bulk)  # before the list of its copies is made
                acc = apply_operator(self.operator, acc, [traverser.obj] * traverser.bulk)
                if isinstance(acc, Sized):
                    ctx.collecting(len(acc))
                continue
            # once for a traverser whatever its bulk: TinkerPop's FoldStep projects a traverser to its
            # object alone unless it folds by addAll (inject(1, 2, 2).fold(0, sum) is 3, the 2s one traverser)
            ctx.tick()
            acc = apply_operator(self.operator, acc, traverser.obj)
        yield Traverser.start(acc, sack=ctx.sack_initial)


@register("fold")
def _fold(*args: Any) -> Step:
    return FoldStep(args)


# -- group / groupCount -----------------------------------------------------------------------------

class GroupStep(ByModulatedStep):
    """group() / groupCount(): a barrier map, or with a label a side effect that passes traversers."""

    def __init__(self, name: str, label: str | None):
        self.name = name
        self.label = label
        self.bys: list[Projection] = []

    def modulate(self, name: str, args: tuple) -> None:
        if name == "by" and args:
            # a by(values(k)) stays a traversal here, as on a Gremlin Server: as the key it reads
            # what values() reads (a map fails), as the value it is a ValueTraversal (_finish)
            self.bys.append(Projection(args[0], rewrite=False))
            return
        super().modulate(name, args)

    def _accumulate(self, ctx: Context, traversers: Iterator[Traverser], groups: dict) -> Iterator[Traverser]:
        key_by = self.bys[0] if self.bys else Projection()
        for traverser in traversers:
            key = key_by(ctx, traverser)
            if key is NOTHING and self.name == "groupCount" and self.label is not None:
                # TinkerPop's groupCount('x') side effect needs a key (groupCount() skips)
                raise TraversalError(f"The provided traverser does not map to a value: {traverser.obj!r} "
                                     f"in groupCount('{self.label}').by()")
            if key is not NOTHING:
                hk = g_hash_key(key)
                entry = groups.get(hk)
                if entry is None:
                    ctx.collecting(len(groups) + 1)
                    entry = groups[hk] = [key, []]
                entry[1].append(traverser)
            if self.label is not None:
                yield traverser

    def _finish(self, ctx: Context, groups: dict) -> dict:
        """The group's map, in the order TinkerGraph's HashMap holds its keys; each key's value
        traversal runs in that order too (a seeded sample() per group draws as TinkerPop's)."""
        out = {}
        entries = list(groups.values())
        for key, members in (entries[i] for i in hash_positions([k for k, _ in entries])):
            key = HashableDict.of(key)  # a list key (group by a fold) must hash
            if self.name == "groupCount":
                out[key] = sum(t.bulk for t in members)
                continue
            value_by = self.bys[1] if len(self.bys) > 1 else None
            if value_by is None or value_by.kind != "traversal":  # a list of every member
                ctx.collecting(sum(t.bulk for t in members))
            if value_by is None or value_by.kind == "identity":
                out[key] = [t.obj for t in members for _ in range(t.bulk)]
            elif value_by.kind == "traversal" and _value_traversal(value_by.arg):
                # by(values(k)) is TinkerPop's ValueTraversal there: each member given to it
                # overwrites its value, and one without k leaves it empty for good
                kind, arg = value_by.arg.steps[0].by_equivalent
                values = [project_value(ctx, t.obj, kind, arg) for t in members]
                if values and NOTHING not in values:
                    out[key] = values[-1]
            elif value_by.kind == "traversal" and _folded_value_traversal(value_by.arg):
                # a multi-property refused, a member without k left out, a seeded fold's
                # operator never applied (TinkerPop folds into a list whatever fold() said)
                kind, arg = value_by.arg.steps[0].by_equivalent
                folded = []
                for member in members:
                    value = project_value(ctx, member.obj, kind, arg)
                    if value is not NOTHING:
                        folded.extend([value] * member.bulk)
                out[key] = folded
            elif value_by.kind == "traversal":
                # the value traversal sees every member of the group and its first result is
                # the value (a reducing step makes that the whole group's); no result, no entry
                for result in value_by.arg.run(ctx, (t.copy() for t in members)):
                    out[key] = result.obj
                    break
            else:
                values = [value_by(ctx, t) for t in members for _ in range(t.bulk)]
                out[key] = [v for v in values if v is not NOTHING]
        return out

    def declare_side_effects(self, side_effects: dict[str, Any]) -> None:
        if self.label is not None:
            side_effects.setdefault(self.label, {})

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.label is None:
            groups: dict = {}
            for _ in self._accumulate(ctx, traversers, groups):
                pass
            yield Traverser.start(self._finish(ctx, groups), sack=ctx.sack_initial)
            return
        # the side effect's values are those of every traverser so far (over every pass of a
        # repeat()), laid over what the side effect held before this step first ran; it is
        # complete before any traverser moves on, so later steps can read it
        arrived = ctx.gather(traversers)  # upstream steps write the side effect too: let them run first
        initial, groups = ctx.step_state.setdefault(id(self), (dict(ctx.side_effects.get(self.label) or {}), {}))
        passing = list(self._accumulate(ctx, iter(arrived), groups))
        merged = dict(initial)
        for key, value in self._finish(ctx, groups).items():
            if self.name == "groupCount" and key in merged:
                merged[key] += value
            else:
                merged[key] = value
        keys = list(merged)
        ctx.side_effects[self.label] = {keys[i]: merged[keys[i]] for i in hash_positions(keys)}
        yield from passing


@register("group")
def _group(*args: Any) -> Step:
    _side_effect_key("group", args)
    return GroupStep("group", args[0] if args else None)


def _side_effect_key(step: str, args: tuple) -> None:
    """A side effect's key, when a step is given one, is a string."""
    for key in args:
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{step}() takes a side effect key (a string), not {key!r}")


@register("groupCount")
def _group_count(*args: Any) -> Step:
    _side_effect_key("groupCount", args)
    return GroupStep("groupCount", args[0] if args else None)


# -- order ---------------------------------------------------------------------------------------------

class OrderStep(Step):
    name = "order"

    def __init__(self, args: tuple):
        self.scope = _scope(args)[0]
        self.bys: list[tuple[Projection, Any]] = []

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)
        if not args:
            self.bys.append((Projection(), Order.asc))
        elif len(args) == 1 and isinstance(args[0], Order):
            self.bys.append((Projection(), args[0]))
        elif len(args) == 1:
            self.bys.append((Projection(args[0]), Order.asc))
        else:
            if not isinstance(args[1], Order):
                raise InvalidArgumentError("order().by() takes an Order, not a comparator lambda")
            self.bys.append((Projection(args[0]), args[1]))

    def children(self) -> list:
        return [p.arg for p, _ in self.bys if p.kind == "traversal"]

    def _sort(self, ctx: Context, items: list[Traverser], local: bool = False) -> list[Traverser]:
        bys = self.bys or [(Projection(), Order.asc)]
        shuffle = any(order == Order.shuffle for _, order in bys)
        if shuffle and not local:
            step_random(ctx, self).shuffle(items)
            return items
        keyed = []
        for t in items:
            keys = []
            for projection, _ in bys:
                value = projection(ctx, t)
                if value is NOTHING:
                    break
                if local and not _java_comparable(value):
                    # OrderLocalStep holds each by() value as a Comparable (its type bound), so one
                    # that is no Comparable fails, whatever the order: by(shuffle) and one item too
                    raise InvalidArgumentError(f"order(local): {java_type_name(value)} cannot be cast to "
                                               "java.lang.Comparable (order it by() a value that compares)")
                keys.append(value)
            else:
                keyed.append((keys, t))
        if shuffle:
            step_random(ctx, self).shuffle(keyed)
            return [t for _, t in keyed]
        for index in range(len(bys) - 1, -1, -1):
            descending = bys[index][1] in (Order.desc, getattr(Order, "decr", None))
            keyed.sort(key=lambda kt: order_key(kt[0][index]), reverse=descending)
        return [t for _, t in keyed]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.scope == Scope.local:
            for traverser in traversers:
                obj = traverser.obj
                if isinstance(obj, dict):
                    entries = [Traverser.start(MapEntry(k, v)) for k, v in obj.items()]
                    yield traverser.split({e.obj.key: e.obj.value for e in self._sort(ctx, entries, local=True)})
                elif isinstance(obj, (list, tuple, set, frozenset)):
                    items = [Traverser.start(v) for v in obj]
                    yield traverser.split([t.obj for t in self._sort(ctx, items, local=True)])
                else:
                    yield traverser
            return
        yield from self._sort(ctx, ctx.gather(traversers))


@register("order")
def _order(*args: Any) -> Step:
    return OrderStep(args)


# -- side effects ---------------------------------------------------------------------------------------

class AggregateStep(Step):
    """aggregate('x') (a barrier: everything is collected before any traverser moves on),
    aggregate(local, 'x') and store('x') (lazy)."""

    def __init__(self, name: str, scope: Any, key: str):
        self.name = name
        self.scope = scope
        self.key = key
        self.by: Projection | None = None

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)
        self.by = Projection(args[0] if args else None)

    def _add(self, ctx: Context, traversers: list[Traverser]) -> None:
        """Add the values of ``traversers`` (all of a barrier, or one traverser for store())."""
        values = []
        if self.by is None and all(traverser.bulk == 1 for traverser in traversers):
            # a barrier of single traversers, the values as they are (a walk's collections):
            # refused as the loop below refuses them, when they are more than one collection may hold
            limit = ctx.budget.max_collection
            if limit is None or len(traversers) <= limit:
                values = [traverser.obj for traverser in traversers]
                traversers = ()
        for traverser in traversers:
            value = self.by(ctx, traverser) if self.by is not None else traverser.obj
            if value is not NOTHING:
                ctx.collecting(len(values) + traverser.bulk)
                values.extend([value] * traverser.bulk)
        if not values:
            return
        bag = ctx.side_effects.setdefault(self.key, [])
        reducer = ctx.side_effect_reducers.get(self.key)
        if reducer is not None:  # withSideEffect(key, initial, Operator)
            if enum_name(reducer) in ("addAll", "assign"):
                # TinkerPop hands these the values collected together (a BulkSet): addAll adds
                # each value (a list stays one member), assign replaces the side effect with them
                if enum_name(reducer) == "addAll" and isinstance(bag, Sized):
                    ctx.collecting(len(bag) + len(values))
                ctx.side_effects[self.key] = apply_operator(reducer, bag, values)
                return
            for value in values:  # any other operator folds each value in
                ctx.tick()
                bag = apply_operator(reducer, bag, value)
            ctx.side_effects[self.key] = bag
        elif isinstance(bag, set):
            bag.update(values)  # values is within the limit, so this holds at most twice it
            ctx.collecting(len(bag))
        else:
            ctx.collecting(len(bag) + len(values))
            bag.extend(values)

    def declare_side_effects(self, side_effects: dict[str, Any]) -> None:
        side_effects.setdefault(self.key, [])

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.scope == Scope.local:
            for traverser in traversers:
                self._add(ctx, [traverser])
                yield traverser
            return
        collected = ctx.gather(traversers)
        self._add(ctx, collected)
        yield from collected


@register("aggregate")
def _aggregate(*args: Any) -> Step:
    scope, rest = _scope(args)
    _side_effect_key("aggregate", rest)
    return AggregateStep("aggregate", scope, rest[0])


@register("store")
def _store(key: str) -> Step:
    _side_effect_key("store", (key,))
    return AggregateStep("store", Scope.local, key)


class CapStep(Step):
    name = "cap"

    def __init__(self, keys: tuple):
        self.keys = keys

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for _ in traversers:
            pass
        if len(self.keys) == 1:
            yield Traverser.start(_side_effect_value(ctx, self.keys[0]), sack=ctx.sack_initial)
        else:  # a map of the side effects that exist (TinkerPop leaves out the others)
            yield Traverser.start({k: ctx.side_effects[k] for k in self.keys if k in ctx.side_effects}, sack=ctx.sack_initial)


def _side_effect_value(ctx: Context, key: str) -> Any:
    if key not in ctx.side_effects:
        raise InvalidArgumentError(f"The side effect {key!r} does not exist")
    return ctx.side_effects[key]


@register("cap")
def _cap(*keys: str) -> Step:
    return CapStep(keys)


class SideEffectStep(Step):
    name = "sideEffect"

    def __init__(self, child: Any):
        if not isinstance(child, Traversal):
            raise InvalidArgumentError("sideEffect() takes a traversal; lambdas are not supported")
        self.child = child

    def children(self) -> tuple:
        return (self.child,)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            for _ in self.child.apply(ctx, traverser):
                pass
            yield traverser


@register("sideEffect")
def _side_effect(child: Any) -> Step:
    return SideEffectStep(child)


class BarrierStep(Step):
    """barrier(): collect everything, merging equal traversers into one with a larger bulk (see
    merge_bulks; with a path step ahead, traversers keep apart); barrier(normSack) then scales
    each sack by its bulk over the total, as TinkerPop's SackFunctions.Barrier.normSack."""

    name = "barrier"

    def __init__(self, consumer: Any = None):
        self.norm_sack = isinstance(consumer, Enum) and enum_name(consumer) in ("normSack", "norm_sack")
        if consumer is not None and not self.norm_sack and not isinstance(consumer, int):
            raise InvalidArgumentError(f"barrier() takes a size or Barrier.normSack, not {consumer!r}")

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        collected = list(traversers)
        merged = collected if ctx.reads_paths else merge_bulks(collected, ctx)
        if merged is collected:
            merged = [t.copy() for t in collected]
        if self.norm_sack:
            total: Any = 0.0
            for traverser in merged:
                total = java_numbers.add(total, java_numbers.mul(traverser.sack, traverser.bulk))
            for traverser in merged:
                traverser.sack = java_numbers.div(java_numbers.mul(traverser.sack, traverser.bulk), total)
        yield from merged

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)


@register("barrier")
def _barrier(*args: Any) -> Step:
    return BarrierStep(args[0] if args else None)


def is_reducing_barrier(step: Step) -> bool:
    """Whether ``step`` is one of TinkerPop's ReducingBarrierSteps (count(), sum(), min(), max(),
    mean(), fold(), group(), groupCount() over the stream, not local, not a side effect)."""
    if isinstance(step, (ReduceStep, FoldStep)):
        return getattr(step, "scope", Scope.global_) != Scope.local
    return isinstance(step, GroupStep) and step.label is None


def is_barrier(step: Step) -> bool:
    """Whether ``step`` sees every traverser before it emits any (TinkerPop's Barrier steps)."""
    if is_reducing_barrier(step):
        return True
    if isinstance(step, (OrderStep, AggregateStep)):
        return getattr(step, "scope", Scope.global_) != Scope.local
    return isinstance(step, (CapStep, BarrierStep))
