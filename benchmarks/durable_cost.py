"""What durability costs: commits/s in memory vs SQLite WAL NORMAL vs FULL, and reopen time.

    python benchmarks/durable_cost.py            # N=2000 transactions per mode, 100k-vertex reopen
    python benchmarks/durable_cost.py --n 10000 --load 200000

Each transaction adds one vertex with 3 properties and one edge from the previous vertex,
through the Store API (no traversal compilation), so the figures isolate the journal. The
reopen figure loads a directory holding ``--load`` vertices (3 properties each) and as many
edges. Figures compare within one run on one machine only; FULL depends on the disk's fsync.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gremlin.durable import open_store  # noqa: E402
from gremlin.storage import Store  # noqa: E402


def add_one(store: Store, n: int, previous):
    with store.transaction():
        vertex = store.add_vertex("person")
        store.add_vertex_property(vertex, "name", f"person {n}")
        store.add_vertex_property(vertex, "email", f"p{n}@example.com")
        store.add_vertex_property(vertex, "score", n * 0.5)
        if previous is not None:
            edge = store.add_edge("knows", previous, vertex)
            store.set_edge_property(edge, "since", n)
    return vertex


def commits_per_second(store: Store, n: int) -> float:
    previous = None
    start = time.perf_counter()
    for i in range(n):
        previous = add_one(store, i, previous)
    return n / (time.perf_counter() - start)


def fill(directory: Path, vertices: int) -> float:
    """Write ``vertices`` vertices and edges in batches of 10k per transaction; seconds taken."""
    store = open_store(directory)
    previous = None
    start = time.perf_counter()
    for batch in range(0, vertices, 10_000):
        with store.transaction():
            for i in range(batch, min(batch + 10_000, vertices)):
                vertex = store.add_vertex("person")
                store.add_vertex_property(vertex, "name", f"person {i}")
                store.add_vertex_property(vertex, "email", f"p{i}@example.com")
                store.add_vertex_property(vertex, "score", i * 0.5)
                if previous is not None:
                    store.set_edge_property(store.add_edge("knows", previous, vertex), "since", i)
                previous = vertex
    elapsed = time.perf_counter() - start
    store.journal.close()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="transactions per mode (default 2000)")
    parser.add_argument("--load", type=int, default=100_000, help="vertices in the reopen test (default 100000)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="durable-cost-") as scratch:
        root = Path(scratch)
        rates = {"memory": commits_per_second(Store(), args.n)}
        for mode in ("NORMAL", "FULL"):
            store = open_store(root / mode, synchronous=mode)
            rates[f"durable {mode}"] = commits_per_second(store, args.n)
            store.journal.close()

        print(f"commit cost: {args.n} transactions, each 1 vertex + 3 properties + 1 edge")
        for name, rate in rates.items():
            print(f"  {name:<16} {rate:>10,.0f} tx/s   {1e6 / rate:>8,.0f} us/tx   "
                  f"{rates['memory'] / rate:>6.1f}x memory")
        print(f"  FULL / NORMAL cost ratio: {rates['durable NORMAL'] / rates['durable FULL']:.1f}x")

        directory = root / "load"
        write_seconds = fill(directory, args.load)
        gc.collect()
        start = time.perf_counter()
        store = open_store(directory)
        load_seconds = time.perf_counter() - start
        assert len(store.vertices) == args.load
        store.journal.close()
        size = sum(f.stat().st_size for f in directory.iterdir()) / 1e6
        print(f"reopen: {args.load:,} vertices (3 properties each) + {args.load - 1:,} edges, {size:.1f} MB on disk")
        print(f"  load   {load_seconds:6.2f} s   {args.load / load_seconds:>10,.0f} vertices/s")
        print(f"  write  {write_seconds:6.2f} s   (10k elements per transaction; load/write ratio "
              f"{load_seconds / write_seconds:.2f})")


if __name__ == "__main__":
    main()
