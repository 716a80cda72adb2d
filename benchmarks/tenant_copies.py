"""Make a durable graph several times larger: its tenant copied as more tenants, inside SQLite.

    python benchmarks/tenant_copies.py --graph /work/bigdata/10m --copies 9    # 1M identifiers -> 10M

A graph of 10M identifiers takes this machine days to load (about 1 ms of CPU per event, 12M
events), while what a graph's size changes for the service (the file, its indexes, how far
apart the rows a traversal reads lie, the cache) does not depend on how its elements came to
be. So benchmarks/memory.py's graph of one tenant (``bench``) is copied, row by row in SQLite,
as ``bench1``, ``bench2``, ... : each copy's element ids and ``tenant`` values are its own,
its generated ids and row ids are shifted past the others', and everything else (properties,
links, edges' labels per vertex) is the original's. The copies are tenants' graphs as the
service keeps them side by side (every id tenant-prefixed, every element its tenant's), but not
what ingest would write for those tenants: their sealed values and customer ids stay the
original's, so resolves run on ``bench``, the tenant that was loaded, as a deployment's busiest
tenant among others. Copy a directory first: this appends to the one given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, finish  # noqa: E402

TENANT = "bench"  # the tenant benchmarks/memory.py loads


def copy_tenant(conn, tenant: str, copies: int, report=print) -> dict:
    """Append ``copies`` copies of the single-tenant graph on ``conn`` (format 2) as tenants
    ``<tenant>1`` ... in one SQLite transaction per copy."""
    prefix = f"{tenant}:"
    vertices = conn.execute("SELECT max(rid), count(*) FROM vertices").fetchone()
    edges = conn.execute("SELECT max(rid), count(*) FROM edges").fetchone()
    last_vertex, last_edge = vertices[0] or 0, edges[0] or 0
    counter = int(conn.execute("SELECT value FROM meta WHERE name = 'counter'").fetchone()[0])
    foreign = conn.execute("SELECT count(*) FROM vertices WHERE typeof(key) != 'text' OR key NOT LIKE ? "
                           "OR id IS NOT NULL", (prefix + "%",)).fetchone()[0]
    foreign += conn.execute("SELECT count(*) FROM edges WHERE id IS NOT NULL OR (typeof(key) = 'text' AND key "
                            "NOT LIKE ?) OR typeof(key) NOT IN ('text', 'integer')", (prefix + "%",)).fetchone()[0]
    if foreign:
        raise SystemExit(f"{foreign} elements are not {tenant!r}'s as benchmarks/memory.py writes them: "
                         "only a graph of that one tenant can be copied")
    tenant_key = (conn.execute("SELECT id FROM names WHERE name = 'tenant'").fetchone() or (None,))[0]
    # a copy inserts into the middle of the key and adjacency indexes: with their pages held in
    # memory (1 GiB) a copy is not one random read of the file per row
    conn.execute("PRAGMA cache_size = -1048576")
    started = time.perf_counter()
    for n in range(1, copies + 1):
        name = f"{tenant}{n}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO vertices (rid, key, id, label, props, edges) "
            "SELECT rid + ?, ? || substr(key, ?), NULL, label, replace(props, ?, ?), edges FROM vertices WHERE rid <= ?",
            (n * last_vertex, f"{name}:", len(prefix) + 1, f'"{tenant}"', f'"{name}"', last_vertex))
        conn.execute(
            "INSERT INTO edges (rid, key, id, label, out_rid, in_rid, props) "
            "SELECT rid + ?, CASE typeof(key) WHEN 'integer' THEN key + ? ELSE ? || substr(key, ?) END, NULL, "
            "label, out_rid + ?, in_rid + ?, replace(props, ?, ?) FROM edges WHERE rid <= ?",
            (n * last_edge, n * counter, f"{name}:", len(prefix) + 1, n * last_vertex, n * last_vertex,
             f'"{tenant}"', f'"{name}"', last_edge))
        # the kept value indexes hold the copy's vertices too (its tenant value under the tenant
        # key), or a lookup by value would miss them
        conn.execute(
            "INSERT INTO value_index (key, value, rid) SELECT key, CASE WHEN key = ? AND value = ? THEN ? "
            "ELSE value END, rid + ? FROM value_index WHERE rid <= ?",
            (tenant_key, tenant, name, n * last_vertex, last_vertex))
        conn.execute("UPDATE meta SET value = ? WHERE name = 'counter'", ((n + 1) * counter,))
        conn.execute("COMMIT")
        report(f"{name}: {vertices[1]:,d} vertices and {edges[1]:,d} edges copied "
               f"({time.perf_counter() - started:,.0f} s so far)")
    return {"tenant": tenant, "copies": copies, "vertices_per_copy": vertices[1], "edges_per_copy": edges[1],
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", type=Path, required=True, help="the graph directory to grow (copy it first)")
    parser.add_argument("--copies", type=int, default=9, help="tenants to add")
    parser.add_argument("--tenant", default=TENANT, help="the tenant to copy (the graph's only one)")
    add_output_arguments(parser, "tenant_copies")
    args = parser.parse_args(argv)
    from gremlin.durable import open_store
    store = open_store(args.graph)  # the directory's lock, and a graph in format 2
    try:
        results = copy_tenant(store._connection(), args.tenant, args.copies)
        counts = store.label_counts()
    finally:
        store.close()
    results.update({"elements": counts, "identifiers": counts.get("identifier", 0)})
    print(f"{results['identifiers']:,d} identifiers in {args.graph}")
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
