"""Gremlin's Operator: how two values combine where a traversal names an operator (a sack's
withSack(v, Operator) and sack(Operator), fold(seed, Operator), a side effect's reducer, and the
merge of sacks when traversers are bulked together)."""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import Operator

from ..errors import InvalidArgumentError
from . import java_numbers
from .tokens import enum_name

__all__ = ["apply_operator"]

_OPERATORS = {
    "sum": java_numbers.add, "minus": java_numbers.sub, "mult": java_numbers.mul, "div": java_numbers.div,
    "min": lambda a, b: _extreme(min, a, b), "max": lambda a, b: _extreme(max, a, b),
    "assign": lambda a, b: b, "and": lambda a, b: a and b, "or": lambda a, b: a or b,
    "addAll": lambda a, b: {**a, **b} if isinstance(a, dict) else (set(a) | set(b)) if isinstance(a, (set, frozenset))
    else list(a) + list(b),
    "sumLong": lambda a, b: a + b,
}


def _extreme(pick: Any, a: Any, b: Any) -> Any:
    """Operator.min/max: a null or a NaN gives way to the other side (NumberHelper)."""
    if a is None or b is None:
        return b if a is None else a
    if a != a or b != b:
        return b if a != a else a
    return pick(a, b)


def apply_operator(operator: Any, a: Any, b: Any) -> Any:
    name = enum_name(operator) if isinstance(operator, Operator) else str(operator)
    if name not in _OPERATORS:
        raise InvalidArgumentError(f"Unknown operator: {name}")
    return _OPERATORS[name](a, b)
