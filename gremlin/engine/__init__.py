"""The in-process graph engine: executes gremlinpython Bytecode against a Store.

    graph = Graph()                                   # TinkerGraph semantics, in memory
    graph.execute(bytecode) -> list[Traverser]        # detached gremlinpython values

Each execution is one transaction: it sees no other traversal's partial writes, and if it
fails, nothing it wrote remains.
"""

from __future__ import annotations

import time
from typing import Any

from gremlin_python.process.traversal import Bytecode
from gremlin_python.process.traversal import Traverser as GTraverser

from ..errors import GremlinError, TraversalError
from ..heap import paused_for_traversal
from ..storage import GraphStore, Store
from .base import Context
from .compiler import compile_bytecode
from .detach import detach_traversers
from .optimize import optimize
from .profiles import Profile, profile_named
from .services import Service, ServiceRegistry
from .steps_graph import ROOT
from .strategies import apply_source_instructions
from .traverser import Traverser

__all__ = ["Graph", "Profile", "profile_named", "Service", "ServiceRegistry"]


class Graph:
    """A TinkerPop-compatible graph: a Store, a profile (tinkergraph or neptune), an engine."""

    def __init__(self, store: GraphStore | None = None, *, profile: str | Profile | None = None,
                 optimize: bool = True, services: ServiceRegistry | None = None):
        self.profile = profile if isinstance(profile, Profile) else profile_named(profile)
        self.store = store if store is not None else Store(id_kind=self.profile.id_kind)
        self.optimize = optimize
        #: what call() can run: the profile's services unless given; register() adds more
        self.services = services if services is not None else self.profile.service_registry()

    def execute(self, bytecode: Bytecode, options: dict | None = None) -> list[GTraverser]:
        """Run one traversal atomically; results are detached gremlinpython Traversers."""
        options = dict(options or {})
        ctx = Context(self.store, profile=self.profile)
        ctx.services = self.services
        apply_source_instructions(ctx, bytecode, options)
        timeout_ms = options.get("evaluationTimeout") or options.get("scriptEvaluationTimeout")
        if timeout_ms:
            ctx.deadline = time.monotonic() + float(timeout_ms) / 1000.0
        traversal = compile_bytecode(bytecode, ctx.disabled_strategies)
        traversal.declare_side_effects(ctx.side_effects)
        ctx.bytecode = bytecode
        if self.optimize:
            optimize(traversal)
        materialize = not self.profile.references_only and options.get("materializeProperties", "all") != "tokens"
        properties_from = self.store if materialize else None
        root = Traverser(ROOT, 1, None, (), ctx.sack_initial)
        with paused_for_traversal(), self.store.transaction():
            try:
                results = detach_traversers(traversal.run(ctx, (root,)), properties_from)
            except GremlinError:
                raise
            except RecursionError:
                raise TraversalError("The traversal nests too deeply to evaluate") from None
            except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError, OverflowError) as error:
                raise TraversalError(f"{type(error).__name__}: {error}") from error
        return results

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
