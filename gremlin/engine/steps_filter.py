"""Filter steps: has*, is, where, not/and/or, dedup, ranges, paths, coin and sample."""

from __future__ import annotations

from itertools import chain, islice
from typing import Any, Callable, Iterable, Iterator

from gremlin_python.process.traversal import P, Pop, Scope, TextP
from gremlin_python.structure.graph import Edge as GEdge
from gremlin_python.structure.graph import Vertex as GVertex
from gremlin_python.structure.io.util import HashableDict

from ..errors import InvalidArgumentError, TraversalError
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .base import Context, Step, Traversal, register
from .common import (NOTHING, Projection, element_id, merge_bulks, require_traversals, token_name, token_value,
                     vertex_property_items)
from .randomness import step_random
from .steps_map import select_value
from .traverser import OWN_KEY, Traverser, is_simple, sub_path_bounds
from .values import (MapEntry, OrderedSet, PathValue, PropertyValue, g_equal, g_hash_key, indexed, is_number, java_type_name,
                     predicate_truth)


class FilterStep(Step):
    """Keeps the traversers for which ``keep`` is true. A ``keep`` that cannot decide raises
    PredicateError (TinkerPop's ERROR): the step drops the traverser, or, when it must pass
    ERROR on to its parent (``passes_errors``, see filter_strategies.py), lets it through."""

    def __init__(self, name: str, keep: Callable[[Context, Traverser], bool] | None = None):
        self.name = name
        if keep is not None:
            self.keep = keep

    def keep(self, ctx: Context, traverser: Traverser) -> bool:
        """(a subclass's test, when it passes no ``keep``: a bound method of its own held by the
        step would be a reference cycle, so each compiled traversal would be garbage only the
        collector frees, and one the heap settler froze would never be freed)"""
        raise NotImplementedError

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        keep = self.keep
        if self.passes_errors:
            for traverser in traversers:
                if keep(ctx, traverser):
                    yield traverser
            return
        for traverser in traversers:
            try:
                kept = keep(ctx, traverser)
            except PredicateError:
                continue  # ERROR reads as false here
            if kept:
                yield traverser


# -- has() -------------------------------------------------------------------------------------

class PredicateError(Exception):
    """A predicate that could not decide (TinkerPop's ERROR), on its way up to the filter step
    that reads it as false (filter_strategies.py says which)."""


def combine_ternary(outcomes: Iterable[Callable[[], bool]], decisive: bool) -> bool:
    """and() (``decisive`` False) or or() (True) over child filters, in TinkerPop's ternary logic:
    a child that cannot decide (ERROR) is held until the end, as a false child of and() or a true
    child of or() still decides; otherwise the ERROR goes on up."""
    undecided = False
    for outcome in outcomes:
        try:
            if outcome() is decisive:
                return decisive
        except PredicateError:
            undecided = True
    if undecided:
        raise PredicateError()
    return not decisive


def reduce_ternary(outcome: Callable[[], bool]) -> bool:
    """filter() and where(traversal) read an ERROR from their child as false (TinkerPop's
    BinaryReductionStep), so not(filter(is(gt(NaN)))) keeps the traverser."""
    try:
        return outcome()
    except PredicateError:
        return False


def _holds(ctx: Context, predicate: Any, value: Any) -> bool:
    """Whether ``value`` passes ``predicate``; PredicateError when it cannot tell (ERROR), which
    the filter step reads as false unless a not() above must see it (not(ERROR) is ERROR, so
    not(is(gt(NaN))) drops the traverser too)."""
    return _decided(predicate, value)


def _property_matches(ctx: Context, element: Any, key: str, predicate: Any) -> bool:
    if isinstance(element, VertexRecord):
        return any(_holds(ctx, predicate, value) for _, value in vertex_property_items(ctx, element, (key,)))
    if isinstance(element, EdgeRecord):
        return key in element.props and _holds(ctx, predicate, element.props[key])
    if isinstance(element, VertexPropertyRecord):
        return key in element.meta and _holds(ctx, predicate, element.meta[key])
    return False


def _has_key(ctx: Context, element: Any, key: str) -> bool:
    if isinstance(element, VertexRecord):
        return bool(vertex_property_items(ctx, element, (key,)))
    if isinstance(element, EdgeRecord):
        return key in element.props
    if isinstance(element, VertexPropertyRecord):
        return key in element.meta
    return False


_ELEMENTS = (VertexRecord, EdgeRecord, VertexPropertyRecord)


def _has_subject(obj: Any, step: str) -> bool:
    """Whether a has-step's traverser is an element (True) or a property that is none (False,
    an edge's or a meta-property: only hasKey()/hasValue() can hold for it); anything else is
    an error, as TinkerPop's has() takes only elements and properties."""
    if isinstance(obj, _ELEMENTS):
        return True
    if isinstance(obj, PropertyValue):
        return False
    if isinstance(obj, (GVertex, GEdge)):
        return True
    raise TraversalError(f"The {step}() step takes an element or a property, not {java_type_name(obj)} {obj!r}")


def _token_matches(element: Any, token: str, predicate: Any) -> bool:
    if token == "id":
        value = getattr(element, "id", NOTHING) if not isinstance(element, PropertyValue) else NOTHING
    elif token == "label":
        value = element.label if isinstance(element, (VertexRecord, EdgeRecord, GVertex, GEdge)) else \
            element.key if isinstance(element, VertexPropertyRecord) else NOTHING
    elif token == "key":
        value = element.key if isinstance(element, (VertexPropertyRecord, PropertyValue)) else NOTHING
    else:
        value = element.value if isinstance(element, (VertexPropertyRecord, PropertyValue)) else NOTHING
    if value is NOTHING:
        return False
    if token == "id" and _names_strings(predicate):
        # An id is compared as a string when the predicate names strings ("1" finds id 1; 1 is
        # not lt("a") but "1" is), as TinkerPop's HasContainer tests ids
        return _decided(predicate, str(value))
    return _decided(predicate, value)


def _decided(predicate: Any, value: Any) -> bool:
    """Whether ``value`` passes ``predicate``; PredicateError when it cannot tell (see _holds)."""
    truth = predicate_truth(predicate, value)
    if truth is None:
        raise PredicateError()
    return truth


def _names_strings(predicate: Any) -> bool:
    """Whether a predicate's value is a string, or a non-empty collection of strings (and nulls)."""
    if isinstance(predicate, str):
        return True
    if isinstance(predicate, P) and predicate.operator not in ("and", "or", "not"):
        value = predicate.value
        if isinstance(value, (list, tuple, set, frozenset)):
            return bool(value) and all(v is None or isinstance(v, str) for v in value) and (
                predicate.other is None or isinstance(predicate.other, str))
        return isinstance(value, str)
    return False


class HasStep(FilterStep):
    """has(key), has(key, value|P), has(label, key, value|P), has(T.x, value|P), has(key, traversal)."""

    def __init__(self, args: tuple):
        if not args:
            raise InvalidArgumentError("has() needs at least a property key")
        self.label: Any = None
        if len(args) == 3:
            label, key, predicate = args
            self.label = label if isinstance(label, P) else P.eq(label)
        elif len(args) == 2:
            key, predicate = args
        elif len(args) == 1:
            key, predicate = args[0], NOTHING
        else:
            raise InvalidArgumentError(f"has() takes 1 to 3 arguments, not {len(args)}")
        self.key = key
        self.predicate = indexed(predicate)
        self.token = token_name(key)
        if key is None:
            self.predicate = NOTHING
        elif self.token is None and not isinstance(key, str):
            raise InvalidArgumentError(f"has() needs a property key string or a T token, not {key!r}")
        #: has(key, value or P): a property's values tested by a predicate
        self.plain_property = self.label is None and self.token is None and type(key) is str and \
            self.predicate is not NOTHING and not isinstance(self.predicate, Traversal)
        super().__init__("has")

    def keep(self, ctx: Context, traverser: Traverser) -> bool:
        element = traverser.obj
        if type(element) is VertexRecord and self.plain_property and not ctx.filters.vertex_property:
            # has(key, P) on a vertex, as _property_matches() answers it: a walk's every hop
            predicate = self.predicate
            for value in element.values_of(self.key):
                if _decided(predicate, value):
                    return True
            return False
        is_element = _has_subject(element, "has")
        if self.key is None:
            return False  # has(null) names no property
        if self.token is None and self.predicate is NOTHING and not is_element:
            # has(k) is filter(properties(k)), and a property has no properties
            raise TraversalError(f"has('{self.key}') needs an element, not a property: {element!r}")
        if self.label is not None and not _token_matches(element, "label", self.label):
            return False
        predicate = self.predicate
        if self.token is not None:
            if predicate is NOTHING:
                return True
            if isinstance(predicate, Traversal):
                try:
                    value = token_value(element, self.token)
                except InvalidArgumentError:
                    return False
                return predicate.has_result(ctx, Traverser.start(value))
            return _token_matches(element, self.token, predicate)
        if predicate is NOTHING:
            return _has_key(ctx, element, self.key)
        if isinstance(predicate, Traversal):
            for value in _raw_property_values(ctx, element, self.key):
                if predicate.has_result(ctx, Traverser.start(value)):
                    return True
            return False
        return _property_matches(ctx, element, self.key, predicate)

    @property
    def index_value(self) -> Any:
        """An equality value the V() index can answer, or NOTHING."""
        if self.label is not None or self.token is not None:
            return NOTHING
        predicate = self.predicate
        if predicate is NOTHING or isinstance(predicate, (Traversal, TextP)):
            return NOTHING
        if isinstance(predicate, P):
            return predicate.value if predicate.operator == "eq" else NOTHING
        return predicate


def _raw_property_values(ctx: Context, element: Any, key: str) -> Iterator[Any]:
    if isinstance(element, VertexRecord):
        for _, value in vertex_property_items(ctx, element, (key,)):
            yield value
    elif isinstance(element, EdgeRecord) and key in element.props:
        yield element.props[key]
    elif isinstance(element, VertexPropertyRecord) and key in element.meta:
        yield element.meta[key]


@register("has")
def _has(*args: Any) -> Step:
    return HasStep(args)


def _values_predicate(values: tuple) -> Any:
    return indexed(_values_as_predicate(values))


def _values_as_predicate(values: tuple) -> Any:
    if len(values) == 1:
        only = values[0]
        if isinstance(only, P):
            return only
        if isinstance(only, (list, tuple, set, frozenset)):
            return P.within(list(only))
        return P.eq(only)
    flat: list = []
    for value in values:
        if isinstance(value, P):
            raise InvalidArgumentError("Predicates can only be given alone")
        flat.extend(value if isinstance(value, (list, tuple, set, frozenset)) else [value])
    return P.within(flat)


@register("hasLabel")
def _has_label(*labels: Any) -> Step:
    if not labels:
        raise InvalidArgumentError("hasLabel() needs at least one label")
    predicate = _values_predicate(labels)
    return FilterStep("hasLabel", lambda ctx, t: _has_subject(t.obj, "hasLabel") is not None and
                      _token_matches(t.obj, "label", predicate))


@register("hasId")
def _has_id(*ids: Any) -> Step:
    if not ids:
        return FilterStep("hasId", lambda ctx, t: False)
    ids = tuple(element_id(i) if not isinstance(i, (list, tuple, set, frozenset, P)) else i for i in ids)
    predicate = _values_predicate(ids)
    return FilterStep("hasId", lambda ctx, t: _has_subject(t.obj, "hasId") is not None and
                      _token_matches(t.obj, "id", predicate))


@register("hasKey")
def _has_key_step(*keys: Any) -> Step:
    if any(not isinstance(key, (str, P)) and key is not None for key in keys):  # a null key matches none
        raise InvalidArgumentError(f"hasKey() takes string keys or a predicate, not {keys!r}")
    predicate = _values_predicate(keys)
    return FilterStep("hasKey", lambda ctx, t: _has_subject(t.obj, "hasKey") is not None and
                      _token_matches(t.obj, "key", predicate))


@register("hasValue")
def _has_value(*values: Any) -> Step:
    predicate = _values_predicate(values)

    def keep(ctx: Context, t: Traverser) -> bool:
        _has_subject(t.obj, "hasValue")
        return isinstance(t.obj, (VertexPropertyRecord, PropertyValue)) and _decided(predicate, t.obj.value)
    return FilterStep("hasValue", keep)


@register("hasNot")
def _has_not(key: Any) -> Step:
    def keep(ctx: Context, t: Traverser) -> bool:
        if type(t.obj) is VertexRecord and type(key) is str and not ctx.filters.vertex_property:
            return not t.obj.values_of(key)  # _has_key()'s answer for a vertex: a walk's every hop
        if not _has_subject(t.obj, "hasNot"):  # not(properties(k)): a property has none
            raise TraversalError(f"hasNot('{key}') needs an element, not a property: {t.obj!r}")
        return not _has_key(ctx, t.obj, key)
    return FilterStep("hasNot", keep)


@register("is")
def _is(value: Any) -> Step:
    predicate = indexed(value)
    if type(predicate) is P and predicate.operator in ("eq", "neq") and predicate.other is None:
        # predicate_truth's answer for these, which always decides: is(neq(0)) is how a walk
        # leaves out its collections' placeholder, once per element it collected
        arg = predicate.value
        if predicate.operator == "eq":
            step = FilterStep("is", lambda ctx, t: g_equal(t.obj, arg))
        else:
            step = FilterStep("is", lambda ctx, t: not g_equal(t.obj, arg))
    else:
        step = FilterStep("is", lambda ctx, t: _holds(ctx, predicate, t.obj))
    step.is_predicate = predicate  # what count_limit.py reads
    return step


# -- logical -------------------------------------------------------------------------------------

def negate(ctx: Context, outcome: Callable[[], bool]) -> bool:
    """not() over a child filter; not(ERROR) is ERROR (a PredicateError goes on up)."""
    return not outcome()


@register("not")
def _not(child: Traversal) -> Step:
    require_traversals("not", (child,))
    return _Children("not", (child,), lambda ctx, t: negate(ctx, lambda: child.has_result(ctx, t)))


class InfixMarker(Step):
    """A bare and()/or() between steps; the compiler rewrites it into a connective step."""

    def __init__(self, kind: str):
        self.kind = kind
        self.name = kind

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        raise AssertionError("infix connectives are rewritten at compile time")


@register("and")
def _and(*children: Traversal) -> Step:
    if not children:
        return InfixMarker("and")
    require_traversals("and", children)
    return _Connective("and", children, False)


@register("or")
def _or(*children: Traversal) -> Step:
    if not children:
        return InfixMarker("or")
    require_traversals("or", children)
    return _Connective("or", children, True)


@register("filter")
def _filter(child: Any) -> Step:
    if not isinstance(child, Traversal):
        raise InvalidArgumentError("filter() takes a traversal; lambdas are not supported")
    return _Children("filter", (child,), lambda ctx, t: reduce_ternary(lambda: child.has_result(ctx, t)))


class _Children(FilterStep):
    def __init__(self, name: str, children: tuple, keep: Callable):
        super().__init__(name, keep)
        self._children = children

    def children(self) -> tuple:
        return self._children


class _Connective(_Children):
    def __init__(self, name: str, children: tuple, decisive: bool):
        super().__init__(name, children, lambda ctx, t: combine_ternary(
            (lambda c=c: c.has_result(ctx, t) for c in children), decisive))


# -- dedup, ranges ------------------------------------------------------------------------------

class DedupStep(Step):
    name = "dedup"

    def __init__(self, args: tuple):
        self.scope = Scope.global_
        labels = list(args)
        if labels and isinstance(labels[0], Scope):
            self.scope = labels.pop(0)
        self.labels = tuple(labels)
        self.by: Projection | None = None
        #: Set by the optimizer when the repeat() before this step dedups for it (a
        #: breadth-first search tests each vertex it reaches against seen() itself).
        self.done_before = False

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)
        self.by = Projection(args[0] if args else None)

    def is_plain(self) -> bool:
        """dedup() of whole traversers' objects, across all of them."""
        return self.scope == Scope.global_ and not self.labels and self.by is None

    def _key(self, ctx: Context, traverser: Traverser) -> Any:
        if self.labels:
            values = []
            for label in self.labels:
                value = select_value(ctx, traverser, label, Pop.last)
                if value is NOTHING:  # TinkerPop's DedupGlobalStep reads the label as a scope key
                    raise TraversalError(f"Neither the map, sideEffects, nor path has a {label}-key: "
                                         f"DedupGlobalStep({list(self.labels)})")
                if self.by is not None:
                    value = self.by(ctx, traverser.split(value))
                    if value is NOTHING:  # unproductive by(): the traverser is filtered
                        return NOTHING
                values.append(g_hash_key(value))
            return tuple(values)
        value = self.by(ctx, traverser) if self.by is not None else traverser.obj
        return NOTHING if value is NOTHING else g_hash_key(value)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.scope == Scope.local:
            return (traverser.split(_dedup_local(traverser.obj)) for traverser in traversers)
        if self.done_before:
            return traversers
        passing = self.deduped(ctx, traversers, self.seen(ctx))
        keep = self.keep_labels
        return passing if keep is None else (traverser.keeping(keep) for traverser in passing)

    def seen(self, ctx: Context) -> set:
        """The keys this step has let through in this run."""
        # inside repeat() every pass shares what has been seen: repeat(dedup()) lets each value
        # through once over all the loops, as in TinkerPop
        return set() if ctx.loop_state is None else ctx.loop_state.setdefault(id(self), set())

    def deduped(self, ctx: Context, traversers: Iterator[Traverser], seen: set) -> Iterator[Traverser]:
        simple = not self.labels and self.by is None
        for traverser in traversers:
            if simple:
                key = traverser.obj
                if type(key) not in OWN_KEY:
                    key = g_hash_key(key)
            else:
                key = self._key(ctx, traverser)
            if key is NOTHING or key in seen:
                continue
            seen.add(key)
            yield traverser if traverser.bulk == 1 else traverser.copy(1)


def _dedup_local(collection: Any) -> Any:
    """dedup(local): a LinkedHashSet in TinkerPop, the first of equal items in their order."""
    if isinstance(collection, (list, tuple, set, frozenset)):  # a set too (an OrderedSet in its order)
        unique: dict = {}
        for item in collection:
            unique.setdefault(g_hash_key(item), item)
        return OrderedSet(HashableDict.of(item) for item in unique.values())
    if isinstance(collection, dict):  # a map is its entries, each a member of the set
        return OrderedSet(MapEntry(key, value) for key, value in collection.items())
    if isinstance(collection, PathValue):
        return _dedup_local(collection.objects)
    return OrderedSet((collection,))  # anything else is a set of itself


@register("dedup")
def _dedup(*args: Any) -> Step:
    return DedupStep(args)


class RangeStep(Step):
    """range/limit/skip with global scope counts traversers (by bulk); local slices a collection."""

    def __init__(self, name: str, scope: Any, low: int, high: int):
        if low != -1 and high != -1 and low > high:
            raise InvalidArgumentError(f"Not a legal range: [{low}, {high}]")
        self.name = name
        self.scope = scope
        # as TinkerPop counts: a negative low end is the start, a high end below -1 ends at once
        self.low = max(low, 0)
        #: range(local) of a collection gives one item bare when high - low == 1 with low as given
        self.single = high != -1 and high - low == 1 and name in ("limit", "range")
        self.high = 0 if high < -1 else high
        #: Set by the optimizer when every traverser reaching this step has bulk 1 (it follows
        #: a global dedup()): then each counts one and the range is a plain slice.
        self.unit_bulks = False

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.scope == Scope.local:
            return self._slices(traversers)
        if self.unit_bulks and ctx.loop_state is None:
            # cut in C, one generator frame less per traverser; like _range it pulls one
            # traverser past the high end when asked for more, and no further
            if self.high == -1:
                return islice(traversers, self.low, None)
            traversers = iter(traversers)
            return chain(islice(traversers, self.low, self.high), _pull_one(traversers))
        # inside repeat() every pass counts on from the last, as dedup() remembers (one body)
        counted = [0] if ctx.loop_state is None else ctx.loop_state.setdefault(id(self), [0])
        return self._range(traversers, counted)

    def _slices(self, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            value = _slice_local(traverser.obj, self.low, self.high, self.single)
            if value is not NOTHING:
                yield traverser.split(value)

    def _range(self, traversers: Iterator[Traverser], counted: list[int]) -> Iterator[Traverser]:
        # TinkerPop's RangeGlobalStep learns it is done only from the traverser it pulls after
        # the high end (a side effect before it sees that one too), then pulls no more
        low, high = self.low, self.high
        for traverser in traversers:
            if high != -1 and counted[0] >= high:
                return
            start, end = counted[0], counted[0] + traverser.bulk
            counted[0] = end
            if end <= low:
                continue
            if start >= low and (high == -1 or end <= high):
                yield traverser  # wholly inside the range, the usual case
            else:
                keep_to = end if high == -1 else min(end, high)
                kept = keep_to - max(start, low)
                if kept > 0:
                    yield traverser.copy(kept)


def _pull_one(traversers: Iterator[Traverser]) -> Iterator[Traverser]:
    """Pulls one traverser and gives nothing: what a range does once it has given its last."""
    next(traversers, None)
    return
    yield  # never reached: it makes this a generator, so the pull waits until the range is asked for more


def _slice_local(value: Any, low: int, high: int, single: bool) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        sliced = items[low:] if high == -1 else items[low:high]
        return dict(sliced)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        sliced = items[low:] if high == -1 else items[low:high]
        if single:
            return sliced[0] if sliced else NOTHING
        return OrderedSet(sliced) if isinstance(value, (set, frozenset)) else sliced  # a set stays a set
    if isinstance(value, PathValue):
        items = list(value.objects)
        sliced = items[low:] if high == -1 else items[low:high]
        if single:
            return sliced[0] if sliced else NOTHING
        return sliced
    return value


def _scoped(args: tuple) -> tuple[Any, tuple]:
    if args and isinstance(args[0], Scope):
        return args[0], args[1:]
    return Scope.global_, args


def _count_arg(step: str, value: Any) -> int:
    """A range/limit/skip/tail bound: a whole number (a long in TinkerPop), never null or text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidArgumentError(f"{step}() takes whole numbers, not {java_type_name(value)} {value!r}")
    return int(value)


@register("range")
def _range(*args: Any) -> Step:
    scope, (low, high) = _scoped(args)
    return RangeStep("range", scope, _count_arg("range", low), _count_arg("range", high))


@register("limit")
def _limit(*args: Any) -> Step:
    scope, (n,) = _scoped(args)
    return RangeStep("limit", scope, 0, _count_arg("limit", n))


@register("skip")
def _skip(*args: Any) -> Step:
    scope, (n,) = _scoped(args)
    return RangeStep("skip", scope, _count_arg("skip", n), -1)


class TailStep(Step):
    name = "tail"

    def __init__(self, scope: Any, n: int):
        self.scope = scope
        self.n = n

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        n = self.n
        if self.scope == Scope.local:
            for traverser in traversers:
                value = traverser.obj
                if isinstance(value, dict):
                    items = list(value.items())
                    yield traverser.split(dict(items[len(items) - n:] if n else []))
                elif isinstance(value, (list, tuple, set, frozenset, PathValue)):
                    # as range(local) over the last n: one item itself, more as a list (a set's as a set)
                    items = list(value.objects) if isinstance(value, PathValue) else list(value)
                    tail = items[len(items) - n:] if n else []
                    if n == 1:
                        if tail:
                            yield traverser.split(tail[0])
                    else:
                        yield traverser.split(OrderedSet(tail) if isinstance(value, (set, frozenset)) else tail)
                else:
                    yield traverser
            return
        unrolled: list[Traverser] = []
        for traverser in traversers:
            ctx.collecting(len(unrolled) + traverser.bulk)
            for _ in range(traverser.bulk):
                unrolled.append(traverser.copy(1))
        yield from unrolled[max(0, len(unrolled) - n):] if n else []


@register("tail")
def _tail(*args: Any) -> Step:
    scope, rest = _scoped(args)
    return TailStep(scope, _count_arg("tail", rest[0]) if rest else 1)


# -- paths -----------------------------------------------------------------------------------

class PathFilterStep(Step):
    """simplePath()/cyclicPath(), optionally between from() and to() labels, by() values."""

    def __init__(self, name: str):
        self.name = name
        self.from_label: str | None = None
        self.to_label: str | None = None
        self.bys: list[Projection] = []

    def modulate(self, name: str, args: tuple) -> None:
        if name == "from":
            self.from_label = args[0]
        elif name == "to":
            self.to_label = args[0]
        elif name == "by":
            self.bys.append(Projection(args[0] if args else None))
        else:
            super().modulate(name, args)

    def is_plain_simple(self) -> bool:
        """simplePath() over the whole path, by the objects themselves."""
        return self.name == "simplePath" and self.from_label is None and self.to_label is None and not self.bys

    def _objects(self, ctx: Context, traverser: Traverser) -> list:
        nodes = traverser.path.nodes() if traverser.path is not None else []
        if self.from_label is not None or self.to_label is not None:
            lo, hi = sub_path_bounds([n.labels for n in nodes], self.from_label, self.to_label)
            nodes = nodes[lo:hi + 1]
        objects = [n.obj for n in nodes]
        if self.bys:
            objects = [self.bys[i % len(self.bys)](ctx, Traverser.start(obj)) for i, obj in enumerate(objects)]
        return objects

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        want_simple = self.name == "simplePath"
        plain = self.from_label is None and self.to_label is None and not self.bys
        for traverser in traversers:
            if plain:
                if is_simple(traverser.path) == want_simple:
                    yield traverser
                continue
            objects = self._objects(ctx, traverser)
            if any(o is NOTHING for o in objects):
                continue  # an unproductive by() filters the traverser
            simple = len({g_hash_key(o) for o in objects}) == len(objects)
            if simple == want_simple:
                yield traverser


@register("simplePath")
def _simple_path() -> Step:
    return PathFilterStep("simplePath")


@register("cyclicPath")
def _cyclic_path() -> Step:
    return PathFilterStep("cyclicPath")


# -- randomness ----------------------------------------------------------------------------------

class CoinStep(Step):
    """coin(p): each unit of a traverser's bulk passes with probability p (TinkerPop rounds for
    bulks of 100 and more)."""

    name = "coin"

    def __init__(self, probability: float):
        self.probability = probability

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        rng = step_random(ctx, self)
        for traverser in traversers:
            if traverser.bulk < 100:
                kept = sum(1 for _ in range(traverser.bulk) if self.probability >= rng.next_double())
            else:
                kept = round(self.probability * traverser.bulk)
            if kept:
                yield traverser if kept == traverser.bulk else traverser.copy(kept)


@register("coin")
def _coin(probability: float) -> Step:
    if isinstance(probability, bool) or not isinstance(probability, (int, float)):
        raise InvalidArgumentError(f"coin() takes a probability, not {java_type_name(probability)} {probability!r}")
    return CoinStep(probability)


class SampleStep(Step):
    """sample(n): n traversers drawn as TinkerPop draws them (equal traversers are one, with a bulk;
    a by() modulator weighs them, and one without a weight is left out), all of them when there are
    no more than n; sample(local, n) draws n items of each collection."""

    name = "sample"

    def __init__(self, scope: Any, n: int):
        self.scope = scope
        self.n = n
        self.by: Projection | None = None

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        rng = step_random(ctx, self)
        if self.scope == Scope.local:
            for traverser in traversers:
                if not isinstance(traverser.obj, (list, tuple, set, frozenset)):
                    yield traverser
                    continue
                items = list(traverser.obj)
                drawn = items if len(items) <= self.n else \
                    [items.pop(rng.next_int(len(items))) for _ in range(self.n)]
                yield traverser.split(drawn)
            return
        arrived = ctx.gather(traversers)
        weighed = [(t, 1.0 if self.by is None else self._weight(ctx, t))
                   for t in (arrived if ctx.reads_paths else merge_bulks(arrived, ctx))]
        pool = [(t, weight) for t, weight in weighed if weight is not NOTHING]
        if sum(t.bulk for t, _ in pool) <= self.n:
            yield from (t for t, _ in pool)
            return
        yield from _draw(ctx, rng, pool, self.n)

    def _weight(self, ctx: Context, traverser: Traverser) -> Any:
        """The traverser's weight, or NOTHING when by() gives none (it is then left out)."""
        weight = self.by(ctx, traverser)
        if weight is not NOTHING and not is_number(weight):
            raise InvalidArgumentError(f"sample().by() needs a number as the weight, not {weight!r}")
        return weight if weight is NOTHING else float(weight)

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)
        self.by = Projection(args[0] if args else None)


def _draw(ctx: Context, rng: Any, pool: list[tuple[Traverser, float]], n: int) -> Iterator[Traverser]:
    """TinkerPop's weighted draw: passes over the pool, each unit of bulk taken with probability
    weight / (weight still in play), one take per pass, until n are taken."""
    total = sum(weight * t.bulk for t, weight in pool)
    taken: dict[int, int] = {}
    count = 0
    while count < n and any(weight > 0 and taken.get(i, 0) < t.bulk for i, (t, weight) in enumerate(pool)):
        running = total
        for i, (traverser, weight) in enumerate(pool):
            took = False
            for _ in range(traverser.bulk - taken.get(i, 0)):
                ctx.tick()  # a bulk can be astronomically large
                if running > 0 and rng.next_double() <= weight / running:
                    taken[i] = taken.get(i, 0) + 1
                    count += 1
                    took = True
                    break
                running -= weight
            if took or count >= n:
                break
    for i, kept in taken.items():
        yield pool[i][0].copy(kept)


@register("sample")
def _sample(*args: Any) -> Step:
    scope, rest = _scoped(args)
    return SampleStep(scope, int(rest[0]))


@register("fail")
def _fail(*message: str) -> Step:
    text = f"fail() step triggered: {message[0]}" if message else "fail() step triggered"

    def fail(ctx: Context, traverser: Traverser) -> bool:
        raise TraversalError(text)
    return FilterStep("fail", fail)


@register("discard")
def _none() -> Step:
    return FilterStep("none", lambda ctx, t: False)

