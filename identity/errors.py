"""Errors raised by the identity core.

Messages name fields and rules, never values: identifier values are PII and error messages
end up in client and server logs::

    IdentityError           base class
     +-- ValidationError    an event or query the core refuses (field + reason)
     +-- NotFound           an identifier the tenant's graph does not hold
     +-- GraphUnavailable   the graph backend is down or timed out (retryable)
"""

from __future__ import annotations

from typing import Any

__all__ = ["IdentityError", "ValidationError", "NotFound", "GraphUnavailable", "check_int"]


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


def check_int(field: str, value: Any, low: int, high: int | None = None) -> None:
    """ValidationError unless ``value`` is an integer (not a bool) in ``low..high`` (no upper
    bound when ``high`` is None)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValidationError(field, f"must be an integer in {low}..{'' if high is None else high}")
