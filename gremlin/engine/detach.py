"""Turning engine values into gremlinpython values at the boundary.

Results leave the engine detached: a caller never holds a live record, so later writes
cannot change a result it already has, exactly as with a remote Gremlin Server.
"""

from __future__ import annotations

from typing import Any, Iterable

from gremlin_python.process.traversal import Traverser as GTraverser
from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty
from gremlin_python.structure.io.util import HashableDict

from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .steps_graph import ROOT
from .traverser import PathValue, Traverser
from .values import MapEntry, PropertyValue

__all__ = ["detach", "detach_traversers"]


# gremlinpython's Traverser, Vertex and VertexProperty made without their constructors: a class
# call runs two __init__ frames (the class's, then Element's), about half the cost of detaching
# a materialized vertex. The attributes are set in the constructors' order, so the instances
# share their class's attribute-key table as constructed ones do; tests/test_detach.py checks
# that they hold the same attributes as constructed ones. Loops, not comprehensions: on this
# Python a comprehension is one more call per vertex.
_new = object.__new__

_SCALARS = (str, int, float, bool, type(None))
# a meta-property table's emptiness read in C: its own __len__ is a Python frame per property
_table_size = tuple.__len__


def _vertex(vertex: VertexRecord, materialize: bool) -> Vertex:
    made = _new(Vertex)
    made.id = vertex.id
    made.label = vertex.label
    if materialize:
        # A vertex's own properties name no owner vertex, as the stock driver reads them from
        # Gremlin Server (GraphBinary and GraphSON alike).
        properties = []
        for vp in vertex.property_records():
            properties.append(_vertex_property(vp, True, None))
        made.properties = properties
    else:
        made.properties = None
    return made


def _vertex_ref(vertex: VertexRecord) -> Vertex:
    return _vertex(vertex, False)


def _vertex_property(vp: VertexPropertyRecord, materialize: bool, owner: Vertex | None) -> VertexProperty:
    value = vp.value
    if type(value) not in _SCALARS:
        value = detach(value, materialize)
    made = _new(VertexProperty)
    made.id = vp.id
    made.label = vp.key
    made.properties = [Property(k, detach(v, materialize), None) for k, v in vp.meta.items()] \
        if materialize and _table_size(vp.meta) else []
    made.value = value
    made.key = vp.key
    made.vertex = owner
    return made


def detach_traversers(traversers: Iterable[Traverser], materialize: bool) -> list[GTraverser]:
    """The results of a traversal as gremlinpython Traversers (one per engine traverser, its bulk
    kept), leaving out the start of a traversal that has no start step."""
    results = []
    append = results.append
    for traverser in traversers:
        value = traverser.obj
        if type(value) is VertexRecord:  # the usual result, without detach()'s dispatch
            value = _vertex(value, materialize)
        elif value is ROOT:
            continue
        else:
            value = detach(value, materialize)
        made = _new(GTraverser)
        made.object = value
        made.bulk = traverser.bulk
        append(made)
    return results


def detach(value: Any, materialize: bool = True) -> Any:
    """A gremlinpython value for an engine value; ``materialize`` includes element properties
    (Gremlin Server 3.7's default) rather than references (Neptune's)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is VertexRecord:
        return _vertex(value, materialize)
    if isinstance(value, (str, int, float)):  # their subclasses, such as an IntEnum
        return value
    if isinstance(value, EdgeRecord):
        props = [Property(k, detach(v, materialize), None) for k, v in value.props.items()] if materialize else []
        return Edge(value.id, _vertex_ref(value.out_v), value.label, _vertex_ref(value.in_v), props)
    if isinstance(value, VertexPropertyRecord):
        return _vertex_property(value, materialize, _vertex_ref(value.vertex))
    if isinstance(value, PropertyValue):
        return Property(value.key, detach(value.value, materialize), None)
    if isinstance(value, PathValue):
        return Path([set(labels) for labels in value.labels], [detach(o, materialize) for o in value.objects])
    if isinstance(value, MapEntry):
        return {_key(value.key, materialize): detach(value.value, materialize)}
    if isinstance(value, dict):
        return {_key(k, materialize): detach(v, materialize) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [detach(v, materialize) for v in value]
    if isinstance(value, (set, frozenset)):
        return {_key(v, materialize) for v in value}
    if value is ROOT:
        return None
    return value


def _key(value: Any, materialize: bool) -> Any:
    """Map keys and set members must hash: lists become tuples and maps HashableDicts, as
    gremlinpython's own GraphBinary reader makes them."""
    return HashableDict.of(detach(value, materialize))
