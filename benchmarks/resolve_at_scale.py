"""The service on a large durable graph that benchmarks/memory.py left behind: readiness after a
start, and resolve through RPC on the first requests and warm.

    python benchmarks/memory.py --people 159000 --keep /tmp/big       # the graph (long)
    python benchmarks/resolve_at_scale.py --graph /tmp/big --people 159000
    python benchmarks/resolve_at_scale.py --graph /tmp/big --people 159000 --tree /tmp/main   # another checkout

Loading hundreds of thousands of identifiers through ``identity serve`` takes longer than a
benchmark run should, so this reuses the graph memory.py built in process. Two measurements:

- Readiness: ``identity serve`` itself started on the graph (a fresh data directory, so its own
  tenants and keys) until ``GET /readyz`` answers 200, which needs the graph to answer a
  traversal; the time from the process start, the CPU it used (its share of a loaded machine
  varies, that does not) and its RSS then.
- The collector: each phase's collections in the service, by generation (how many, their CPU in
  total, the longest and the median), timed by a ``gc.callbacks`` hook.
- Resolve: that graph was written with the development protector (identity.security.protect), not a
  tenant key ring, so the service here is the real RPC application (identity.service.rpc.make_app, the
  same handlers, JSON-RPC, authentication and worker pool) around IdentityGraphs on that
  protector, started in a child process with the heap settler `identity serve` installs. Its
  first ``--first`` resolves at the fixed rate as soon as it is up (nothing cached), then a
  warm-up, a closed loop of one client, and the fixed rate again (default 200 requests/s from 16
  clients; latency from each request's planned start, as in benchmarks/resolve.py). The
  population flags must match the load's, so the identifiers asked for are ones the graph
  holds: only those of the first ``--events`` events (what the load got through) are used.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (ROOT, add_loaded_graph_arguments, add_output_arguments, add_tree_argument,  # noqa: E402
                                durable_url, finish, latency_line, process_cpu_seconds, process_rss_bytes,
                                use_tree)
from benchmarks.population import add_mix_arguments, generate, mix_from_args, person_owned_keys  # noqa: E402

TENANT = "bench"  # the tenant benchmarks/memory.py loads
_READY_TIMEOUT_S = 900


class _Collections:
    """The collector's pauses in this process: the CPU of each collection, by generation (a
    collection holds the GIL, so every request waits for it)."""

    def __init__(self) -> None:
        import threading
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        self._taken: dict[int, list[float]] = {}

    def __call__(self, phase: str, info: dict) -> None:
        import threading
        if phase == "start":
            self._started[threading.get_ident()] = time.thread_time()
            return
        started = self._started.pop(threading.get_ident(), None)
        if started is not None:
            with self._lock:
                self._taken.setdefault(info["generation"], []).append(time.thread_time() - started)

    def report(self) -> dict:
        """Per generation since the last report: collections, CPU ms in total, longest, median."""
        with self._lock:
            taken, self._taken = self._taken, {}
        return {f"gen{generation}": {"count": len(times), "cpu_ms": round(sum(times) * 1000, 1),
                                     "max_ms": round(max(times) * 1000, 2),
                                     "p50_ms": round(sorted(times)[len(times) // 2] * 1000, 2)}
                for generation, times in sorted(taken.items())}


def _together(reader: Any) -> dict:
    """Resolves walked together so far (identity.rpc.together; a tree without it: none): walks
    of several and the calls in them."""
    for resource in reader.get_metrics_data().resource_metrics if reader is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "identity.rpc.together":
                    points = metric.data.data_points
                    return {"walks": sum(p.count for p in points), "calls": int(sum(p.sum for p in points))}
    return {"walks": 0, "calls": 0}


def serve(graph: Path, cache_mb: float, workers: int | None = None) -> None:
    """The child: open the graph, serve JSON-RPC; prints url and key once it answers; on a ``gc``
    line on stdin the collections since the last one (JSON), on a ``count`` line the graph's
    identifiers (after the measurements: counting reads it all)."""
    import asyncio
    import gc
    import json
    import threading

    import tornado.httpserver
    import tornado.netutil

    import gremlin
    from benchmarks.harness import graph_label_counts
    from identity import IdentityGraph
    from identity.base import telemetry
    from identity.graph.connection import open_traversal, settle_heap
    from identity.security import auth
    from identity.security.tenants import TenantRegistry
    from identity.service.rpc import Service, make_app

    settle_heap()
    telemetry.install(telemetry.from_environment({}))  # as identity serve does: metrics on, no exporter
    collections = _Collections()
    gc.callbacks.append(collections)
    url = durable_url(graph, cache_mb)
    open_traversal(url).V().limit(1).count().next()  # opens the graph (a whole-graph store loads it)
    registry = TenantRegistry(tempfile.mkdtemp(prefix="identity-scale-"))
    registry.create_tenant(TENANT, "default")
    key = auth.issue_key(registry, TENANT).key
    graphs = {TENANT: IdentityGraph(open_traversal(url), TENANT)}
    service = Service(registry, identity_factory=graphs.__getitem__, ping=lambda region: None,
                      **({"workers": workers} if workers else {}))

    def answer_counts() -> None:
        for line in sys.stdin:
            if line.strip() == "gc":
                print(f"gc {json.dumps(collections.report())}", flush=True)
            elif line.strip() == "together":
                print(f"together {json.dumps(_together(telemetry.current().prometheus))}", flush=True)
            elif line.strip() == "count":
                counts = graph_label_counts(gremlin.open_graph(url).store)
                print(f"count {counts.get('identifier', 0)}", flush=True)

    async def main() -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(make_app(service))
        server.add_sockets(sockets)
        threading.Thread(target=answer_counts, daemon=True).start()
        print(f"ready http://127.0.0.1:{sockets[0].getsockname()[1]} {key}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    return {**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(tree.resolve()), str(ROOT)]))}


def readiness(graph: Path, cache_mb: float, tree: Path) -> dict:
    """``identity serve`` on ``graph``: seconds from its start until /readyz answers 200, and its RSS."""
    from benchmarks.service import child_process, wait_for_line  # imports identity: not before --tree
    with tempfile.TemporaryDirectory(prefix="identity-ready-") as data:
        env = {**_env(tree), "IDENTITY_DATA_DIR": data, "IDENTITY_GRAPH_URL": durable_url(graph, cache_mb),
               "IDENTITY_LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        command = [sys.executable, "-m", "identity", "serve", "--port", "0", "--no-gremlin"]
        with child_process(command, env, Path(data)) as (process, lines):
            base = wait_for_line(lines, "identity listening on ", process).split()[3]
            listening = time.perf_counter() - started
            while time.perf_counter() - started < _READY_TIMEOUT_S:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=_READY_TIMEOUT_S) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.05)
            else:
                raise SystemExit(f"/readyz did not answer 200 within {_READY_TIMEOUT_S} s")
            ready = time.perf_counter() - started
            rss, cpu = process_rss_bytes(process.pid), process_cpu_seconds(process.pid)
    print(f"identity serve: listening after {listening:.2f} s, /readyz 200 after {ready:.2f} s "
          f"({cpu:.2f} s of CPU), RSS {rss / 2 ** 20:,.0f} MiB", flush=True)
    return {"listening_seconds": round(listening, 2), "ready_seconds": round(ready, 2), "cpu_seconds": round(cpu, 2),
            "rss_bytes": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=159_000)
    parser.add_argument("--graph", type=Path, help="the durable graph directory memory.py kept")
    add_loaded_graph_arguments(parser)
    parser.add_argument("--first", type=int, default=500, help="resolves at the fixed rate right after the start")
    parser.add_argument("--requests", type=int, default=2000, help="resolves in the closed loop")
    parser.add_argument("--rate", type=float, default=200, help="the fixed-rate runs' requests/s")
    parser.add_argument("--rate-seconds", type=float, default=20, help="how long the warm fixed-rate run lasts")
    parser.add_argument("--rate-clients", type=int, default=16, help="client threads in the fixed-rate runs")
    parser.add_argument("--hops", type=int, default=3, help="max_hops of every resolve")
    parser.add_argument("--no-readyz", dest="readyz", action="store_false", help="skip the readiness measurement")
    parser.add_argument("--workers", type=int, default=None, help="the service's worker threads (default: its own)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    add_tree_argument(parser)
    add_output_arguments(parser, "resolve_at_scale")
    args = parser.parse_args(argv)
    if args.serve:
        use_tree(args.tree)
        serve(args.serve, args.cache_mb, args.workers)
        return 0
    if not args.graph or not args.graph.is_dir():
        parser.error("--graph must name the durable graph directory benchmarks/memory.py kept")
    from benchmarks.service import Server, run_load  # imports identity: the --serve child uses --tree's
    ready = readiness(args.graph, args.cache_mb, args.tree) if args.readyz else None
    keys = person_owned_keys(itertools.islice(generate(mix_from_args(args)), args.events))
    command = [sys.executable, __file__, "--serve", str(args.graph), "--cache-mb", str(args.cache_mb),
               "--tree", str(args.tree), *(["--workers", str(args.workers)] if args.workers else [])]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(args.tree))
    try:
        line = child.stdout.readline().split() if child.stdout else []
        if not line or line[0] != "ready":
            raise SystemExit(f"the service did not start (exit code {child.poll()})")
        up_seconds = time.perf_counter() - started
        url, key = line[1], line[2]
        server = Server(url, key, child.pid, "durable", None, args.graph)
        rss_up = server.rss_bytes()
        print(f"service up after {up_seconds:.2f} s; RSS {rss_up / 2 ** 20:,.0f} MiB", flush=True)
        rng = random.Random(args.seed + 1)

        def calls(count: int) -> list[tuple[str, dict]]:
            return [("resolve", {"type": t, "value": v, "max_hops": args.hops})
                    for t, v in (rng.choice(keys) for _ in range(count))]

        def collections() -> dict:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("gc\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline().split(" ", 1)[1])

        def together() -> dict:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("together\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline().split(" ", 1)[1])

        def measured(count: int, clients: int, **options: Any) -> dict:
            """run_load's row, with the service's CPU per request (steadier than latency when
            the machine's other work takes turns with the service), its collections and the
            resolves it walked together."""
            collections()
            cpu, before = server.cpu_seconds(), together()
            row = run_load(server, calls(count), clients, quiet=args.quiet, **options)
            after = together()
            return {**row, "service_cpu_ms": round((server.cpu_seconds() - cpu) / count * 1000, 3),
                    "collections": collections(), "together": {k: after[k] - before[k] for k in after}}

        first = measured(args.first, args.rate_clients, rate=args.rate, label=f"first @{args.rate:g}/s")
        run_load(server, calls(200), 1, quiet=True)  # warm-up
        closed = measured(args.requests, 1, label="resolve x1")
        fixed = measured(int(args.rate * args.rate_seconds), args.rate_clients, rate=args.rate,
                         label=f"resolve @{args.rate:g}/s")
        rss = server.rss_bytes()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("count\n")
        child.stdin.flush()
        identifiers = int(child.stdout.readline().split()[1])
        for name, row in ((f"first {args.first}, {args.rate:g}/s", first), ("1 client, closed loop", closed),
                          (f"warm {args.rate:g}/s, {args.rate_clients} clients", fixed)):
            print(f"{name:28s} {row['throughput']:8,.0f} req/s  {latency_line(row)}  max {row['max_ms']:.2f} ms  "
                  f"service CPU {row['service_cpu_ms']:.2f} ms/req")
            print(f"{'':28s} collections: " + "; ".join(
                f"{generation} {c['count']} x, {c['cpu_ms']:.0f} ms of CPU ({c['cpu_ms'] / max(1, row['requests']):.3f} "
                f"per request), longest {c['max_ms']:.1f}, median {c['p50_ms']:.2f}"
                for generation, c in row["collections"].items()))
            print(f"{'':28s} walked together: {row['together']['calls']:,} of {row['requests']:,} resolves in "
                  f"{row['together']['walks']:,} walks")
        print(f"graph: {identifiers:,} identifiers; service RSS {rss / 2**20:,.0f} MiB = "
              f"{rss / max(1, identifiers):,.0f} B per identifier", flush=True)
        results = {"population": vars(mix_from_args(args)), "events_sampled": args.events, "hops": args.hops,
                   "identifiers": identifiers, "cache_mb": args.cache_mb or None, "tree": str(args.tree.resolve()),
                   "readiness": ready, "service_up_seconds": round(up_seconds, 2), "service_rss_up_bytes": rss_up,
                   "service_rss_bytes": rss, "service_rss_bytes_per_identifier": round(rss / max(1, identifiers), 1),
                   "keys_sampled_from": len(keys), "first_requests": first, "closed_loop": closed, "fixed_rate": fixed}
    finally:
        child.kill()
        child.wait()
    return finish(args, results)


if __name__ == "__main__":
    sys.exit(main())
