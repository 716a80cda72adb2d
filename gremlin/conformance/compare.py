"""Comparing a traversal's results with a scenario's expectations.

Values are equivalent when they mean the same Gremlin value, allowing for what a Python
engine or driver legitimately does differently from Java:

- numbers compare by value, not type (an int where Java says long, 3 where Java says 3.0;
  a ``.f`` expectation allows float32 rounding); booleans are never numbers; NaN equals NaN;
- vertices, edges and vertex properties compare by id (as gremlinpython's Element does);
- paths compare by their objects (labels are not written in scenarios);
- maps compare entry by entry whatever the key type (lists arrive as lists or tuples);
- T / Direction / Merge tokens compare by name; datetimes by instant.

Each ``check_*`` returns None when the results satisfy the expectation, else the reason.
"""

from __future__ import annotations

import math
import struct
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Hashable, Iterable, Sequence

from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty

from .notation import Float32, SetValue

__all__ = [
    "equivalent", "render", "check_ordered", "check_unordered", "check_of", "check_count",
    "check_empty", "check_error",
]

_SHOWN = 5


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _float32(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except (OverflowError, struct.error):
        return value


def _numbers_equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and math.isnan(expected) or isinstance(actual, float) and math.isnan(actual):
        return isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected) and math.isnan(actual)
    if isinstance(expected, Float32) or isinstance(actual, Float32):
        return expected == actual or _float32(float(expected)) == _float32(float(actual))
    if isinstance(expected, Decimal) or isinstance(actual, Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except InvalidOperation:
            return False
    return expected == actual


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _enum_key(value: Enum) -> tuple[str, str]:
    name = value.name.rstrip("_")
    if type(value).__name__ == "Direction":
        name = {"from": "OUT", "to": "IN"}.get(name, name)
    return type(value).__name__, name


def _is_set(value: Any) -> bool:
    return isinstance(value, (set, frozenset, SetValue))


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and not isinstance(value, SetValue)


def from_wire(value: Any) -> Any:
    """gremlinpython reads a GraphBinary BigDecimal as statics.BigDecimal; compare it as a Decimal,
    inside lists, sets, maps and paths too (``fold()`` of BigDecimals)."""
    from decimal import Decimal

    from gremlin_python.statics import BigDecimal
    kind = type(value)
    if isinstance(value, BigDecimal):
        return Decimal(value.unscaled_value).scaleb(-value.scale)
    if kind is list:
        return [from_wire(v) for v in value]
    if kind is set:
        return {from_wire(v) for v in value}
    if kind is dict:
        return {from_wire(k): from_wire(v) for k, v in value.items()}
    if kind is Path:
        return Path(value.labels, [from_wire(o) for o in value.objects])
    return value


def equivalent(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` (a result) is the value ``expected`` (parsed notation) denotes."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if _is_number(expected) or _is_number(actual):
        return _is_number(expected) and _is_number(actual) and _numbers_equal(expected, actual)
    if isinstance(expected, str) or isinstance(actual, str):
        return isinstance(expected, str) and isinstance(actual, str) and expected == actual
    if isinstance(expected, Enum) or isinstance(actual, Enum):
        return isinstance(expected, Enum) and isinstance(actual, Enum) and _enum_key(expected) == _enum_key(actual)
    if isinstance(expected, datetime) or isinstance(actual, datetime):
        return isinstance(expected, datetime) and isinstance(actual, datetime) and _utc(expected) == _utc(actual)
    for kind in (Vertex, Edge, VertexProperty):
        if isinstance(expected, kind) or isinstance(actual, kind):
            return isinstance(expected, kind) and isinstance(actual, kind) and equivalent(expected.id, actual.id)
    if isinstance(expected, Property) or isinstance(actual, Property):
        return (isinstance(expected, Property) and isinstance(actual, Property)
                and expected.key == actual.key and equivalent(expected.value, actual.value))
    if isinstance(expected, Path) or isinstance(actual, Path):
        return (isinstance(expected, Path) and isinstance(actual, Path)
                and _sequences_equal(list(expected.objects), list(actual.objects)))
    if isinstance(expected, dict) or isinstance(actual, dict):
        return isinstance(expected, dict) and isinstance(actual, dict) and _maps_equal(expected, actual)
    if _is_set(expected) or _is_set(actual):
        return _is_set(expected) and _is_set(actual) and unmatched(list(expected), list(actual)) == ([], [])
    if _is_sequence(expected) or _is_sequence(actual):
        return _is_sequence(expected) and _is_sequence(actual) and _sequences_equal(list(expected), list(actual))
    return bool(expected == actual)


def _sequences_equal(expected: Sequence[Any], actual: Sequence[Any]) -> bool:
    return len(expected) == len(actual) and all(equivalent(e, a) for e, a in zip(expected, actual))


def _maps_equal(expected: dict, actual: dict) -> bool:
    if len(expected) != len(actual):
        return False
    buckets: dict[Hashable, list[tuple[Any, Any]]] = defaultdict(list)
    for key, value in actual.items():
        buckets[fingerprint(key)].append((key, value))
    for key, value in expected.items():
        bucket = buckets.get(fingerprint(key), [])
        for index, (actual_key, actual_value) in enumerate(bucket):
            if equivalent(key, actual_key) and equivalent(value, actual_value):
                del bucket[index]
                break
        else:
            return False
    return True


def fingerprint(value: Any) -> Hashable:
    """A coarse key that equivalent values always share, so multisets match in buckets."""
    if value is None or isinstance(value, bool):
        return ("atom", value)
    if _is_number(value):
        number = float(value)
        return ("num", "nan") if math.isnan(number) else ("num", _float32(number))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, Enum):
        return ("enum",) + _enum_key(value)
    if isinstance(value, datetime):
        return ("dt", _utc(value))
    for kind, tag in ((Vertex, "v"), (Edge, "e"), (VertexProperty, "vp")):
        if isinstance(value, kind):
            return (tag, fingerprint(value.id))
    if isinstance(value, Property):
        return ("p", value.key)
    if isinstance(value, Path):
        return ("path", len(value.objects))
    if isinstance(value, dict):
        return ("map", len(value))
    if _is_set(value):
        return ("set", len(value))
    if _is_sequence(value):
        return ("list", len(value))
    return ("other", type(value).__name__)


def unmatched(expected: Iterable[Any], actual: Iterable[Any]) -> tuple[list, list]:
    """Multiset difference under ``equivalent``: (expected items not found, actual items left)."""
    buckets: dict[Hashable, list[Any]] = defaultdict(list)
    for item in actual:
        buckets[fingerprint(item)].append(item)
    missing: list[Any] = []
    for item in expected:
        bucket = buckets.get(fingerprint(item), [])
        for index, candidate in enumerate(bucket):
            if equivalent(item, candidate):
                del bucket[index]
                break
        else:
            missing.append(item)
    extra = [item for bucket in buckets.values() for item in bucket]
    return missing, extra


def render(value: Any) -> str:
    """A short, readable form of a value for failure reasons."""
    if isinstance(value, Path):
        return "p[" + ",".join(render(o) for o in value.objects) + "]"
    if isinstance(value, Vertex):
        return f"v[{value.id!r}]"
    if isinstance(value, Edge):
        return f"e[{value.id!r}]"
    if isinstance(value, SetValue):
        return "s[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(render(v) for v in value) + "}"
    if _is_number(value):
        return repr(value)
    return repr(value)


def _some(values: Sequence[Any]) -> str:
    shown = ", ".join(render(v) for v in values[:_SHOWN])
    return shown + (f", ... ({len(values)} in all)" if len(values) > _SHOWN else "")


def check_unordered(expected: Sequence[Any], actual: Sequence[Any]) -> str | None:
    missing, extra = unmatched(expected, actual)
    if not missing and not extra:
        return None
    parts = [f"expected {len(expected)} results, got {len(actual)}"]
    if missing:
        parts.append(f"missing {_some(missing)}")
    if extra:
        parts.append(f"unexpected {_some(extra)}")
    return "; ".join(parts)


def check_ordered(expected: Sequence[Any], actual: Sequence[Any]) -> str | None:
    if len(expected) != len(actual):
        return f"expected {len(expected)} results in order, got {len(actual)}: {_some(list(actual))}"
    for index, (want, got) in enumerate(zip(expected, actual)):
        if not equivalent(want, got):
            return f"result {index + 1}: expected {render(want)}, got {render(got)}"
    return None


def check_of(expected: Sequence[Any], actual: Sequence[Any]) -> str | None:
    """Every result must be one of the expected values (results may repeat or be fewer)."""
    allowed: dict[Hashable, list[Any]] = defaultdict(list)
    for item in expected:
        allowed[fingerprint(item)].append(item)
    strays = [item for item in actual
              if not any(equivalent(e, item) for e in allowed.get(fingerprint(item), []))]
    return f"results not among the expected values: {_some(strays)}" if strays else None


def check_count(expected: int, actual: Sequence[Any]) -> str | None:
    return None if len(actual) == expected else f"expected {expected} results, got {len(actual)}: {_some(list(actual))}"


def check_empty(actual: Sequence[Any]) -> str | None:
    return None if not actual else f"expected no results, got {len(actual)}: {_some(list(actual))}"


def check_error(message: str, comparison: str | None, text: str | None) -> str | None:
    """Whether an error message satisfies 'containing' / 'starting' / 'ending' with ``text``."""
    if comparison is None or text is None:
        return None
    tests = {"containing": message.__contains__, "starting": message.startswith, "ending": message.endswith}
    if comparison not in tests:
        return f"unknown error comparison {comparison!r}"
    if tests[comparison](text):
        return None
    return f"expected an error message {comparison} with {text!r}, got {message!r}"
