"""Gremlin's tokens as gremlinpython spells them: the Gremlin name of an enum member, and of a T token."""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import T

__all__ = ["enum_name", "token_name"]

#: enum member -> its Gremlin name: the members are few, and mutating steps ask once per write
_ENUM_NAMES: dict[Any, str] = {}


def enum_name(value: Any) -> str:
    """The Gremlin name of a gremlinpython enum member: Pop.all_ -> 'all', Merge.on_create -> 'onCreate'."""
    name = _ENUM_NAMES.get(value)
    if name is None:
        head, *rest = value.name.rstrip("_").split("_")
        name = _ENUM_NAMES[value] = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return name


def token_name(value: Any) -> str | None:
    """'id', 'label', 'key', 'value' for a T token (enum or its name)."""
    if type(value) is str:  # a property key, as most writes ask: cheaper than isinstance() with T
        return None
    if isinstance(value, T):
        return value.name.rstrip("_")
    return None
