"""Identity core throughput on one in-process graph: ingest events/s and resolve latency.

    python benchmarks/quick_identity.py                       # 10k events on memory://
    python benchmarks/quick_identity.py --events 2000 --url "memory://?profile=neptune"
    python benchmarks/quick_identity.py --events 2000 --households 20   # plus dense clusters

A synthetic stream: ~events/3 people, each with an email, a phone, 1-2 devices and cookies;
every event carries 2-3 of one person's identifiers (so links repeat and people accumulate).
With --households, each household (a few people sharing devices, cookies and an ip) adds a
dense cluster full of cycles, where the number of simple paths explodes with the hop count.
Ingest runs in batches of --batch; resolve is timed per call (evidence off, then on).
Figures compare within one run and one machine only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from identity import IdentityGraph  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402


def person(n: int) -> list[tuple[str, str]]:
    ids = [("email", f"person{n}@example.com"), ("phone", f"+1555{n:07d}"), ("device_id", f"dev-{n}-a"),
           ("cookie", f"ck-{n}-1"), ("cookie", f"ck-{n}-2")]
    if n % 3 == 0:
        ids.append(("device_id", f"dev-{n}-b"))
    return ids


def stream(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    people = max(1, count // 3)
    events = []
    for k in range(count):
        ids = person(rng.randrange(people))
        chosen = rng.sample(ids, rng.choice((2, 2, 3)))
        events.append({"event_id": f"ev-{k}", "type": "page", "timestamp": 1_714_550_400_000 + k * 1000,
                       "identifiers": [{"type": t, "value": v} for t, v in chosen]})
    return events


def household(n: int) -> list[tuple[str, str]]:
    members = [("email", f"home{n}-{m}@example.com") for m in range(4)]
    shared = [("device_id", f"home{n}-tv"), ("device_id", f"home{n}-tablet"), ("ip", f"10.{n // 250}.{n % 250}.1")]
    return members + shared + [("cookie", f"home{n}-ck{c}") for c in range(8)]


def household_stream(count: int, events_each: int, seed: int, first_ms: int) -> list[dict]:
    """Each event: one member's email with a shared device and one or two cookies of the house."""
    rng = random.Random(seed)
    events = []
    for n in range(count):
        ids = household(n)
        for k in range(events_each):
            chosen = [ids[rng.randrange(4)], ids[4 + rng.randrange(3)]] + rng.sample(ids[7:], rng.choice((1, 2)))
            events.append({"event_id": f"home-{n}-{k}", "type": "page", "timestamp": first_ms + len(events) * 1000,
                           "identifiers": [{"type": t, "value": v} for t, v in chosen]})
    return events


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="memory://")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--resolves", type=int, default=1_000)
    parser.add_argument("--households", type=int, default=0, help="dense household clusters to add")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    identity = IdentityGraph(open_traversal(args.url), "bench")
    events = stream(args.events, args.seed)
    events += household_stream(args.households, 40, args.seed, 1_714_550_400_000 + len(events) * 1000)
    started = time.perf_counter()
    merges = 0
    for i in range(0, len(events), args.batch):
        merges += sum(len(r.merged) for r in identity.ingest(events[i:i + args.batch]))
    ingest_s = time.perf_counter() - started
    stats = identity.stats()

    rng = random.Random(args.seed + 1)
    people = max(1, args.events // 3)
    results = {}
    for evidence in (False, True):
        latencies = []
        for _ in range(args.resolves):
            if args.households and rng.random() < 0.5:
                id_type, value = rng.choice(household(rng.randrange(args.households)))
            else:
                id_type, value = rng.choice(person(rng.randrange(people)))
            began = time.perf_counter()
            identity.resolve(id_type, value, evidence=evidence)
            latencies.append((time.perf_counter() - began) * 1000)
        results[evidence] = latencies
    close_all()

    print(f"graph {args.url}: {stats['identifiers']} identifiers, {stats['links']} links, "
          f"{stats['events']} events, {merges} merges")
    print(f"ingest  {len(events)} events in {ingest_s:.2f}s = {len(events) / ingest_s:,.0f} events/s "
          f"(batches of {args.batch})")
    for evidence, latencies in results.items():
        label = "resolve+evidence" if evidence else "resolve"
        print(f"{label:17s} p50 {statistics.median(latencies):.2f} ms  p95 {percentile(latencies, 0.95):.2f} ms  "
              f"p99 {percentile(latencies, 0.99):.2f} ms  ({len(latencies)} calls, unknown identifiers included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
