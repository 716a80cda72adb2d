"""Memory per identifier on the durable in-process backend (file://), at scale.

    python benchmarks/memory.py --people 3000 --census          # ~20k identifiers, where the bytes go
    nice python benchmarks/memory.py --people 157000 --keep /tmp/big   # ~1M identifiers
    python benchmarks/memory.py --reopen /tmp/big               # the same graph loaded by a fresh process

A population (benchmarks/population.py) is ingested in-process through ``IdentityGraph.ingest``
in batches into a durable graph (gremlin/durable.py: the whole graph in memory, every commit
journaled to SQLite). Sending it through the JSON-RPC service would measure the same store, but
1M identifiers through RPC take hours on a 2-core machine, so the service is left out.

Bytes per identifier = (RSS after the load - RSS of this process just before it, both after a full
garbage collection) / identifiers stored. Everything the graph holds counts against the
identifiers: their own vertices and the event vertices, ``observed`` and ``link`` edges and all
their properties. ``--reopen`` measures a graph directory loaded from SQLite by a fresh process
(what a restarted service holds: no garbage left over from ingest). ``--census`` walks the store
and attributes every object it holds to one structure (records, property tables, adjacency,
indexes, values), each object counted once, and lists tracemalloc's biggest allocation sites.
RSS is also reported after ``malloc_trim`` (memory glibc freed but kept): the gap is
fragmentation, not data. SQLite size per identifier is the database plus its WAL.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gremlin_python.process.anonymous_traversal import traversal  # noqa: E402

import gremlin  # noqa: E402
from benchmarks.harness import add_output_arguments, finish, process_rss_bytes  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402
from gremlin.connect import open_graph  # noqa: E402
from gremlin.durable import DATABASE_NAME  # noqa: E402
from gremlin.engine.common import batched  # noqa: E402
from gremlin.property_table import PropertyTable  # noqa: E402
from gremlin.storage import Store, VertexPropertyRecord  # noqa: E402
from identity import IdentityGraph  # noqa: E402
from identity import model  # noqa: E402

__all__ = ["main", "census"]

TENANT = "bench"


def settled_rss(trim: bool = False) -> int:
    gc.collect()
    if trim:
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
    return process_rss_bytes()


def sqlite_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob(DATABASE_NAME + "*"))


def element_counts(store: Store) -> dict[str, int]:
    counts = Counter(vertex.label for vertex in store.vertices.values())
    counts.update(edge.label for edge in store.edges.values())
    return dict(counts)


# -- the census: every object the store holds, attributed to one structure ---------------------

class _Census:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.bytes: Counter = Counter()
        self.objects: Counter = Counter()

    def add(self, structure: str, obj: Any) -> bool:
        """Count ``obj`` under ``structure`` unless already counted; True when newly counted."""
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        self.bytes[structure] += sys.getsizeof(obj)
        self.objects[structure] += 1
        return True

    def value(self, obj: Any) -> None:
        """Ids, keys, labels and property values (with what a tuple or list holds)."""
        if self.add("values", obj) and isinstance(obj, (tuple, list, frozenset, set)):
            for item in obj:
                self.value(item)


def _table(c: _Census, structure: str, table: Any) -> None:
    c.add(structure, table)
    for key, value in table.items():
        c.value(key)
        c.value(value)


def census(store: Store) -> dict[str, dict[str, int]]:
    """Bytes and objects per store structure (sys.getsizeof, each object counted once)."""
    c = _Census()
    c.add("vertex table", store.vertices)
    c.add("edge table", store.edges)
    for vertex in store.vertices.values():
        c.add("vertex records", vertex)
        c.value(vertex.id)
        c.value(vertex.label)
        c.add("vertex property tables", vertex.props)
        for key, held in vertex.props.items():
            c.value(key)
            if type(held) is tuple:  # two or more values under one key
                c.add("multi-value tuples", held)
                records = held
            elif type(held) is VertexPropertyRecord:
                records = (held,)
            else:  # a value held without a record
                c.value(held)
                records = ()
            for vp in records:
                c.add("vertex property records", vp)
                c.value(vp.id)
                c.value(vp.value)
                _table(c, "meta-property tables", vp.meta)
        for table in (vertex.out_edges, vertex.in_edges):
            if not isinstance(table, PropertyTable):  # a vertex's only label's bucket, held bare
                table = PropertyTable((None, table))
            else:
                c.add("adjacency tables", table)
            for label, bucket in table.items():
                c.value(label)
                if isinstance(bucket, (dict, tuple)):  # a label's only edge is held directly
                    c.add("adjacency buckets", bucket)
    for edge in store.edges.values():
        c.add("edge records", edge)
        c.value(edge.id)
        c.value(edge.label)
        _table(c, "edge property tables", edge.props)
    for key, by_value in store._index.items():
        c.add("indexes", by_value)
        for value, bucket in by_value.items():
            c.value(value)
            c.add("indexes", bucket)
    return {structure: {"bytes": c.bytes[structure], "objects": c.objects[structure]} for structure in c.bytes}


def top_allocations(limit: int = 15) -> list[dict[str, Any]]:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")])
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return [{"site": f"{str(stat.traceback[0].filename).replace(root, '')}:{stat.traceback[0].lineno}",
             "bytes": stat.size, "blocks": stat.count}
            for stat in snapshot.statistics("lineno")[:limit]]


# -- the runs ------------------------------------------------------------------------------------

def load(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    mix = mix_from_args(args)
    url = f"file://{directory}"
    if args.census:
        tracemalloc.start()
    connection = gremlin.connect(url)
    identity = IdentityGraph(traversal().with_remote(connection), TENANT)
    store = open_graph(url).store
    before = settled_rss()
    # a shell starts background jobs with SIGINT ignored: take it back, so `kill -INT` stops a
    # long load and still measures what it loaded
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started, events, samples, stopped = time.perf_counter(), 0, [], None
    next_report = args.report_every
    try:
        for batch in batched((labelled.event for labelled in generate(mix)), args.batch):
            identity.ingest(batch)
            events += len(batch)
            if events >= next_report:
                next_report += args.report_every
                samples.append(_sample(store, events, started, directory))
                print(_sample_line(samples[-1]), flush=True)
                if samples[-1]["rss_bytes"] > args.max_rss_gb * 2 ** 30:
                    stopped = f"RSS passed {args.max_rss_gb} GB"
                    break
    except KeyboardInterrupt:  # SIGINT: measure what was loaded so far (the last batch is whole or absent)
        stopped = "interrupted"
    if stopped:
        print(f"{stopped}: the load stopped after {events:,d} events", flush=True)
    seconds = time.perf_counter() - started
    results = _measure(store, before, directory, args.census)
    results.update({"population": asdict(mix), "events": events, "batch": args.batch, "load_seconds": round(seconds, 1),
                    "events_per_second": round(events / seconds, 1), "stopped": stopped, "samples": samples})
    connection.close()
    gremlin.forget_graph(url)
    return results


def reopen(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    if args.census:
        tracemalloc.start()
    url = f"file://{directory}"
    before = settled_rss()
    started = time.perf_counter()
    store = open_graph(url).store
    seconds = time.perf_counter() - started
    results = _measure(store, before, directory, args.census)
    results["open_seconds"] = round(seconds, 1)
    gremlin.forget_graph(url)
    return results


def _sample(store: Store, events: int, started: float, directory: Path) -> dict[str, Any]:
    identifiers = sum(1 for vertex in store.vertices.values() if vertex.label == model.IDENTIFIER)
    return {"seconds": round(time.perf_counter() - started, 1), "events": events, "identifiers": identifiers,
            "vertices": len(store.vertices), "edges": len(store.edges), "rss_bytes": process_rss_bytes(),
            "sqlite_bytes": sqlite_bytes(directory)}


def _sample_line(sample: dict[str, Any]) -> str:
    return (f"{sample['seconds']:8.1f} s  {sample['events']:9,d} events  {sample['identifiers']:9,d} identifiers  "
            f"RSS {sample['rss_bytes'] / 2 ** 20:8,.0f} MiB  SQLite {sample['sqlite_bytes'] / 2 ** 20:7,.0f} MiB")


def _measure(store: Store, before: int, directory: Path, with_census: bool) -> dict[str, Any]:
    after = settled_rss()
    trimmed = settled_rss(trim=True)
    counts = element_counts(store)
    identifiers = counts.get(model.IDENTIFIER, 0)
    database = sqlite_bytes(directory)
    results: dict[str, Any] = {
        "elements": counts, "identifiers": identifiers, "rss_before_bytes": before, "rss_after_bytes": after,
        "rss_after_trim_bytes": trimmed, "sqlite_bytes": database,
        "bytes_per_identifier": round((after - before) / identifiers, 1) if identifiers else None,
        "bytes_per_identifier_after_trim": round((trimmed - before) / identifiers, 1) if identifiers else None,
        "sqlite_bytes_per_identifier": round(database / identifiers, 1) if identifiers else None}
    if with_census:
        structures = census(store)
        results["census"] = {name: {**row, "per_identifier": round(row["bytes"] / max(1, identifiers), 1)}
                             for name, row in sorted(structures.items(), key=lambda item: -item[1]["bytes"])}
        results["census_total_bytes"] = sum(row["bytes"] for row in structures.values())
        results["traced_bytes"] = tracemalloc.get_traced_memory()[0]
        results["top_allocations"] = top_allocations()
    return results


def report(results: dict[str, Any]) -> None:
    n = results["identifiers"]
    print(f"{n:,d} identifiers; elements {results['elements']}")
    print(f"RSS {results['rss_before_bytes'] / 2 ** 20:,.0f} -> {results['rss_after_bytes'] / 2 ** 20:,.0f} MiB: "
          f"{results['bytes_per_identifier']:,.0f} B per identifier "
          f"({results['bytes_per_identifier_after_trim']:,.0f} B after malloc_trim); "
          f"SQLite {results['sqlite_bytes'] / 2 ** 20:,.0f} MiB = {results['sqlite_bytes_per_identifier']:,.0f} B "
          "per identifier")
    if "census" in results:
        print(f"census {results['census_total_bytes'] / n:,.0f} B per identifier "
              f"(tracemalloc: {results['traced_bytes'] / n:,.0f} B per identifier traced in all)")
        for name, row in results["census"].items():
            print(f"  {name:26s} {row['per_identifier']:8,.0f} B/identifier  {row['objects']:10,d} objects")
        for row in results["top_allocations"]:
            print(f"  {row['bytes'] / n:8,.0f} B/identifier  {row['site']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=3000)
    parser.add_argument("--batch", type=int, default=100, help="events per ingest call")
    parser.add_argument("--census", action="store_true", help="attribute the store's bytes to its structures "
                        "(tracemalloc slows the load about 2x: use at small sizes)")
    parser.add_argument("--keep", type=Path, default=None, help="load into this (new) directory and keep it")
    parser.add_argument("--reopen", type=Path, default=None, help="measure loading this existing graph directory")
    parser.add_argument("--report-every", type=int, default=50_000, help="print a sample every this many events")
    parser.add_argument("--max-rss-gb", type=float, default=12.0, help="stop loading when RSS passes this")
    parser.add_argument("--heap-settler", action="store_true",
                        help="install gremlin.heap.HeapSettler first, as identity serve does (a large load "
                             "otherwise spends much of its time in full collections over the graph)")
    add_output_arguments(parser, "memory")
    args = parser.parse_args(argv)
    if args.heap_settler:
        from gremlin.heap import HeapSettler
        HeapSettler().install()
    if args.reopen is not None:
        results = {"mode": "reopen", **reopen(args, args.reopen.absolute())}
    else:
        scratch = None if args.keep else tempfile.mkdtemp(prefix="identity-memory-")
        directory = (args.keep or Path(scratch) / "graph").absolute()
        if args.keep and directory.exists() and any(directory.iterdir()):
            parser.error(f"{directory} is not empty")
        try:
            results = {"mode": "load", **load(args, directory)}
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
    report(results)
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
