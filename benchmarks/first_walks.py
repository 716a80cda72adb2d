"""First walks on a durable graph in process, for counting instructions (issue #18).

    python benchmarks/first_walks.py --graph COPY --people 159000 --events 253000 --keys /tmp/keys.json --walks 0
    valgrind --tool=cachegrind --cache-sim=no python benchmarks/first_walks.py --graph COPY --people 159000 \\
        --events 253000 --keys /tmp/keys.json --walks N [--tree T]      # N = 150, then 450

Opens COPY (a copy of a durable graph a load left behind: opening writes it) and resolves ``--walks``
random identifiers of the population with max_hops 3, as ``identity serve`` would, its collector
settled the same way: on the 1.18M graph nearly every one walks a neighbourhood not walked yet. The
identifiers come from ``--keys``, written from the population the first time (``--walks 0`` just
writes it: generating the population under valgrind would take longer than the walks). Under
cachegrind, the difference between two runs' instructions divided by the difference in walks is the
instructions of one first walk, which the machine's load does not move (its CPU time it does)."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_loaded_graph_arguments, add_tree_argument, durable_url, use_tree  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args, person_owned_keys  # noqa: E402

TENANT = "bench"  # the tenant benchmarks/memory.py and bulk_load.py load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=159_000)
    add_loaded_graph_arguments(parser)
    add_tree_argument(parser)
    parser.add_argument("--graph", type=Path, required=True, help="a COPY of a durable graph directory")
    parser.add_argument("--keys", type=Path, required=True, help="the identifiers to pick from (written if absent)")
    parser.add_argument("--walks", type=int, default=300, help="resolves of random identifiers")
    args = parser.parse_args(argv)
    use_tree(args.tree)
    if not args.keys.exists():
        keys = person_owned_keys(itertools.islice(generate(mix_from_args(args)), args.events))
        args.keys.write_text(json.dumps([list(key) for key in keys]))
    keys = json.loads(args.keys.read_text())
    if not args.walks:
        return 0
    from gremlin.heap import HeapSettler
    HeapSettler().install()  # as identity serve runs
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    url = durable_url(args.graph, args.cache_mb)
    connection = gremlin.connect(url)
    g = traversal().with_remote(connection)
    g.V().limit(1).count().next()  # open
    identity = IdentityGraph(g, TENANT)
    rng = random.Random(args.seed + 1)
    found = sum(identity.resolve(*rng.choice(keys), max_hops=3) is not None for _ in range(args.walks))
    print(f"{found} of {args.walks} found")
    connection.close()
    gremlin.forget_graph(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
