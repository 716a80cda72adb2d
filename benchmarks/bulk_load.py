"""Load a population into a durable graph several times faster than ingest, with exactly the
graph ingest writes: how benchmarks build graphs of millions of identifiers.

    nice python benchmarks/bulk_load.py --people 1590000 --keep /work/bigdata/10m   # ~10M identifiers
    python benchmarks/bulk_load.py --people 2000 --check     # the same graph as IdentityGraph.ingest?

The events go through ``IdentityGraph.ingest`` as usual (validation, sealing, creation stamps,
planning every event against what the batch read, chunks of writes), but the batch read and the
chunk writes do not go through Gremlin: ``read_batch`` and ``_commit`` in identity.domain.ingest are replaced, in
this process only, by functions that do to the store what the engine does for those two
traversals, step for step and in the same order (the walk of walk.neighbourhood_walk with its
cap and partition filter, the chunk's merges, increments and conditional writes, the customer ids
an identifier turning generic moves (identity.domain.customers.write), ``observed``
edges taking generated ids in the same order). Each runs in one store transaction, as a traversal
does. The engine's share of an ingest (building, compiling and running two traversals a batch)
is most of its time; what remains is identity's own work.

``--check`` shows the claim: the population is ingested both ways (IdentityGraph.ingest into one
graph, this loader into another, with the same clock) under several tenant configurations and
batch sizes, and every element of the two graphs is compared in creation order, with its id
(generated ones too), label, ends and every property with its type (but the sealed values,
which a fresh nonce makes differ, and the ingest time), and every ingest result.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (add_cache_argument, add_output_arguments, durable_url, finish,  # noqa: E402
                                graph_label_counts, process_rss_bytes)
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402

__all__ = ["main", "direct_ingest", "BulkIdentityGraph"]

TENANT = "bench"  # the tenant benchmarks/memory.py loads
TENANT_KEY = "tenant"


# -- the batch read, without Gremlin -----------------------------------------------------------

def _visible(tenant: str) -> tuple[Any, Any]:
    """The partition filters of an IdentityGraph's traversals (PartitionStrategy on ``tenant``)."""
    def vertex(v: Any) -> bool:
        return tenant in v.values_of(TENANT_KEY)

    def edge(e: Any) -> bool:
        return e.props.get(TENANT_KEY) == tenant
    return vertex, edge


def read_state(store: Any, tenant: str, config: Any, targets: Any) -> dict:
    """What the batch read (identity.domain.batch_read) returns for ``targets`` (its ReadTargets), computed
    on ``store`` the way the engine runs that traversal."""
    from identity.domain import model
    from identity.domain.batch_read import PLANNED_KEYS

    vertex_visible, edge_visible = _visible(tenant)
    get_vertex, get_edge = store.vertices.get, store.edges.get
    ids = targets.ids
    limit, cap = config.expand_limit, config.path_cap * len(ids)
    frontier = []
    for id in ids:  # V(*ids).hasLabel('identifier')
        vertex = get_vertex(id)
        if vertex is not None and vertex_visible(vertex) and vertex.label == model.IDENTIFIER:
            frontier.append(vertex)
    seen: dict[Any, None] = dict.fromkeys(frontier)  # records in aggregate('seen') order
    expanded: dict[Any, None] = {}
    for _ in range(config.max_hops):
        kept = [v for v in frontier if any(d <= limit for d in v.values_of("degree")) and model.SHARED not in v.props]
        expanded.update(dict.fromkeys(kept))
        reached: dict[Any, None] = {}
        for vertex in kept:  # bothE('link').otherV().where(without('seen')).dedup()
            for edge in vertex.edges("both", (model.LINK,)):
                if not edge_visible(edge):
                    continue
                other = edge.in_v if edge.out_v is vertex else edge.out_v
                if vertex_visible(other) and other not in seen and other not in reached:
                    reached[other] = None
        frontier = list(reached)[:cap]
        seen.update(dict.fromkeys(frontier))
    from gremlin_python.process.traversal import T
    from gremlin_python.structure.graph import Edge, Vertex

    def element_map(v: Any) -> dict:
        row = {T.id: v.id, T.label: v.label}
        for key, value in v.property_items(PLANNED_KEYS):
            row.setdefault(key, value)
        return row

    def reference(e: Any) -> Edge:  # an edge as materializeProperties=tokens sends it
        return Edge(e.id, Vertex(e.out_v.id, e.out_v.label), e.label, Vertex(e.in_v.id, e.in_v.label))

    crossed: dict[Any, None] = {}
    for vertex in expanded:
        crossed.update(dict.fromkeys(e for e in vertex.edges("both", (model.LINK,)) if edge_visible(e)))
    nolinks: dict[Any, None] = {}
    for vertex in seen:
        nolinks.update(dict.fromkeys(e for e in vertex.edges("both", (model.NOLINK,)) if edge_visible(e)))
    links = []
    for lid in targets.pairs:
        edge = get_edge(lid)
        if edge is not None and edge_visible(edge):
            links.append({T.id: edge.id, **{key: edge.props[key] for key in ("first_seen", "last_seen", model.SCOPED)
                                            if key in edge.props}})
    return {"vertices": [element_map(v) for v in seen],
            "crossed": [reference(e) for e in crossed if vertex_visible(e.out_v) and vertex_visible(e.in_v)],
            "nolinks": [reference(e) for e in nolinks if vertex_visible(e.out_v) and vertex_visible(e.in_v)],
            "links": links,
            "events": [v.id for v in map(get_vertex, targets.events) if v is not None and vertex_visible(v)],
            "suppressed": [v.id for v in map(get_vertex, targets.suppressions) if v is not None and vertex_visible(v)]}


# -- a chunk's writes, without Gremlin ---------------------------------------------------------

def _increment(values: Any, amount: int) -> int:
    """union(values(key), constant(amount)).sum() of an element holding ``values``, as the engine sums."""
    return sum([*values, amount])


def _guard_holds(store: Any, chunk: Any, vertex_visible: Any, edge_visible: Any) -> bool:
    """Chunk.guard()'s checks: the degrees the plans saw (and that identifiers they saw in
    customers are not marked shared), the customer ids they took, the absence of what they create."""
    from gremlin_python.process.traversal import P
    from gremlin.engine.values import predicate_truth
    from identity.domain import model
    from identity.domain.chunk import _grouped
    for (name, argument, unshared), ids in chunk.expected.items():
        predicate = P.between(*argument) if name == "between" else getattr(P, name)(argument)
        found = [v for v in map(store.vertices.get, ids) if v is not None and vertex_visible(v)
                 and not (unshared and model.SHARED in v.props)]
        if sum(1 for v in found if any(predicate_truth(predicate, d) is True for d in v.values_of("degree"))) != len(ids):
            return False
    for cid, ids in _grouped((cid, v) for v, cid in sorted(chunk.cids.items())).items():
        found = [v for v in map(store.vertices.get, ids) if v is not None and vertex_visible(v)]
        if sum(1 for v in found if cid in v.values_of(model.CID)) != len(ids):
            return False
    if any(v is not None and vertex_visible(v) for v in map(store.vertices.get, chunk.absent)):
        return False
    return not any(e is not None and edge_visible(e) for e in map(store.edges.get, chunk.absent_links))


def _having(store: Any, key: str, value: Any) -> list:
    """V().has(key, value) on ``store``: its value index's candidates (or a scan), compared."""
    candidates = store.lookup(key, value)
    return [v for v in (store.scan_vertices() if candidates is None else candidates) if value in v.values_of(key)]


def write_chunk(store: Any, chunk: Any, view: Any, protector: Any) -> bool:
    """What Chunk.traversal() does to the store, in its order: False (nothing written) when
    its guard fails."""
    from gremlin_python.statics import long

    from identity.domain import model
    from identity.domain.chunk import _grouped

    tenant = chunk.tenant
    vertex_visible, edge_visible = _visible(tenant)

    def vertices(ids: Any) -> Iterator[Any]:  # V(*ids), visible ones
        for id in ids:
            vertex = store.vertices.get(id)
            if vertex is not None and vertex_visible(vertex):
                yield vertex

    def edges(ids: Any) -> Iterator[Any]:
        for id in ids:
            edge = store.edges.get(id)
            if edge is not None and edge_visible(edge):
                yield edge

    def created(props: dict[str, Any]) -> dict[str, Any]:
        # a new element's properties as the chunk's mergeV/mergeE (identity.domain.writes.created_vertices,
        # customers.write) leave them: onCreate's map, then the search map's tenant (TinkerPop's
        # MergeStep.onCreateMap puts the search map into onCreate's)
        return {**props, model.TENANT: tenant}

    with store.transaction():
        if not _guard_holds(store, chunk, vertex_visible, edge_visible):
            return False
        for vertex_id, sealed in chunk.created.items():
            store.add_first_vertex_properties(store.add_vertex(model.IDENTIFIER, vertex_id),
                                              created(chunk.identifier_props(view.vertices[vertex_id], sealed)))
        touched = chunk.touched.items()
        for amount, ids in _grouped((touch.degree, v) for v, touch in touched if touch.degree).items():
            for vertex in vertices(ids):
                store.add_vertex_property(vertex, "degree", _increment(vertex.values_of("degree"), amount), "single")
        for first_seen, ids in _grouped((long(touch.first_seen), v) for v, touch in touched
                                        if touch.first_seen is not None).items():
            for vertex in vertices(ids):
                if any(seen > first_seen for seen in vertex.values_of("first_seen")):
                    store.add_vertex_property(vertex, "first_seen", first_seen, "single")
        for last_seen, ids in _grouped((long(touch.last_seen), v) for v, touch in touched
                                       if touch.last_seen is not None).items():
            for vertex in vertices(ids):
                if any(seen < last_seen for seen in vertex.values_of("last_seen")):
                    store.add_vertex_property(vertex, "last_seen", last_seen, "single")
        for vertex in vertices(sorted(chunk.shared)):
            store.add_vertex_property(vertex, model.SHARED, True, "single")
        for amount, ids in _grouped((n, v) for v, n in sorted(chunk.conflicts.items())).items():
            for vertex in vertices(ids):
                store.add_vertex_property(vertex, model.CONFLICTS,
                                          _increment(vertex.values_of(model.CONFLICTS), amount), "single")
        stored = [(lid, link) for lid, link in chunk.links.items() if not link.new]
        for lid, link in chunk.links.items():
            if link.new:
                edge = store.add_edge(model.LINK, store.vertices.get(link.low), store.vertices.get(link.high), lid)
                store.add_first_edge_properties(edge, created(chunk.link_props(link)))
        for amount, lids in _grouped((link.count, lid) for lid, link in stored).items():
            for edge in edges(lids):
                store.set_edge_property(edge, "count", _increment([edge.props["count"]], amount))
        for (first_seen, first_event), lids in _grouped(((long(link.first[0]), link.first[1]), lid)
                                                        for lid, link in stored if link.lowers_first).items():
            for edge in edges(lids):
                if edge.props.get("first_seen") is not None and edge.props["first_seen"] > first_seen:
                    store.set_edge_property(edge, "first_seen", first_seen)
                    store.set_edge_property(edge, "first_event", first_event)
        for (last_seen, last_event), lids in _grouped(((long(link.last[0]), link.last[1]), lid)
                                                      for lid, link in stored if link.raises_last).items():
            for edge in edges(lids):
                if edge.props.get("last_seen") is not None and edge.props["last_seen"] <= last_seen:
                    store.set_edge_property(edge, "last_seen", last_seen)
                    store.set_edge_property(edge, "last_event", last_event)
        if chunk.carry or chunk.retired:  # customers.write
            for (cid, since), ids in _grouped(((cid, since), v) for v, (cid, since) in sorted(chunk.carry.items())).items():
                for vertex in vertices(ids):
                    store.add_vertex_property(vertex, model.CID, cid, "single")
                    store.add_vertex_property(vertex, model.SINCE, long(since), "single")
            for old, heir in sorted(chunk.retired.items()):
                for record in _having(store, model.HEIR, old):
                    if record.label == model.RETIRED and vertex_visible(record):
                        store.add_vertex_property(record, model.HEIR, heir, "single")
                if store.vertices.get(model.retired_id(tenant, old)) is None:
                    store.add_first_vertex_properties(
                        store.add_vertex(model.RETIRED, model.retired_id(tenant, old)),
                        created({model.HEIR: heir, "created": long(chunk.events[-1][2])}))
        for event, identifier_ids, ingested_at in chunk.events:
            event_vertex = store.add_vertex(model.EVENT, event.vertex_id)
            store.add_first_vertex_properties(event_vertex, created(chunk.event_props(event, ingested_at, protector)))
            for vertex in vertices(identifier_ids):
                store.set_edge_property(store.add_edge(model.OBSERVED, event_vertex, vertex), model.TENANT, tenant)
    return True


# -- ingest with both ---------------------------------------------------------------------------

@contextmanager
def direct_ingest(store: Any) -> Iterator[None]:
    """identity.domain.ingest's batch read and chunk writes done on ``store`` directly, in this block."""
    import identity.domain.ingest as ingest
    from identity.domain.batch_read import ReadTargets, view_of

    original_read, original_commit = ingest.read_batch, ingest._commit

    def read(g: Any, tenant: str, events: list, config: Any) -> Any:
        targets = ReadTargets.of(tenant, events)
        if not targets.ids:
            return original_read(g, tenant, events, config)  # the empty view, read nothing
        with store.transaction():
            state = read_state(store, tenant, config, targets)
        return view_of(state, targets.pairs)

    def commit(g: Any, chunk: Any, view: Any, protector: Any) -> bool:
        return not chunk.writes or write_chunk(store, chunk, view, protector)

    ingest.read_batch, ingest._commit = read, commit
    try:
        yield
    finally:
        ingest.read_batch, ingest._commit = original_read, original_commit


def _open(directory: Path, cache_mb: float, clock: Any = None, config: Any = None) -> tuple[Any, Any, str]:
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph
    url = durable_url(directory, cache_mb)
    options = {key: value for key, value in (("clock", clock), ("config", config)) if value is not None}
    identity = IdentityGraph(traversal().with_remote(gremlin.connect(url)), TENANT, **options)
    return identity, gremlin.open_graph(url).store, url


def load(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    import gremlin
    from gremlin.engine.common import batched
    identity, store, url = _open(directory, args.cache_mb)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # `kill -INT` stops it, measured
    started, events, samples, stopped = time.perf_counter(), 0, [], None
    next_report = args.report_every
    try:
        with direct_ingest(store):
            for batch in batched((item.event for item in generate(mix_from_args(args))), args.batch):
                identity.ingest(batch)
                events += len(batch)
                if events >= next_report:
                    next_report += args.report_every
                    counts = graph_label_counts(store)
                    samples.append({"seconds": round(time.perf_counter() - started, 1), "events": events,
                                    "identifiers": counts.get("identifier", 0), "rss_bytes": process_rss_bytes(),
                                    "sqlite_bytes": _sqlite_bytes(directory)})
                    print(f"{samples[-1]['seconds']:9.1f} s  {events:11,d} events  "
                          f"{samples[-1]['identifiers']:11,d} identifiers  "
                          f"RSS {samples[-1]['rss_bytes'] / 2 ** 20:7,.0f} MiB  "
                          f"SQLite {samples[-1]['sqlite_bytes'] / 2 ** 30:6,.2f} GiB", flush=True)
    except KeyboardInterrupt:
        stopped = "interrupted"
        print(f"interrupted after {events:,d} events", flush=True)
    seconds = time.perf_counter() - started
    counts = graph_label_counts(store)
    gremlin.forget_graph(url)
    return {"population": vars(mix_from_args(args)), "events": events, "batch": args.batch,
            "load_seconds": round(seconds, 1), "events_per_second": round(events / seconds, 1), "stopped": stopped,
            "elements": counts, "identifiers": counts.get("identifier", 0), "sqlite_bytes": _sqlite_bytes(directory),
            "samples": samples}


def _sqlite_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob("graph.sqlite3*"))


# -- the check -------------------------------------------------------------------------------------

#: properties written from a random nonce or the wall clock
_VARYING = {"value", "attributes", "ingested_at"}


def graph_rows(store: Any) -> list[tuple]:
    """Every element in creation order: id, label, ends, properties with their types."""
    def typed(value: Any) -> tuple:
        return (type(value).__name__, repr(value))

    rows = []
    for vertex in store.scan_vertices():
        rows.append(("v", typed(vertex.id), vertex.label,
                     [(k, typed(v)) for k, v in vertex.property_items() if k not in _VARYING]))
    for edge in store.scan_edges():
        rows.append(("e", typed(edge.id), edge.label, typed(edge.out_v.id), typed(edge.in_v.id),
                     [(k, typed(v)) for k, v in edge.props.items() if k not in _VARYING]))
    return rows


def check(args: argparse.Namespace) -> dict[str, Any]:
    from identity.domain.guards import TenantConfig
    events = [item.event for item in generate(mix_from_args(args))]
    configs = {"default-batch20": (TenantConfig(), 20), "default-batch7": (TenantConfig(), 7),
               f"default-batch{args.batch}": (TenantConfig(), args.batch),
               **{f"hops{h}-generic8": (TenantConfig(max_hops=h, generic_threshold=8), 20) for h in range(4)}}
    outcome = {}
    with tempfile.TemporaryDirectory(prefix="bulk-check-") as scratch:
        for name, (config, batch) in configs.items():
            runs = ingest_both_ways(events, config, batch, Path(scratch) / name)
            same = runs["ingest"][:2] == runs["bulk"][:2]
            outcome[name] = {"same": same, "elements": len(runs["bulk"][1]), "results": len(runs["bulk"][0]),
                             "ingest_cpu_ms_per_event": round(runs["ingest"][2] / len(events) * 1000, 3),
                             "bulk_cpu_ms_per_event": round(runs["bulk"][2] / len(events) * 1000, 3)}
            print(f"{name:18s} {'same' if same else 'DIFFERENT'}: {len(runs['bulk'][1]):,d} elements, "
                  f"{len(events):,d} results; CPU per event: ingest {outcome[name]['ingest_cpu_ms_per_event']:.3f} ms, "
                  f"bulk {outcome[name]['bulk_cpu_ms_per_event']:.3f} ms", flush=True)
            if not same:
                _show_difference(runs["ingest"], runs["bulk"])
    return {"population": vars(mix_from_args(args)), "events": len(events), "configs": outcome,
            "all_same": all(row["same"] for row in outcome.values())}


def ingest_both_ways(events: list[dict], config: Any, batch: int, scratch: Path) -> dict[str, tuple]:
    """``events`` ingested in batches of ``batch`` into two empty durable graphs under ``scratch``
    with the same clock, by IdentityGraph.ingest ("ingest") and by this loader ("bulk"): for
    each, (the results, graph_rows, CPU seconds)."""
    import gremlin
    from gremlin.engine.common import batched
    runs = {}
    for way in ("ingest", "bulk"):
        now = [1.7e9]

        def clock() -> float:
            now[0] += 0.001
            return now[0]

        identity, store, url = _open(scratch / way, 0, clock, config)
        started = time.process_time()
        results = []
        with direct_ingest(store) if way == "bulk" else _nothing():
            for part in batched(events, batch):
                results += [r.to_dict() for r in identity.ingest(part)]
        cpu = time.process_time() - started
        runs[way] = (results, graph_rows(store), cpu)
        gremlin.forget_graph(url)
    return runs


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _show_difference(ingested: tuple, bulk: tuple) -> None:
    for kind, a, b in (("result", ingested[0], bulk[0]), ("element", ingested[1], bulk[1])):
        for position, (x, y) in enumerate(zip(a, b)):
            if x != y:
                print(f"  first {kind} that differs, #{position}:\n    ingest {x}\n    bulk   {y}")
                break
        else:
            if len(a) != len(b):
                print(f"  {kind}s: ingest {len(a)}, bulk {len(b)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=2000)
    parser.add_argument("--batch", type=int, default=200, help="events per ingest call")
    parser.add_argument("--keep", type=Path, help="load into this (new) directory")
    add_cache_argument(parser)
    parser.add_argument("--check", action="store_true", help="ingest both ways and compare the graphs")
    parser.add_argument("--report-every", type=int, default=200_000, help="print a sample every this many events")
    add_output_arguments(parser, "bulk_load")
    args = parser.parse_args(argv)
    from gremlin.heap import HeapSettler
    HeapSettler().install()  # as identity serve does: the cache's records stay out of full collections
    if args.check:
        results = {"mode": "check", **check(args)}
        status = 0 if results["all_same"] else 1
    else:
        if not args.keep:
            parser.error("--keep DIR (or --check)")
        if args.keep.exists() and any(args.keep.iterdir()):
            parser.error(f"{args.keep} is not empty")
        results = {"mode": "load", **load(args, args.keep)}
        print(f"{results['events']:,d} events in {results['load_seconds']:,.0f} s "
              f"({results['events_per_second']:,.0f}/s): {results['identifiers']:,d} identifiers, "
              f"SQLite {results['sqlite_bytes'] / 2 ** 30:,.2f} GiB", flush=True)
        status = 0
    finish(args, results)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
