"""match(): declarative pattern matching, with TinkerPop's MatchStep semantics.

``match(as('a').out().as('b'), as('b').in().as('c'))`` binds variables (step labels) so that every
pattern holds, and emits a map of the bindings per solution. Each pattern starts from a variable
(``as('a')...``, or a ``where()``, or a nested ``and()``/``or()``/``not()``) and may end in one;
an end variable already bound must be met again (a join), an unbound one is bound there. The
traverser arriving at match() binds the start variable no pattern ends in (or, when every variable
is some pattern's end, the first of a fixed order) unless its path already holds a variable.

Execution follows TinkerPop's standard (OLTP) algorithm: every traverser runs the patterns one
at a time, each pattern at most once, chosen by the CountMatchAlgorithm: a where() pattern whose
variables are all bound first, then a pattern whose end is already bound (a join), then any other
pattern whose start is bound; patterns of one kind go by how many results they gave per start so
far (their multiplicity), so selective patterns run first. A pattern holding a barrier step
(``count()``, ``order()``, ``limit()``, ``dedup()``, ...) runs per traverser, as TinkerPop wraps it
in a flatMap; the others are one traversal for every traverser, so their steps' state is shared.

Like TinkerPop's MatchPredicateStrategy, the compiler folds ``where()`` and ``dedup(labels)`` that
directly follow match() (past plain ``select()`` steps) into it: a where() becomes one more
pattern, and a dedup()'s labels let match() drop a traverser as soon as its bindings repeat
those of a solution already emitted.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal
from typing import Any, Iterator

from gremlin_python.process.traversal import P, Scope

from ..errors import InvalidArgumentError, TraversalError
from .base import Context, Step, Traversal, register
from .java_order import hash_order, java_sort
from .common import NOTHING
from .steps_filter import DedupStep, HasStep, RangeStep, SampleStep, TailStep
from .steps_map import AsStep, SelectStep, TraversalMapStep
from .steps_reduce import BarrierStep, is_barrier
from .steps_where import WhereStep
from .traverser import OWN_KEY, PathNode, Traverser, tagged_loops
from .values import g_equal, g_hash_key, is_number

__all__ = ["MatchStep", "fold_into_match", "inline_filter_patterns"]

#: TinkerPop's TraversalType, in the order the CountMatchAlgorithm prefers them.
WHERE_PREDICATE, WHERE_TRAVERSAL, MATCH_TRAVERSAL = 0, 1, 2

_MISSING: Any = object()
#: The CountMatchAlgorithm re-sorts its patterns after each of the first 200 results, then
#: after every 250th.
_EAGER_SORTS, _SORT_EVERY = 200, 250


class _Pattern:
    """One match() argument, configured as TinkerPop configures it: the variable it starts
    from (or a nested connective match), the steps between, the variable it ends in."""

    __slots__ = ("parent", "index", "select_key", "nested", "body", "end_label", "kind", "labels_end",
                 "_scope_keys")

    def __init__(self, parent: "MatchStep", index: int, select_key: str | None, nested: "MatchStep | None",
                 body: list[Step], end_label: str | None):
        self.parent = parent
        self.index = index
        self.select_key = select_key
        self.nested = nested
        self.end_label = end_label
        if any(_is_tinkerpop_barrier(step) for step in body):
            # a barrier inside a pattern would see every traverser of the match; TinkerPop makes
            # the pattern local instead (one run per traverser), and so does this
            body = [TraversalMapStep("flatMap", Traversal(body))]
        self.body = Traversal(body)
        #: whether the pattern's own steps may bind its end variable (then it is looked up on
        #: each result's path rather than once on the start's)
        self.labels_end = end_label is not None and (nested is not None or any(
            isinstance(step, MatchStep) or (isinstance(step, AsStep) and end_label in step.labels)
            for step in self.body.all_steps()))
        first = body[0] if body else None
        if isinstance(first, WhereStep):
            self.kind = WHERE_TRAVERSAL if first.traversal is not None else WHERE_PREDICATE
        else:
            self.kind = MATCH_TRAVERSAL
        self._scope_keys: list[str] | None = None

    def scope_keys(self) -> list[str]:
        """The variables that must be bound before this pattern runs (TinkerPop's start labels
        of the pattern, in its HashSet's order)."""
        if self._scope_keys is None:
            if self.nested is not None:
                keys = self.nested.scope_keys()
            else:
                found = [self.select_key] if self.select_key is not None else []
                ends = self.parent.end_labels
                for step in self.body.all_steps():
                    if isinstance(step, WhereStep):
                        found.extend(key for key in where_scope_keys(step) if key in ends)
                keys = hash_order(found)
            self._scope_keys = keys
        return self._scope_keys

    def __repr__(self) -> str:
        start = repr(self.nested) if self.nested is not None else f"MatchStartStep({self.select_key or ''})"
        steps = [start] + [step.name + "()" for step in self.body.steps] + [f"MatchEndStep({self.end_label or ''})"]
        return "[" + ", ".join(steps) + "]"


class MatchStep(Step):
    """match(patterns...) (connective 'and'); a nested and()/or() pattern is a MatchStep too."""

    name = "match"

    def __init__(self, connective: str, patterns: tuple):
        for pattern in patterns:
            if not isinstance(pattern, Traversal):
                raise InvalidArgumentError("match() takes traversals (patterns such as __.as('a').out().as('b'))")
        self.connective = connective
        #: variables patterns start from / end in (dicts as ordered sets)
        self.start_labels: dict[str, None] = {}
        self.end_labels: dict[str, None] = {}
        self.dedup_labels: tuple[str, ...] = ()
        self.patterns: list[_Pattern] = []
        for pattern in patterns:
            self.patterns.append(self._configure(pattern.steps))
        self.computed_start = self._compute_start_label()
        self._nested_scope_keys: list[str] | None = None

    # --- configuration ----------------------------------------------------------------------

    def _configure(self, steps: list[Step]) -> _Pattern:
        steps = list(steps)
        first = steps[0] if steps else None
        nested = None
        select_key = None
        if first is not None and first.name in ("and", "or") and first.children():
            nested = MatchStep(first.name, tuple(first.children()))
            self.start_labels.update(nested.start_labels)
            self.end_labels.update(nested.end_labels)
            steps = steps[1:]
        elif first is not None and first.name == "not" and first.children():
            # not(x) as a pattern is where(not(x))
            return self._configure([WhereStep((Traversal([first]),))] + steps[1:])
        elif isinstance(first, AsStep) and len(first.labels) == 1 and not (
                len(steps) > 1 and isinstance(steps[1], AsStep)):
            # (as('a').as('b') labels TinkerPop's start step twice: no single variable)
            select_key = first.labels[0]
            self.start_labels[select_key] = None
            steps = steps[1:]
        elif isinstance(first, WhereStep):
            select_key = _where_start_key(first)
        else:
            raise InvalidArgumentError(
                f"All match()-traversals must have a single start label (i.e. variable): {_describe(steps)}")
        end_label = None
        trailing = 0
        labels: list[str] = []
        while trailing < len(steps) and isinstance(steps[len(steps) - 1 - trailing], AsStep):
            trailing += 1
            labels[:0] = steps[len(steps) - trailing].labels
        if labels:
            if len(labels) > 1:
                raise InvalidArgumentError(
                    f"The end step of a match()-traversal can have at most one label: {labels}")
            end_label = labels[0]
            self.end_labels[end_label] = None
            steps = steps[:len(steps) - trailing]
            # a pattern's count joins on its end variable, so the count must be whole: TinkerPop's
            # CountStrategy leaves count().is() alone there (count_limit.py put a range in front)
            steps = [step for step in steps if not getattr(step, "count_limit", False)]
        return _Pattern(self, len(self.patterns), select_key, nested, steps, end_label)

    def _compute_start_label(self) -> str:
        """The variable a traverser arriving without any binds: a start no pattern ends in
        (the first in HashSet order), else the first of the patterns' labels ordered so that a
        pattern's start comes before its end."""
        if not self.patterns:
            raise InvalidArgumentError("match() needs at least one pattern")
        starts: list[str] = []
        ends = {p.end_label for p in self.patterns if p.end_label is not None}  # this level's only
        for pattern in self.patterns:
            starts.extend(pattern.scope_keys())
        unbound = [label for label in hash_order(starts) if label not in ends]
        if unbound:
            return unbound[0]
        order: list[str] = []
        for pattern in self.patterns:
            for label in pattern.scope_keys():
                if label not in order:
                    order.append(label)
            if pattern.end_label is not None and pattern.end_label not in order:
                order.append(pattern.end_label)
        if not order:
            raise InvalidArgumentError(
                f"The provided match pattern has no variable to start from: {self.patterns}")

        def compare(a: str, b: str) -> int:
            for pattern in self.patterns:
                end = pattern.end_label
                if end is not None:
                    keys = pattern.scope_keys()
                    if a == end and b in keys:
                        return 1
                    if b == end and a in keys:
                        return -1
            return 0

        return java_sort(order, compare)[0]

    def start_label_now(self) -> str:
        """The start variable computed over the patterns as they are now (folded where()s
        included), as TinkerPop's InlineFilterStrategy computes it."""
        return self._compute_start_label()

    def remove_pattern(self, pattern: _Pattern) -> None:
        self.patterns.remove(pattern)
        for index, remaining in enumerate(self.patterns):
            remaining.index = index

    def add_pattern(self, pattern: Traversal) -> None:
        """A where() folded in from after the match() (see fold_into_match)."""
        self.patterns.append(self._configure(pattern.steps))

    def scope_keys(self) -> list[str]:
        """As a nested pattern: the variables it needs bound (its patterns' start and end
        variables, less those its own patterns bind)."""
        if self._nested_scope_keys is None:
            found: list[str] = []
            for pattern in self.patterns:
                found.extend(pattern.scope_keys())
                if pattern.end_label is not None:
                    found.append(pattern.end_label)
            self._nested_scope_keys = [label for label in hash_order(found)
                                       if label not in self.end_labels and label != self.computed_start]
        return self._nested_scope_keys

    def children(self) -> list[Traversal]:
        # the bodies themselves, so that the optimizer rewrites what runs
        return [p.body for p in self.patterns] + [Traversal([p.nested]) for p in self.patterns if p.nested]

    def __repr__(self) -> str:
        return f"MatchStep({self.connective.upper()},{self.patterns})"

    # --- execution --------------------------------------------------------------------------

    def run(self, ctx: Context, traversers: Iterator[Traverser], *, nested: bool = False) -> Iterator[Traverser]:
        """``nested``: run as the start of another match()'s pattern, which marks the traverser
        as having entered this one already (TinkerPop tags it with the pattern's start step,
        which is this step), so no start variable is bound for it here."""
        # The state is bound now, not when the generator starts: a match() inside another's
        # pattern (or a repeat() body) is one instance for every traverser, as in TinkerPop.
        # Outside one, a run is a child traversal being run again for the next traverser
        # (local(), where(), not(), by()): TinkerPop resets the step, which restarts the
        # CountMatchAlgorithm but leaves the patterns holding what they had not yet given, so
        # those results come out first. (A where(match(...)) or not(match(...)) stops at the
        # first solution, and the next traverser gets the first one left over.)
        shared = ctx.loop_state
        if shared is None:
            shared, fresh_child_run = ctx.step_state, True
        else:
            fresh_child_run = False
        state = shared.get(id(self))
        if state is None:
            state = shared[id(self)] = _Run(self)
        elif fresh_child_run:
            state.restart()
        return self._solve(ctx, traversers, state, bind_start=not nested)

    def _solve(self, ctx: Context, traversers: Iterator[Traverser], state: "_Run",
               bind_start: bool) -> Iterator[Traverser]:
        # TinkerPop's barrier loop: take one result from the first pattern (in the order given)
        # that has one, else the next arriving traverser; emit it if every pattern has run on
        # it (any, for or()), else send it to the next pattern (every pattern, for or()).
        patterns = self.patterns
        pending = state.pending
        every = frozenset(p.index for p in patterns)
        starts = self.start_labels
        is_and = self.connective == "and"
        while True:
            ctx.tick()
            result = _next_result(pending)
            if result is None:
                traverser = next(traversers, None)
                if traverser is None:
                    return
                executed: frozenset = frozenset()
                if traverser.loops:
                    # back on a later pass of a repeat(): what it matched then still counts
                    # and it takes no start variable again (TinkerPop's traverser tags)
                    earlier = _matched_before(traverser, state)
                    if earlier is not None:
                        executed, bind = earlier, False
                    else:
                        bind = bind_start
                else:
                    bind = bind_start
                if bind and not any(label in starts for label in _path_labels(traverser.path)):
                    traverser = traverser.labelled((self.computed_start,))
            else:
                traverser, executed = result
            if self.dedup_labels and state.is_duplicate(traverser):
                continue
            if (executed == every) if is_and else bool(executed):
                if self.dedup_labels:
                    state.dedups.add(state.dedup_key(traverser, strict=True))
                made = traverser.split(self._bindings(traverser))
                if made.loops:
                    made.loops = tagged_loops(made.loops, ((state, executed),))
                yield made
                continue
            if is_and:
                pattern = state.choose(traverser, executed)
                pending[pattern.index].append((state.enter(ctx, pattern, traverser), executed | {pattern.index}))
            else:
                for pattern in patterns:
                    pending[pattern.index].append(
                        (state.enter(ctx, pattern, traverser.copy()), executed | {pattern.index}))

    def _bindings(self, traverser: Traverser) -> dict:
        """Every variable on the path (its last value), keyed in Java HashMap order."""
        found: dict = {}
        node = traverser.path
        nodes = node.nodes() if node is not None else []
        for node in nodes:
            for label in node.labels:
                if label in self.start_labels or label in self.end_labels:
                    found.setdefault(label, None)
        if not found:
            return {}
        for node in nodes:
            for label in node.labels:
                if label in found:
                    found[label] = node.obj
        return {label: found[label] for label in hash_order(found)}


class _Run:
    """One match() step's state while it runs: the CountMatchAlgorithm's statistics, the
    solutions a dedup() folded into it has seen, each pattern's shared step state."""

    def __init__(self, step: MatchStep):
        self.step = step
        self.restart()
        self.dedups: set = set()
        self.pattern_state: dict[int, dict] = {}
        #: per pattern, the runs it has been given (results not yet taken, and what ran)
        self.pending: list[deque] = [deque() for _ in step.patterns]

    def restart(self) -> None:
        """A fresh CountMatchAlgorithm: patterns in the order given, nothing counted."""
        #: [pattern, starts, ends, multiplicity], in the order patterns are tried
        self.bundles: list[list] = [[p, 0, 0, 0.0] for p in self.step.patterns]
        self.by_pattern = {id(bundle[0]): bundle for bundle in self.bundles}
        self.sorts = 0

    def choose(self, traverser: Traverser, executed: frozenset) -> _Pattern:
        """The CountMatchAlgorithm's pick of the next pattern for ``traverser``."""
        labels = _path_labels(traverser.path)
        fallback = None
        for bundle in self.bundles:
            pattern = bundle[0]
            if pattern.index in executed or not all(key in labels for key in pattern.scope_keys()):
                continue
            if pattern.kind != MATCH_TRAVERSAL or (pattern.end_label is not None and pattern.end_label in labels):
                return pattern
            if fallback is None:
                fallback = pattern
        if fallback is None:
            raise TraversalError(f"The provided match pattern is unsolvable: {[b[0] for b in self.bundles]}")
        return fallback

    def enter(self, ctx: Context, pattern: _Pattern, traverser: Traverser) -> Iterator[Traverser]:
        """The results of ``pattern`` for ``traverser``, lazily: started from its variable,
        checked against (or binding) its end variable."""
        if pattern.nested is None:
            # counted in whichever algorithm runs now (a restart may come between), and not for
            # a nested pattern, which has no start step to count its starts (TinkerPop)
            self.by_pattern[id(pattern)][1] += 1
            if pattern.select_key is not None:
                value = _last_on_path(traverser.path, pattern.select_key)
                if value is _MISSING:
                    raise TraversalError(f"The step with label {pattern.select_key} does not exist")
                traverser = traverser.split(value)
        state = self.pattern_state.setdefault(pattern.index, {})
        outer, ctx.loop_state = ctx.loop_state, state
        try:
            stream: Iterator[Traverser] = iter((traverser,))
            if pattern.nested is not None:
                stream = pattern.nested.run(ctx, stream, nested=True)
            stream = pattern.body.run(ctx, stream)
        finally:
            ctx.loop_state = outer
        end = pattern.end_label
        if end is None:
            for result in stream:
                self._record_end(pattern)
                yield result
            return
        # what the end variable is bound to (if it is) is known at the start, unless the
        # pattern's own steps label it: a join tests every result against it
        fixed = _last_on_path(traverser.path, end) if not pattern.labels_end else None
        for result in stream:
            bound = fixed if fixed is not None else _last_on_path(result.path, end)
            if bound is not _MISSING:
                obj = result.obj
                if obj is not bound and (type(obj) in OWN_KEY and type(bound) in OWN_KEY
                                         or not _java_equal(obj, bound)):
                    continue  # (the store holds one record per element: identity is equality)
            self._record_end(pattern)
            yield result.labelled((end,))

    def _record_end(self, pattern: _Pattern) -> None:
        bundle = self.by_pattern[id(pattern)]
        bundle[2] += 1
        bundle[3] = bundle[2] / bundle[1] if bundle[1] else math.inf
        if self.sorts < _EAGER_SORTS or self.sorts % _SORT_EVERY == 0:
            self.bundles.sort(key=lambda b: (b[0].kind, b[3]))
        self.sorts += 1

    def dedup_key(self, traverser: Traverser, strict: bool = False) -> Any:
        values = []
        for label in self.step.dedup_labels:
            value = _last_on_path(traverser.path, label)
            if value is _MISSING:
                if strict:
                    raise TraversalError(f"The step with label {label} does not exist")
                return _MISSING
            values.append(_java_key(value))
        return tuple(values)

    def is_duplicate(self, traverser: Traverser) -> bool:
        key = self.dedup_key(traverser)
        return key is not _MISSING and key in self.dedups


def _matched_before(traverser: Traverser, run: "_Run") -> frozenset | None:
    """The patterns of ``run``'s match() that ``traverser`` completed before, None if it never
    left it: a tag kept beside its loop counts, since only a repeat() brings it back."""
    for entry in traverser.loops:
        if len(entry) > 2:
            for tagged, executed in entry[2]:
                if tagged is run:
                    return executed
    return None


def _next_result(pending: list[deque]) -> tuple[Traverser, frozenset] | None:
    for queue in pending:
        while queue:
            results, executed = queue[0]
            result = next(results, None)
            if result is not None:
                return result, executed
            queue.popleft()
    return None


# --- paths and values -----------------------------------------------------------------------

def _path_labels(node: PathNode | None) -> set:
    labels: set = set()
    while node is not None:
        if node.labels:
            labels |= node.labels
        node = node.parent
    return labels


def _last_on_path(node: PathNode | None, label: str) -> Any:
    while node is not None:
        if label in node.labels:
            return node.obj
        node = node.parent
    return _MISSING


def _number_kind(value: Any) -> type:
    if isinstance(value, float):
        return float
    if isinstance(value, Decimal):
        return Decimal
    return int


def _java_equal(a: Any, b: Any) -> bool:
    """Java's equals(), which TinkerPop's joins use: numbers of different kinds differ
    (29 is not 29.0; this engine does not tell Integer from Long, so those two may meet)."""
    if is_number(a) and is_number(b) and _number_kind(a) is not _number_kind(b):
        return False
    return g_equal(a, b)


def _java_key(value: Any) -> Any:
    return (_number_kind(value), g_hash_key(value)) if is_number(value) else g_hash_key(value)


# --- where() as a pattern -------------------------------------------------------------------

def where_scope_keys(step: WhereStep) -> list[str]:
    """The variables a where() step names (TinkerPop's scope keys), in the order found."""
    if step.traversal is None:
        keys = [step.start_key] if step.start_key is not None else []
        keys.extend(_predicate_labels(step.predicate))
        return keys
    keys = []
    _where_traversal_keys(step.traversal.steps, keys, starts_only=False)
    return keys


def _where_start_key(step: WhereStep) -> str | None:
    """The variable a where() pattern starts from: its start key, or the one start variable
    its traversal names (none when it names several: the where() then selects them itself)."""
    if step.traversal is None:
        return step.start_key
    starts: list[str] = []
    _where_traversal_keys(step.traversal.steps, starts, starts_only=True)
    return starts[0] if len(set(starts)) == 1 else None


def _where_traversal_keys(steps: list[Step], keys: list[str], *, starts_only: bool) -> None:
    first = steps[0] if steps else None
    if first is not None and first.name in ("and", "or", "not") and first.children():
        for child in first.children():
            _where_traversal_keys(child.steps, keys, starts_only=starts_only)
    elif isinstance(first, AsStep):
        keys.append(first.labels[0])
        if all(isinstance(step, AsStep) for step in steps):
            return  # as('a').as('b'): labels of the one start step, which where() replaces
    if not starts_only and len(steps) > 1 and isinstance(steps[-1], AsStep):
        keys.extend(steps[-1].labels)


def _predicate_labels(predicate: Any) -> list[str]:
    if not isinstance(predicate, P):
        return []
    if predicate.operator in ("and", "or"):
        return _predicate_labels(predicate.value) + _predicate_labels(predicate.other)
    if predicate.operator == "not":
        return _predicate_labels(predicate.value)
    value = predicate.value
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return [value] if isinstance(value, str) else []


def _is_tinkerpop_barrier(step: Step) -> bool:
    """A step TinkerPop marks a Barrier (it makes a match() pattern local): reducing and
    collecting barriers, aggregate(), cap(), and global dedup()/range()/limit()/skip()/tail()/
    sample(); not barrier(), which only bulks."""
    if isinstance(step, BarrierStep):
        return False
    if is_barrier(step):
        return True
    if isinstance(step, (DedupStep, RangeStep, TailStep, SampleStep)):
        return getattr(step, "scope", Scope.global_) != Scope.local
    return False


def _describe(steps: list[Step]) -> str:
    return "[" + ", ".join(step.name + "()" for step in steps) + "]"


# --- the compiler's fold (TinkerPop's MatchPredicateStrategy) ---------------------------------

def fold_into_match(steps: list[Step]) -> list[Step]:
    """match().where(x) is match(..., where(x)) and match().dedup('a', 'b') dedups inside the
    match(), also past select() steps without by() in between, as TinkerPop rewrites them."""
    if not any(isinstance(step, MatchStep) for step in steps):
        return steps
    steps = list(steps)
    for match in [step for step in steps if isinstance(step, MatchStep)]:
        position = steps.index(match) + 1
        while position < len(steps):
            after = steps[position]
            if isinstance(after, WhereStep):
                del steps[position]
                match.add_pattern(Traversal([after]))
            elif isinstance(after, DedupStep) and after.scope != Scope.local and after.labels and after.by is None:
                del steps[position]
                match.dedup_labels = tuple(dict.fromkeys(match.dedup_labels + after.labels))
            elif isinstance(after, SelectStep) and not after.bys and after.column is None and after.traversal is None:
                position += 1
            else:
                break
    return steps


def inline_filter_patterns(steps: list[Step]) -> list[Step]:
    """In the root traversal, a pattern of has() filters on the start variable moves in front
    of the match() as those filters labelled with the variable, and a match() left without
    patterns goes, as TinkerPop's InlineFilterStrategy does (so ``V().match(as('a').has(k, v))``
    gives vertices, not maps)."""
    if not any(isinstance(step, MatchStep) for step in steps[1:]):
        return steps
    steps = list(steps)
    changed = True
    while changed:
        changed = False
        for match in [step for step in steps[1:] if isinstance(step, MatchStep)]:
            start = match.start_label_now()
            for pattern in list(match.patterns):
                filters = [step for step in pattern.body.steps if step.name != "identity"]
                if pattern.nested is not None or pattern.select_key != start or \
                        not all(_is_has_filter(step) for step in filters):
                    continue
                match.remove_pattern(pattern)
                if filters:
                    labels = (start,) if pattern.end_label is None else (start, pattern.end_label)
                    filters.append(AsStep(labels))
                position = steps.index(match)
                steps[position:position] = filters
                changed = True
            if not match.patterns:
                steps.remove(match)
    return steps


def _is_has_filter(step: Step) -> bool:
    """A filter TinkerPop builds as a HasStep: has(key, value|P), has(T, value|P), hasLabel(),
    hasId(), hasKey(), hasValue(); not has(key) nor has(key, traversal)."""
    if isinstance(step, HasStep):
        return step.key is not None and step.predicate is not NOTHING and not isinstance(step.predicate, Traversal)
    return step.name in ("hasLabel", "hasId", "hasKey", "hasValue")


@register("match")
def _match(*patterns: Any) -> Step:
    return MatchStep("and", patterns)
