"""Branching steps: repeat (times/until/emit/loops), union, coalesce, choose, optional, local."""

from __future__ import annotations

from itertools import chain
from typing import Any, Iterator

from gremlin_python.process.traversal import P, Pick, Scope

from ..errors import InvalidArgumentError, TraversalError
from .base import Context, Step, Traversal, register
from .nearest_first import nearest_first, walkable
from .common import NOTHING, Projection, batched, enum_name, merge_bulks, require_traversals
from .steps_filter import DedupStep, PredicateError, RangeStep, SampleStep, TailStep
from .steps_extra import is_lambda_holder
from .steps_reduce import is_barrier, is_reducing_barrier
from .traverser import Traverser, tagged_loops
from .values import g_hash_key, predicate_truth, test_predicate


class RepeatStep(Step):
    """repeat(body) with times(n), until(cond), emit([cond]); a modulator before repeat() is
    checked before the first pass (while-do), after it once per pass (do-while)."""

    name = "repeat"

    #: unrolled, the last pass leaves through RepeatUnrollStrategy's barrier, which it adds only
    #: when no barrier step follows the repeat() (the compiler says)
    merges_last_pass = True

    def __init__(self, args: tuple):
        if len(args) == 2:
            self.loop_name, self.body = args
        elif len(args) == 1:
            self.loop_name, self.body = None, args[0]
        else:
            raise InvalidArgumentError("repeat() takes a traversal and an optional loop name")
        if not isinstance(self.body, Traversal):
            raise InvalidArgumentError("repeat() takes a traversal")
        self.times: int | None = None
        self.until: Traversal | None = None
        self.until_first = False
        self.emit: Traversal | None = None
        self.emit_all = False
        self.emit_first = False
        #: The body's vertex step, when the optimizer found this repeat() can be a breadth-first
        #: search (nearest_first.py).
        self.nearest_first_by: Any = None
        #: The plain dedup() after such a repeat(): the search dedups for it.
        self.nearest_first_dedup: Any = None

    def children(self) -> list:
        return [t for t in (self.body, self.until, self.emit) if isinstance(t, Traversal)]

    def takes_modulator(self, name: str) -> bool:
        """Whether a loop modulator after this repeat() is its own: until() and times() share one
        place (times(n) is an until() of the loop count), emit() has the other."""
        if name == "emit":
            return self.emit is None and not self.emit_all
        return self.until is None and self.times is None

    def modulate(self, name: str, args: tuple, before: bool = False) -> None:
        if name == "times":
            self.times = int(args[0])
            self.until_first = self.until_first or before
        elif name == "until":
            self.until = _condition(args)
            self.until_first = before
        elif name == "emit":
            if args:
                self.emit = _condition(args)
            else:
                self.emit_all = True
            self.emit_first = before
        else:
            super().modulate(name, args)

    def _should_emit(self, ctx: Context, traverser: Traverser) -> bool:
        if self.emit_all:
            return True
        return self.emit is not None and self.emit.has_result(ctx, traverser)

    def _done(self, ctx: Context, traverser: Traverser) -> bool:
        if self.times is not None and traverser.loop_count(self.loop_name) >= self.times:
            return True
        return self.until is not None and self.until.has_result(ctx, traverser)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        # One body serves every pass and every traverser, so its steps' state (dedup()'s seen
        # values, limit()'s count) is shared; a repeat() nested in another's body shares the
        # outer one's. TinkerPop unrolls repeat(x).times(n) into x n times over (not when x has a
        # global dedup(), loops() or a lambda), so there each pass has a fresh x and the starts go together, in
        # batches, through barriers that bulk them.
        state = {} if ctx.loop_state is None else ctx.loop_state.setdefault(id(self), {})
        if self.nearest_first_by is not None:
            # chained, not re-yielded: a search yields hundreds of traversers per start
            seen = self.nearest_first_dedup.seen(ctx)
            return chain.from_iterable(self._nearest_first(ctx, traverser, state, seen) for traverser in traversers)
        if unrolled_by_strategy(self):
            batches = batched(traversers, _UNROLL_BATCH) if not ctx.reads_paths else ([t] for t in traversers)
            return (result for batch in batches for result in self._loop(ctx, batch, state, per_pass=True))
        return (result for traverser in traversers for result in self._loop(ctx, [traverser], state))

    def _nearest_first(self, ctx: Context, traverser: Traverser, state: dict, seen: set) -> Iterator[Traverser]:
        if walkable(traverser):
            return nearest_first(ctx, self.nearest_first_by, self.times, traverser, seen)
        return self.nearest_first_dedup.deduped(ctx, self._loop(ctx, [traverser], state), seen)

    def verify(self) -> None:
        """TinkerPop's StandardVerificationStrategy: a reducing barrier straight in the body of a
        repeat() that RepeatUnrollStrategy leaves in place (one with until() or emit()) is refused."""
        if self.body is not None and not unrolled_by_strategy(self):
            for step in self.body.steps:
                if is_reducing_barrier(step):
                    raise InvalidArgumentError(
                        f"The parent of a reducing barrier can not be repeat()-step: {step.name}()")

    def _loop(self, ctx: Context, starts: list[Traverser], state: dict,
              per_pass: bool = False) -> Iterator[Traverser]:
        """The walk of ``starts``; ``state`` holds the body's step state, one per pass if ``per_pass``."""
        # Breadth first, as TinkerPop's standard engine feeds looped traversers back through a
        # FIFO queue: nearer results come out first, so a limit() after repeat() keeps the
        # closest ones. Lazy within a level, so a limit() stops the walk early.
        frontier = []
        for start in starts:
            entered = Traverser(start.obj, start.bulk, start.path, start.loops + ((self.loop_name, 0),),
                                start.sack)
            if self.until_first and self._done(ctx, entered):
                yield _exit(entered)
                continue
            if self.emit_first and self._should_emit(ctx, entered):
                yield _exit(entered)
            frontier.append(entered)
        level = 0
        times, until, emit_all = self.times, self.until, self.emit_all
        emit_after_until = self.until_first and not self.emit_first and (emit_all or self.emit is not None)
        while frontier:
            level += 1
            # Every traverser of a level has looped the same number of times.
            counted: dict = {}
            next_frontier = []
            outer_state, ctx.loop_state = ctx.loop_state, (state.setdefault(level, {}) if per_pass else state)
            try:
                results = self.body.run(ctx, iter(frontier))
            finally:
                ctx.loop_state = outer_state
            # unrolled (per_pass), the last pass ends in a barrier as every other does
            # (RepeatUnrollStrategy's NoOpBarrierStep): its traversers leave merged
            last_merged: list[Traverser] | None = [] if per_pass and times is not None and level >= times \
                and not ctx.reads_paths and self.merges_last_pass else None
            for result in results:
                ctx.tick()
                loops = counted.get(result.loops)
                if loops is None:
                    # (a match() in the body may have tagged the entry: the tags stay; a barrier
                    # in the body, fold() say, gives traversers with no loop entry at all)
                    tags = result.loops[-1][2:] if result.loops else ()
                    loops = counted[result.loops] = result.loops[:-1] + ((self.loop_name, level, *tags),)
                result.loops = loops
                if last_merged is not None:
                    last_merged.append(_exit(result))
                    continue
                if emit_after_until and (emit_all or self.emit.has_result(ctx, result)):
                    # TinkerPop's RepeatEndStep emits (emit() after repeat()) before the traverser
                    # goes back to the RepeatStep, which tests a while-do until(): one that ends
                    # there leaves twice, emitted and done
                    yield _exit(result)
                if (times is not None and level >= times) or \
                        (until is not None and until.has_result(ctx, result)):
                    yield _exit(result)
                    continue
                if not emit_after_until and (emit_all or (self.emit is not None and self.emit.has_result(ctx, result))):
                    yield _exit(result)
                next_frontier.append(result)
            if last_merged is not None:
                yield from merge_bulks(last_merged, ctx)
            frontier = next_frontier if ctx.reads_paths else merge_bulks(next_frontier, ctx)


#: How many starts an unrolled repeat() walks together.
_UNROLL_BATCH = 1000


def _exit(traverser: Traverser) -> Traverser:
    loops = traverser.loops
    left = loops[:-1]
    if len(loops[-1]) > 2 and left:
        # a match() in the body tagged it: an outer loop may bring it back there (TinkerPop's
        # tags last the traverser's life; outside every repeat() nothing reads them)
        left = tagged_loops(left, loops[-1][2])
    return Traverser(traverser.obj, traverser.bulk, traverser.path, left, traverser.sack)


def _condition(args: tuple) -> Traversal:
    if not args:
        raise InvalidArgumentError("until() needs a traversal or a predicate")
    cond = args[0]
    if isinstance(cond, Traversal):
        return cond
    if isinstance(cond, P):
        return Traversal([_PredicateStep(cond)])
    raise InvalidArgumentError("until()/emit() take a traversal or a predicate, not a lambda")


class _PredicateStep(Step):
    name = "is"

    def __init__(self, predicate: P):
        self.predicate = predicate

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            if test_predicate(self.predicate, traverser.obj):
                yield traverser


@register("repeat")
def _repeat(*args: Any) -> Step:
    return RepeatStep(args)


def holds_barrier(branch: Traversal) -> bool:
    """Whether a branch holds a barrier anywhere, its children included (TinkerPop's Barrier
    steps: the reducing and collecting steps, barrier(), cap(), and the global dedup(), range()
    and tail()): then every traverser goes in before any result comes out."""
    for step in branch.all_steps():
        if is_barrier(step):
            return True
        if isinstance(step, (DedupStep, RangeStep, SampleStep, TailStep)) and getattr(step, "scope", None) != Scope.local:
            return True
    return False


class UnionStep(Step):
    name = "union"

    def __init__(self, branches: tuple):
        for branch in branches:
            if not isinstance(branch, Traversal):
                raise InvalidArgumentError("union() takes traversals")
        self.branches = branches
        self._barrier: bool | None = None  # whether a branch holds one: worked out on the first run

    def children(self) -> tuple:
        return self.branches

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self._barrier is None:  # the branches are final once the traversal runs
            self._barrier = any(holds_barrier(branch) for branch in self.branches)
        if not self._barrier:
            # as TinkerPop's BranchStep: one traverser at a time, through each branch in turn
            return (result for traverser in traversers for branch in self.branches
                    for result in branch.run(ctx, (traverser.copy(),)))
        return self._run_together(ctx, traversers)

    def _run_together(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        # A branch with a barrier sees every traverser, as in TinkerPop: a count() inside a
        # branch counts all that reach it, not one traverser's share.
        inputs = ctx.gather(traversers)
        if not inputs:
            return  # TinkerPop's BranchStep polls only a branch that was given a traverser: no seed
        if not ctx.reads_paths:  # each branch's start holds them in a TraverserSet, equal ones merged
            inputs = merge_bulks(inputs, ctx)
        for branch in self.branches:
            yield from branch.run(ctx, (t.copy() for t in inputs))


@register("union")
def _union(*branches: Any) -> Step:
    return UnionStep(branches)


class CoalesceStep(Step):
    name = "coalesce"

    def __init__(self, branches: tuple):
        self.branches = branches

    def children(self) -> tuple:
        return self.branches

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        # TinkerPop's CoalesceStep is a FlatMapStep: the first branch with results gives their
        # values, each one step on from the traverser that came in (the branch's own path, labels
        # and sack changes stay in the branch), as flatMap() does; a branch sees the traverser
        # at a bulk of 1 (its side effects and barriers count it once)
        for traverser in traversers:
            for branch in self.branches:
                results = iter(branch.run(ctx, (traverser.copy(1),)))
                first = next(results, None)
                if first is not None:
                    yield traverser.split_on(first)
                    for result in results:
                        yield traverser.split_on(result)
                    break


@register("coalesce")
def _coalesce(*branches: Any) -> Step:
    require_traversals("coalesce", branches)
    return CoalesceStep(branches)


class OptionalStep(Step):
    name = "optional"

    def __init__(self, child: Traversal):
        self.child = child
        self._barrier: bool | None = None  # whether the child holds one: worked out on the first run

    def children(self) -> tuple:
        return (self.child,)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self._barrier is None:
            self._barrier = holds_barrier(self.child)
        if self._barrier:
            # TinkerPop's OptionalStep asks its child for a leftover result before it hands it the
            # first traverser: a reducing barrier there (fold(), count(), groupCount()) answers
            # that first question with its seed, once per run of the step, traversers or none
            yield from self.child.run(ctx, iter(()))
        for traverser in traversers:
            results = iter(self.child.run(ctx, (traverser,)))
            first = next(results, None)
            if first is None:
                yield traverser
            else:
                yield first
                yield from results


@register("optional")
def _optional(child: Any) -> Step:
    require_traversals("optional", (child,))
    return OptionalStep(child)


class LocalStep(Step):
    name = "local"

    def __init__(self, child: Traversal):
        self.child = child

    def children(self) -> tuple:
        return (self.child,)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        steps = self.child.steps
        one = getattr(steps[0], "one_value", None) if len(steps) == 1 else None
        if one is not None:
            # local(elementMap()), local(project(...)): one value or none per traverser, without
            # a child run (a chain of generators) for each, as a walk's rows are made
            for traverser in traversers:
                value = one(ctx, traverser, NOTHING)
                if value is not NOTHING:
                    yield traverser.split(value)
            return
        for traverser in traversers:
            yield from self.child.run(ctx, (traverser,))


@register("local")
def _local(child: Any) -> Step:
    require_traversals("local", (child,))
    return LocalStep(child)


class ChooseStep(Step):
    """choose(cond, true, false), choose(cond, true), or choose(selector).option(key, branch)."""

    name = "choose"

    def __init__(self, args: tuple):
        self.options: list[tuple[Any, Traversal]] = []
        self.predicate: Any = None
        if len(args) in (2, 3):
            self.condition = args[0] if isinstance(args[0], Traversal) else None
            if isinstance(args[0], P):
                self.predicate = args[0]
            elif self.condition is None:
                raise InvalidArgumentError("choose() takes a traversal or predicate as its condition")
            self.true_branch = args[1]
            self.false_branch = args[2] if len(args) == 3 else Traversal([])
            self.selector: Projection | None = None
        elif len(args) == 1:
            self.condition = None
            self.selector = Projection(args[0])
        else:
            raise InvalidArgumentError("choose() takes 1 to 3 arguments")

    def children(self) -> list:
        out = [t for _, t in self.options]
        if self.selector is None:
            out += [b for b in (self.condition, self.true_branch, self.false_branch) if isinstance(b, Traversal)]
        return out

    def modulate(self, name: str, args: tuple) -> None:
        if name != "option" or self.selector is None:
            super().modulate(name, args)
        if len(args) != 2:
            raise InvalidArgumentError("option() takes a key and a traversal")
        key, branch = args
        if not isinstance(branch, Traversal):
            raise InvalidArgumentError("option() takes a traversal as its branch")
        if isinstance(key, P):
            self.raises_errors = True
        if isinstance(key, Pick) and self.name == "choose":
            # choose() sends a traverser down one branch: any would be a second (branch() allows it)
            if enum_name(key) == "any":
                raise InvalidArgumentError("Choose step can not have an any-option as only one option per "
                                           "traverser is allowed")
            if any(isinstance(option, Pick) and enum_name(option) == enum_name(key) for option, _ in self.options):
                raise InvalidArgumentError(f"Choose step can only have one traversal per pick token: {enum_name(key)}")
        self.options.append((key, branch))

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        branches = [t for _, t in self._options_in_order()] if self.selector is not None else \
            [b for b in (self.true_branch, self.false_branch) if isinstance(b, Traversal)]
        if not any(holds_barrier(branch) for branch in branches):
            return (result for traverser in traversers for branch in self._route(ctx, traverser)
                    for result in branch.run(ctx, (traverser,)))
        return self._run_together(ctx, traversers, branches)

    def _run_together(self, ctx: Context, traversers: Iterator[Traverser], branches: list) -> Iterator[Traverser]:
        """A branch with a barrier (fold(), count()) reduces every traverser sent to it, as
        TinkerPop's branches are one traversal each: route them all, then run each branch once."""
        routed: dict[int, list[Traverser]] = {}
        for traverser in traversers:
            for branch in self._route(ctx, traverser):
                routed.setdefault(id(branch), []).append(traverser)
        for branch in dict.fromkeys(branches):
            if id(branch) in routed:
                # the branch's start holds them in a TraverserSet: equal ones merge, as in union()
                arrived = routed[id(branch)] if ctx.reads_paths else merge_bulks(routed[id(branch)], ctx)
                yield from branch.run(ctx, iter(arrived))

    #: branch() of a T token or Column: each traverser fails (see _branch)
    selects_traverser = False

    #: the filter step after this one that reads an ERROR of an option's predicate as false
    #: (filter_strategies.finish_traversal), when its traversal has one
    error_reader: Step | None = None

    def _route(self, ctx: Context, traverser: Traverser) -> list[Traversal]:
        """The branches ``traverser`` goes down (none when its option's predicate cannot decide
        and a filter step after this one drops it, as TinkerPop's does)."""
        if self.error_reader is None:
            return self._branches_of(ctx, traverser)
        try:
            return self._branches_of(ctx, traverser)
        except PredicateError:
            if self.error_reader.passes_errors:
                raise
            return []

    def _branches_of(self, ctx: Context, traverser: Traverser) -> list[Traversal]:
        if self.selector is None:
            if self.predicate is not None:
                chosen = test_predicate(self.predicate, traverser.obj)
            else:
                chosen = self.condition.has_result(ctx, traverser)
            return [self.true_branch if chosen else self.false_branch]
        if self.selects_traverser:
            raise TraversalError(f"branch({self.selector!r}) reads the traverser, not its object: a Traverser "
                                 "cannot be cast to an Element, a Map or a Path")
        key = self.selector(ctx, traverser)
        if key is NOTHING:  # TinkerPop's branch() needs a value to pick an option by
            raise TraversalError(f"The provided traverser does not map to a value: {traverser.obj!r} "
                                 f"in {self.name}()")
        chosen = [branch for option, branch in self.options if _option_matches(option, key, ctx, traverser)]
        picks = {"any"} if chosen else {"any", "none"}
        # TinkerPop reads its pick-token branches before those of values (BranchStep's children)
        return [branch for option, branch in self.options
                if isinstance(option, Pick) and enum_name(option) in picks] + chosen

    def _options_in_order(self) -> list[tuple[Any, Traversal]]:
        """The options pick tokens first, as TinkerPop holds and reads them."""
        return sorted(self.options, key=lambda option: not isinstance(option[0], Pick))


def _option_matches(option: Any, key: Any, ctx: Context, traverser: Traverser) -> bool:
    if isinstance(option, Pick):
        return False
    if isinstance(option, P):
        # an option's predicate is no filter: a comparison that cannot decide (ERROR: lt(1) of a
        # string) goes on up, to a filter() or where() above that reads it as false, or out of
        # the traversal as an error
        truth = predicate_truth(option, key)
        if truth is None:
            raise PredicateError()
        return truth
    if isinstance(option, Traversal):
        return option.has_result(ctx, traverser)
    return g_hash_key(option) == g_hash_key(key)


@register("choose")
def _choose(*args: Any) -> Step:
    if not args or any(arg is None for arg in args):
        raise InvalidArgumentError(f"choose() takes a traversal, a predicate or a function, not {args!r}")
    return ChooseStep(args)


@register("branch")
def _branch(selector: Any) -> Step:
    if selector is None:
        raise InvalidArgumentError("branch() takes a traversal or a function, not null")
    step = ChooseStep((selector,))
    step.name = "branch"
    # TinkerPop's branch(Function) maps the traverser itself by the function (choose() maps its
    # object): a T token or a Column given there meets a Traverser, which it cannot read
    step.selects_traverser = not isinstance(selector, Traversal)
    return step


def unrolled_by_strategy(repeat: RepeatStep) -> bool:
    """RepeatUnrollStrategy's test: times(n > 0), no emit() or until(), and in the body no global
    dedup() (its global children looked into) nor loops() or lambda (sack(operator)) anywhere."""
    if repeat.times is None or repeat.times <= 0 or repeat.until is not None or repeat.emit is not None \
            or repeat.emit_all:
        return False
    for step in repeat.body.all_steps():
        if step.name == "loops" or is_lambda_holder(step):
            return False
    return not _has_global_dedup(repeat.body)


def _has_global_dedup(traversal: Traversal) -> bool:
    for step in traversal.steps:
        if isinstance(step, DedupStep) and step.scope != step.scope.local:
            return True
        for child in global_children(step):
            if _has_global_dedup(child):
                return True
    return False


def global_children(step: Step) -> list[Traversal]:
    """The children of a branching step a global dedup() in them dedups across (RepeatUnrollStrategy's look)."""
    if isinstance(step, RepeatStep):
        return [step.body]
    if isinstance(step, UnionStep):
        return list(step.branches)
    if isinstance(step, ChooseStep):
        return [t for _, t in step.options] + [t for t in (getattr(step, "true_branch", None),
                                                         getattr(step, "false_branch", None))
                                               if isinstance(t, Traversal)]
    return []
