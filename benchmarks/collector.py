"""Resolve latency and the garbage collector: with and without gremlin.heap's HeapSettler.

    python benchmarks/collector.py                          # 300 people, 3,000 resolves, 2 rounds
    python benchmarks/collector.py --people 2000 --resolves 5000

Each setting runs in a child process of its own (the collector's state is per process), in
alternating rounds, on one durable in-process graph: load the population in ingest batches of
50 (the first 80% of its events), then resolve random person-owned identifiers one after
another while the rest of the events arrive (a batch of ten before every tenth resolve).
Reported per run: load time and its full (generation 2) collections, resolve p50/p99/max, how
many full collections ran during the resolves and the longest of them, the objects the collector still walks, and for the settler how often it froze and how
many objects it had frozen that turned out to be cyclic garbage (never reclaimed while frozen).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, finish, percentile  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args, person_owned_keys  # noqa: E402

SETTINGS = ("plain", "settled")


class PauseClock:
    """Times every collection through gc.callbacks."""

    def __init__(self) -> None:
        self.full: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            self.full.append((time.perf_counter() - self._started) * 1000)


def child(setting: str, args: argparse.Namespace) -> dict:
    from gremlin.heap import HeapSettler
    from identity import IdentityGraph
    from identity.graph.connection import open_traversal

    settler = HeapSettler().install() if setting == "settled" else None
    labelled = list(generate(mix_from_args(args)))
    keys = person_owned_keys(labelled)
    events = [item.event for item in labelled]
    loaded = int(len(events) * 0.8)
    with tempfile.TemporaryDirectory(prefix="identity-collector-") as tmp:
        identity = IdentityGraph(open_traversal(Path(tmp, "graph").as_uri()), "bench")
        clock = PauseClock()
        gc.callbacks.append(clock)
        started = time.perf_counter()
        for first in range(0, loaded, 50):
            identity.ingest(events[first:first + 50])
        load_seconds = time.perf_counter() - started
        load_pauses, clock.full = clock.full, []
        # the rest of the events arrive while clients resolve: ten resolves per batch of ten events
        rng = random.Random(args.seed + 1)
        pending = events[loaded:]
        latencies = []
        for n in range(args.resolves):
            if n % 10 == 0 and pending:
                identity.ingest(pending[:10])
                del pending[:10]
            id_type, value = rng.choice(keys)
            began = time.perf_counter()
            identity.resolve(id_type, value, max_hops=3)
            latencies.append((time.perf_counter() - began) * 1000)
        gc.callbacks.remove(clock)
        row = {"setting": setting, "load_seconds": round(load_seconds, 2), "load_full_collections": len(load_pauses),
               "load_longest_full_collection_ms": round(max(load_pauses, default=0.0), 3),
               "p50_ms": round(percentile(latencies, 0.50), 3), "p99_ms": round(percentile(latencies, 0.99), 3),
               "max_ms": round(max(latencies), 3), "full_collections": len(clock.full),
               "longest_full_collection_ms": round(max(clock.full, default=0.0), 3),
               "objects_walked": len(gc.get_objects()), "objects_frozen": gc.get_freeze_count()}
        if settler is not None:
            row["freezes"] = settler.freezes
            settler.uninstall()
            row["frozen_cyclic_garbage"] = gc.collect()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=300)
    parser.add_argument("--resolves", type=int, default=3000, help="resolves per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, alternating")
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    add_output_arguments(parser, "collector")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    forwarded = [arg for arg in (argv if argv is not None else sys.argv[1:])]
    runs = []
    for round_number in range(args.rounds):
        for setting in SETTINGS:
            output = subprocess.run([sys.executable, __file__, *forwarded, "--child", setting],
                                    capture_output=True, text=True, check=True).stdout
            row = {"round": round_number + 1, **json.loads(output.strip().splitlines()[-1]),
                   "load_average": [round(x, 2) for x in os.getloadavg()]}
            runs.append(row)
            extra = (f"  freezes {row['freezes']}, frozen cyclic garbage {row['frozen_cyclic_garbage']}"
                     if "freezes" in row else "")
            print(f"round {row['round']} {setting:8s} load {row['load_seconds']:.1f} s, "
                  f"{row['load_full_collections']} full collections (longest "
                  f"{row['load_longest_full_collection_ms']:.1f} ms); then resolve p50 {row['p50_ms']:.2f} p99 {row['p99_ms']:.2f} "
                  f"max {row['max_ms']:.2f} ms; full collections {row['full_collections']} "
                  f"(longest {row['longest_full_collection_ms']:.1f} ms); walked {row['objects_walked']:,} "
                  f"frozen {row['objects_frozen']:,}{extra}", flush=True)
    return finish(args, {"population": vars(mix_from_args(args)), "resolves": args.resolves, "runs": runs})


if __name__ == "__main__":
    sys.exit(main())
