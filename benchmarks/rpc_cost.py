"""The service's CPU per call outside the graph work: ``identity serve`` (durable, a small
population: the overhead does not grow with the graph) under a closed loop of ``resolve`` calls,
its CPU per call split by thread: the event loop (tornado, JSON, authentication, limits,
telemetry, the hand-off to a worker) and the workers (the method, IdentityGraph.resolve in it),
with the ingest that loaded it (CPU per event) beside, and what a request with no graph work
costs (``GET /healthz``; a call of an unknown method: authenticated, parsed, answered -32601). Checkouts given by ``--tree`` are measured
in turn, round after round, so a noisy machine weighs on each alike.

    python benchmarks/rpc_cost.py --tree /tmp/main --tree . --rounds 3
    python benchmarks/rpc_cost.py --profile 25          # + the event loop's top 25 functions (cProfile)
    python benchmarks/rpc_cost.py --pieces              # + the request's pieces timed in this process

The pieces (``--pieces``) are what a ``resolve`` request runs besides tornado, each timed alone in
this process on the same graph (CPU per call): IdentityGraph.resolve, the method around it (its
result made a document), authentication, the body parsed and checked, the answer encoded, the
span and duration sample, the rate limit, admission and circuit checks, and Service.run (the
hand-off to a worker) around the method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import ROOT  # noqa: E402
from benchmarks.ingest import events_in, ingest_calls  # noqa: E402
from benchmarks.population import add_mix_arguments, events_and_keys, mix_from_args  # noqa: E402
from benchmarks.service import Server, _env, child_process, run_load, wait_for_line  # noqa: E402

__all__ = ["thread_cpu", "pieces", "main"]


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of process ``pid``'s threads, by role: ``loop`` (the main thread, which
    runs the event loop) and ``threads`` (the others: the worker pool, the store's; Python 3.11 names
    no thread for the system, so the workers cannot be told apart) (Linux /proc; {} elsewhere)."""
    split = {"loop": 0.0, "threads": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        role = "loop" if task.name == str(pid) else "threads"
        split[role] += seconds
    return split


@contextlib.contextmanager
def service(tree: Path, profile: Path | None) -> Iterator[Server]:
    """``identity serve`` on a fresh durable graph from checkout ``tree`` (the main thread under
    cProfile, written to ``profile`` at shutdown, when given)."""
    with tempfile.TemporaryDirectory(prefix="identity-rpc-cost-") as tmp:
        work = Path(tmp)
        env = {**_env(tree.resolve()), "IDENTITY_DATA_DIR": str(work / "data"),
               "IDENTITY_GRAPH_URL": (work / "graph").as_uri(), "IDENTITY_RATE_PER_SECOND": "0",
               "IDENTITY_LOG_LEVEL": "WARNING"}
        python = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
        with child_process(python + ["-m", "identity", "serve", "--port", "0", "--no-gremlin"], env, work) as (
                process, lines):
            url = wait_for_line(lines, "identity listening on ", process).split()[3]
            key = wait_for_line(lines, "dev tenant API key", process).split()[-1]
            yield Server(url, key, process.pid, "durable", None, work / "data")


def measure(tree: Path, events: list[dict], keys: list, args: argparse.Namespace,
            profile: Path | None = None) -> dict[str, float]:
    rng = random.Random(args.seed + 1)
    with service(tree, profile) as server:
        before = server.cpu_seconds()
        run_load(server, ingest_calls(events, 50), 2, quiet=True, weight=events_in)
        ingest = (server.cpu_seconds() - before) / len(events)
        calls = [("resolve", {"type": t, "value": v}) for t, v in (rng.choice(keys) for _ in range(args.requests))]
        run_load(server, calls[:args.requests // 5], args.concurrency, quiet=True)  # warm up
        before, split = server.cpu_seconds(), thread_cpu(server.pid)
        row = run_load(server, calls, args.concurrency, quiet=True)
        after, split_after = server.cpu_seconds(), thread_cpu(server.pid)
        bare = {what: _cpu_per_request(server, method, body, args.requests // 2) for what, method, body in (
            ("healthz", "GET", None),
            ("unknown_method", "POST", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "no.such", "params": {}})))}
    ms = {role: 1000 * (split_after[role] - split[role]) / len(calls) for role in split}
    return {"resolve_ms": 1000 * (after - before) / len(calls), **{f"{k}_ms": v for k, v in ms.items()},
            "p50_ms": row["p50_ms"], "p99_ms": row["p99_ms"], "ingest_ms_per_event": 1000 * ingest,
            **{f"{what}_ms": ms for what, ms in bare.items()}}


def _cpu_per_request(server: Server, method: str, body: str | None, count: int) -> float:
    """The service's CPU ms per request of ``method`` ``body`` to /rpc (GET: /healthz), one
    keep-alive connection: what tornado and our handler cost with no graph work."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    path = "/healthz" if method == "GET" else "/rpc"
    try:
        for n in range(count + count // 5):  # the first fifth warms up
            if n == count // 5:
                before = server.cpu_seconds()
            connection.request(method, path, body=body, headers=headers)
            connection.getresponse().read()
        return 1000 * (server.cpu_seconds() - before) / count
    finally:
        connection.close()


def pieces(events: list[dict], keys: list, calls: int = 1500) -> dict[str, float]:
    """CPU ms per call of each piece of a resolve request, timed alone in this process on a
    durable graph of ``events`` (this checkout's code), under the telemetry `identity serve`
    installs (the one installed before is put back)."""
    from identity.base import telemetry

    installed = telemetry.from_environment({})  # what `identity serve` installs with no OTEL_* set
    previous = telemetry.install(installed)
    try:
        return _timed_pieces(events, keys, calls)
    finally:
        telemetry.install(previous)
        installed.shutdown()


def _timed_pieces(events: list[dict], keys: list, calls: int) -> dict[str, float]:
    from identity.base import telemetry
    from identity.graph.connection import release
    from identity.security import auth
    from identity.service.config import Config
    from identity.service.rpc import dispatch
    from identity.service.rpc.app import build_service
    from identity.service.rpc.handlers import _dumps
    from identity.service.rpc.methods import Context, method_table
    from identity.service.rpc.server import ensure_dev_tenant

    rng = random.Random(2)
    sample = [rng.choice(keys) for _ in range(calls)]
    with tempfile.TemporaryDirectory(prefix="identity-rpc-cost-") as tmp:
        graph_url = (Path(tmp) / "graph").as_uri()
        service = build_service(Config(data_dir=Path(tmp) / "data", graph_url=graph_url))
        try:
            key = ensure_dev_tenant(service.registry)
            graph = service.identity("dev")
            for n in range(0, len(events), 50):
                graph.ingest(events[n:n + 50])
            table = method_table(service.limits.max_batch)
            context = Context(service, auth.authenticate(service.registry, f"Bearer {key}"))
            resolve = table["resolve"]
            answer = resolve.call(context, {"type": sample[0][0], "value": sample[0][1]})
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "resolve",
                               "params": {"type": sample[0][0], "value": sample[0][1]}}).encode()

            def span() -> None:
                with telemetry.current().rpc("resolve"):
                    pass

            async def handed_off(id_type: str, value: str) -> Any:
                return await service.run(resolve.call, context, {"type": id_type, "value": value}, tenant="dev",
                                         until=time.monotonic() + 10, charged=1)

            def timed(piece: Callable[[str, str], Any]) -> float:
                for id_type, value in sample[:100]:
                    piece(id_type, value)
                started = time.process_time()
                for id_type, value in sample:
                    piece(id_type, value)
                return 1000 * (time.process_time() - started) / len(sample)

            loop = asyncio.new_event_loop()
            try:
                return {
                    "IdentityGraph.resolve": timed(lambda t, v: graph.resolve(t, v)),
                    "the resolve method": timed(lambda t, v: resolve.call(context, {"type": t, "value": v})),
                    "Service.run(the method)": timed(lambda t, v: loop.run_until_complete(handed_off(t, v))),
                    "authentication": timed(lambda t, v: auth.authenticate(service.registry, f"Bearer {key}")),
                    "body parsed and checked": timed(
                        lambda t, v: dispatch.make_plan(dispatch.parse(body), table, service.limits.max_batch)),
                    "answer encoded": timed(lambda t, v: _dumps(dispatch.response(1, answer))),
                    "span and duration sample": timed(lambda t, v: span()),
                    "rate limit, admission, circuit": timed(lambda t, v: (
                        service.limiter.wait("dev"), service.admission.enter("dev"), service.admission.leave("dev"),
                        service.circuit_wait("dev"))),
                }
            finally:
                loop.close()
        finally:
            service.close()
            release(graph_url)  # closes the durable store, as `identity serve` does at shutdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=300)
    parser.add_argument("--tree", type=Path, action="append", help="a checkout to measure (repeatable; default this one)")
    parser.add_argument("--rounds", type=int, default=1, help="each tree this many times, alternated")
    parser.add_argument("--requests", type=int, default=2000, help="resolve calls measured per round")
    parser.add_argument("--concurrency", type=int, default=1, help="client threads")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also print the event loop's N costliest functions, per tree")
    parser.add_argument("--sort", default="tottime", help="the profile's order (pstats: tottime, cumulative, ...)")
    parser.add_argument("--pieces", action="store_true", help="also time a request's pieces in this process")
    args = parser.parse_args(argv)
    events, keys = events_and_keys(mix_from_args(args))
    trees = args.tree or [ROOT]
    print(f"{len(events)} events, {args.requests} resolves x{args.concurrency}, load {os.getloadavg()[0]:.1f}")
    print("round tree                            resolve CPU ms/call (loop + threads)  p50 / p99 ms  "
          "ingest CPU ms/event  "
          "healthz / unknown method CPU ms")
    for n in range(args.rounds):
        for tree in trees:
            r = measure(tree, events, keys, args)
            print(f"{n + 1:5d} {str(tree)[-30:]:30s}  {r['resolve_ms']:6.3f} ({r['loop_ms']:.3f} + {r['threads_ms']:.3f})"
                  f"        {r['p50_ms']:5.2f} / {r['p99_ms']:5.2f}  "
                  f"{r['ingest_ms_per_event']:6.3f}               {r['healthz_ms']:.3f} / {r['unknown_method_ms']:.3f}")
    for tree in trees if args.profile else []:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "loop.prof"
            measure(tree, events, keys, args, profile=out)
            print(f"\nevent loop of {tree} (cProfile: the load, the warm-up and the measured resolves)")
            pstats.Stats(str(out)).sort_stats(args.sort).print_stats(args.profile)
    if args.pieces:
        print("\npieces of a resolve request, alone in this process (CPU ms per call)")
        for piece, ms in pieces(events, keys).items():
            print(f"  {piece:32s} {ms:7.3f}")
    print(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
