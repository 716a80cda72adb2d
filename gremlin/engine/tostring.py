"""Gremlin's string form of a value (asString(), concat(), conjoin()): what Java's toString() gives on
a TinkerPop server, so the same traversal yields the same text on every backend."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from ..storage import VertexPropertyRecord
from .tokens import enum_name
from .values import MapEntry, PathValue, PropertyValue

__all__ = ["gremlin_str"]


def gremlin_str(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(gremlin_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{gremlin_str(k)}={gremlin_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, MapEntry):
        return f"{gremlin_str(value.key)}={gremlin_str(value.value)}"
    if isinstance(value, VertexPropertyRecord):
        return f"vp[{value.key}->{gremlin_str(value.value)}]"
    if isinstance(value, PropertyValue):
        return f"p[{value.key}->{gremlin_str(value.value)}]"
    if isinstance(value, PathValue):
        return "path[" + ", ".join(gremlin_str(v) for v in value.objects) + "]"
    if isinstance(value, Enum):
        return enum_name(value)  # Java's name: Merge.on_create is onCreate
    if isinstance(value, datetime):
        # java.util.Date's toString, in UTC (the zone a Gremlin Server's JVM runs in by default here)
        utc = value.astimezone(timezone.utc) if value.tzinfo is not None else value
        return utc.strftime("%a %b %d %H:%M:%S UTC %Y")
    return str(value)


def _double_str(value: float) -> str:
    """Java's Double.toString: plain notation within [1e-3, 1e7), else d.dddEn."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    mantissa = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return ("-" if sign else "") + f"{mantissa}E{exponent + len(digits) - 1}"
