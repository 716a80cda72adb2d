"""call(): run a service of the graph's registry (services.py), with TinkerPop's CallStep semantics.

``call()`` lists the services, ``call(name)`` runs one; its parameters come from a map
(``call(name, map)``), from a traversal that gives a map for each traverser (``call(name,
traversal)``, both: ``call(name, map, traversal)``) and from ``with(key, value)`` modulators, whose
value may be a traversal too; later sources override earlier ones key by key. As the first step
of a traversal (``g.call(...)``) the service starts it; mid-traversal it streams (once per
traverser) or, for a Barrier service, takes the traversers gathered.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import InvalidArgumentError, TraversalError, UnsupportedStepError
from .base import Context, Step, Traversal, register
from .common import NOTHING, batched
from .profiles import profile_named
from .services import BARRIER, MIXED_PARAMETERS, START, ServiceRegistry
from .traverser import Traverser
from .values import g_hash_key

__all__ = ["CallStep", "mark_start"]


class CallStep(Step):
    name = "call"

    def __init__(self, args: tuple):
        rest = list(args)
        self.service_name = rest.pop(0) if rest else None
        if self.service_name is not None and not isinstance(self.service_name, str):
            raise InvalidArgumentError(f"call() takes a service name, not {self.service_name!r}")
        self.static: dict = dict(rest.pop(0)) if rest and isinstance(rest[0], dict) else {}
        self.map_traversal: Traversal | None = rest.pop(0) if rest and isinstance(rest[0], Traversal) else None
        if rest:
            raise InvalidArgumentError("call() takes a service name, a map of parameters and a traversal giving "
                                       f"a map of parameters, not {rest!r}")
        #: with(key, value) modulators: the last value given for a key counts
        self.configured: dict = {}
        #: set by the compiler when this is the first step of the traversal (g.call(...))
        self.starts = False

    def modulate(self, name: str, args: tuple) -> None:
        if name != "with" or not args:
            super().modulate(name, args)
        self.configured[args[0]] = args[1] if len(args) > 1 else True

    def children(self) -> list[Traversal]:
        found = [self.map_traversal] if self.map_traversal is not None else []
        return found + [value for value in self.configured.values() if isinstance(value, Traversal)]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.service_name is None and not self.starts:
            raise InvalidArgumentError("call() mid-traversal needs the name of a service")
        # resolved before any traverser arrives: an unknown service, or one that cannot run
        # here, is an error even when no traverser reaches it (as in TinkerPop)
        registry = service_registry(ctx)
        service, kind = registry.resolve(self.service_name, self.starts, self.static)
        if ctx.imposed is not None and service is not registry.directory:
            # a service reads the store as it likes (tinker.search scans every element, as
            # TinkerGraph's does): under strategies imposed on the traversal it would see past them
            raise UnsupportedStepError(f"call('{self.service_name}') is not available to this traversal: a service "
                                       "sees the whole graph, past the strategies that confine it")
        if kind == START:
            return self._start(ctx, service, traversers)
        if kind == BARRIER:
            return self._barrier(ctx, service, traversers)
        return self._stream(ctx, service, traversers)

    def _start(self, ctx: Context, service: Any, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        sack = None
        for root in traversers:  # the traversal's root, carrying withSack()'s initial value
            sack = root.sack
        params = self._params(ctx, Traverser.start(None, sack=sack))
        for value in service.start(ctx, params):
            yield value if isinstance(value, Traverser) else Traverser.start(value, sack=sack)

    def _stream(self, ctx: Context, service: Any, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            for value in service.stream(ctx, traverser, self._params(ctx, traverser)):
                yield value if isinstance(value, Traverser) else traverser.split(value)

    def _barrier(self, ctx: Context, service: Any, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for chunk in batched(traversers, service.max_barrier_size):
            if self.map_traversal is None and not self.configured:
                params = dict(self.static)
            else:
                # one call for the chunk: its traversers must agree on the parameters
                distinct = {g_hash_key(p): p for p in (self._params(ctx, t) for t in chunk)}
                if len(distinct) > 1:
                    raise TraversalError(MIXED_PARAMETERS)
                params = next(iter(distinct.values()))
            for value in service.barrier(ctx, chunk, params):
                # a value has no traverser to continue: it starts a new path
                yield value if isinstance(value, Traverser) else Traverser.start(value)

    def _params(self, ctx: Context, traverser: Traverser) -> dict:
        params = dict(self.static)
        if self.map_traversal is not None:
            found = _produce(ctx, self.map_traversal, traverser)
            if not isinstance(found, dict):
                raise InvalidArgumentError(
                    f"call() parameters from a traversal must be a map, not {type(found).__name__}")
            params.update(found)
        for key, value in self.configured.items():
            params[key] = _produce(ctx, value, traverser) if isinstance(value, Traversal) else value
        return params

    def __repr__(self) -> str:
        return f"CallStep({self.service_name})"


def _produce(ctx: Context, traversal: Traversal, traverser: Traverser) -> Any:
    value = traversal.first(ctx, traverser, NOTHING)
    if value is NOTHING:
        raise TraversalError(f"The provided traverser does not map to a value: {traversal.steps}")
    return value


def service_registry(ctx: Context) -> ServiceRegistry:
    """The registry of the graph the traversal runs on (its profile's, for a bare Context)."""
    registry = ctx.services
    if registry is None:
        profile = ctx.profile if ctx.profile is not None else profile_named(None)
        registry = ctx.services = profile.service_registry()
    return registry


def mark_start(steps: list[Step]) -> None:
    """A call() that begins the (root) traversal starts it."""
    if steps and isinstance(steps[0], CallStep):
        steps[0].starts = True


@register("call")
def _call(*args: Any) -> Step:
    return CallStep(args)
