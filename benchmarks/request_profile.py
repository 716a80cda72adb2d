"""What the service sends a graph server per ``ingest`` and per ``resolve``, and what the server
spends on it: requests, steps per request (child traversals included), request bytes
(GraphBinary), the round trip seen by the client and the server's own execution time
(``profile()``), one request at a time, so the difference is what the server pays before and
after executing (deserialising, compiling, applying strategies, serialising) plus the network.

    python benchmarks/request_profile.py --gremlin-url ws://127.0.0.1:8182/gremlin
    python benchmarks/request_profile.py --tree /tmp/main --gremlin-url ...     # another checkout

A population (300 people by default) is ingested in batches of ``--batch`` events through
IdentityGraph on a fresh graph (the server is cleared first), then ``--resolves`` identifiers
are resolved. Each read and each resolve is sent once as the service sends it (the round trip)
and once more with ``profile()`` appended (the server's execution time); each write is sent once,
with ``profile()`` (writes are not idempotent twice over; profiling them executes them all the same),
so its round trip includes the profile's own cost. Without ``--gremlin-url`` it starts
``../shared/gremlin-server`` on a free port (Java needed) and stops it at the end.

Then a resolve's round trip is split (``--split-rounds``, 0 to skip): the resolves' traversals are
sent again one at a time, each request in turn through every variant (so that the machine's load
falls on all of them alike): through the service's connection (retries, breaker, telemetry), the
bare connection ``gremlin.connect`` gives, gremlinpython's stock driver, the bare connection without
the tenant's PartitionStrategy and with its has() steps written out instead, the request
pre-serialised and sent raw over a WebSocket (neither encoded nor decoded), and a trivial
``inject(1)``; with the client's CPU per request (this process's, the driver's threads included)
and the server's execution time (``profile()``).

Last (``--threads``, 0 to skip), resolves from several threads of this process at once, through the
stock driver and through the connection ``gremlin.connect`` gives, each alone and beside a thread
burning CPU (as a busy service's other requests do): what the GIL does to each driver's hand-offs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_batch_argument, parse_on_tree, percentile, process_cpu_seconds  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402

__all__ = ["main", "count_steps", "step_shares", "split_resolve", "concurrent_resolves"]


def count_steps(bytecode: Any) -> int:
    """Steps of ``bytecode``, those of its child traversals included."""
    from gremlin_python.process.traversal import Bytecode, Traversal

    def nested(value: Any) -> int:
        if isinstance(value, Traversal):
            value = value.bytecode
        if isinstance(value, Bytecode):
            return count_steps(value)
        if isinstance(value, (list, tuple, set)):
            return sum(nested(v) for v in value)
        if isinstance(value, dict):
            return sum(nested(k) + nested(v) for k, v in value.items())
        return 0

    return sum(1 + sum(nested(a) for a in step[1:]) for step in bytecode.step_instructions)


def _request_bytes(bytecode: Any) -> int:
    from gremlin_python.driver import serializer
    from gremlin_python.driver.request import RequestMessage
    message = RequestMessage(processor="traversal", op="bytecode", args={"gremlin": bytecode, "aliases": {"g": "g"}})
    return len(serializer.GraphBinarySerializersV1().serialize_message("00000000-0000-0000-0000-000000000000", message))


def _server_ms(metrics: Any) -> float:
    # GraphBinary's TraversalMetrics: a map with the duration in nanoseconds
    return float(metrics["dur"]) / 1e6 if isinstance(metrics, dict) else float("nan")


class Recorder:
    """Stands in for ``identity.graph.connection.submit`` in the modules that send traversals."""

    def __init__(self, server_pid: int | None = None, profile_writes: bool = True) -> None:
        self.rows: list[dict] = []
        self.profile_writes = profile_writes
        #: the graph server's process, whose CPU each request costs is read from /proc around it
        self.server_pid = server_pid
        self.kind = "ingest"
        #: the resolves' traversals, for the split
        self.resolves: list = []

    def _server_cpu(self) -> float:
        return process_cpu_seconds(self.server_pid) if self.server_pid else 0.0

    def submit(self, traversal: Any) -> list:
        began = time.perf_counter()
        steps, size = count_steps(traversal.bytecode), _request_bytes(traversal.bytecode)
        encode = (time.perf_counter() - began) * 1000
        writes = any(step[0] in ("mergeV", "mergeE", "property", "addE") for step in _all_steps(traversal.bytecode))
        if self.kind == "resolve":
            self.resolves.append(_copy(traversal))
        began, server_cpu = time.perf_counter(), self._server_cpu()
        if writes and self.profile_writes:
            metrics = traversal.profile().to_list()[0]
            result = [True] if _last_count(metrics) else []
            round_trip = (time.perf_counter() - began) * 1000
        elif writes:
            result, metrics = _copy(traversal).to_list(), None
            round_trip = (time.perf_counter() - began) * 1000
        else:
            result = _copy(traversal).to_list()
            round_trip = (time.perf_counter() - began) * 1000
        server_cpu = (self._server_cpu() - server_cpu) * 1000
        if not writes:
            metrics = traversal.profile().to_list()[0]
        self.rows.append({"kind": self.kind, "op": "write" if writes else "read", "steps": steps, "bytes": size,
                          "round_trip_ms": round_trip, "server_ms": _server_ms(metrics), "encode_ms": encode,
                          "step_ms": _step_ms(metrics), "server_cpu_ms": server_cpu})
        return result


def _copy(traversal: Any) -> Any:
    from gremlin_python.process.graph_traversal import GraphTraversal
    from gremlin_python.process.traversal import Bytecode
    return GraphTraversal(traversal.graph, traversal.traversal_strategies, Bytecode(traversal.bytecode))


def _all_steps(bytecode: Any):
    from gremlin_python.process.traversal import Bytecode, Traversal
    for step in bytecode.step_instructions:
        yield step
        for arg in step[1:]:
            for value in (arg if isinstance(arg, (list, tuple)) else [arg]):
                if isinstance(value, Traversal):
                    value = value.bytecode
                if isinstance(value, Bytecode):
                    yield from _all_steps(value)


def _step_ms(metrics: Any) -> list[tuple[str, float]]:
    """The server's time in each top-level step: (what the step is, without its arguments, which
    hold the request's data; its first child step for a sideEffect/and), ms)."""
    steps = metrics.get("metrics", []) if isinstance(metrics, dict) else []
    named = []
    for step in steps:
        name = str(step.get("name", ""))
        outer, _, inner = name.partition("(")
        first_child = inner.lstrip("[").partition("(")[0] if inner.startswith("[") else ""
        named.append((f"{outer} {first_child}".strip(), float(step.get("dur", 0)) / 1e6))
    return named


def step_shares(rows: list[dict], kind: str = "ingest", op: str = "write") -> list[str]:
    """Each top-level step's share of the server's execution time, summed over ``kind`` ``op``
    requests (their steps are the same whatever the data)."""
    totals: dict[int, list] = {}
    for row in rows:
        if (row["kind"], row["op"]) == (kind, op):
            for index, (name, ms) in enumerate(row["step_ms"]):
                totals.setdefault(index, [name, 0.0])[1] += ms
    whole = sum(ms for _, ms in totals.values()) or 1.0
    return [f"{index:3d} {100 * ms / whole:5.1f}%  {name}" for index, (name, ms) in sorted(totals.items())]


def _last_count(metrics: Any) -> int:
    steps = metrics.get("metrics", []) if isinstance(metrics, dict) else []
    if not steps:
        return 1
    counts = steps[-1].get("counts", {}) if isinstance(steps[-1], dict) else {}
    return int(counts.get("traverserCount", counts.get("elementCount", 1)))


def summary(rows: list[dict]) -> list[str]:
    lines = ["| request | count | steps (median, max) | KB (median, max) | round trip ms (p50, p99) | "
             "server execution ms (p50, p99) | round trip − execution ms (p50) | client encoding ms (p50) | "
             "server CPU ms (mean) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, op in sorted({(r["kind"], r["op"]) for r in rows}):
        chosen = [r for r in rows if (r["kind"], r["op"]) == (kind, op)]
        steps = [r["steps"] for r in chosen]
        size = [r["bytes"] / 1024 for r in chosen]
        trip = [r["round_trip_ms"] for r in chosen]
        server = [r["server_ms"] for r in chosen]
        overhead = [r["round_trip_ms"] - r["server_ms"] for r in chosen]
        lines.append(f"| {kind} {op} | {len(chosen)} | {statistics.median(steps):.0f}, {max(steps)} | "
                     f"{statistics.median(size):.1f}, {max(size):.1f} | {percentile(trip, 0.5):.1f}, "
                     f"{percentile(trip, 0.99):.1f} | {percentile(server, 0.5):.1f}, {percentile(server, 0.99):.1f} | "
                     f"{percentile(overhead, 0.5):.1f} | {percentile([r['encode_ms'] for r in chosen], 0.5):.1f} | "
                     f"{_mean_server_cpu(chosen)} |")
    return lines


def _mean_server_cpu(rows: list[dict]) -> str:
    spent = [r["server_cpu_ms"] for r in rows if r.get("server_cpu_ms") is not None]
    return f"{statistics.mean(spent):.1f}" if spent and any(spent) else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gremlin-url", help="the Gremlin Server to profile (default: start ../shared/gremlin-server)")
    add_batch_argument(parser)
    parser.add_argument("--resolves", type=int, default=200, help="resolves after the load")
    parser.add_argument("--split-rounds", type=int, default=3,
                        help="times each resolve is sent through each variant of the split (0: no split)")
    parser.add_argument("--threads", type=int, default=4, help="threads resolving at once in the last part (0: skip)")
    parser.add_argument("--server-pid", type=int,
                        help="the graph server's process id: the server CPU each request costs (/proc, around it)")
    parser.add_argument("--plain-writes", action="store_true",
                        help="send writes without profile(): their server CPU without profile()'s own cost "
                             "(no execution times, no step shares)")
    add_mix_arguments(parser, people=300)
    args = parse_on_tree(parser, argv)
    # imported after --tree is applied: benchmarks.service imports identity (and with it gremlin)
    from benchmarks.service import gremlin_server
    with gremlin_server(args.gremlin_url) as url:
        rows, resolves = profile(url, args)
        split = split_resolve(url, resolves, args.split_rounds) if args.split_rounds else []
        concurrent = concurrent_resolves(url, args.keys, args.threads) if args.threads else []
    per_call = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in ("ingest", "resolve")}
    calls = {"ingest": -(-args.events // args.batch), "resolve": args.resolves}
    print(f"{args.events} events in {calls['ingest']} ingest calls: {per_call['ingest'] / calls['ingest']:.2f} "
          f"requests per call; {per_call['resolve'] / max(1, calls['resolve']):.2f} per resolve")
    print("\n".join(summary(rows)))
    for op in ("read", "write"):
        shares = step_shares(rows, op=op)
        if shares:
            print(f"ingest {op}: the server's execution time by top-level step")
            print("\n".join(shares))
    if split:
        print(f"a resolve's round trip, one request at a time ({len(resolves)} traversals x {args.split_rounds})")
        print("\n".join(split))
    if concurrent:
        print(f"resolves from {args.threads} threads at once, 2 rounds alternated")
        print("\n".join(concurrent))
    return 0


def profile(url: str, args: argparse.Namespace) -> list[dict]:
    import identity.domain.ingest
    import identity.domain.tenant_graph
    from identity import IdentityGraph
    from identity.graph.connection import close_all, open_traversal
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection

    plain = DriverRemoteConnection(url, "g")
    traversal().with_remote(plain).V().drop().iterate()
    plain.close()
    labelled = list(generate(mix_from_args(args)))
    events = [item.event for item in labelled]
    args.events = len(events)
    recorder = Recorder(args.server_pid, profile_writes=not args.plain_writes)
    # every module that sends ingest's and resolve's traversals (ingest's batch read and write
    # moved between modules over time: those the tree has)
    patched = []
    for name in ("ingest", "batch_read", "chunk", "tenant_graph"):
        module = sys.modules.get(f"identity.domain.{name}") or _imported(f"identity.domain.{name}")
        if module is not None and hasattr(module, "submit"):
            patched.append((module, module.submit))
            module.submit = recorder.submit
    ids = IdentityGraph(open_traversal(url), "bench")
    for i in range(0, len(events), args.batch):
        ids.ingest(events[i:i + args.batch])
    recorder.kind = "resolve"
    rng = random.Random(args.seed)
    keys = args.keys = sorted({(i["type"], i["value"]) for e in events for i in e["identifiers"]})
    for id_type, value in (rng.choice(keys) for _ in range(args.resolves)):
        try:
            ids.resolve(id_type, value)
        except Exception:  # a blocked value: not an identifier to resolve
            continue
    close_all()
    for module, submit in patched:  # the later parts send as the service sends
        module.submit = submit
    return recorder.rows, recorder.resolves


def _imported(name: str) -> Any:
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def split_resolve(url: str, traversals: list, rounds: int) -> list[str]:
    """The split of a resolve's round trip (the module docstring): a table's lines."""
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.traversal import Bytecode, P
    from identity.graph.connection import close_all, open_traversal

    service = open_traversal(url)  # the service's connection: a ResilientConnection
    service_connection = next(s.remote_connection for s in service.traversal_strategies.traversal_strategies
                              if hasattr(s, "remote_connection"))
    bare, stock = gremlin.connect(url), gremlin.connect(url + "?driver=gremlinpython")
    codes = [Bytecode(t.bytecode) for t in traversals]
    tenant = _tenant(codes[0])
    bare_codes = [_without_strategies(code) for code in codes]
    written = [_tenant_written_out(code, P.within([tenant])) for code in bare_codes]
    trivial = traversal().with_remote(bare).inject(1).bytecode
    raw = _raw_sender(url, codes)

    def through(connection: Any, sent: list) -> Any:
        return lambda i: list(connection.submit(sent[i]).traversers)

    variants = {
        "the service's connection (retries, breaker, telemetry)": through(service_connection, codes),
        f"bare connection ({type(bare).__name__})": through(bare, codes),
        "gremlinpython's DriverRemoteConnection": through(stock, codes),
        "bare, no PartitionStrategy": through(bare, bare_codes),
        "bare, the tenant's has() written out instead": through(bare, written),
        "bare, inject(1)": through(bare, [trivial] * len(codes)),
    }
    if raw is not None:
        variants["pre-serialised, raw over a WebSocket (no encoding, no decoding)"] = raw
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for i in range(len(codes)):
            for name, send in variants.items():
                began, used = time.perf_counter(), time.process_time()
                send(i)
                wall[name].append((time.perf_counter() - began) * 1000)
                cpu[name].append((time.process_time() - used) * 1000)
    from gremlin_python.driver.protocol import GremlinServerError
    server = []
    for code in codes:
        profiled = Bytecode(code)
        profiled.add_step("profile")
        try:
            server.append(_server_ms(list(bare.submit(profiled).traversers)[0].object))
        except GremlinServerError:  # our endpoint has no profile()
            break
    encode, decode = _codec_ms(codes, raw)
    for closing in (bare.close, stock.close, close_all, getattr(raw, "close", lambda: None)):
        closing()
    lines = ["| request | round trip ms (p50, p90) | client CPU ms a request (mean) |", "|---|---:|---:|"]
    for name in variants:
        lines.append(f"| {name} | {percentile(wall[name], 0.5):.2f}, {percentile(wall[name], 0.9):.2f} | "
                     f"{statistics.mean(cpu[name]):.2f} |")
    lines.append("| server execution (profile()) | " + (f"{percentile(server, 0.5):.2f}, {percentile(server, 0.9):.2f}"
                                                         if server else "not measured (no profile() step)") + " | |")
    lines.append(f"| client: encoding the request, decoding the answer (GraphBinary) | | {encode:.2f}, {decode:.2f} |")
    return lines


def concurrent_resolves(url: str, keys: list, threads: int, per_thread: int = 300, rounds: int = 2) -> list[str]:
    """Resolves of tenant "bench" from ``threads`` threads at once (``per_thread`` each, under a
    request deadline as the service sets one), through each driver, with and without a thread
    burning CPU beside them; ``rounds`` alternations. A table's lines."""
    import json
    import threading
    from identity import IdentityGraph
    from identity.graph.connection import close_all, open_traversal
    from identity.graph.resilience import deadline

    def run(suffix: str, burner: bool, seed: int) -> tuple[float, float, float]:
        ids = IdentityGraph(open_traversal(url + suffix, pool_size=8), "bench")
        latencies: list[float] = []
        lock, stop = threading.Lock(), threading.Event()

        def burn() -> None:
            blob = {"a": list(range(200)), "b": {str(i): "x" * 20 for i in range(50)}}
            while not stop.is_set():
                json.loads(json.dumps(blob))

        def work(n: int) -> None:
            rng, mine = random.Random(seed * 100 + n), []
            for _ in range(per_thread):
                began = time.perf_counter()
                with deadline(10):
                    try:
                        ids.resolve(*rng.choice(keys))
                    except Exception:  # a blocked value: not an identifier to resolve
                        pass
                mine.append((time.perf_counter() - began) * 1000)
            with lock:
                latencies.extend(mine)

        for key in keys[:50]:  # the connections opened, the server warm
            try:
                ids.resolve(*key)
            except Exception:
                pass
        burning = threading.Thread(target=burn) if burner else None
        if burning:
            burning.start()
        began = time.perf_counter()
        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - began
        stop.set()
        if burning:
            burning.join()
        close_all()
        return len(latencies) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99)

    drivers = {"gremlinpython's DriverRemoteConnection": "?driver=gremlinpython", "gremlin.connect's": ""}
    rows: dict[tuple[str, bool], list[tuple[float, float, float]]] = {}
    for round_ in range(rounds):
        for name, suffix in drivers.items():
            for burner in (False, True):
                rows.setdefault((name, burner), []).append(run(suffix, burner, round_))
    lines = ["| driver | beside a CPU-burning thread | resolves/s | p50 ms | p99 ms |", "|---|---|---:|---:|---:|"]
    for (name, burner), runs in rows.items():
        lines.append(f"| {name} | {'yes' if burner else 'no'} | " + " | ".join(
            ", ".join(f"{r[i]:.0f}" if i == 0 else f"{r[i]:.1f}" for r in runs) for i in range(3)) + " |")
    return lines


def _tenant(code: Any) -> str:
    for instruction in code.source_instructions:
        strategy = instruction[1] if len(instruction) > 1 else None
        if type(strategy).__name__ == "PartitionStrategy":
            return strategy.configuration["write_partition"] if "write_partition" in strategy.configuration \
                else strategy.configuration["writePartition"]
    raise ValueError("the resolve traversal carries no PartitionStrategy")


def _without_strategies(code: Any) -> Any:
    from gremlin_python.process.traversal import Bytecode
    bare = Bytecode(code)
    bare.source_instructions = [i for i in bare.source_instructions if i[0] != "withStrategies"]
    return bare


#: the steps after which PartitionStrategy filters on the partition key: those returning elements
_ELEMENT_STEPS = frozenset({"V", "E", "out", "in", "both", "outE", "inE", "bothE", "outV", "inV", "bothV", "otherV"})


def _tenant_written_out(code: Any, within: Any) -> Any:
    """``code`` with has(tenant, within([t])) after every step PartitionStrategy filters after."""
    from gremlin_python.process.traversal import Bytecode
    out = Bytecode()
    for step in code.step_instructions:
        out.step_instructions.append([step[0], *(_tenant_written_out(a, within) if isinstance(a, Bytecode) else a
                                                 for a in step[1:])])
        if step[0] in _ELEMENT_STEPS:
            out.step_instructions.append(["has", "tenant", within])
    return out


def _raw_sender(url: str, codes: list) -> Any:
    """A variant sending each request's bytes, serialised beforehand, over a WebSocket and reading
    the answer's bytes (None on a tree without gremlin.websocket_client)."""
    try:
        from gremlin.websocket_client import WebSocket
    except ImportError:
        return None
    import uuid
    from gremlin_python.driver import serializer
    from gremlin_python.driver.request import RequestMessage
    writer = serializer.GraphBinarySerializersV1()
    frames = [writer.serialize_message(str(uuid.uuid4()), RequestMessage(
        "traversal", "bytecode", {"gremlin": code, "aliases": {"g": "g"}})) for code in codes]
    socket = WebSocket.open(url, timeout=10)

    def send(i: int) -> bytes:
        socket.send_binary(frames[i])
        return socket.receive()
    send.close = socket.close  # type: ignore[attr-defined]
    return send


def _codec_ms(codes: list, raw: Any) -> tuple[float, float]:
    """Mean ms to encode a resolve request, and to decode its answer (read by ``raw``), with the
    serializer the tree's connection uses."""
    import uuid
    from gremlin_python.driver import serializer
    from gremlin_python.driver.request import RequestMessage
    try:
        from gremlin.fast_reader import FastReader
        from gremlin.server.graphbinary import client_writer
        codec = serializer.GraphBinarySerializersV1(reader=FastReader(), writer=client_writer())
    except ImportError:
        codec = serializer.GraphBinarySerializersV1()
    began = time.process_time()
    for code in codes:
        codec.serialize_message(str(uuid.uuid4()), RequestMessage("traversal", "bytecode",
                                                                   {"gremlin": code, "aliases": {"g": "g"}}))
    encode = (time.process_time() - began) * 1000 / len(codes)
    if raw is None:
        return encode, float("nan")
    answers = [raw(i) for i in range(len(codes))]
    began = time.process_time()
    for answer in answers:
        codec.deserialize_message(answer)
    return encode, (time.process_time() - began) * 1000 / len(answers)


if __name__ == "__main__":
    raise SystemExit(main())
