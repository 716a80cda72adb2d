"""Errors raised by the identity core.

Messages name fields and rules, never values: identifier values are PII and error messages
end up in client and server logs::

    IdentityError           base class
     +-- ValidationError    an event or query the core refuses (field + reason)
     +-- NotFound           an identifier the tenant's graph does not hold
     +-- GraphUnavailable   the graph backend is down or timed out (retryable)
     +-- Stalled            a batch loop found again what its last batch had handled
     +-- DeadlineExceeded   the request's deadline passed before its work was done
     +-- GraphInUse         an embedded durable graph another process already serves
    ConfigError             (a ValueError) a configuration value that cannot be used
"""

from __future__ import annotations

from typing import Any

__all__ = ["IdentityError", "ValidationError", "NotFound", "GraphUnavailable", "Stalled", "DeadlineExceeded",
           "GraphInUse", "ConfigError", "check_int", "check_progress"]


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source and key. Here,
    at the bottom, because the telemetry the graph connection uses raises it too."""


class IdentityError(Exception):
    """Base class of every error the identity core raises on purpose."""


class ValidationError(IdentityError, ValueError):
    """Input the core refuses. ``field`` is a JSON path such as ``events[0].identifiers[2].value``."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(IdentityError, LookupError):
    """An identifier (or other element) the tenant's graph does not hold."""


class GraphUnavailable(IdentityError):
    """The graph backend could not be reached or timed out; the request can be retried."""

    retryable = True


class GraphInUse(IdentityError):
    """The embedded durable graph's directory is held by another process (its lock): one
    process serves a data directory, so a second ``identity serve`` (or a command run beside
    one) stops at once instead of writing a graph the first one does not see. Several instances
    share a graph server (docs/operations.md), never a data directory."""


class Stalled(IdentityError):
    """A batch-by-batch loop (purge, reencrypt: each runs until a read finds nothing left) read
    back something its previous batch had already handled: the graph did not apply that batch's
    writes, and going on would repeat it forever."""


def check_progress(previous: frozenset, batch: frozenset, work: str) -> frozenset:
    """``batch`` (the elements, or element states, one round found to handle), after checking
    that none of them is one the round before already handled; Stalled names ``work``."""
    again = len(previous & batch)
    if again:
        raise Stalled(f"{work} made no progress: a batch found {again} element(s) the previous batch had "
                      "already handled, so the graph did not apply that batch's writes; stopped instead of "
                      "repeating it")
    return batch


class DeadlineExceeded(IdentityError):
    """The request's deadline (identity.graph.resilience.deadline) passed: its work stopped at the next
    check. Everything written before stays, and every write is idempotent (an ingest batch is
    written in whole events, each event once by its id), so the same request sent again
    completes it."""


def check_int(field: str, value: Any, low: int, high: int | None = None) -> None:
    """ValidationError unless ``value`` is an integer (not a bool) in ``low..high`` (no upper
    bound when ``high`` is None)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValidationError(field, f"must be an integer in {low}..{'' if high is None else high}")
