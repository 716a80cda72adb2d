"""Resolve through RPC on a large durable graph that benchmarks/memory.py left behind.

    python benchmarks/memory.py --people 159000 --keep /tmp/big       # hours: the graph
    python benchmarks/resolve_at_scale.py --graph /tmp/big/graph --people 159000

Loading hundreds of thousands of identifiers through ``identity serve`` takes longer than a
benchmark run should, so this reuses the graph memory.py built in process. That graph was
written with the development protector (identity.protect), not a tenant key ring, so the
service here is the real RPC application (identity.rpc.make_app, the same handlers, JSON-RPC,
authentication and worker pool) around IdentityGraphs on that protector, started in a child
process with the heap settler `identity serve` installs. The population flags must match the
load's, so the identifiers asked for are ones the graph holds: only those of the first
``--events`` events (what the load got through) are used.

Reported: the graph's size and the service's RSS after opening it, a closed loop of one client,
and a fixed rate (default 200 requests/s from 16 clients; latency from each request's planned
start, as in benchmarks/resolve.py).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, finish, latency_line  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args, person_owned_keys  # noqa: E402
from benchmarks.service import Server, run_load  # noqa: E402

TENANT = "bench"  # the tenant benchmarks/memory.py loads


def serve(graph: Path) -> None:
    """The child: open the graph, then serve JSON-RPC until killed; prints url, key and size."""
    import asyncio

    import tornado.netutil
    import tornado.httpserver

    from identity import IdentityGraph, auth
    from identity.graph import open_traversal, settle_heap
    from identity.rpc import Service, make_app
    from identity.tenants import TenantRegistry

    settle_heap()
    url = graph.resolve().as_uri()
    g = open_traversal(url)
    identifiers = g.V().has_label("identifier").count().next()  # opens (loads) the graph
    registry = TenantRegistry(tempfile.mkdtemp(prefix="identity-scale-"))
    registry.create_tenant(TENANT, "default")
    key = auth.issue_key(registry, TENANT).key
    graphs = {TENANT: IdentityGraph(open_traversal(url), TENANT)}
    service = Service(registry, identity_factory=graphs.__getitem__, ping=lambda region: None)

    async def main() -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(make_app(service))
        server.add_sockets(sockets)
        print(f"ready http://127.0.0.1:{sockets[0].getsockname()[1]} {key} {identifiers}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=159_000)
    parser.add_argument("--graph", type=Path, help="the durable graph directory memory.py kept")
    parser.add_argument("--events", type=int, default=400_000,
                        help="take identifiers from this many first events of the population (what was loaded)")
    parser.add_argument("--requests", type=int, default=2000, help="resolves in the closed loop")
    parser.add_argument("--rate", type=float, default=200, help="the fixed-rate run's requests/s")
    parser.add_argument("--rate-seconds", type=float, default=20, help="how long the fixed-rate run lasts")
    parser.add_argument("--rate-clients", type=int, default=16, help="client threads in the fixed-rate run")
    parser.add_argument("--hops", type=int, default=3, help="max_hops of every resolve")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    add_output_arguments(parser, "resolve_at_scale")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if not args.graph or not args.graph.is_dir():
        parser.error("--graph must name the durable graph directory benchmarks/memory.py kept")
    keys = person_owned_keys(itertools.islice(generate(mix_from_args(args)), args.events))
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(args.graph)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        line = child.stdout.readline().split() if child.stdout else []
        if not line or line[0] != "ready":
            raise SystemExit(f"the service did not start (exit code {child.poll()})")
        url, key, identifiers = line[1], line[2], int(line[3])
        server = Server(url, key, child.pid, "durable", None, args.graph)
        rss = server.rss_bytes()
        print(f"graph: {identifiers:,} identifiers; service RSS {rss / 2**20:,.0f} MiB", flush=True)
        rng = random.Random(args.seed + 1)

        def calls(count: int) -> list[tuple[str, dict]]:
            return [("resolve", {"type": t, "value": v, "max_hops": args.hops})
                    for t, v in (rng.choice(keys) for _ in range(count))]

        run_load(server, calls(200), 1, quiet=True)  # warm-up
        closed = run_load(server, calls(args.requests), 1, label="resolve x1", quiet=args.quiet)
        fixed = run_load(server, calls(int(args.rate * args.rate_seconds)), args.rate_clients, rate=args.rate,
                         label=f"resolve @{args.rate:g}/s", quiet=args.quiet)
        for name, row in (("1 client, closed loop", closed), (f"fixed {args.rate:g}/s, {args.rate_clients} clients",
                                                             fixed)):
            print(f"{name:28s} {row['throughput']:8,.0f} req/s  {latency_line(row)}")
        results = {"population": vars(mix_from_args(args)), "events_sampled": args.events, "hops": args.hops,
                   "identifiers": identifiers, "service_rss_bytes": rss, "keys_sampled_from": len(keys),
                   "closed_loop": closed, "fixed_rate": fixed}
    finally:
        child.kill()
        child.wait()
    return finish(args, results)


if __name__ == "__main__":
    sys.exit(main())
