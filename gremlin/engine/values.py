"""Gremlin's value semantics: equality, comparability, orderability, predicates, numbers.

Gremlin does not use Python's rules: 1 == 1.0 but True != 1, comparing a string with a
number is neither true nor false (a filter drops it), and ``order()`` needs a total order
across types. Elements compare by id.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from decimal import Decimal
from typing import Any, Iterator

from gremlin_python.process.traversal import P, T, TextP
from gremlin_python.statics import bigint, long
from gremlin_python.structure.io.util import HashableDict
from gremlin_python.structure.graph import Edge as GEdge
from gremlin_python.structure.graph import Element as GElement
from gremlin_python.structure.graph import Vertex as GVertex

from ..errors import InvalidArgumentError, TraversalError
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from . import java_strings

__all__ = ["java_type_name", "OrderedSet", "Members", "indexed", "is_number", "g_equal", "g_compare", "order_key", "test_predicate", "predicate_truth", "g_hash_key",
           "PropertyValue", "MapEntry", "PathValue"]


class PropertyValue:
    """An edge or meta property seen as an element (``properties()`` on an edge)."""

    __slots__ = ("owner", "key", "value")

    def __init__(self, owner: Any, key: str, value: Any):
        self.owner = owner
        self.key = key
        self.value = value

    def __eq__(self, other: object) -> bool:
        # TinkerPop: two properties are equal when their keys and values are.
        return isinstance(other, PropertyValue) and self.key == other.key and g_equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash(("property", self.key, g_hash_key(self.value)))

    def __repr__(self) -> str:
        return f"p[{self.key}->{self.value!r}]"


class OrderedSet(frozenset):
    """A set that iterates in a fixed order: the order of the Java set TinkerGraph would make
    (a map's keySet(), a LinkedHashSet, or a HashSet's hash order, see java_order.py), so the
    steps after it (unfold(), limit()) see its members in the Gremlin Server's order. A client
    receives it as a set."""

    __slots__ = ("_order",)

    def __new__(cls, items: Any = ()) -> "OrderedSet":
        items = list(dict.fromkeys(_set_member(item) for item in items))
        made = super().__new__(cls, items)
        made._order = tuple(items)
        return made

    def __iter__(self) -> Any:
        return iter(self._order)

    def __repr__(self) -> str:
        return "{" + ", ".join(repr(item) for item in self._order) + "}"


def _set_member(item: Any) -> Any:
    """A member a Python set can hold: a map or a list (which Java's sets hold by their content)
    as its hashable form, a set as an OrderedSet."""
    if isinstance(item, (dict, list)):
        return HashableDict.of(item)
    if isinstance(item, set):
        return OrderedSet(item)
    return item


class MapEntry:
    """One key/value pair of a map, as ``unfold()`` yields it (Java's Map.Entry)."""

    __slots__ = ("key", "value")

    def __init__(self, key: Any, value: Any):
        self.key = key
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MapEntry) and g_equal(self.key, other.key) and g_equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash(("entry", g_hash_key(self.key), g_hash_key(self.value)))

    def __repr__(self) -> str:
        return f"{self.key!r}={self.value!r}"


class PathValue:
    """A path as a value (the result of ``path()``): labels per step and the objects."""

    __slots__ = ("labels", "objects")

    def __init__(self, labels: list, objects: list):
        self.labels = labels
        self.objects = objects

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.objects)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathValue) and g_equal(self.objects, other.objects) and \
            self.labels == other.labels

    def __hash__(self) -> int:
        return hash(g_hash_key(self.objects))

    def __repr__(self) -> str:
        return f"path{self.objects!r}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


#: Exact types compared by value without the general rules (no NaN, no bool): the ids, keys,
#: counters and times a traversal compares most.
_INTEGERS = frozenset({int, long})


def g_equal(a: Any, b: Any) -> bool:
    """Gremlin equality: numbers by value whatever their type, no bool/number confusion."""
    kind = type(a)
    if kind is str:
        return type(b) is str and a == b
    if kind in _INTEGERS and type(b) in _INTEGERS:
        return a == b
    if kind is VertexRecord or kind is EdgeRecord:  # a walk's collections tested against is(neq(0))
        if a is b:
            return True
        if isinstance(b, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
            return _element_kind(a) == _element_kind(b) and a.id == b.id
        return False
    if a is b:
        return not _is_nan(a)
    if is_number(a) and is_number(b):
        if _is_nan(a) or _is_nan(b):
            return False
        return a == b and (a != 0 or not _zeros_apart(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)) and \
            isinstance(b, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
        # a detached element (a side effect, an injected vertex) equals the stored one by id
        return a is b or (_element_kind(a) == _element_kind(b) and a.id == b.id)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(g_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        keys = {g_hash_key(k): v for k, v in b.items()}
        return all(g_hash_key(k) in keys and g_equal(v, keys[g_hash_key(k)]) for k, v in a.items())
    if isinstance(a, (set, frozenset)) and isinstance(b, (set, frozenset)):
        return len(a) == len(b) and {g_hash_key(x) for x in a} == {g_hash_key(x) for x in b}
    try:
        return type(a) is type(b) and a == b
    except Exception:
        return False


def _zeros_apart(a: Any, b: Any) -> bool:
    """Two equal numbers that Java still tells apart: -0.0 and 0 compared as doubles (Double.compare,
    which P.eq/lt, order() and Double.equals use); against a BigDecimal both are its zero."""
    if a != 0 or isinstance(a, Decimal) or isinstance(b, Decimal):
        return False
    return math.copysign(1.0, a) != math.copysign(1.0, b)


def _number_cmp(a: Any, b: Any) -> int:
    """Two numbers (no NaN) as NumberHelper.compare orders them: -0.0 before 0."""
    c = (a > b) - (a < b)
    if c == 0 and _zeros_apart(a, b):
        return -1 if math.copysign(1.0, a) < 0 else 1
    return c


_UNKEYED = object()
#: Below this many values a plain scan is as fast as building an index.
_INDEXED_MEMBERS = 8


def _member_key(value: Any) -> Any:
    """A hashable key such that equal keys mean g_equal values, for the kinds within() meets
    most (strings, numbers, booleans, null, elements); _UNKEYED for anything else."""
    kind = type(value)
    if kind is str:
        return value
    if kind is VertexRecord:
        return ("vertex", value.id)
    if kind is EdgeRecord:
        return ("edge", value.id)
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        if _is_nan(value) or (isinstance(value, Decimal) and value != value.to_integral_value()):
            return _UNKEYED  # g_equal compares a fractional Decimal exactly, unlike its float key
        return g_hash_key(value)
    if isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
        return (_element_kind(value), value.id)
    return _UNKEYED


class Members(list):
    """within()/without()'s values with a hashed index built once, so that testing many
    traversers against a long list (a has_id() of many ids, a where(without('seen')) over a
    walk's collection) costs one look-up each; a value of another kind is compared one by one."""

    __slots__ = ("keys",)

    def __init__(self, values: Any):
        super().__init__(values)
        keys: set | None = set()
        for value in self:
            key = _member_key(value)
            if key is _UNKEYED:
                keys = None
                break
            keys.add(key)
        self.keys = keys

    def contains(self, value: Any) -> bool:
        if self.keys is not None:
            key = _member_key(value)
            if key is not _UNKEYED:
                return key in self.keys
        return any(g_equal(value, member) for member in self)


def indexed(predicate: Any) -> Any:
    """``predicate`` with a long within()/without() list replaced by its Members (else as is)."""
    if (isinstance(predicate, P) and predicate.operator in ("within", "without") and predicate.other is None
            and type(predicate.value) in (list, tuple, set, frozenset) and len(predicate.value) >= _INDEXED_MEMBERS):
        return P(predicate.operator, Members(predicate.value))
    return predicate


def _element_kind(element: Any) -> str:
    if isinstance(element, (VertexRecord, GVertex)):
        return "vertex"
    if isinstance(element, (EdgeRecord, GEdge)):
        return "edge"
    return "property"


def g_hash_key(value: Any) -> Any:
    """A hashable key with Gremlin equality: for dedup, group, sets and map keys."""
    kind = type(value)
    if kind is str:
        return value
    if kind is VertexRecord or kind is EdgeRecord:
        return value  # the store holds one record per id, so identity is id equality
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        if _is_nan(value):
            return ("nan",)
        if isinstance(value, float) and value.is_integer():
            # -0.0 is a value of its own to Java's Double.equals
            return int(value) if value or math.copysign(1.0, value) > 0 else ("-0.0",)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value
    if isinstance(value, VertexPropertyRecord):
        return value
    if isinstance(value, MapEntry):
        return ("entry", g_hash_key(value.key), g_hash_key(value.value))
    if isinstance(value, PropertyValue):
        return ("property", value.key, g_hash_key(value.value))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(g_hash_key(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(g_hash_key(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((g_hash_key(k), g_hash_key(v)) for k, v in value.items()))
    try:
        hash(value)
        return value
    except TypeError:
        return ("repr", repr(value))


class Incomparable(Exception):
    """Two values Gremlin cannot order by comparison (a string and a number)."""


def _type_rank(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if is_number(value):
        return 2
    if isinstance(value, (_dt.datetime, _dt.date)):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, uuid.UUID):
        return 5
    if isinstance(value, VertexRecord):
        return 6
    if isinstance(value, EdgeRecord):
        return 7
    if isinstance(value, VertexPropertyRecord):
        return 8
    if isinstance(value, PropertyValue):
        return 9
    if isinstance(value, PathValue):
        return 10
    if isinstance(value, (set, frozenset)):
        return 11
    if isinstance(value, (list, tuple)):
        return 12
    if isinstance(value, dict):
        return 13
    if isinstance(value, MapEntry):
        return 13
    return 14


def g_compare(a: Any, b: Any) -> int:
    """Comparability for P.lt/gt: raises Incomparable across types (filters drop those)."""
    if type(a) in _INTEGERS and type(b) in _INTEGERS:
        return (a > b) - (a < b)
    if is_number(a) and is_number(b):
        if _is_nan(a) or _is_nan(b):
            raise Incomparable()
        return _number_cmp(a, b)
    if a is None or b is None:
        if a is None and b is None:
            return 0
        raise Incomparable()
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb or ra >= 10:
        raise Incomparable()
    if ra in (6, 7, 8):
        return g_compare(a.id, b.id) if type(a.id) is type(b.id) else _cmp(str(a.id), str(b.id))
    if ra == 9:
        raise Incomparable()
    if ra == 4:
        return java_strings.compare(a, b)
    try:
        return _cmp(a, b)
    except TypeError:
        raise Incomparable() from None


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


class _OrderKey:
    """Total order over every Gremlin value, for ``order()``."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: "_OrderKey") -> bool:
        return order_compare(self.value, other.value) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _OrderKey) and order_compare(self.value, other.value) == 0


def order_compare(a: Any, b: Any) -> int:
    # T tokens (elementMap() keys) order by their names among the string keys
    if isinstance(a, T):
        a = a.name.rstrip("_")
    if isinstance(b, T):
        b = b.name.rstrip("_")
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        return ra - rb
    if ra == 0:
        return 0
    if ra == 2:
        if _is_nan(a) or _is_nan(b):
            return (0 if _is_nan(a) and _is_nan(b) else (1 if _is_nan(a) else -1))
        return _number_cmp(a, b)
    if ra in (6, 7, 8):
        return order_compare(a.id, b.id)
    if ra == 9:
        return order_compare(a.key, b.key) or order_compare(a.value, b.value)
    if ra == 10:
        return order_compare(list(a.objects), list(b.objects))
    if ra == 11:
        return order_compare(sorted(a, key=_OrderKey), sorted(b, key=_OrderKey))
    if ra == 12:
        for x, y in zip(a, b):
            c = order_compare(x, y)
            if c:
                return c
        return len(a) - len(b)
    if ra == 13:
        if isinstance(a, MapEntry) or isinstance(b, MapEntry):
            a = {a.key: a.value} if isinstance(a, MapEntry) else a
            b = {b.key: b.value} if isinstance(b, MapEntry) else b
        return order_compare(sorted(a.items(), key=lambda kv: _OrderKey(kv[0])),
                             sorted(b.items(), key=lambda kv: _OrderKey(kv[0])))
    if ra == 4:
        return java_strings.compare(a, b)
    if ra in (1, 3, 5):
        try:
            return _cmp(a, b)
        except TypeError:
            return _cmp(str(a), str(b))
    return _cmp(str(a), str(b))


def order_key(value: Any) -> _OrderKey:
    return _OrderKey(value)


# -- predicates -----------------------------------------------------------------------------

def _compare_op(op: str, a: Any, b: Any) -> bool | None:
    """A comparison, or None (TinkerPop's ERROR) for values that do not compare (NaN, mixed types)."""
    try:
        c = g_compare(a, b)
    except Incomparable:
        return None
    if op == "lt":
        return c < 0
    if op == "lte":
        return c <= 0
    if op == "gt":
        return c > 0
    return c >= 0


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _string_op(op: str, value: Any, arg: Any) -> bool | None:
    """A TextP test. TinkerGraph casts both sides to String: null is ERROR (regex() fails on it),
    anything else that is no string an error."""
    if value is None or arg is None:
        if op in ("regex", "notRegex"):
            raise TraversalError(f"{op}() cannot test null: it matches strings only")
        return None
    for side in (value, arg):
        if not isinstance(side, str):
            raise TraversalError(f"{op}() compares strings: {java_type_name(side)} {side!r} cannot be cast to "
                                 f"class java.lang.String")
    if op == "containing":
        return arg in value
    if op == "startingWith":
        return value.startswith(arg)
    if op == "endingWith":
        return value.endswith(arg)
    if op == "notContaining":
        return arg not in value
    if op == "notStartingWith":
        return not value.startswith(arg)
    if op == "notEndingWith":
        return not value.endswith(arg)
    if op == "regex":
        return re.search(arg, value) is not None
    if op == "notRegex":
        return re.search(arg, value) is None
    raise InvalidArgumentError(f"Unknown text predicate: {op}")


def java_type_name(value: Any) -> str:
    """The Java class a value would be on a Gremlin Server (each number type its own, as Java's
    equals and compareTo tell Integer 1, Long 1 and Double 1.0 apart)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, bigint):
        return "BigInteger"
    if isinstance(value, long):
        return "Long"
    if isinstance(value, Decimal):
        return "BigDecimal"
    if isinstance(value, int):
        return "Integer" if -2 ** 31 <= value < 2 ** 31 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, (VertexRecord, GVertex)):
        return "Vertex"
    if isinstance(value, (EdgeRecord, GEdge)):
        return "Edge"
    if isinstance(value, dict):
        return "Map"
    if isinstance(value, (list, tuple)):
        return "List"
    if isinstance(value, (set, frozenset)):
        return "Set"
    if isinstance(value, str):
        return "String"
    if value is None:
        return "null"
    if isinstance(value, PathValue):
        return "Path"
    if isinstance(value, MapEntry):
        return "Map.Entry"
    return type(value).__name__.replace("Record", "")


def java_equality_key(value: Any) -> Any:
    """A hash key that equal values share as Java's equals has it at the top level: numbers of two
    types apart (g_hash_key keeps them together, as eq() compares them)."""
    if is_number(value):
        return (java_type_name(value), g_hash_key(value))
    return g_hash_key(value)


def _collection(arg: Any) -> list:
    if isinstance(arg, (list, tuple, set, frozenset)):
        return list(arg)
    return [arg]


def test_predicate(predicate: Any, value: Any) -> bool:
    """Evaluate a gremlinpython P or TextP against ``value``; a bare value means eq."""
    return predicate_truth(predicate, value) is True


def predicate_truth(predicate: Any, value: Any) -> bool | None:
    """TinkerPop's ternary logic: True, False, or None for ERROR (a comparison of values that do not
    compare), which not() keeps as ERROR, and() and or() resolve when the other side decides."""
    if not isinstance(predicate, P):
        return g_equal(value, predicate)
    op, arg, other = predicate.operator, predicate.value, predicate.other
    if op == "eq":
        return g_equal(value, arg)
    if op == "neq":
        return not g_equal(value, arg)
    if op in ("lt", "lte", "gt", "gte"):
        return _compare_op(op, value, arg)
    if op == "between":
        return _and(_compare_op("gte", value, arg), _compare_op("lt", value, other))
    if op == "inside":
        return _and(_compare_op("gt", value, arg), _compare_op("lt", value, other))
    if op == "outside":
        return _or(_compare_op("lt", value, arg), _compare_op("gt", value, other))
    if isinstance(arg, Members) and other is None:
        if op == "within":
            return arg.contains(value)
        if op == "without":
            return not arg.contains(value)
    if op == "within":
        values = _within_args(arg, other)
        return any(g_equal(value, v) for v in values)
    if op == "without":
        values = _within_args(arg, other)
        return not any(g_equal(value, v) for v in values)
    if op == "and":  # TinkerPop's AndP stops at the first false, OrP at the first true
        first = predicate_truth(arg, value)
        return False if first is False else _and(first, predicate_truth(other, value))
    if op == "or":
        first = predicate_truth(arg, value)
        return True if first is True else _or(first, predicate_truth(other, value))
    if op == "not":
        truth = predicate_truth(arg, value)
        return None if truth is None else not truth
    if isinstance(predicate, TextP) or op in ("containing", "startingWith", "endingWith", "regex",
                                                "notContaining", "notStartingWith", "notEndingWith",
                                                "notRegex"):
        return _string_op(op, value, arg)
    raise InvalidArgumentError(f"Unsupported predicate: {op}")


def _within_args(arg: Any, other: Any) -> list:
    if other is not None:
        return [arg, other] if not isinstance(arg, (list, tuple, set, frozenset)) else list(arg) + [other]
    return _collection(arg) if arg is not None else [None]
