"""The graph as Amazon Neptune bulk-loader CSV (the Gremlin load format), for backfills.

    summary = export_neptune_csv(g, Path("out"), tenant="acme")   # out/vertices.csv, out/edges.csv

Vertex file columns: ``~id``, ``~label``, then ``name:Type`` per property key; edge file:
``~id``, ``~from``, ``~to``, ``~label``, then the properties. Types are the loader's (Bool,
Long, Double, String, Date); a key holding values of several types is exported as the wider
one (Long and Double: Double; anything else: String). An empty cell is an absent property.
Values are written as stored: identifier values are sealed by the Protector, so the files hold
no plaintext PII. Customer ids are computed from what is stored (identity.domain.customers): each
identifier's ``cid`` and ``since`` columns (the id it carries: its customer's or an alias) and
the ``retired`` vertices (``heir``), so a graph loaded from these files names every customer, and
resolves every id ever returned, as this one does. Load them with the loader's ``updateSingleCardinalityProperties`` when the
target cluster already holds some of these vertices (the service writes single cardinality).

Elements are read in pages of ids (``g.V(id, ...)``), so an export does not hold one huge
result. The header (every key and its type) is known only after the last row, so rows are
staged in a temporary file beside the output while they are typed, then written as CSV: the
process holds one page of rows and the element ids, not the whole tenant.
"""

from __future__ import annotations

import csv
import datetime
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T

from ..domain import model
from ..graph.connection import ids_to_send, submit

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
    vertex_file, edge_file = directory / VERTEX_FILE, directory / EDGE_FILE
    vertex_count = _write(vertex_file, ("~id", "~label"), _pages(
        submit(vertices.id_()), lambda ids: g.V(*ids).project("~id", "~label", "props")
        .by(T.id).by(T.label).by(__.value_map())))
    if progress is not None:
        progress(vertex_count, 0)
    edge_count = _write(edge_file, ("~id", "~from", "~to", "~label"), _pages(
        submit(edges.id_()), lambda ids: g.E(*ids).project("~id", "~from", "~to", "~label", "props")
        .by(T.id).by(__.out_v().id_()).by(__.in_v().id_()).by(T.label).by(__.value_map())))
    if progress is not None:
        progress(vertex_count, edge_count)
    return ExportSummary(vertex_count, edge_count, vertex_file, edge_file)


def _pages(ids: list, page: Callable[[list], Any]) -> Iterator[dict]:
    for start in range(0, len(ids), PAGE):
        yield from submit(page(ids_to_send(ids[start:start + PAGE])))


def _single(value: Any) -> Any:
    """value_map() lists a vertex property's values; the service writes one per key."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _write(path: Path, system: tuple[str, ...], rows: Iterable[dict]) -> int:
    """Stage and type the rows, then write them as CSV; returns how many were written."""
    types: dict[str, str] = {}
    count = 0
    with tempfile.TemporaryFile(dir=path.parent) as staged:
        for row in rows:
            for key, value in row["props"].items():
                types[key] = _wider(types.get(key), neptune_type(_single(value)))
            pickle.dump(row, staged, protocol=pickle.HIGHEST_PROTOCOL)
            count += 1
        staged.seek(0)
        keys = sorted(types)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([*system, *(f"{key.replace(':', chr(92) + ':')}:{types[key]}" for key in keys)])
            for row in _unstaged(staged, count):
                props = row["props"]
                writer.writerow([*(str(row[name]) for name in system),
                                 *(_cell(_single(props.get(key)), types[key]) for key in keys)])
    return count


def _unstaged(staged: IO[bytes], count: int) -> Iterator[dict]:
    # the file is this process's own, written just above: unpickling it trusts nothing outside
    for _ in range(count):
        yield pickle.load(staged)
