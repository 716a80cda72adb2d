"""Turning engine values into gremlinpython values at the boundary.

Results leave the engine detached: a caller never holds a live record, so later writes
cannot change a result it already has, exactly as with a remote Gremlin Server.
"""

from __future__ import annotations

from typing import Any

from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty
from gremlin_python.structure.io.util import HashableDict

from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .steps_graph import ROOT
from .traverser import PathValue
from .values import MapEntry, PropertyValue

__all__ = ["detach"]


def _vertex_ref(vertex: VertexRecord) -> Vertex:
    return Vertex(vertex.id, vertex.label)


_SCALARS = (str, int, float, bool, type(None))


def _vertex_property(vp: VertexPropertyRecord, materialize: bool, owner: Vertex | None) -> VertexProperty:
    meta = [Property(k, detach(v, materialize), None) for k, v in vp.meta.items()] if materialize and vp.meta else []
    value = vp.value if type(vp.value) in _SCALARS else detach(vp.value, materialize)
    return VertexProperty(vp.id, vp.key, value, owner, meta)


def _vertex(vertex: VertexRecord, materialize: bool) -> Vertex:
    if not materialize:
        return _vertex_ref(vertex)
    # A vertex's own properties name no owner vertex, as the stock driver reads them from
    # Gremlin Server (GraphBinary and GraphSON alike).
    properties = []
    for bucket in vertex.props.values():
        for vp in bucket:
            properties.append(_vertex_property(vp, True, None))
    return Vertex(vertex.id, vertex.label, properties)


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
