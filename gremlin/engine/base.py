"""The pieces every step is built from: Step, Traversal, the execution Context, the registry.

A compiled traversal is a list of steps; running it chains each step's generator onto the
previous one, so traversers are pulled lazily, one at a time, as TinkerPop's standard
(OLTP) engine does. Barrier steps (order, group, fold...) consume their input first.
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

from ..errors import InvalidArgumentError, LimitExceeded, TraversalCancelled, TraversalTimeout, UnsupportedStepError
from ..storage import GraphStore
from .bytecode import step_names
from .traverser import Traverser

__all__ = ["Step", "Traversal", "Context", "Budget", "register", "STEPS", "ElementFilters"]

STEPS: dict[str, Callable[..., "Step"]] = {}
_SEGMENT = 64
#: Traversal.first before it has looked: a one-step traversal's one_value, or None
_UNSEEN: Any = object()


def register(*names: str) -> Callable:
    def decorate(factory: Callable) -> Callable:
        for name in names:
            STEPS[name] = factory
        return factory
    return decorate


class ElementFilters:
    """Which elements a traversal may see or must stamp (PartitionStrategy, SubgraphStrategy)."""

    def __init__(self) -> None:
        self.vertex: list[Callable[[Context, Any], bool]] = []
        #: edges a step returns (E(), outE(), ...)
        self.edge: list[Callable[[Context, Any], bool]] = []
        #: edges out()/in()/both() walk over: SubgraphStrategy filters them, PartitionStrategy
        #: (like TinkerPop's) only checks the vertex reached
        self.crossed_edge: list[Callable[[Context, Any], bool]] = []
        self.vertex_property: list[Callable[[Context, Any], bool]] = []
        self.write_properties: dict[str, Any] = {}
        self.read_only = False

    def __bool__(self) -> bool:
        return bool(self.vertex or self.edge or self.crossed_edge or self.vertex_property)

    def copy(self) -> "ElementFilters":
        made = ElementFilters()
        made.vertex, made.edge = list(self.vertex), list(self.edge)
        made.crossed_edge, made.vertex_property = list(self.crossed_edge), list(self.vertex_property)
        made.write_properties, made.read_only = dict(self.write_properties), self.read_only
        return made


class Budget:
    """What one execution may still spend, shared by every Context it makes (a SubgraphStrategy
    filter runs in a Context of its own and must stop at the same deadline): the deadline, a
    cancellation test, the largest collection a step may build, and the work counted so far."""

    __slots__ = ("deadline", "cancelled", "max_collection", "ticks")

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        #: polled with the deadline: true once whoever waits for the answer has gone away
        self.cancelled: Callable[[], bool] | None = None
        self.max_collection: int | None = None
        self.ticks = 0

    def start(self, timeout_ms: float | None) -> None:
        """The clock starts now: ``timeout_ms`` from here (None or 0: no deadline)."""
        self.deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None

    def checkpoint(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TraversalTimeout("A timeout occurred during traversal evaluation (evaluationTimeout exceeded)")
        if self.cancelled is not None and self.cancelled():
            raise TraversalCancelled("The traversal was cancelled: nobody waits for its answer any more")


#: Steps whose answer depends on a traverser's whole history, not just its labelled part.
PATH_READERS = frozenset({"path", "simplePath", "cyclicPath", "tree"})


class Context:
    """Everything one traversal's execution shares: the store, side effects, limits."""

    def __init__(self, store: GraphStore, *, profile: Any = None, budget: Budget | None = None):
        self.store = store
        self.profile = profile
        self.side_effects: dict[str, Any] = {}
        self.side_effect_reducers: dict[str, Any] = {}
        self.sack_initial: Any = None
        self.sack_split: Any = None
        self.sack_merge: Any = None
        #: withBulk(false): traversers merged by a barrier keep a bulk of 1 (TinkerPop's ONE_BULK)
        self.one_bulk = False
        self.filters = ElementFilters()
        #: the filters imposed by whoever runs the traversal (impose_strategies), before the
        #: traversal's own: they hold inside a SubgraphStrategy's filter traversals too
        self.imposed: ElementFilters | None = None
        self.productive_by = False
        self.budget = budget if budget is not None else Budget()
        #: The bytecode being run, if known (see reads_paths).
        self.bytecode: Any = None
        self._reads_paths: bool | None = None
        #: State of the steps of the repeat() body being built, shared by every pass through it
        #: (TinkerPop runs one instance of the body); None outside one. See Traversal.apply.
        self.loop_state: dict | None = None
        #: Strategies the traversal removed with withoutStrategies() (filter_strategies.py
        #: reproduces those of TinkerPop's defaults that show in answers).
        self.disabled_strategies: set[str] = set()
        #: SeedStrategy's seed: coin(), sample() and shuffles draw from java.util.Random with it.
        self.seed: int | None = None
        #: State a step keeps for the whole execution (a group() side effect's members), by id(step).
        self.step_state: dict = {}
        #: The graph's services, for call() (a ServiceRegistry; the profile's when None).
        self.services: Any = None

    def tick(self, count: int = 1) -> None:
        """Called per traverser (or once for ``count`` of them, or per value a step goes
        through) by the steps whose work is not bounded by their input; checks the evaluation
        timeout and cancellation every 256."""
        budget = self.budget
        before = budget.ticks
        budget.ticks = after = before + count
        if before >> 8 != after >> 8:
            budget.checkpoint()

    def collecting(self, size: int) -> None:
        """A step is about to hold ``size`` values in one collection (a fold, a side effect, a
        group's members): refused past the execution's limit, before the memory is taken."""
        limit = self.budget.max_collection
        if limit is not None and size > limit:
            raise LimitExceeded(f"A step would collect {size:,} values, more than the {limit:,} this server "
                                f"allows in one collection: narrow the traversal or add limit()")

    @property
    def reads_paths(self) -> bool:
        """Whether some step reads whole paths (path(), simplePath(), cyclicPath()); when none does,
        repeat() may merge traversers that differ only in unlabelled history into one bulk. Found
        from the bytecode the first time a repeat() asks, so other traversals never pay for it."""
        if self._reads_paths is None:
            self._reads_paths = self.bytecode is None or bool(step_names(self.bytecode) & PATH_READERS)
        return self._reads_paths

    def gather(self, traversers: Iterable[Traverser]) -> list[Traverser]:
        """Every traverser reaching a barrier (order(), a global aggregate(), ...), refused once
        more arrive than one collection may hold, before they are all in memory."""
        limit = self.budget.max_collection
        if limit is None:
            return list(traversers)
        gathered = list(islice(traversers, limit + 1))
        if len(gathered) > limit:
            self.collecting(len(gathered))
        return gathered

    # element visibility -------------------------------------------------------------------
    # asked for every element a traversal touches: plain loops, no generator per call
    def vertex_visible(self, vertex: Any) -> bool:
        for passes in self.filters.vertex:
            if not passes(self, vertex):
                return False
        return True

    def edge_visible(self, edge: Any) -> bool:
        for passes in self.filters.edge:
            if not passes(self, edge):
                return False
        return True

    def imposed_allows(self, element: Any, is_vertex: bool) -> bool:
        """May the strategies imposed on this traversal (not its own) see ``element``?"""
        if self.imposed is None:
            return True
        for passes in self.imposed.vertex if is_vertex else self.imposed.edge:
            if not passes(self, element):
                return False
        return True

    def crossing_visible(self, edge: Any, vertex: Any) -> bool:
        """May out()/in()/both() walk over ``edge`` to ``vertex``?"""
        return all(f(self, edge) for f in self.filters.crossed_edge) and self.vertex_visible(vertex)

    def vertex_property_visible(self, vp: Any) -> bool:
        for passes in self.filters.vertex_property:
            if not passes(self, vp):
                return False
        return True


class Step:
    """One step of a traversal. Subclasses implement ``run``; modulators arrive via ``modulate``."""

    name = "step"
    #: A filter step that cannot decide (TinkerPop's ERROR) passes it on to its parent step when
    #: true, reads it as false when false (set by filter_strategies.finish_traversal).
    passes_errors = False
    #: The labels a label-reading step keeps on the paths of the traversers it passes on, dropping
    #: the others; None keeps them all (set by path_retraction.py, TinkerPop's PathRetractionStrategy).
    keep_labels: frozenset | None = None
    #: A step that may raise an ERROR outside any filter (choose() with a predicate option) when
    #: true; filter_strategies.finish_traversal then names the filter after it that reads it.
    raises_errors = False

    def modulate(self, name: str, args: tuple) -> None:
        raise InvalidArgumentError(f"The {self.name}() step cannot be modulated by {name}()")

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        raise NotImplementedError

    def children(self) -> Iterable["Traversal"]:
        return ()

    def declare_side_effects(self, side_effects: dict[str, Any]) -> None:
        """Register the side effect this step writes, empty, before anything runs: TinkerPop
        registers it when the traversal is built, so cap() and select() find it even when the
        step (or the child traversal holding it) never receives a traverser."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}"


class Traversal:
    """A compiled traversal: the steps, run as a chain of generators."""

    __slots__ = ("steps", "rank", "_one_value")

    def __init__(self, steps: list[Step]):
        self.steps = steps
        #: TinkerPop's filter rank of its highest-ranked step, once worked out (filter_strategies.py)
        self.rank: int | None = None
        self._one_value: Any = _UNSEEN

    def run(self, ctx: Context, traversers: Iterable[Traverser]) -> Iterator[Traverser]:
        stream: Iterator[Traverser] = iter(traversers)
        for position, step in enumerate(self.steps):
            if position and not position % _SEGMENT:
                # Each chained generator is a Python stack frame per traverser pulled; a long
                # traversal (a batch of 500 upserts) would overflow the stack, so it runs in
                # lazy segments with a barrier between them.
                stream = iter(ctx.gather(stream))
            stream = step.run(ctx, stream)
        return stream

    def apply(self, ctx: Context, traverser: Traverser) -> Iterator[Traverser]:
        """Run as a child on one traverser (a copy with bulk 1: children count their own), with
        fresh step state, as TinkerPop resets a local child for each traverser."""
        outer = ctx.loop_state
        if outer is None:  # the common case: not inside a repeat() body being built
            return self.run(ctx, (traverser.copy(1),))
        ctx.loop_state = None
        try:
            return self.run(ctx, (traverser.copy(1),))
        finally:
            ctx.loop_state = outer

    def values(self, ctx: Context, traverser: Traverser) -> Iterator[Any]:
        for result in self.apply(ctx, traverser):
            yield result.obj

    def first(self, ctx: Context, traverser: Traverser, default: Any = None) -> Any:
        one = self._one_value
        if one is _UNSEEN:  # looked up on the first call: the steps are final once the traversal runs
            steps = self.steps
            one = self._one_value = getattr(steps[0], "one_value", None) if len(steps) == 1 else None
        if one is not None:  # select('k'), id(), ...: one value from the traverser, no child run
            return one(ctx, traverser, default)
        for result in self.apply(ctx, traverser):
            return result.obj
        return default

    def has_result(self, ctx: Context, traverser: Traverser) -> bool:
        for _ in self.apply(ctx, traverser):
            return True
        return False

    def is_identity(self) -> bool:
        return not self.steps

    def declare_side_effects(self, side_effects: dict[str, Any]) -> None:
        for step in self.all_steps():
            step.declare_side_effects(side_effects)

    def all_steps(self) -> Iterator[Step]:
        """Every step, children's included, depth first (a stack: nested generators cost a
        frame per level for every step they pass on, and every execute walks them all)."""
        pending = [iter(self.steps)]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                pending.pop()
                continue
            yield step
            children = step.children()
            if children:
                pending.append(iter([s for child in children for s in child.steps]))


def unsupported(name: str, why: str = "") -> UnsupportedStepError:
    detail = f": {why}" if why else ""
    return UnsupportedStepError(f"The {name}() step is not supported by this engine{detail}")
