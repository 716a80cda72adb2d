"""What one traversal may use, chosen by whoever runs it, never by the traversal's bytecode.

    graph.execute(bytecode, options, limits=Limits(timeout_ms=30_000, max_results=100_000))

A client asks for an ``evaluationTimeout`` in its request arguments, in an OptionsStrategy or
with ``with()``; ``Limits.timeout_ms`` caps all of them (a client may lower it, never raise
it). ``max_results`` bounds the traversers returned and ``max_collection`` the values any one
step gathers (fold, aggregate/store, group, tail, ...), so a result's memory is bounded before
it is taken, with an error that says which limit and what to do. ``cancelled`` is polled with
the deadline, so a traversal nobody waits for any more stops at its next check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

from ..errors import LimitExceeded
from .base import Budget

__all__ = ["Limits", "NO_LIMITS", "budget_for", "at_most"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Limits:
    #: the longest evaluationTimeout a traversal gets, in ms (None: what the traversal asks for)
    timeout_ms: int | None = None
    #: the most traversers one traversal may return
    max_results: int | None = None
    #: the most values one step may hold in one collection
    max_collection: int | None = None
    #: true once the traversal's answer is no longer wanted
    cancelled: Callable[[], bool] | None = None

    def __post_init__(self) -> None:
        for name in ("timeout_ms", "max_results", "max_collection"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"Limits.{name} must be a positive integer or None, not {value!r}")

    def timeout_for(self, requested_ms: float | None) -> float | None:
        """The evaluation timeout to run with: the one requested (falsy: none), at most ours."""
        if not requested_ms:
            return self.timeout_ms
        if self.timeout_ms is None:
            return float(requested_ms)
        return min(float(requested_ms), float(self.timeout_ms))


NO_LIMITS = Limits()


def budget_for(limits: Limits) -> Budget:
    """An execution's Budget under ``limits``; its deadline is set when it starts."""
    budget = Budget()
    budget.cancelled = limits.cancelled
    budget.max_collection = limits.max_collection
    return budget


def at_most(items: Iterable[_T], limit: int | None) -> Iterable[_T]:
    """``items``, refused past ``limit`` (None: ``items`` itself, with nothing added per item)."""
    return items if limit is None else _counted(items, limit)


def _counted(items: Iterable[_T], limit: int) -> Iterator[_T]:
    for count, item in enumerate(items, 1):
        if count > limit:
            raise LimitExceeded(f"The traversal returned more than {limit:,} results, the most this server "
                                f"sends for one request: narrow it, or page with range()/limit()")
        yield item
