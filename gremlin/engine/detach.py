"""Turning engine values into gremlinpython values at the boundary.

Results leave the engine detached: a caller never holds a live record, so later writes
cannot change a result it already has, exactly as with a remote Gremlin Server.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Iterable

from gremlin_python.process.traversal import Direction, T
from gremlin_python.process.traversal import Traverser as GTraverser
from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty
from gremlin_python.structure.io.util import HashableDict

from ..storage import EdgeRecord, Store, VertexPropertyRecord, VertexRecord
from .steps_graph import ROOT
from .traverser import Traverser
from .values import MapEntry, PathValue, PropertyValue

__all__ = ["detach", "detach_traversers"]


# gremlinpython's Traverser, Vertex and VertexProperty made without their constructors: a class
# call runs two __init__ frames (the class's, then Element's), about half the cost of detaching
# a materialized vertex. The attributes are set in the constructors' order, so the instances
# share their class's attribute-key table as constructed ones do; tests/test_detach.py checks
# that they hold the same attributes as constructed ones. Loops, not comprehensions: on this
# Python a comprehension is one more call per vertex.
_new = object.__new__

_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)  # one hashed look-up, not a scan of the tuple
#: map keys kept as they are without an isinstance() test: the tokens of element maps among them
_PLAIN_KEYS = _SCALAR_TYPES | {T, Direction}
# a meta-property table's emptiness read in C: its own __len__ is a Python frame per property
_table_size = tuple.__len__


def _vertex(vertex: VertexRecord, store: Store | None) -> Vertex:
    made = _new(Vertex)
    made.id = vertex.id
    made.label = vertex.label
    if store is not None:
        # A vertex's own properties name no owner vertex, as the stock driver reads them from
        # Gremlin Server (GraphBinary and GraphSON alike).
        properties = []
        for vp in store.vertex_properties(vertex):  # each gets its id now if it has none
            properties.append(_vertex_property(vp, store, None))
        made.properties = properties
    else:
        made.properties = None
    return made


def _vertex_ref(vertex: VertexRecord) -> Vertex:
    return _vertex(vertex, None)


def _vertex_property(vp: VertexPropertyRecord, store: Store | None, owner: Vertex | None) -> VertexProperty:
    value = vp.value
    if type(value) not in _SCALARS:
        value = detach(value, store)
    made = _new(VertexProperty)
    made.id = vp.id
    made.label = vp.key
    made.properties = [Property(k, detach(v, store), None) for k, v in vp.meta.items()] \
        if store is not None and _table_size(vp.meta) else []
    made.value = value
    made.key = vp.key
    made.vertex = owner
    return made


def detach_traversers(traversers: Iterable[Traverser], store: Store | None) -> list[GTraverser]:
    """The results of a traversal as gremlinpython Traversers (one per engine traverser, its bulk
    kept), leaving out the start of a traversal that has no start step."""
    results = []
    append = results.append
    for traverser in traversers:
        value = traverser.obj
        if type(value) is VertexRecord:  # the usual result, without detach()'s dispatch
            value = _vertex(value, store)
        elif value is ROOT:
            continue
        else:
            value = detach(value, store)
        made = _new(GTraverser)
        made.object = value
        made.bulk = traverser.bulk
        append(made)
    return results


def detach(value: Any, store: Store | None) -> Any:
    """A gremlinpython value for an engine value: with element properties read from ``store``
    (Gremlin Server 3.7's default), or references only when it is None (Neptune's)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:  # element maps and project() rows: most of a walk's answer
        return _map(value, store)
    if kind is VertexRecord:
        return _vertex(value, store)
    if isinstance(value, (str, int, float)):  # their subclasses, such as an IntEnum
        return value
    if isinstance(value, EdgeRecord):
        props = [Property(k, detach(v, store), None) for k, v in value.props.items()] if store is not None else []
        return Edge(value.id, _vertex_ref(value.out_v), value.label, _vertex_ref(value.in_v), props)
    if isinstance(value, VertexPropertyRecord):
        return _vertex_property(value, store, _vertex_ref(value.vertex))
    if isinstance(value, PropertyValue):
        return Property(value.key, detach(value.value, store), None)
    if isinstance(value, PathValue):
        return Path([set(labels) for labels in value.labels], [detach(o, store) for o in value.objects])
    if isinstance(value, MapEntry):
        return {_key(value.key, store): detach(value.value, store)}
    if isinstance(value, dict):
        return _map(value, store)
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _SCALARS else detach(v, store) for v in value]
    if isinstance(value, (set, frozenset)):
        if any(isinstance(v, (dict, list, tuple, set, frozenset, MapEntry)) for v in value):
            # a set of maps, lists or sets: gremlinpython cannot make a Python set of them and reads
            # the server's Set as a list, so an in-process answer is that list too
            return [detach(v, store) for v in value]
        return {_key(v, store) for v in value}
    if value is ROOT:
        return None
    return value


def _map(value: dict, store: Store | None) -> dict:
    """A copy of ``value`` with its keys and values detached. Most maps (element maps, project()
    rows) hold plain keys and mostly plain values: dict() copies those in C, keeping the keys'
    hashes (a token such as T.id hashes by a Python call), and only the other values are detached."""
    made = dict(value)
    for key, item in value.items():
        if type(key) not in _PLAIN_KEYS and not isinstance(key, Enum):
            return {_key(k, store): detach(v, store) for k, v in value.items()}
        if type(item) not in _SCALAR_TYPES:
            made[key] = _map(item, store) if type(item) is dict else detach(item, store)
    return made


def _key(value: Any, store: Store | None) -> Any:
    """Map keys and set members must hash: lists become tuples and maps HashableDicts, as
    gremlinpython's own GraphBinary reader makes them."""
    if type(value) in _SCALARS or isinstance(value, Enum):  # most keys (T.id, T.label, names): as they are
        return value
    return HashableDict.of(detach(value, store))
