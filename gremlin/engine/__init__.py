"""The in-process graph engine: executes gremlinpython Bytecode against a Store.

    graph = Graph()                                   # TinkerGraph semantics, in memory
    graph.execute(bytecode) -> list[Traverser]        # detached gremlinpython values
    graph.execute(bytecode, options, imposed=[ReadOnlyStrategy()], limits=Limits(timeout_ms=30_000))

Each execution is one transaction: it sees no other traversal's partial writes, and if it
fails, nothing it wrote remains. ``imposed`` strategies and ``limits`` come from whoever runs
the traversal (a server, for its client) and nothing in the bytecode undoes them.
"""

from __future__ import annotations

from typing import Any, Iterable

from gremlin_python.process.traversal import Bytecode, TraversalStrategy
from gremlin_python.process.traversal import Traverser as GTraverser

from ..errors import EngineFault, GremlinError, LimitExceeded, TraversalError
from ..heap import paused_for_traversal
from ..storage import GraphStore, Store
from .base import Context, Traversal
from .compiled import CompiledTraversals
from .compiler import compile_bytecode
from .detach import detach_traversers
from .limits import NO_LIMITS, Limits, at_most, budget_for
from .optimize import optimize
from .profiles import Profile, profile_named
from .services import Service, ServiceRegistry
from .steps_filter import PredicateError
from .steps_graph import ROOT
from .strategies import apply_source_instructions, impose_strategies, settle_imposed
from .traverser import Traverser

__all__ = ["Graph", "Limits", "Profile", "profile_named", "Service", "ServiceRegistry"]


class _EngineErrors:
    """Python's own failures while compiling or running a traversal, as GremlinErrors a client
    can read (a bug in a step still names its type). A class, not a generator context manager:
    every traversal enters it twice."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, trace: Any) -> bool:
        if kind is None or issubclass(kind, GremlinError):
            return False
        if issubclass(kind, PredicateError):
            # an ERROR no filter step read (an option()'s predicate comparing what does not
            # compare): TinkerPop's GremlinTypeErrorException fails the traversal
            raise TraversalError("A predicate compared values that do not compare, outside any filter") from None
        if issubclass(kind, RecursionError):
            raise TraversalError("The traversal nests too deeply to evaluate") from None
        if issubclass(kind, MemoryError):
            raise LimitExceeded("The traversal needs more memory than it may use: narrow it") from None
        if issubclass(kind, (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError, OverflowError)):
            raise EngineFault(f"{kind.__name__}: {error}") from error
        return False


_engine_errors = _EngineErrors()


class Graph:
    """A TinkerPop-compatible graph: a Store, a profile (tinkergraph or neptune), an engine."""

    def __init__(self, store: GraphStore | None = None, *, profile: str | Profile | None = None,
                 optimize: bool = True, services: ServiceRegistry | None = None):
        self.profile = profile if isinstance(profile, Profile) else profile_named(profile)
        self.store = store if store is not None else Store(id_kind=self.profile.id_kind)
        self.optimize = optimize
        #: recent traversals compiled, by shape (compiled.py)
        self.compiled = CompiledTraversals()
        #: what call() can run: the profile's services unless given; register() adds more
        self.services = services if services is not None else self.profile.service_registry()

    def execute(self, bytecode: Bytecode, options: dict | None = None, *,
                imposed: Iterable[TraversalStrategy] = (), limits: Limits = NO_LIMITS) -> list[GTraverser]:
        """Run one traversal atomically; results are detached gremlinpython Traversers.
        ``imposed``: restricting strategies applied after the bytecode's own (see strategies.py);
        ``limits``: what the traversal may use (see limits.py)."""
        options = dict(options or {})
        ctx = Context(self.store, profile=self.profile, budget=budget_for(limits))
        ctx.services = self.services
        impose_strategies(ctx, imposed)
        apply_source_instructions(ctx, bytecode, options)
        settle_imposed(ctx)
        requested = options.get("evaluationTimeout") or options.get("scriptEvaluationTimeout")
        ctx.budget.start(limits.timeout_for(requested))
        ctx.bytecode = bytecode
        with _engine_errors:
            traversal = self.compiled.traversal(bytecode, ctx.disabled_strategies,
                                                lambda: self._compile(bytecode, ctx.disabled_strategies))
            traversal.declare_side_effects(ctx.side_effects)
        materialize = not self.profile.references_only and options.get("materializeProperties", "all") != "tokens"
        properties_from = self.store if materialize else None
        root = Traverser(ROOT, 1, None, (), ctx.sack_initial)
        with paused_for_traversal(), self.store.transaction(), _engine_errors:
            return detach_traversers(at_most(traversal.run(ctx, (root,)), limits.max_results), properties_from)

    def _compile(self, bytecode: Bytecode, disabled: Iterable[str]) -> Traversal:
        traversal = compile_bytecode(bytecode, frozenset(disabled))
        return optimize(traversal) if self.optimize else traversal

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
