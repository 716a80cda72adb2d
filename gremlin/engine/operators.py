"""Gremlin's Operator: how two values combine where a traversal names an operator (a sack's
withSack(v, Operator) and sack(Operator), fold(seed, Operator), a side effect's reducer, and the
merge of sacks when traversers are bulked together)."""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import Operator

from ..errors import InvalidArgumentError, TraversalError
from . import java_numbers
from .tokens import enum_name
from .values import is_number, java_type_name

__all__ = ["apply_operator"]

def _extreme(pick: Any, a: Any, b: Any) -> Any:
    """Operator.min/max: a null or a NaN gives way to the other side (NumberHelper); otherwise both
    sides must be numbers, or comparable with each other as Java compares them (two strings)."""
    if a is None or b is None:
        return b if a is None else a
    if a != a or b != b:
        return b if a != a else a
    if not (is_number(a) and is_number(b)) and not (isinstance(a, str) and isinstance(b, str)):
        raise TraversalError(f"{java_type_name(b)} {b!r} cannot be compared with {java_type_name(a)} {a!r}")
    return pick(a, b)


def _truth(a: Any, b: Any, both: bool) -> bool:
    """Operator.and/or: Java's && and || on each side cast to Boolean, the second side cast only
    when the first does not decide."""
    for side in (a, b):
        if not isinstance(side, bool):
            raise TraversalError(f"{java_type_name(side)} {side!r} cannot be cast to Boolean")
        if side is not both:  # false decides an and, true an or
            return side
    return both


def _add_all(a: Any, b: Any) -> Any:
    """Operator.addAll: two maps (the second's entries win) or two collections."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    collections = (list, tuple, set, frozenset)
    if isinstance(a, collections) and isinstance(b, collections):
        return set(a) | set(b) if isinstance(a, (set, frozenset)) else list(a) + list(b)
    raise TraversalError("Objects must be both of Map or Collection: "
                         f"a={java_type_name(a)} b={java_type_name(b)}")


_OPERATORS = {
    "sum": java_numbers.add, "minus": java_numbers.sub, "mult": java_numbers.mul, "div": java_numbers.div,
    "min": lambda a, b: _extreme(min, a, b), "max": lambda a, b: _extreme(max, a, b),
    "assign": lambda a, b: b, "and": lambda a, b: _truth(a, b, True), "or": lambda a, b: _truth(a, b, False),
    "addAll": _add_all,
    "sumLong": java_numbers.add,
}


def apply_operator(operator: Any, a: Any, b: Any) -> Any:
    name = enum_name(operator) if isinstance(operator, Operator) else str(operator)
    if name not in _OPERATORS:
        raise InvalidArgumentError(f"Unknown operator: {name}")
    return _OPERATORS[name](a, b)
