"""What an ``explain`` costs against a ``resolve``: the CPU per call of each, in-process on one graph,
over pairs of identifiers of one person (mostly joined: paths and their events) and pairs of two
people picked at random (mostly apart: the events carrying both, the guards run again).

    python benchmarks/explain.py                                   # memory graph, 2,000 people
    python benchmarks/explain.py --url file:///tmp/explain-graph --pairs 500

The ratio of explain's CPU to resolve's is what explain's price (identity.service.rpc.methods:
EXPLAIN_COST, in units of one resolve) is measured against. Prints the numbers and writes
docs/benchmarks/explain.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, command_line, finish, machine, percentile, progress  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402
from identity import IdentityGraph  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402


def pairs_of(labelled: list, count: int, seed: int,
             canonical: Callable[[str, str], str]) -> dict[str, list[tuple[tuple[str, str], tuple[str, str]]]]:
    """``count`` pairs of identifiers one person owns, and ``count`` of two people's; an identifier
    written in several forms (``canonical`` tells them apart) counts once."""
    forms: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for item in labelled:
        for identifier, owner in zip(item.event["identifiers"], item.owners):
            if owner.startswith("p-"):
                key = (identifier["type"], identifier["value"])
                forms[owner].setdefault(canonical(*key), key)
    owned = {person: set(keys.values()) for person, keys in forms.items()}
    rng = random.Random(seed)
    people = sorted(person for person, keys in owned.items() if len(keys) >= 2)
    one_person, two_people = [], []
    for _ in range(count):
        keys = sorted(owned[rng.choice(people)])
        one_person.append(tuple(rng.sample(keys, 2)))
        first, second = rng.sample(people, 2)
        two_people.append((rng.choice(sorted(owned[first])), rng.choice(sorted(owned[second]))))
    return {"one person": one_person, "two people": two_people}


def _cpu_ms(calls: list, call, quiet: bool, label: str) -> tuple[list[float], float]:
    """Each call's CPU milliseconds (this process: the graph is in it), and the total."""
    samples = []
    for args in progress(calls, label, quiet=quiet):
        started = time.process_time()
        call(*args)
        samples.append((time.process_time() - started) * 1000)
    return samples, sum(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=2_000)
    parser.add_argument("--url", default="memory://", help="the graph (an in-process one: its CPU is measured)")
    parser.add_argument("--pairs", type=int, default=300, help="pairs of each kind")
    add_output_arguments(parser, "explain")
    args = parser.parse_args(argv)
    labelled = list(generate(mix_from_args(args)))
    identity = IdentityGraph(open_traversal(args.url), "bench")
    events = [item.event for item in labelled]
    for start in progress(range(0, len(events), 100), "ingest", total=(len(events) + 99) // 100, quiet=args.quiet):
        identity.ingest(events[start:start + 100], atomic=False)
    results: dict = {"machine": machine(), "command": command_line(), "people": args.people, "events": len(events),
                     "url": args.url, "kinds": {}}
    for kind, pairs in pairs_of(labelled, args.pairs, args.seed, identity.vertex_id).items():
        resolved, resolve_total = _cpu_ms([a for a, _ in pairs], identity.resolve, args.quiet, f"resolve ({kind})")
        explained, explain_total = _cpu_ms(pairs, identity.explain, args.quiet, f"explain ({kind})")
        same = sum(identity.explain(a, b)["same_customer"] for a, b in pairs)
        row = {"pairs": len(pairs), "same_customer": same,
               "resolve_cpu_ms": {"mean": resolve_total / len(pairs), "p50": percentile(resolved, 0.5),
                                  "p99": percentile(resolved, 0.99)},
               "explain_cpu_ms": {"mean": explain_total / len(pairs), "p50": percentile(explained, 0.5),
                                  "p99": percentile(explained, 0.99)},
               "explain_per_resolve": explain_total / resolve_total}
        results["kinds"][kind] = row
        print(f"{kind}: {same}/{len(pairs)} one customer; CPU per call resolve {row['resolve_cpu_ms']['mean']:.2f} ms "
              f"(p99 {row['resolve_cpu_ms']['p99']:.2f}), explain {row['explain_cpu_ms']['mean']:.2f} ms "
              f"(p99 {row['explain_cpu_ms']['p99']:.2f}): {row['explain_per_resolve']:.2f} resolves")
    close_all()
    return finish(args, results)


if __name__ == "__main__":
    sys.exit(main())
