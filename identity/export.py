"""The graph as Amazon Neptune bulk-loader CSV (the Gremlin load format), for backfills.

    summary = export_neptune_csv(g, Path("out"), tenant="acme")   # out/vertices.csv, out/edges.csv

Vertex file columns: ``~id``, ``~label``, then ``name:Type`` per property key; edge file:
``~id``, ``~from``, ``~to``, ``~label``, then the properties. Types are the loader's (Bool,
Long, Double, String, Date); a key holding values of several types is exported as the wider
one (Long and Double: Double; anything else: String). An empty cell is an absent property.
Values are written as stored: identifier values are sealed by the Protector, so the files hold
no plaintext PII. Load them with the loader's ``updateSingleCardinalityProperties`` when the
target cluster already holds some of these vertices (the service writes single cardinality).

Elements are read in pages of ids (``g.V(id, ...)``), so an export does not hold one huge
result; rows are staged in the process until the header (every key and its type) is known.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T

from . import model
from .graph import submit

__all__ = ["export_neptune_csv", "ExportSummary", "neptune_type", "VERTEX_FILE", "EDGE_FILE"]

VERTEX_FILE = "vertices.csv"
EDGE_FILE = "edges.csv"
PAGE = 500


@dataclass(frozen=True)
class ExportSummary:
    vertices: int
    edges: int
    vertex_file: Path
    edge_file: Path


def neptune_type(value: Any) -> str:
    """The loader's type name for one property value."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, datetime.datetime):
        return "Date"
    return "String"


def _wider(a: str | None, b: str) -> str:
    if a is None or a == b:
        return b
    return "Double" if {a, b} == {"Long", "Double"} else "String"


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "Bool":
        return "true" if value else "false"
    if kind == "Date":
        return value.isoformat()
    return str(value)


def export_neptune_csv(g: GraphTraversalSource, directory: Path, *, tenant: str | None = None,
                       progress: Callable[[int, int], None] | None = None) -> ExportSummary:
    """Write the vertices and edges (of ``tenant``, or all) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    vertices = g.V() if tenant is None else g.V().has(model.TENANT, tenant)
    edges = g.E() if tenant is None else g.E().has(model.TENANT, tenant)
    vertex_rows = list(_pages(submit(vertices.id_()), lambda ids: g.V(*ids).project("~id", "~label", "props")
                              .by(T.id).by(T.label).by(__.value_map())))
    if progress is not None:
        progress(len(vertex_rows), 0)
    edge_rows = list(_pages(submit(edges.id_()), lambda ids: g.E(*ids).project("~id", "~from", "~to", "~label", "props")
                            .by(T.id).by(__.out_v().id_()).by(__.in_v().id_()).by(T.label).by(__.value_map())))
    if progress is not None:
        progress(len(vertex_rows), len(edge_rows))
    vertex_file, edge_file = directory / VERTEX_FILE, directory / EDGE_FILE
    _write(vertex_file, ("~id", "~label"), vertex_rows)
    _write(edge_file, ("~id", "~from", "~to", "~label"), edge_rows)
    return ExportSummary(len(vertex_rows), len(edge_rows), vertex_file, edge_file)


def _pages(ids: list, page: Callable[[list], Any]) -> Iterator[dict]:
    for start in range(0, len(ids), PAGE):
        yield from submit(page(ids[start:start + PAGE]))


def _single(value: Any) -> Any:
    """value_map() lists a vertex property's values; the service writes one per key."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _write(path: Path, system: tuple[str, ...], rows: Iterable[dict]) -> None:
    rows = list(rows)
    types: dict[str, str] = {}
    for row in rows:
        for key, value in row["props"].items():
            types[key] = _wider(types.get(key), neptune_type(_single(value)))
    keys = sorted(types)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*system, *(f"{key.replace(':', chr(92) + ':')}:{types[key]}" for key in keys)])
        for row in rows:
            props = row["props"]
            writer.writerow([*(str(row[name]) for name in system),
                             *(_cell(_single(props.get(key)), types[key]) for key in keys)])
