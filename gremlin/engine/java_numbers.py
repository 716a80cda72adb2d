"""Arithmetic as TinkerPop's NumberHelper does it: sum(), mean() and the sack and side-effect operators.

NumberHelper computes in the widest type of its operands, where NaN counts for no type: a sum
of NaN and the Long bulk of its traverser is a Long, and (long) NaN is 0, so TinkerGraph's
``inject(NaN, 1).sum()`` is 1 and ``mean()`` 0.5. Long arithmetic wraps around at 64 bits. A
Python int stands for a Long here (TinkerPop's sum() is a Long at least: each value is first
multiplied by its traverser's bulk, a long); one outside 64 bits is a BigInteger and a Decimal
a BigDecimal, which never wrap; a float is a Double.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Any

from gremlin_python.statics import bigint

from ..errors import TraversalError
from .values import java_type_name

__all__ = ["add", "sub", "mul", "div", "decimal_divide"]

_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def _kind(value: Any) -> str | None:
    """'long', 'bigint', 'double' or 'decimal'; None for NaN (it takes no part in the choice)."""
    if isinstance(value, float):
        return None if value != value else "double"
    if isinstance(value, Decimal):
        return None if value.is_nan() else "decimal"
    if not isinstance(value, int) or isinstance(value, bool):
        # NumberHelper casts each side to Number first
        raise TraversalError(f"{java_type_name(value)} cannot be cast to Number: {value!r}")
    return "long" if _LONG_MIN <= value <= _LONG_MAX and not isinstance(value, bigint) else "bigint"


def _widest(a: Any, b: Any) -> str:
    kinds = {_kind(a), _kind(b)} - {None}
    if "decimal" in kinds or {"double", "bigint"} <= kinds:
        return "decimal"
    if "double" in kinds:
        return "double"
    if "bigint" in kinds:
        return "bigint"
    return "long"  # a long, or the narrowest integer when both are NaN: (long) NaN is 0 either way


def _integral(value: Any) -> int:
    """Java's (long) of a value: NaN is 0, an infinity the nearest long, a fraction truncated."""
    if isinstance(value, float):
        if value != value:
            return 0
        if math.isinf(value):
            return _LONG_MAX if value > 0 else _LONG_MIN
    return int(value)


def _wrap(value: int) -> int:
    return (value - _LONG_MIN) % (1 << 64) + _LONG_MIN


def _apply(a: Any, b: Any, operate: Any) -> Any:
    kind = _widest(a, b)
    if kind == "double":
        return operate(float(a), float(b))
    if kind == "decimal":
        return operate(_decimal(a), _decimal(b))
    result = operate(_integral(a), _integral(b))
    return _wrap(result) if kind == "long" else bigint(result)  # a BigInteger stays one, however small


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value)) if not math.isnan(value) else Decimal(0)
    return Decimal(value)


def add(a: Any, b: Any) -> Any:
    """NumberHelper.add: a null on either side leaves ``a``."""
    if a is None or b is None:
        return a
    return _apply(a, b, lambda x, y: x + y)


def sub(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return a
    return _apply(a, b, lambda x, y: x - y)


def mul(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return a
    return _apply(a, b, lambda x, y: x * y)


def div(a: Any, b: Any) -> Any:
    """Integer division truncates toward zero (Java's /); dividing an integer by zero fails."""
    if a is None or b is None:
        return None
    kind = _widest(a, b)
    if kind in ("long", "bigint"):
        x, y = _integral(a), _integral(b)
        if y == 0:
            raise TraversalError("/ by zero")  # Java's ArithmeticException
        quotient = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
        return _wrap(quotient) if kind == "long" else bigint(quotient)
    if kind == "double":
        x, y = float(a), float(b)
        if y == 0:
            return math.nan if x == 0 or x != x else math.copysign(math.inf, x) * math.copysign(1, y)
        return x / y
    return decimal_divide(_decimal(a), _decimal(b))


def _scale(value: Decimal) -> int:
    return -value.as_tuple().exponent


def _precision(value: Decimal) -> int:
    return len(value.as_tuple().digits)


def decimal_divide(a: Decimal, b: Decimal) -> Decimal:
    """NumberHelper's BigDecimal division: the exact quotient (BigDecimal.divide) at the scale Java
    gives it (a's scale less b's, or more where the quotient needs it) when its decimal expansion
    ends; else rounded (half up) to the larger precision plus 10 digits and to no more than the
    larger scale or 10 places (``1m / 3`` is 0.3333333333, not Python's 28 digits)."""
    if not b:
        raise TraversalError("Division by zero" if a else "Division undefined")  # Java's ArithmeticException
    quotient = Fraction(a) / Fraction(b)
    denominator = quotient.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    context = Context(prec=max(_precision(a), _precision(b)) + 10, rounding=ROUND_HALF_UP)
    if denominator == 1:  # terminating: exact, at the preferred scale or the one it needs
        exact = Context(prec=max(_precision(a), _precision(b)) + 4 * len(str(quotient.denominator)) + 20)
        value = exact.divide(a, b)
        scale = max(_scale(a) - _scale(b), _scale(value.normalize(exact)))
        return value.quantize(Decimal(1).scaleb(-scale), context=exact)
    value = context.divide(a, b)
    scale = max(_scale(a), _scale(b), 10)
    if _scale(value) > scale:
        value = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return value
