"""What ``identity check`` costs as a tenant grows: a population ingested through IdentityGraph,
then identity.domain.check.check_graph timed (scans and client-side work, with the key ring's protector
opening every identifier's value), and its time per identifier scaled to 1M identifiers.

    python benchmarks/check_cost.py --url memory:// --people 20000
    python benchmarks/check_cost.py --url ws://127.0.0.1:8310/gremlin --people 2000   # a real server
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy import ingest_all  # noqa: E402
from benchmarks.harness import add_output_arguments, finish  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402
from identity import IdentityGraph  # noqa: E402
from identity.domain.check import check_graph  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402
from identity.security.protect import DevelopmentProtector  # noqa: E402

_TENANT = "checkcost"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=20_000)
    parser.add_argument("--url", default="memory://", help="the graph (empty, or without tenant checkcost)")
    parser.add_argument("--batch", type=int, default=500)
    add_output_arguments(parser, "check_cost")
    args = parser.parse_args(argv)
    events = [item.event for item in generate(mix_from_args(args))]
    g = open_traversal(args.url)
    protector = DevelopmentProtector()
    identity = IdentityGraph(g, _TENANT, protector=protector)
    ingest_seconds = ingest_all(identity, events, args.batch, "population", args.quiet)
    steps: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def progress(step: str) -> None:
        now = time.perf_counter()
        steps.append((step, now - last[0]))
        last[0] = now

    started = last[0] = time.perf_counter()
    report = check_graph(g, _TENANT, protector=protector, progress=progress)
    seconds = time.perf_counter() - started
    steps.append(("done", time.perf_counter() - last[0]))
    close_all()
    # each step's time is what ran since the step before it was announced
    timed = {steps[n][0]: round(steps[n + 1][1], 3) for n in range(len(steps) - 1)}
    per_million = seconds / max(report.identifiers, 1) * 1_000_000
    results = {"url": args.url.split("?")[0], "people": args.people, "events": len(events),
               "ingest_seconds": round(ingest_seconds, 1), "summary": report.summary(),
               "identifiers": report.identifiers, "links": report.links, "check_seconds": round(seconds, 2),
               "steps_seconds": timed, "seconds_per_million_identifiers": round(per_million)}
    for step, took in timed.items():
        print(f"  {step}: {took} s", file=sys.stderr)
    print(report.summary())
    finish(args, results)
    print(f"identifiers={report.identifiers} check_seconds={seconds:.2f} "
          f"estimated_seconds_per_1M_identifiers={per_million:.0f}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
