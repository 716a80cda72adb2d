"""TinkerPop's notation for values in scenario parameters and result tables.

    v[marko]  v[marko].id  v[marko].sid     a vertex of the loaded graph (by name), its id, id as text
    e[marko-knows->vadas]  .id  .sid        an edge, named out-vertex-label->in-vertex
    vp[marko-name->marko]                   a vertex property, named vertex-key->value
    d[1].i .l .s .b .n  d[1.5].f .d .m      numbers (int, long, short, byte, BigInteger / float,
    d[NaN]  d[Infinity]  d[-Infinity]        double, BigDecimal) and the special doubles
    l[a,b]  s[a,b]  p[v[marko],v[lop]]      list, set, path (items are themselves notation)
    m[{"k": "d[1].i"}]                      a map written as JSON; keys and string values are notation
    t[label]  D[OUT]  M[onCreate]           T, Direction and Merge tokens
    str[text]  dt[2023-08-02T00:00:00Z]     a literal string, a datetime
    c[it.get()]                             a lambda: scenarios using one are not supported
    null  true  false                       themselves; anything else is a plain string

``parse_value(text, resolver)`` builds the Python value a parameter needs; with
``expected=True`` it builds the value a result is compared with (see compare.py): floats
written ``.f`` keep that single-precision origin and sets may hold unhashable items.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from gremlin_python.statics import SingleByte, bigint, long, short
from gremlin_python.structure.graph import Path, Vertex
from gremlin_python.process.traversal import Direction, Merge, T

__all__ = [
    "NotationError", "LambdaNotation", "Resolver", "Float32", "SetValue", "parse_value",
    "split_items",
]


class NotationError(ValueError):
    """Text in a scenario that is not valid notation, or names an element the graph lacks."""


class LambdaNotation(NotationError):
    """A ``c[...]`` lambda: the scenario cannot run on a lambda-free engine."""


class Resolver(Protocol):
    """Looks up named elements of the graph a scenario runs against."""

    def vertex(self, name: str) -> Any: ...

    def edge(self, name: str) -> Any: ...

    def vertex_property(self, name: str) -> Any: ...


class Float32(float):
    """An expected value written ``d[...].f``: Java floats carry ~7 significant digits."""


class SetValue(list):
    """An expected ``s[...]``: compared as a multiset, and allowed to hold maps and lists."""


_INTEGER_KINDS = {"i": int, "l": long, "s": short, "b": SingleByte, "n": bigint}
_DIRECTION_ALIASES = {"from": "OUT", "from_": "OUT", "to": "IN"}
_MERGE_ALIASES = {"onCreate": "on_create", "onMatch": "on_match", "outV": "out_v", "inV": "in_v"}


def split_items(body: str) -> list[str]:
    """Split ``a,l[b,c],m[{"x":1,"y":2}]`` on the commas that are not inside brackets."""
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(body):
        if char == '"' and (index == 0 or body[index - 1] != "\\"):
            quoted = not quoted if depth else quoted
        elif quoted:
            continue
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(body[start:index])
            start = index + 1
    items.append(body[start:])
    return items


def _wrapped(text: str, prefix: str) -> str | None:
    """The body of ``prefix[body]`` or None when ``text`` does not have that shape."""
    if text.startswith(prefix + "[") and text.endswith("]"):
        return text[len(prefix) + 1:-1]
    return None


def _number(body: str, kind: str, expected: bool) -> Any:
    if kind in _INTEGER_KINDS:
        try:
            value = int(body)
        except ValueError:
            raise NotationError(f"d[{body}].{kind} is not an integer") from None
        if expected:
            return value
        return _INTEGER_KINDS[kind](value)
    if kind == "m":
        return Decimal(body)
    if kind in ("f", "d"):
        try:
            value = float(body)
        except ValueError:
            raise NotationError(f"d[{body}].{kind} is not a number") from None
        return Float32(value) if expected and kind == "f" else value
    raise NotationError(f"unknown number type '.{kind}' in d[{body}].{kind}")


def _datetime(body: str) -> datetime:
    text = body.replace("Z", "+00:00") if body.endswith("Z") else body
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise NotationError(f"dt[{body}] is not an ISO-8601 datetime") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _enum(enum: Any, name: str, aliases: dict[str, str], what: str) -> Any:
    key = aliases.get(name, name)
    for candidate in (key, key.upper(), key.lower(), key + "_"):
        member = getattr(enum, candidate, None)
        if member is not None:
            return member
    raise NotationError(f"unknown {what} {name!r}")


def _json_value(value: Any, resolver: Resolver | None, expected: bool) -> Any:
    if isinstance(value, str):
        return parse_value(value, resolver, expected=expected)
    if isinstance(value, list):
        return [_json_value(item, resolver, expected) for item in value]
    if isinstance(value, dict):
        return _map(value, resolver, expected)
    return value


def _hashable(key: Any) -> Any:
    if isinstance(key, (list, SetValue)):
        return tuple(_hashable(item) for item in key)
    if isinstance(key, set):
        return frozenset(key)
    if isinstance(key, dict):
        return tuple((k, _hashable(v)) for k, v in key.items())
    return key


def _map(value: dict, resolver: Resolver | None, expected: bool) -> dict:
    result: dict[Any, Any] = {}
    for raw_key, raw_value in value.items():
        key = _hashable(_json_value(raw_key, resolver, expected))
        result[key] = _json_value(raw_value, resolver, expected)
    return result


def _need(resolver: Resolver | None, text: str) -> Resolver:
    if resolver is None:
        raise NotationError(f"{text} names a graph element but no graph is loaded")
    return resolver


def _element(text: str, resolver: Resolver | None) -> Any | None:
    """v[..], e[..], vp[..] with an optional .id / .sid suffix; None if not element notation."""
    for prefix in ("vp", "v", "e"):
        if not text.startswith(prefix + "["):
            continue
        suffix = ""
        for candidate in (".sid", ".id"):
            if text.endswith("]" + candidate):
                suffix, text = candidate, text[:-len(candidate)]
                break
        body = _wrapped(text, prefix)
        if body is None:
            return None
        lookup = _need(resolver, text)
        element = {"v": lookup.vertex, "e": lookup.edge, "vp": lookup.vertex_property}[prefix](body)
        if suffix == ".id":
            return element.id
        if suffix == ".sid":
            return str(element.id)
        return element
    return None


def parse_value(text: str, resolver: Resolver | None = None, *, expected: bool = False) -> Any:
    """The value ``text`` denotes (see the module docstring)."""
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    special = {"d[NaN]": math.nan, "d[Infinity]": math.inf, "d[-Infinity]": -math.inf}
    if text in special:
        return special[text]
    body = _wrapped(text, "str")
    if body is not None:
        return body
    if text.startswith("d[") and len(text) > 4 and text[-2] == "." and text[-3] == "]":
        return _number(text[2:-3], text[-1], expected)
    element = _element(text, resolver)
    if element is not None:
        return element
    if (body := _wrapped(text, "l")) is not None:
        return [] if body == "" else [parse_value(item, resolver, expected=expected) for item in split_items(body)]
    if (body := _wrapped(text, "s")) is not None:
        items = [] if body == "" else [parse_value(i, resolver, expected=expected) for i in split_items(body)]
        return SetValue(items) if expected else {_hashable(item) for item in items}
    if (body := _wrapped(text, "p")) is not None:
        objects = [] if body == "" else [parse_value(i, resolver, expected=expected) for i in split_items(body)]
        return Path([set() for _ in objects], objects)
    if (body := _wrapped(text, "m")) is not None:
        try:
            data = json.loads(body)
        except json.JSONDecodeError as error:
            raise NotationError(f"m[...] does not hold JSON: {error}") from None
        if not isinstance(data, dict):
            raise NotationError(f"m[...] must hold a JSON object, not {body!r}")
        return _map(data, resolver, expected)
    if (body := _wrapped(text, "dt")) is not None:
        return _datetime(body)
    if (body := _wrapped(text, "t")) is not None:
        return _enum(T, body, {}, "T token")
    if (body := _wrapped(text, "D")) is not None:
        return _enum(Direction, body, _DIRECTION_ALIASES, "direction")
    if (body := _wrapped(text, "M")) is not None:
        return _enum(Merge, body, _MERGE_ALIASES, "Merge token")
    if _wrapped(text, "c") is not None:
        raise LambdaNotation(f"lambda {text}")
    return text


def reference_vertex(name: str) -> Vertex:
    """A vertex the graph does not hold: TinkerPop's runners treat its name as its id."""
    return Vertex(name, "vertex")
