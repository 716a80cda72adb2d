"""Resolve latency end to end: JSON-RPC ``resolve`` calls from concurrent clients to
``identity serve`` on each backend, after loading a population; closed-loop concurrency levels,
a fixed-rate run (default 200 requests/s), and the single-traversal resolve beside a client-side
walk that makes one round trip per hop.

    python benchmarks/resolve.py                                  # memory, durable, endpoint
    python benchmarks/resolve.py --backends durable --people 20000 --rate 200
    python benchmarks/resolve.py --gremlin-url ws://localhost:8182/gremlin
    python benchmarks/resolve.py --tree /tmp/main ...    # the service from another checkout

Each row prints the service's CPU per call beside its rate and latency: on a shared machine the
rate moves with the load, the CPU a call costs much less. On the gremlin backend the server is
warmed first (``--warmup-people``, default 1,000): the same load and resolves, of other people,
through another service, not counted (``0``: a just-started server). ``--server-pid`` (the process
of ``--gremlin-url``'s server) adds the graph server's CPU per call.

The walk comparison runs in this process through gremlinpython against a Gremlin endpoint on the
same graph (the service's console endpoint for in-process graphs), so both sides pay the same
network and serialisation per round trip: the single traversal pays it once, the walk once per
hop plus one to fetch the identifiers found.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gremlin_python.process.traversal import P  # noqa: E402

from benchmarks.harness import (Progress, add_output_arguments, add_tree_argument, finish, latency_line,  # noqa: E402
                                latency_summary, process_cpu_seconds)
from benchmarks.ingest import events_in, ingest_calls  # noqa: E402
from benchmarks.population import add_mix_arguments, events_and_keys, mix_from_args  # noqa: E402
from benchmarks.service import (WARMUP_TENANT, Server, add_backend_arguments, add_warmup_argument,  # noqa: E402
                                after_warmup, backend_names, run_load, running_service, warmup_mix)
from identity import IdentityGraph
from identity.domain import model  # noqa: E402
from identity.domain.guards import TenantConfig  # noqa: E402
from identity.domain.tenant_graph import identifier_vertex_id  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402
from identity.service.config import Config, keyring_for  # noqa: E402
from identity.service.rpc.server import DEV_TENANT  # noqa: E402

__all__ = ["client_walk", "main"]


def client_walk(g, start: str, max_hops: int, expand_limit: int) -> tuple[list[dict], int] | None:
    """The neighbourhood the way a client without repeat() would find it: one round trip to
    check the start, one per hop for the next frontier, one for the identifiers' properties.
    Returns (element maps, round trips), or None for an unknown identifier."""
    if not g.V(start).has_label(model.IDENTIFIER).id_().to_list():
        return None
    trips, seen, frontier = 1, {start}, [start]
    for _ in range(max_hops):
        if not frontier:
            break
        reached = g.V(*frontier).has("degree", P.lte(expand_limit)).both(model.LINK).id_().dedup().to_list()
        trips += 1
        frontier = [v for v in reached if v not in seen]
        seen.update(frontier)
    found = g.V(*seen).element_map().to_list()
    return found, trips + 1


def compare_walk(server: Server, keys: list[tuple[str, str]], hops: int, quiet: bool) -> dict:
    config = TenantConfig()
    g = open_traversal(server.gremlin_url, **server.gremlin_options)
    protector = keyring_for(Config(data_dir=str(server.data_dir))).protector(server.tenant)
    identity = IdentityGraph(g, server.tenant, protector=protector)
    expand = config.expand_limit  # what resolve expands with its default max_fanout
    single, walk, trips = [], [], []
    bar = Progress(f"{server.backend} walk vs single", len(keys), quiet)
    started = time.perf_counter()
    for id_type, value in keys:
        began = time.perf_counter()
        identity.resolve(id_type, value, max_hops=hops)
        middle = time.perf_counter()
        answer = client_walk(g, identifier_vertex_id(server.tenant, id_type, value, protector=protector), hops, expand)
        ended = time.perf_counter()
        single.append((middle - began) * 1000)
        walk.append((ended - middle) * 1000)
        if answer is not None:
            trips.append(answer[1])
        bar.advance()
    bar.close()
    seconds = time.perf_counter() - started
    close_all()
    return {"hops": hops, "via": server.gremlin_url.split("?")[0].rsplit(":", 1)[0] + ":…",
            "single_traversal": latency_summary(single, seconds), "client_walk": latency_summary(walk, seconds),
            "walk_round_trips_mean": round(sum(trips) / len(trips), 2) if trips else None}


def measure_backend(backend: str, events: list[dict], keys: list[tuple[str, str]], args: argparse.Namespace,
                    gremlin_url: str | None, tenant: str = DEV_TENANT) -> dict:
    rng = random.Random(args.seed + 1)
    with running_service(backend, gremlin_url=gremlin_url, tree=args.tree, tenant=tenant) as server:
        run_load(server, ingest_calls(events, 50), 2, label=f"{backend} load", quiet=args.quiet, weight=events_in)

        def calls(count: int) -> list[tuple[str, dict]]:
            return [("resolve", {"type": t, "value": v, "max_hops": args.hops})
                    for t, v in (rng.choice(keys) for _ in range(count))]

        graph_pid = args.server_pid if backend == "gremlin" else None

        def measured(sent: list[tuple[str, dict]], clients: int, label: str, rate: float | None = None) -> dict:
            cpu, graph_cpu = server.cpu_seconds(), process_cpu_seconds(graph_pid) if graph_pid else 0.0
            row = run_load(server, sent, clients, rate=rate, label=label, quiet=args.quiet)
            row["service_cpu_ms_per_call"] = round((server.cpu_seconds() - cpu) * 1000 / len(sent), 3)
            if graph_pid:
                row["graph_server_cpu_ms_per_call"] = round(
                    (process_cpu_seconds(graph_pid) - graph_cpu) * 1000 / len(sent), 3)
            return row

        levels = [measured(calls(args.requests), c, f"{backend} resolve x{c}") for c in args.concurrency]
        fixed = None
        if args.rate:
            fixed = measured(calls(int(args.rate * args.rate_seconds)), args.rate_clients,
                             f"{backend} resolve @{args.rate:g}/s", rate=args.rate)
        walk = compare_walk(server, [rng.choice(keys) for _ in range(args.walk_samples)], args.hops, args.quiet) \
            if args.walk_samples and server.gremlin_url else None
    return {"levels": levels, "fixed_rate": fixed, "walk": walk}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=1000)
    add_backend_arguments(parser)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16],
                        help="client threads per level (at most the service's tenant_queue, 16: beyond, 429)")
    parser.add_argument("--requests", type=int, default=1000, help="resolve calls per concurrency level")
    parser.add_argument("--rate", type=float, default=200, help="the fixed-rate run's requests/s (0: skip it)")
    parser.add_argument("--rate-seconds", type=float, default=10, help="how long the fixed-rate run lasts")
    parser.add_argument("--rate-clients", type=int, default=16, help="client threads in the fixed-rate run")
    parser.add_argument("--walk-samples", type=int, default=300, help="resolves in the walk comparison (0: skip)")
    parser.add_argument("--hops", type=int, default=TenantConfig().max_hops, help="max_hops of every resolve")
    add_warmup_argument(parser)
    parser.add_argument("--server-pid", type=int,
                        help="the process id of --gremlin-url's server: its CPU per call too (/proc)")
    add_output_arguments(parser, "resolve")
    add_tree_argument(parser)  # the service runs from it; the walk comparison from this checkout
    args = parser.parse_args(argv)
    mix = mix_from_args(args)
    events, keys = events_and_keys(mix)
    results = {"population": asdict(mix), "events": len(events), "hops": args.hops,
               "warmup_people": args.warmup_people, "backends": {}}

    def measure(backend: str, gremlin_url: str | None, warm: bool) -> dict:
        if not warm:
            return measure_backend(backend, events, keys, args, gremlin_url)
        return measure_backend(backend, *events_and_keys(warmup_mix(mix, args.warmup_people)), args, gremlin_url,
                               WARMUP_TENANT)

    for backend in backend_names(args.backends, args.gremlin_url):
        results["backends"][backend] = measured = after_warmup(backend, args.gremlin_url, args.warmup_people,
                                                               partial(measure, backend))
        for row in measured["levels"] + ([measured["fixed_rate"]] if measured["fixed_rate"] else []):
            load = (f"@{row['target_rate']:g}/s " if row["target_rate"] else "") + f"x{row['concurrency']}"
            graph_cpu = (f"  graph server CPU {row['graph_server_cpu_ms_per_call']:.2f} ms/call"
                         if "graph_server_cpu_ms_per_call" in row else "")
            print(f"{backend:9s} {load:12s} {row['throughput']:8,.0f} req/s  {latency_line(row)}  "
                  f"service CPU {row['service_cpu_ms_per_call']:.2f} ms/call{graph_cpu}")
        walk = measured["walk"]
        if walk:
            print(f"{backend:9s} single traversal p50 {walk['single_traversal']['p50_ms']:.2f} ms vs client walk "
                  f"p50 {walk['client_walk']['p50_ms']:.2f} ms ({walk['walk_round_trips_mean']} round trips)")
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
