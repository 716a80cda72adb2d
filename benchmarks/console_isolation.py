"""Does a Gremlin console traversal hold up the JSON-RPC service beside it? (issue #14)

    python benchmarks/console_isolation.py                       # ~11k identifiers, this checkout
    python benchmarks/console_isolation.py --tree ../main        # the same against another checkout
    python benchmarks/console_isolation.py --backend durable --cache-mb 4 --no-choice --name console_isolation_durable

Against a real ``identity serve`` (memory graph, loaded with a population through RPC), while a
console client runs ``g.V().repeat(both()).times(20).count()`` as the dev tenant:

- **resolve**: JSON-RPC resolve latency at a fixed rate, idle and during the console traversal;
- **huge timeout**: the same traversal with ``evaluationTimeout`` 10^12 ms: how long until it
  is answered (the client gives up after ``--huge-wait`` seconds), and the peak resident memory
  of the service process and of the processes it forked meanwhile;
- **client gone**: the client closes 2 s into the traversal: the service's CPU use (its own and
  its children's) over the following seconds, and whether a worker process is left.

``--choice`` first measures, in this process, what each way of running a console traversal does to
in-process resolve latency on the same population: on a thread holding the graph (as the engine
runs every traversal), a thread that only competes for the GIL (the best a pool with cooperative
yielding could do), and a forked child (at niceness 0 and 10). docs/security.md reads the figures.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (ROOT, add_cache_argument, add_output_arguments, add_tree_argument,  # noqa: E402
                                child_processes, finish, latency_line, latency_summary, process_cpu_seconds,
                                process_rss_bytes, use_tree)
from benchmarks.ingest import events_in, ingest_calls  # noqa: E402
from benchmarks.population import add_mix_arguments, events_and_keys, mix_from_args  # noqa: E402

__all__ = ["main"]

HEAVY = "g.V().repeat(both()).times(20).count()"
_MB = 1 << 20
_OVERRUN_S = 60


class Sampler:
    """Every 100 ms: the service's RSS, its children's summed RSS, and the peak of their sum."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_service = self.peak_children = self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            service = process_rss_bytes(self.pid)
            children = sum(process_rss_bytes(child) for child in child_processes(self.pid))
            self.peak_service = max(self.peak_service, service)
            self.peak_children = max(self.peak_children, children)
            self.peak_total = max(self.peak_total, service + children)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def row(self) -> dict[str, float]:
        return {"peak_service_rss_mb": round(self.peak_service / _MB, 1),
                "peak_children_rss_mb": round(self.peak_children / _MB, 1),
                "peak_total_rss_mb": round(self.peak_total / _MB, 1)}


def resolve_latencies(call: Callable[[str, str], Any], keys: list, seconds: float, rate: float,
                      rng: random.Random) -> dict:
    """``call(type, value)`` at ``rate`` per second for ``seconds``, from one client: latency is
    counted from each call's planned start, so a stalled service shows its whole stall. A call
    that fails counts as an error with the time it took; calls still unsent ``_OVERRUN_S`` after
    the run should have ended are not sent (a service that never answers ends the run)."""
    latencies, errors = [], 0
    started = time.perf_counter()
    count = int(seconds * rate)
    for n in range(count):
        planned = started + n / rate
        if time.perf_counter() - started > seconds + _OVERRUN_S:
            break
        delay = planned - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            call(*rng.choice(keys))
        except Exception:  # a stalled service's timeout: counted, and the run goes on
            errors += 1
        latencies.append((time.perf_counter() - planned) * 1000)
    return {**latency_summary(latencies, time.perf_counter() - started), "planned": count, "errors": errors}


class Console:
    """One console connection (gremlinpython's Client) as the dev tenant."""

    def __init__(self, url: str, key: str):
        from gremlin_python.driver.client import Client
        self.client = Client(url, "g", username="dev", password=key, pool_size=1)

    def start(self, script: str, options: dict | None = None) -> dict:
        """Submit in the background; the dict gets ``seconds`` and ``outcome`` when answered."""
        outcome: dict[str, Any] = {}
        started = time.perf_counter()

        def run() -> None:
            try:
                result = self.client.submit(script, request_options=options or {}).all().result()
                outcome["outcome"] = f"result {result}"
            except Exception as error:  # the answer is an error: that is the point
                outcome["outcome"] = str(error).split("\n")[0][:120]
            outcome["seconds"] = round(time.perf_counter() - started, 2)

        threading.Thread(target=run, daemon=True).start()
        return outcome

    def close(self) -> None:
        # Client.close() waits for the answer of a request in flight: a service that never
        # answers must not hang the benchmark
        closing = threading.Thread(target=self.client.close, daemon=True)
        closing.start()
        closing.join(10)
        gc.collect()  # the driver's transport closes itself when collected: now, not at exit


def measure_service(events: list[dict], keys: list, args: argparse.Namespace) -> dict:
    from benchmarks.service import RpcClient, run_load, running_service
    rng = random.Random(args.seed)
    # stats (a full scan, for the identifier count) may need more than the default 10 s on a
    # durable graph with a small cache on a busy machine
    settings = {"IDENTITY_REQUEST_TIMEOUT": "120"}
    if args.cache_mb:
        settings["IDENTITY_GRAPH_CACHE_MB"] = f"{args.cache_mb:g}"
    with running_service(args.backend, tree=args.tree, settings=settings) as server:
        run_load(server, ingest_calls(events, 50), 2, label="load", quiet=args.quiet, weight=events_in)
        clients: list[RpcClient] = []

        def resolver() -> Callable[[str, str], Any]:
            """resolve on a connection of its own for each phase: the service closes a keep-alive
            connection left idle for its header_timeout (10 s), as it is between two phases."""
            client = RpcClient(server, timeout=30)
            clients.append(client)
            return lambda id_type, value: client.call("resolve", {"type": id_type, "value": value})

        counting = RpcClient(server, timeout=30)
        stats = counting.call("stats")
        counting.close()
        results: dict[str, Any] = {"identifiers": stats["identifiers"],
                                   "service_rss_loaded_mb": round(server.rss_bytes() / _MB, 1)}
        results["idle"] = resolve_latencies(resolver(), keys, args.seconds, args.rate, rng)

        console = Console(server.gremlin_url, server.key)
        with Sampler(server.pid) as sampler:
            heavy = console.start(HEAVY)
            time.sleep(0.5)
            results["during_heavy"] = resolve_latencies(resolver(), keys, args.seconds, args.rate, rng)
        results["during_heavy"].update(sampler.row())
        results["heavy_traversal"] = heavy
        console.close()

        console = Console(server.gremlin_url, server.key)
        with Sampler(server.pid) as sampler:
            huge = console.start(HEAVY, {"evaluationTimeout": _long(10 ** 12)})
            results["during_huge_timeout"] = resolve_latencies(resolver(), keys, args.seconds, args.rate, rng)
            deadline = time.monotonic() + args.huge_wait
            while "seconds" not in huge and time.monotonic() < deadline:
                time.sleep(0.2)
        results["huge_timeout"] = {**(huge if "seconds" in huge else
                                      {"outcome": f"no answer within {args.huge_wait:g} s", "seconds": None}),
                                   **sampler.row()}
        console.close()

        abandon(server.gremlin_url, HEAVY, 2.0, "dev", server.key)
        time.sleep(0.5)
        cpu = _cpu(server.pid)
        time.sleep(3)
        results["client_gone"] = {"cpu_seconds_in_3s_after": round(_cpu(server.pid) - cpu, 2),
                                  "worker_processes_left": len(child_processes(server.pid))}
        for client in clients:
            client.close()
    return results


def abandon(url: str, script: str, after_s: float, user: str | None = None, password: str | None = None) -> None:
    """Send ``script`` over a WebSocket of its own (answering the SASL challenge when one comes),
    and close the socket ``after_s`` seconds later without waiting for the answer: a client that
    goes away. (gremlinpython's Client.close() waits for the answer of a request in flight.)"""
    import asyncio
    import base64
    import json
    import uuid

    import tornado.websocket

    def frame(op: str, args: dict) -> str:
        return json.dumps({"requestId": {"@type": "g:UUID", "@value": str(uuid.uuid4())}, "op": op,
                           "processor": "", "args": args})

    async def talk() -> None:
        connection = await tornado.websocket.websocket_connect(url)
        try:
            connection.write_message(frame("eval", {"gremlin": script, "aliases": {"g": "g"}}))
            started = time.monotonic()
            if user is not None:  # a challenge comes at once, if one comes at all
                try:
                    reply = await asyncio.wait_for(connection.read_message(), after_s)
                except asyncio.TimeoutError:
                    reply = None
                if reply is not None and json.loads(reply)["status"]["code"] == 407:
                    sasl = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
                    connection.write_message(frame("authentication", {"sasl": sasl}))
            await asyncio.sleep(max(0.0, after_s - (time.monotonic() - started)))
        finally:
            connection.close()
    asyncio.run(talk())


def _long(value: int) -> Any:
    from gremlin_python.statics import long
    return long(value)


def _cpu(pid: int) -> float:
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(child) for child in child_processes(pid))


# ---- how to run a console traversal: the measurement behind the choice ----------------------------

def measure_choice(events: list[dict], keys: list, args: argparse.Namespace) -> dict:
    """In this process: resolve latency while the heavy traversal runs on a thread holding the
    graph, while a thread only competes for the GIL, and while a forked child runs it."""
    from gremlin.language import parse_query
    from identity import IdentityGraph
    from identity.graph.connection import open_traversal, settle_heap

    import gremlin
    settle_heap()  # as identity serve runs
    url = "memory://console-choice"
    identity = IdentityGraph(open_traversal(url), "dev")
    for start in range(0, len(events), 200):
        identity.ingest(events[start:start + 200])
    graph = gremlin.open_graph(url)
    heavy = parse_query(HEAVY).bytecode
    rng = random.Random(args.seed)

    def resolve(id_type: str, value: str) -> Any:
        return identity.resolve(id_type, value)

    def measured(label: str) -> dict:
        row = resolve_latencies(resolve, keys, args.choice_seconds, args.rate, rng)
        if not args.quiet:
            print(f"  {label:34s} {latency_line(row)}", file=sys.stderr)
        return row

    rows = {"idle": measured("idle")}
    done = threading.Event()

    def on_thread() -> None:
        try:
            graph.execute(heavy, {"evaluationTimeout": int(args.choice_seconds * 1000) + 2000})
        except gremlin.GremlinError:
            pass
        done.set()
    threading.Thread(target=on_thread, daemon=True).start()
    time.sleep(0.2)
    rows["thread_holding_the_graph"] = measured("thread holding the graph")
    done.wait(args.choice_seconds + 30)

    stop = threading.Event()

    def spin() -> None:  # pure Python, never touching the store: only the GIL is shared
        total = 0
        while not stop.is_set():
            for n in range(1000):
                total += n
    threading.Thread(target=spin, daemon=True).start()
    rows["thread_sharing_only_the_gil"] = measured("thread sharing only the GIL")
    stop.set()

    for niceness in (0, 10):
        started = time.perf_counter()
        with graph.store.quiescent():
            pid = os.fork()
            if pid == 0:
                os.nice(niceness)
                try:
                    graph.execute(heavy)
                finally:
                    os._exit(0)
        fork_ms = (time.perf_counter() - started) * 1000
        time.sleep(0.2)
        rows[f"forked_child_nice_{niceness}"] = {**measured(f"forked child, niceness {niceness}"),
                                                 "fork_ms": round(fork_ms, 2)}
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=1800)
    add_tree_argument(parser)
    parser.add_argument("--backend", choices=("memory", "durable"), default="memory",
                        help="identity serve's graph (default memory; durable: a file:// graph, whose forked "
                             "console reads go through the service)")
    add_cache_argument(parser)
    parser.add_argument("--rate", type=float, default=20, help="resolve calls per second (default 20)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each resolve run (default 10)")
    parser.add_argument("--huge-wait", type=float, default=60,
                        help="how long the client waits for the huge-timeout traversal (default 60)")
    parser.add_argument("--choice", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the in-process alternatives (default on)")
    parser.add_argument("--choice-seconds", type=float, default=6)
    add_output_arguments(parser, "console_isolation")
    args = parser.parse_args(argv)
    use_tree(args.tree)
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)  # it logs every error answer it gets
    mix = mix_from_args(args)
    events, keys = events_and_keys(mix)
    results: dict[str, Any] = {"population": asdict(mix), "events": len(events), "console_traversal": HEAVY,
                               "backend": args.backend, "cache_mb": args.cache_mb or None,
                               "tree": os.path.relpath(args.tree.resolve(), ROOT) or "."}
    if args.choice:
        if not args.quiet:
            print("in-process resolve latency while the console traversal runs:", file=sys.stderr)
        results["choice"] = measure_choice(events, keys, args)
    results["service"] = service = measure_service(events, keys, args)
    print(f"{service['identifiers']:,} identifiers; service RSS loaded {service['service_rss_loaded_mb']} MB")
    print(f"resolve idle               {latency_line(service['idle'])}")
    print(f"resolve during {HEAVY} {latency_line(service['during_heavy'])}")
    print(f"  the console traversal: {service['heavy_traversal']}")
    print(f"resolve during evaluationTimeout=10^12 {latency_line(service['during_huge_timeout'])}")
    print(f"  huge timeout: {service['huge_timeout']}")
    print(f"client gone: {service['client_gone']}")
    for label, row in results.get("choice", {}).items():
        print(f"in-process {label:30s} {latency_line(row)}")
    return finish(args, results)


if __name__ == "__main__":
    sys.exit(main())
