"""The neighbourhood walk's CPU in process, the engine's share apart (issues #17 and #18).

    python benchmarks/walk_cost.py                           # memory graph: resolve_many and resolve
    python benchmarks/walk_cost.py --tree /tmp/base          # the same with another checkout's code
    python benchmarks/walk_cost.py --graph COPY --people 159000 --events 253000   # and a durable graph

On the embedded memory graph (``--people``, ``benchmarks/population.py`` defaults otherwise, ingested
in batches of 200): CPU per identifier of ``resolve_many`` (calls of 1,000, as
``benchmarks/resolve_many.py`` sends them) and of ``resolve``, and the part of it spent in the
engine (``Graph.execute``: compiling, running and detaching the traversal); the best of
``--rounds`` rounds, as the machine is shared. With ``--graph`` (a COPY of a durable graph a load
left behind: it is opened and its file written), ``resolve`` on it too: the first ``--cold`` right
after the open, then ``--warm`` more (a warm process, but random identifiers of a large graph:
nearly every one a neighbourhood not walked yet), then those same ``--warm`` again ("again": their
records in the cache), with the SQLite reads per resolve and the time they took.
The collector is settled as ``identity serve`` settles it (gremlin.heap.HeapSettler). Run it once
per tree, alternately, to compare two trees in one session; it prints the figures and writes
docs/benchmarks/walk_cost.json.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (add_loaded_graph_arguments, add_output_arguments, add_tree_argument,  # noqa: E402
                                durable_url, finish, use_tree)
from benchmarks.population import add_mix_arguments, events_and_keys, generate, mix_from_args  # noqa: E402
from benchmarks.population import person_owned_keys  # noqa: E402

TENANT = "bench"  # the tenant benchmarks/memory.py and bulk_load.py load


class _Meter:
    """CPU seconds spent in the engine's Graph.execute and in the disk store's SQLite reads, and
    how many reads, while installed."""

    def __init__(self) -> None:
        self.engine = self.sqlite = 0.0
        self.reads = 0

    def install(self) -> None:
        from gremlin.engine import Graph
        self._wrap(Graph, "execute", "engine", time.process_time)
        try:
            from gremlin.disk_store import DiskStore
        except ImportError:  # a checkout before the disk store
            return
        self._wrap(DiskStore, "_read", "sqlite", time.perf_counter, counts=True)

    def _wrap(self, owner: type, name: str, field: str, clock: Callable[[], float], counts: bool = False) -> None:
        original = getattr(owner, name)
        meter = self

        def measured(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                setattr(meter, field, getattr(meter, field) + clock() - started)
                meter.reads += counts

        setattr(owner, name, measured)

    def reset(self) -> None:
        self.engine = self.sqlite = 0.0
        self.reads = 0


def _best(rounds: int, meter: _Meter, run: Callable[[], int]) -> dict[str, float]:
    """The round with the least CPU: ms per identifier, the engine's share of it."""
    best: dict[str, float] | None = None
    for _ in range(rounds):
        meter.reset()
        started = time.process_time()
        count = run()
        total = time.process_time() - started
        figures = {"cpu_ms": total / count * 1000, "engine_cpu_ms": meter.engine / count * 1000}
        if best is None or figures["cpu_ms"] < best["cpu_ms"]:
            best = figures
    return {key: round(value, 4) for key, value in (best or {}).items()}


def memory_graph(args: argparse.Namespace, meter: _Meter) -> dict[str, Any]:
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    mix = mix_from_args(args)
    events, keys = events_and_keys(mix)
    random.Random(mix.seed).shuffle(keys)
    wanted = [{"type": t, "value": v} for t, v in keys[:args.identifiers]]
    url = "memory://walk-cost"
    connection = gremlin.connect(url)
    identity = IdentityGraph(traversal().with_remote(connection), TENANT)
    for first in range(0, len(events), 200):
        identity.ingest(events[first:first + 200])

    def many() -> int:
        for first in range(0, len(wanted), 1000):
            identity.resolve_many(wanted[first:first + 1000])
        return len(wanted)

    def single() -> int:
        for item in wanted[:args.identifiers // 5]:
            identity.resolve(item["type"], item["value"])
        return args.identifiers // 5

    many()  # warm-up: the first round would also pay for imports and first-use caches
    results = {"events": len(events), "identifiers": len(wanted),
               "resolve_many": _best(args.rounds, meter, many), "resolve": _best(args.rounds, meter, single)}
    connection.close()
    gremlin.forget_graph(url)
    return results


def durable_graph(args: argparse.Namespace, meter: _Meter) -> dict[str, Any]:
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    keys = person_owned_keys(itertools.islice(generate(mix_from_args(args)), args.events))
    rng = random.Random(args.seed + 1)
    url = durable_url(args.graph, args.cache_mb)
    connection = gremlin.connect(url)
    g = traversal().with_remote(connection)
    g.V().limit(1).count().next()  # open
    identity = IdentityGraph(g, TENANT)

    def resolves(picked: list[tuple[str, str]]) -> dict[str, Any]:
        meter.reset()
        latencies, found, count = [], 0, len(picked)
        cpu = time.process_time()
        for id_type, value in picked:
            began = time.perf_counter()
            found += identity.resolve(id_type, value, max_hops=3) is not None
            latencies.append((time.perf_counter() - began) * 1000)
        latencies.sort()
        return {"resolves": count, "found": found,
                "cpu_ms": round((time.process_time() - cpu) / count * 1000, 4),
                "engine_cpu_ms": round(meter.engine / count * 1000, 4),
                "sqlite_reads": round(meter.reads / count, 2), "sqlite_ms": round(meter.sqlite / count * 1000, 4),
                "p50_ms": round(latencies[count // 2], 3), "p99_ms": round(latencies[max(0, -(-count * 99 // 100) - 1)], 3)}

    def pick(count: int) -> list[tuple[str, str]]:
        return [rng.choice(keys) for _ in range(count)]

    cold = resolves(pick(args.cold))
    resolves(pick(args.warm))  # warm-up
    warm = pick(args.warm)
    results = {"graph": str(args.graph), "cold": cold, "warm": resolves(warm), "again": resolves(warm)}
    connection.close()
    gremlin.forget_graph(url)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=2000)
    add_tree_argument(parser)
    add_loaded_graph_arguments(parser)
    parser.add_argument("--identifiers", type=int, default=2000, help="memory graph: identifiers per round")
    parser.add_argument("--rounds", type=int, default=5, help="memory graph: rounds, the least CPU kept")
    parser.add_argument("--graph", type=Path, default=None, help="a COPY of a durable graph directory to resolve on too")
    parser.add_argument("--cold", type=int, default=200, help="--graph: resolves right after the open")
    parser.add_argument("--warm", type=int, default=1000, help="--graph: resolves measured after as many")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory graph")
    add_output_arguments(parser, "walk_cost")
    args = parser.parse_args(argv)
    use_tree(args.tree)
    from gremlin.heap import HeapSettler
    HeapSettler().install()  # as identity serve runs
    meter = _Meter()
    meter.install()
    results: dict[str, Any] = {"tree": str(args.tree.resolve())}
    if args.memory:
        results["memory"] = row = memory_graph(args, meter)
        print(f"memory, {row['identifiers']:,} identifiers: resolve_many {row['resolve_many']['cpu_ms']:.3f} ms of "
              f"CPU each (engine {row['resolve_many']['engine_cpu_ms']:.3f}), resolve {row['resolve']['cpu_ms']:.3f} "
              f"(engine {row['resolve']['engine_cpu_ms']:.3f})")
    if args.graph is not None:
        results["durable"] = durable = durable_graph(args, meter)
        for phase in ("cold", "warm", "again"):
            row = durable[phase]
            print(f"durable {phase}: resolve {row['cpu_ms']:.3f} ms of CPU (engine {row['engine_cpu_ms']:.3f}), "
                  f"{row['sqlite_reads']:.1f} SQLite reads taking {row['sqlite_ms']:.3f} ms, "
                  f"p50 {row['p50_ms']:.2f} p99 {row['p99_ms']:.2f} ms")
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
