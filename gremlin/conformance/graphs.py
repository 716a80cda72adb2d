"""The standard test graphs: reading their GraphSON, loading them, naming their elements.

The data files (``../shared/tinkerpop/data``) are GraphSON 3.0 adjacency lists: one vertex per
line with its properties (each with meta-properties, for crew) and its incident edges. Loading
goes through an ordinary traversal source so it works against any backend, including a real
Gremlin Server: drop everything, then ``addV``/``addE`` with the files' ids, in batches.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, T
from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader

from ..engine.common import batched
from .notation import NotationError, reference_vertex

__all__ = [
    "GRAPH_FILES", "VertexData", "EdgeData", "GraphData", "read_graphson", "load_graph", "Lookups",
    "build_lookups",
]

#: Scenario graph names ("Given the modern graph") and the files that hold them.
GRAPH_FILES = {
    "modern": "tinkerpop-modern.json",
    "classic": "tinkerpop-classic.json",
    "crew": "tinkerpop-crew.json",
    "sink": "tinkerpop-sink.json",
    "grateful": "grateful-dead.json",
}

BATCH_SIZE = 100


@dataclass
class PropertyData:
    key: str
    value: Any
    meta: dict[str, Any] = field(default_factory=dict)
    id: Any = None


@dataclass
class VertexData:
    id: Any
    label: str
    properties: list[PropertyData] = field(default_factory=list)


@dataclass
class EdgeData:
    id: Any
    label: str
    out_v: Any
    in_v: Any
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class GraphData:
    vertices: list[VertexData] = field(default_factory=list)
    edges: list[EdgeData] = field(default_factory=list)


def read_graphson(path: str | Path) -> GraphData:
    """Parse a GraphSON 3.0 adjacency-list file; each edge is taken from its out-vertex line."""
    reader = GraphSONReader()
    graph = GraphData()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON: {error}") from None
        vertex_id = reader.to_object(raw["id"])
        vertex = VertexData(vertex_id, raw.get("label", "vertex"))
        for key, entries in raw.get("properties", {}).items():
            for entry in entries:
                meta = {k: reader.to_object(v) for k, v in entry.get("properties", {}).items()}
                vertex.properties.append(PropertyData(key, reader.to_object(entry["value"]), meta,
                                                      reader.to_object(entry.get("id"))))
        graph.vertices.append(vertex)
        for label, edges in raw.get("outE", {}).items():
            for edge in edges:
                properties = {k: reader.to_object(v) for k, v in edge.get("properties", {}).items()}
                graph.edges.append(EdgeData(reader.to_object(edge["id"]), label, vertex_id,
                                            reader.to_object(edge["inV"]), properties))
    return graph


def load_graph(g: GraphTraversalSource, data: GraphData, *, batch_size: int = BATCH_SIZE,
               vertex_property_ids: bool = False, string_ids: bool = False) -> None:
    """Replace the graph behind ``g`` with ``data`` (one traversal per ``batch_size`` elements).

    Keys with one value use single cardinality and only multi-valued keys use list, so a
    backend without multi-properties can still hold the graphs that do not need them.
    ``vertex_property_ids`` passes the files' vertex property ids as ``T.id`` (TinkerGraph
    honours it; backends that do not would keep it as a meta-property). ``string_ids`` writes
    every element id as text, for backends that accept only string ids (Amazon Neptune)."""
    ident = str if string_ids else (lambda value: value)
    g.V().drop().iterate()
    for batch in batched(_in_id_order(data.vertices), batch_size):
        traversal: Any = g
        for vertex in batch:
            traversal = traversal.add_v(vertex.label).property(T.id, ident(vertex.id))
            counts = Counter(prop.key for prop in vertex.properties)
            for prop in vertex.properties:
                cardinality = Cardinality.list_ if counts[prop.key] > 1 else Cardinality.single
                meta = [item for pair in prop.meta.items() for item in pair]
                if vertex_property_ids and prop.id is not None:
                    meta = [T.id, prop.id, *meta]
                traversal = traversal.property(cardinality, prop.key, prop.value, *meta)
        traversal.iterate()
    for batch in batched(_in_id_order(data.edges), batch_size):
        traversal = g
        for edge in batch:
            traversal = traversal.add_e(edge.label).from_(__.V(ident(edge.out_v))).to(__.V(ident(edge.in_v))) \
                .property(T.id, ident(edge.id))
            for key, value in edge.properties.items():
                traversal = traversal.property(key, value)
        traversal.iterate()


def _in_id_order(elements: list) -> list:
    """Elements with integer ids in id order: TinkerGraph keeps elements in a hash map, which
    iterates small integer ids in ascending order, so g.E() meets the files' edges that way;
    a graph that iterates in insertion order (this engine) then does too."""
    if all(type(element.id) is int for element in elements):
        return sorted(elements, key=lambda element: element.id)
    return elements


def _typed(value: Any) -> list[str]:
    """The ways a scenario may write a property value inside ``vp[...]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, int):
        return [f"d[{value}].i", f"d[{value}].l"]
    return [f"d[{value!r}].d", f"d[{value!r}].f"]


@dataclass
class Lookups:
    """Elements of a loaded graph by the names scenarios use (see notation.py)."""

    vertices: dict[str, Any] = field(default_factory=dict)
    edges: dict[str, Any] = field(default_factory=dict)
    vertex_properties: dict[str, Any] = field(default_factory=dict)

    def vertex(self, name: str) -> Any:
        found = self.vertices.get(name)
        return found if found is not None else reference_vertex(name)

    def edge(self, name: str) -> Any:
        found = self.edges.get(name)
        if found is None:
            raise NotationError(f"the graph has no edge e[{name}]")
        return found

    def vertex_property(self, name: str) -> Any:
        found = self.vertex_properties.get(name)
        if found is None:
            raise NotationError(f"the graph has no vertex property vp[{name}]")
        return found


def build_lookups(g: GraphTraversalSource) -> Lookups:
    """Read the graph behind ``g`` and index its elements by name, as the scenarios write them."""
    lookups = Lookups()
    rows = g.V().project("v", "name", "props").by(__.identity()).by(__.values("name").fold()) \
        .by(__.properties().fold()).to_list()
    for row in rows:
        names = row["name"]
        if not names:
            continue
        name = str(names[-1])
        lookups.vertices[name] = row["v"]
        for prop in row["props"]:
            for written in _typed(prop.value):
                lookups.vertex_properties[f"{name}-{prop.key}->{written}"] = prop
    edges = g.E().project("e", "out", "in").by(__.identity()) \
        .by(__.out_v().values("name").fold()).by(__.in_v().values("name").fold()).to_list()
    for row in edges:
        if row["out"] and row["in"]:
            edge = row["e"]
            lookups.edges[f"{row['out'][-1]}-{edge.label}->{row['in'][-1]}"] = edge
    return lookups
