"""Graph engine throughput and memory, per backend, driven by one sequential gremlinpython client.

    python benchmarks/engine.py                      # memory, durable, endpoint (both serializers)
    python benchmarks/engine.py --url ws://host:8182/gremlin   # any Gremlin Server / Neptune too
    python benchmarks/engine.py --big 1000000        # also the 3-hop traversal on a 1M-vertex graph
    python benchmarks/engine.py --compare /tmp/main  # before/after: that checkout's engine vs this one

Measures addV/s, addE/s, and `V(id).repeat(both().simplePath()).times(3).emit().dedup().limit(200)`
traversals/s on a 1k-vertex / 3k-edge graph; memory per vertex and per edge for the in-process store.
Writes docs/benchmarks-engine.json and prints a table. Figures compare within one run only.

The endpoint backends run `python -m gremlin.server` in its own process, as a Gremlin Server
runs in its own JVM: a server thread inside the benchmark's process would make the client and
the server take turns on one interpreter lock.

``--code DIR`` measures the gremlin package of another checkout with this same script;
``--compare DIR`` runs this checkout and DIR alternately (``--rounds`` times each, best figure
kept, as the machine may be shared) and records both and their ratios: a before/after in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable, Iterator

from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

REPO = Path(__file__).resolve().parent.parent


def _code_dir(argv: list[str]) -> Path:
    """--code DIR, read before the engine is imported, since it chooses which engine."""
    for position, arg in enumerate(argv):
        if arg == "--code" and position + 1 < len(argv):
            return Path(argv[position + 1]).resolve()
        if arg.startswith("--code="):
            return Path(arg.split("=", 1)[1]).resolve()
    return REPO


CODE = _code_dir(sys.argv[1:])
sys.path.insert(0, str(CODE))

import gremlin  # noqa: E402
import gremlin.remote  # noqa: E402


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def build_graph(g, vertices: int, edges: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    start = time.perf_counter()
    for i in range(vertices):
        g.add_v("node").property(T.id, f"v{i}").property("name", f"n{i}").iterate()
    add_v = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(edges):
        a, b = rng.randrange(vertices), rng.randrange(vertices)
        g.V(f"v{a}").add_e("link").to(__.V(f"v{b}")).property(T.id, f"e{i}").iterate()
    add_e = time.perf_counter() - start
    return {"addV_per_s": _rate(vertices, add_v), "addE_per_s": _rate(edges, add_e)}


def three_hop(g, vertices: int, n: int, seed: int = 11, server_cpu: Callable[[], float] | None = None) -> dict:
    """Traversals per second, and the CPU seconds one costs (client, plus the server's when
    ``server_cpu`` reads it): on a shared machine the CPU figure is the steadier one."""
    rng = random.Random(seed)
    start, cpu = time.perf_counter(), time.process_time() + (server_cpu() if server_cpu else 0.0)
    for _ in range(n):
        g.V(f"v{rng.randrange(vertices)}").repeat(__.both().simple_path()).times(3).emit() \
            .dedup().limit(200).to_list()
    wall = time.perf_counter() - start
    cpu = time.process_time() + (server_cpu() if server_cpu else 0.0) - cpu
    return {"three_hop_per_s": _rate(n, wall), "three_hop_cpu_ms": 1000.0 * cpu / n}


@contextlib.contextmanager
def backend(kind: str, url: str | None) -> Iterator[tuple[str, Callable[[], float] | None]]:
    """A URL for ``kind`` and, when the server runs here, a reader of its CPU seconds."""
    if kind == "memory":
        yield "memory://bench", None
        gremlin.forget_graph("memory://bench")
    elif kind == "durable":
        with tempfile.TemporaryDirectory() as tmp:
            target = f"file://{tmp}/graph"
            yield target, None
            gremlin.forget_graph(target)
    elif kind.startswith("endpoint"):
        with server_process() as (endpoint, cpu):
            yield f"{endpoint}?serializer={kind.split('-', 1)[1]}", cpu
    else:
        yield url or "", None


@contextlib.contextmanager
def server_process() -> Iterator[tuple[str, Callable[[], float]]]:
    """`python -m gremlin.server` serving a fresh memory:// graph on a free port."""
    process = subprocess.Popen([sys.executable, "-m", "gremlin.server", "--port", "0"], cwd=CODE,
                               stdout=subprocess.PIPE, text=True)

    def cpu_seconds() -> float:  # Linux: utime + stime of the server process
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"the endpoint did not start: {line!r}")
        yield line.split("listening on ", 1)[1].split()[0], cpu_seconds
    finally:
        process.terminate()
        process.wait(30)


def memory_per_element(vertices: int, edges: int) -> dict:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    graph = gremlin.Graph()
    g = traversal().with_remote(gremlin.remote.LocalRemoteConnection(graph))
    batch = 500
    for lo in range(0, vertices, batch):
        t = g
        for i in range(lo, min(lo + batch, vertices)):
            t = t.add_v("node").property(T.id, f"v{i}").property("name", f"n{i}")
        t.iterate()
    after_vertices = tracemalloc.get_traced_memory()[0]
    rng = random.Random(3)
    for lo in range(0, edges, batch):
        t = g.inject(1)
        for i in range(lo, min(lo + batch, edges)):
            t = t.V(f"v{rng.randrange(vertices)}").add_e("link").to(__.V(f"v{rng.randrange(vertices)}"))
        t.iterate()
    after_edges = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"bytes_per_vertex": (after_vertices - before) / vertices,
            "bytes_per_edge": (after_edges - after_vertices) / edges}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="also measure this backend (ws://... Gremlin Server or Neptune)")
    parser.add_argument("--backends", default="memory,durable,endpoint-graphbinary,endpoint-graphson")
    parser.add_argument("--vertices", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=3000)
    parser.add_argument("--traversals", type=int, default=300)
    parser.add_argument("--memory-vertices", type=int, default=20000)
    parser.add_argument("--big", type=int, default=0, help="vertices for the large-graph 3-hop run (0: skip)")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks-engine.json"))
    parser.add_argument("--code", default=str(REPO), help="checkout whose gremlin package to measure")
    parser.add_argument("--compare", metavar="DIR", help="also measure the checkout DIR; record both and ratios")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: runs of each, best kept")
    parser.add_argument("--heap-settler", action="store_true",
                        help="run the in-process backends as identity serve and gremlin-server do: with "
                             "gremlin.heap.HeapSettler installed (the endpoint's own process always has it)")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args, argv if argv is not None else sys.argv[1:])
    if args.heap_settler:
        from gremlin.heap import HeapSettler
        HeapSettler().install()

    kinds = [k for k in args.backends.split(",") if k]
    if args.url:
        kinds.append("url")
    results: dict = {"machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
                     "command": "python benchmarks/engine.py " + " ".join(argv or sys.argv[1:]),
                     "heap_settler": args.heap_settler, "backends": {}}
    print(f"{'backend':24} {'addV/s':>10} {'addE/s':>10} {'3-hop/s':>10} {'3-hop CPU ms':>13}")
    for kind in kinds:
        with backend(kind, args.url) as (url, server_cpu):
            conn = gremlin.connect(url)
            g = traversal().with_remote(conn)
            g.V().drop().iterate()
            row = build_graph(g, args.vertices, args.edges)
            row.update(three_hop(g, args.vertices, args.traversals, server_cpu=server_cpu))
            conn.close()
        results["backends"][kind if kind != "url" else gremlin.describe(args.url)] = row
        print(f"{kind:24} {row['addV_per_s']:10.0f} {row['addE_per_s']:10.0f} {row['three_hop_per_s']:10.0f} "
              f"{row['three_hop_cpu_ms']:13.2f}")
    memory = memory_per_element(args.memory_vertices, args.memory_vertices * 3)
    results["memory"] = memory
    print(f"memory: {memory['bytes_per_vertex']:.0f} B/vertex, {memory['bytes_per_edge']:.0f} B/edge (in-process store)")
    if args.big:
        graph = gremlin.Graph()
        g = traversal().with_remote(gremlin.remote.LocalRemoteConnection(graph))
        start = time.perf_counter()
        memory_free_build(g, args.big)
        build_s = time.perf_counter() - start
        hops = three_hop(g, args.big, args.traversals)
        results["big"] = {"vertices": args.big, "edges": args.big * 3, "build_s": build_s, **hops}
        print(f"big graph {args.big} vertices: built in {build_s:.0f}s, 3-hop {hops['three_hop_per_s']:.0f}/s, "
              f"{hops['three_hop_cpu_ms']:.2f} ms CPU each")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _without(argv: list[str], option: str) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out


_LOWER_IS_BETTER = ("bytes_per_vertex", "bytes_per_edge", "build_s", "three_hop_cpu_ms")


def _best(runs: list, key: str = "") -> object:
    """Per figure, the best of several runs: the highest rate, the lowest memory or time."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: _best([r[k] for r in runs if k in r], k) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return min(runs) if key in _LOWER_IS_BETTER else max(runs)
    return first


def _ratios(after: object, before: object) -> object:
    if isinstance(after, dict) and isinstance(before, dict):
        return {key: _ratios(after[key], before[key]) for key in after if key in before
                and not isinstance(after[key], str)}
    return round(after / before, 2) if before else None


def compare(args: argparse.Namespace, argv: list[str]) -> int:
    """This checkout and ``args.compare`` alternately, each in its own interpreter."""
    base = _without(_without(_without(_without(argv, "--compare"), "--out"), "--code"), "--rounds")
    runs: dict[str, list] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for side, code in (("before", args.compare), ("after", args.code)):
                out = Path(tmp) / f"{side}-{round_}.json"
                print(f"-- {side} ({code}), round {round_ + 1}")
                subprocess.run([sys.executable, __file__, *base, "--code", code, "--out", str(out)], check=True)
                runs[side].append(json.loads(out.read_text()))
    before, after = _best(runs["before"]), _best(runs["after"])
    assert isinstance(before, dict) and isinstance(after, dict)
    result = {**after, "command": "python benchmarks/engine.py " + " ".join(argv),
              "before": {"code": str(Path(args.compare).resolve()), **before},
              "after_over_before": _ratios({k: after[k] for k in ("backends", "memory", "big") if k in after},
                                           {k: before[k] for k in ("backends", "memory", "big") if k in before})}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["after_over_before"], indent=2))
    print(f"wrote {args.out}")
    return 0


def memory_free_build(g, vertices: int) -> None:
    rng = random.Random(5)
    batch = 1000
    for lo in range(0, vertices, batch):
        t = g
        for i in range(lo, min(lo + batch, vertices)):
            t = t.add_v("node").property(T.id, f"v{i}")
        t.iterate()
    for lo in range(0, vertices * 3, batch):
        t = g.inject(1)
        for _ in range(lo, min(lo + batch, vertices * 3)):
            t = t.V(f"v{rng.randrange(vertices)}").add_e("link").to(__.V(f"v{rng.randrange(vertices)}"))
        t.iterate()


if __name__ == "__main__":
    raise SystemExit(main())
