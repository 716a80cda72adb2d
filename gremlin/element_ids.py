"""Element ids in the one form every store agrees on, and the ids of vertex properties held bare.

``id_key`` is an element id as equal ids share it (``5``, ``long(5)`` and ``5.0`` are one vertex,
``5`` and ``"5"`` two, as in the in-memory store's dicts): the durable file keys its rows by it.

A vertex property held as a bare value (most: see ``storage.VertexRecord.props``) has no stored
id. Its id is derived from its vertex's id, its key and its value (``derived_vp_id``), so it reads
the same every time, in every store and after a restart, and reading it as an element writes
nothing. Replacing the value gives a new id, as in TinkerGraph; writing the same value again
gives the same one. The formula is part of the durable format: a record whose id is the derived
one is stored as its bare value (gremlin/disk_rows.py), so it must not change.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import codec
from .errors import InvalidArgumentError

__all__ = ["INT64_MIN", "INT64_MAX", "id_key", "derived_vp_id"]

INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1


def id_key(id: Any) -> Any:
    """An element id as equal ids share it: an int id an int (within 64 bits), a string id
    itself, any other id its tagged JSON (gremlin.codec) as bytes."""
    kind = type(id)
    if kind is str:
        return id
    if isinstance(id, int) or (kind is float and id.is_integer()):  # int, long, bool; 5.0 is 5
        number = int(id)
        if INT64_MIN <= number <= INT64_MAX:
            return number
    return codec.dumps(id).encode("utf-8")


def derived_vp_id(vertex_id: Any, key: str, value: Any) -> int:
    """The id of a vertex property held as a bare value: from its vertex, key and value, so
    it reads the same every time without being stored (a 63-bit int)."""
    try:
        material = "\0".join((repr(id_key(vertex_id)), key, codec.dumps(value)))
    except InvalidArgumentError:
        # an id or a value only the in-memory store can hold (an element, say): their reprs,
        # the same while the vertex holds that value
        material = "\0".join((_described(vertex_id), key, _described(value)))
    return int.from_bytes(hashlib.blake2b(material.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def _described(thing: Any) -> str:
    return f"{type(thing).__module__}.{type(thing).__qualname__}:{thing!r}"
