"""Memory, file size, open time and resolve latency of the embedded durable graph (file://), at scale.

    python benchmarks/memory.py --people 3000                    # ~20k identifiers: load, then measure
    nice python benchmarks/memory.py --people 159000 --keep DIR  # ~1M identifiers, kept for later runs
    python benchmarks/memory.py --people 159000 --batch 200 --stop-after 253000 --keep DIR  # docs/benchmarks.md's base
    python benchmarks/memory.py --reopen DIR                     # that graph opened by a fresh process
    python benchmarks/memory.py --reopen DIR --more-events 20000 # ... and more events ingested into it
    python benchmarks/memory.py --reopen DIR --tree /tmp/main    # the same with another checkout's code

A population (benchmarks/population.py) is ingested in-process through ``IdentityGraph.ingest``
in batches into a durable graph (gremlin/durable.py). Sending it through the JSON-RPC service
would measure the same store, but 1M identifiers through RPC take hours on a 2-core machine, so
the service is left out here (benchmarks/resolve_at_scale.py measures it on the graph kept).

What is measured, after a load or in a fresh process (``--reopen``):

- RSS per identifier: (RSS after - RSS of this process just before opening the graph, both
  after a full garbage collection) / identifiers stored; everything the graph holds counts
  against the identifiers (their vertices, events, ``observed`` and ``link`` edges). Also after
  ``malloc_trim`` (memory glibc freed but kept: the gap is fragmentation, not data).
- SQLite bytes per identifier: the database plus its WAL.
- Open time: opening the graph until it has answered a first traversal.
- Resolve latency, in-process (``IdentityGraph.resolve``, max_hops 3, of identifiers people own
  in the population's first ``--events`` events): the first ``--cold`` resolves right after the
  open (nothing cached: read from the file), then ``--warm`` more after as many to warm up.
- ``--more-events N``: N events of another population (``--more-seed``, its event ids prefixed to
  keep them apart) ingested into the graph afterwards, in batches of ``--batch``: ingest speed on
  a graph this size. It changes the graph: run it on a copy.

``--census`` attributes every object a store that holds the whole graph in memory (``--tree`` of
a checkout before the disk store) holds to one structure and lists tracemalloc's biggest
allocation sites. ``--tree`` imports identity and gremlin from another checkout (before and
after in one session: a graph directory written before the disk store is converted in place by
the first open with this checkout's code, so measure the old code on a copy first).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import random
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (add_loaded_graph_arguments, add_output_arguments, add_tree_argument,  # noqa: E402
                                durable_url, finish, graph_label_counts, latency_summary, process_rss_bytes,
                                use_tree)
from benchmarks.population import add_mix_arguments, generate, mix_from_args, person_owned_keys  # noqa: E402

__all__ = ["main", "census"]

TENANT = "bench"
DATABASE_NAME = "graph.sqlite3"


def settled_rss(trim: bool = False) -> int:
    gc.collect()
    if trim:
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
    return process_rss_bytes()


def anonymous_rss() -> int:
    """RSS not backed by a file (Linux RssAnon): the process's own memory, no mapped pages."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def sqlite_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob(DATABASE_NAME + "*"))


def sqlite_used_bytes(directory: Path) -> int:
    """The database's pages that hold data (a file converted from format 1 keeps the old
    tables' pages free for reuse until a VACUUM), read while the store has it open."""
    import sqlite3
    conn = sqlite3.connect(f"file:{directory / DATABASE_NAME}?mode=ro", uri=True)
    try:
        pages, free, size = (conn.execute(f"PRAGMA {name}").fetchone()[0]
                             for name in ("page_count", "freelist_count", "page_size"))
    finally:
        conn.close()
    return (pages - free) * size


# -- the census: every object a whole-graph store holds, attributed to one structure ------------

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


def census(store: Any) -> dict[str, dict[str, int]]:
    """Bytes and objects per structure of a store that holds the whole graph in memory
    (sys.getsizeof, each object counted once)."""
    from gremlin.property_table import PropertyTable
    from gremlin.storage import VertexPropertyRecord
    if not isinstance(store.vertices, dict):
        raise SystemExit("--census needs a store that holds the whole graph (--tree of a checkout before the disk store)")
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
    import gremlin
    from gremlin.connect import open_graph
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    mix = mix_from_args(args)
    url = durable_url(directory, args.cache_mb)
    if args.census:
        tracemalloc.start()
    before = settled_rss()
    connection = gremlin.connect(url)
    identity = IdentityGraph(traversal().with_remote(connection), TENANT)
    store = open_graph(url).store
    # a shell starts background jobs with SIGINT ignored: take it back, so `kill -INT` stops a
    # long load and still measures what it loaded
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started, events, samples, stopped = time.perf_counter(), 0, [], None
    next_report = args.report_every
    try:
        for batch in _batches(generate(mix), args.batch):
            identity.ingest(batch)
            events += len(batch)
            if args.stop_after and events >= args.stop_after:
                stopped = f"--stop-after {args.stop_after:,d}"
                break
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
    """A fresh process opening the graph: open time, memory, cold and warm resolves, and
    (``--more-events``) ingest into it."""
    import gremlin
    from gremlin.connect import open_graph
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    if args.census:
        tracemalloc.start()
    url = durable_url(directory, args.cache_mb)
    keys = person_owned_keys(itertools.islice(generate(mix_from_args(args)), args.events))
    rng = random.Random(args.seed + 1)
    before = settled_rss()
    started = time.perf_counter()
    connection = gremlin.connect(url)
    g = traversal().with_remote(connection)
    g.V().limit(1).count().next()  # the graph answers: open
    open_seconds = time.perf_counter() - started
    rss_open = settled_rss()
    identity = IdentityGraph(g, TENANT)
    cold = _resolves(identity, [rng.choice(keys) for _ in range(args.cold)])
    _resolves(identity, [rng.choice(keys) for _ in range(args.warm)])  # warm-up
    warm = _resolves(identity, [rng.choice(keys) for _ in range(args.warm)])
    store = open_graph(url).store
    results = _measure(store, before, directory, args.census)
    results.update({"open_seconds": round(open_seconds, 4), "rss_after_open_bytes": rss_open,
                    "keys_sampled_from": len(keys), "resolve_cold": cold, "resolve_warm": warm})
    if args.more_events:
        results["more"] = _ingest_more(identity, args)
        results["rss_after_more_bytes"] = settled_rss()
    connection.close()
    gremlin.forget_graph(url)
    return results


def _resolves(identity: Any, keys: list[tuple[str, str]]) -> dict[str, Any]:
    """In-process resolve latencies of ``keys``, one after another."""
    latencies, found = [], 0
    started, cpu = time.perf_counter(), time.process_time()
    for id_type, value in keys:
        began = time.perf_counter()
        found += identity.resolve(id_type, value, max_hops=3) is not None
        latencies.append((time.perf_counter() - began) * 1000)
    summary = latency_summary(latencies, time.perf_counter() - started)
    # CPU per resolve says what a resolve costs whatever else the machine runs meanwhile
    return {**summary, "found": found, "cpu_ms": round((time.process_time() - cpu) / max(1, len(keys)) * 1000, 3)}


def _ingest_more(identity: Any, args: argparse.Namespace) -> dict[str, Any]:
    mix = replace(mix_from_args(args), seed=args.more_seed)
    # another population's events, under event ids of their own (a population numbers its events
    # from 0: these would be taken for the loaded ones again, and skipped)
    events = [{**labelled.event, "event_id": f"more{args.more_seed}-{labelled.event['event_id']}"}
              for labelled in itertools.islice(generate(mix), args.more_events)]
    started, cpu = time.perf_counter(), time.process_time()
    for batch in _batches(events, args.batch, labelled=False):
        identity.ingest(batch)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    print(f"{len(events):,d} more events in {seconds:,.1f} s: {len(events) / seconds:,.0f} events/s, "
          f"{cpu_seconds / len(events) * 1000:.2f} ms of CPU each", flush=True)
    return {"seed": args.more_seed, "events": len(events), "batch": args.batch, "seconds": round(seconds, 1),
            "events_per_second": round(len(events) / seconds, 1),
            "cpu_ms_per_event": round(cpu_seconds / len(events) * 1000, 3)}


def _batches(items: Any, size: int, labelled: bool = True) -> Any:
    from gremlin.engine.common import batched
    return batched((item.event for item in items) if labelled else items, size)


def _sample(store: Any, events: int, started: float, directory: Path) -> dict[str, Any]:
    counts = graph_label_counts(store)
    return {"seconds": round(time.perf_counter() - started, 1), "events": events,
            "identifiers": counts.get("identifier", 0), "vertices": sum(counts.get(k, 0) for k in _VERTEX_LABELS),
            "edges": sum(v for k, v in counts.items() if k not in _VERTEX_LABELS),
            "rss_bytes": process_rss_bytes(), "sqlite_bytes": sqlite_bytes(directory)}


_VERTEX_LABELS = ("identifier", "event", "suppressed")


def _sample_line(sample: dict[str, Any]) -> str:
    return (f"{sample['seconds']:8.1f} s  {sample['events']:9,d} events  {sample['identifiers']:9,d} identifiers  "
            f"RSS {sample['rss_bytes'] / 2 ** 20:8,.0f} MiB  SQLite {sample['sqlite_bytes'] / 2 ** 20:7,.0f} MiB")


def _measure(store: Any, before: int, directory: Path, with_census: bool) -> dict[str, Any]:
    after = settled_rss()
    trimmed = settled_rss(trim=True)
    counts = graph_label_counts(store)
    identifiers = counts.get("identifier", 0)
    database = sqlite_bytes(directory)
    results: dict[str, Any] = {
        "elements": counts, "identifiers": identifiers, "rss_before_bytes": before, "rss_after_bytes": after,
        "rss_after_trim_bytes": trimmed, "rss_anonymous_bytes": anonymous_rss(), "sqlite_bytes": database,
        "sqlite_used_bytes": sqlite_used_bytes(directory),
        "bytes_per_identifier": round((after - before) / identifiers, 1) if identifiers else None,
        "bytes_per_identifier_after_trim": round((trimmed - before) / identifiers, 1) if identifiers else None,
        "sqlite_bytes_per_identifier": round(database / identifiers, 1) if identifiers else None}
    if hasattr(store, "cache_stats"):
        results["cache_mb"] = store.cache_mb
        results["cache"] = store.cache_stats()
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
          f"per identifier ({results['sqlite_used_bytes'] / max(1, n):,.0f} B in pages that hold data)")
    if "open_seconds" in results:
        print(f"open {results['open_seconds']:.4f} s; RSS after open {results['rss_after_open_bytes'] / 2 ** 20:,.0f} MiB")
        for name in ("resolve_cold", "resolve_warm"):
            row = results[name]
            print(f"{name:14s} {row['requests']:5d} resolves ({row['found']} found): p50 {row['p50_ms']:.2f} ms  "
                  f"p99 {row['p99_ms']:.2f} ms  max {row['max_ms']:.2f} ms  CPU {row['cpu_ms']:.2f} ms each")
    if "cache" in results:
        print(f"cache ({results['cache_mb']:g} MiB): {results['cache']}")
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
    parser.add_argument("--census", action="store_true", help="attribute a whole-graph store's bytes to its "
                        "structures (tracemalloc slows the load about 2x: use at small sizes)")
    parser.add_argument("--keep", type=Path, default=None, help="load into this (new) directory and keep it")
    parser.add_argument("--reopen", type=Path, default=None, help="measure opening this existing graph directory")
    add_loaded_graph_arguments(parser)  # --cache-mb; --events: --reopen's identifiers
    parser.add_argument("--cold", type=int, default=200, help="--reopen: resolves right after the open")
    parser.add_argument("--warm", type=int, default=2000, help="--reopen: resolves measured after as many to warm up")
    parser.add_argument("--more-events", type=int, default=0, help="--reopen: then ingest this many more events")
    parser.add_argument("--more-seed", type=int, default=1007, help="the population seed of those events")
    parser.add_argument("--stop-after", type=int, default=0,
                        help="stop the load after this many events (rounded up to a whole --batch): the "
                             "1M graph of docs/benchmarks.md is 253,000 events of 159,000 people")
    parser.add_argument("--report-every", type=int, default=50_000, help="print a sample every this many events")
    parser.add_argument("--max-rss-gb", type=float, default=12.0, help="stop loading when RSS passes this")
    parser.add_argument("--heap-settler", action="store_true",
                        help="install gremlin.heap.HeapSettler first, as identity serve does (a large load "
                             "otherwise spends much of its time in full collections over the graph)")
    add_tree_argument(parser)
    add_output_arguments(parser, "memory")
    args = parser.parse_args(argv)
    use_tree(args.tree)
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
    results["tree"] = str(args.tree.resolve())
    report(results)
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
