"""match() on the grateful-dead graph: wall time (and, in-process, CPU) of a few typical patterns,
per backend, so our engine can be compared with a Gremlin Server on the same queries.

    python benchmarks/match.py                                  # memory:// (in-process engine)
    python benchmarks/match.py --url memory:// --url ws://127.0.0.1:8182/gremlin   # and a server
    python benchmarks/match.py --only garcia --repeat 3 --no-save

Each pattern runs ``--repeat`` times on each backend (the best time is kept: the machine may be
shared) after the graph is loaded; a pattern that returns a different number of results on two
backends is reported. Writes docs/benchmarks/match.json.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, finish  # noqa: E402
from gremlin.conformance.backends import open_backend  # noqa: E402
from gremlin.conformance.execution import submit, with_source_options  # noqa: E402
from gremlin.conformance.runner import DEFAULT_DATA_DIR  # noqa: E402
from gremlin.language import parse  # noqa: E402

#: name -> Gremlin text: from a selective start to joins over the whole graph
PATTERNS = {
    "garcia": 'g.V().match(__.as("a").has("name", "Garcia"), __.as("a").in("writtenBy").as("b"), '
              '__.as("a").in("sungBy").as("b"))',
    "garcia-chain": 'g.V().match(__.as("a").has("name", "Garcia"), __.as("a").in("writtenBy").as("b"), '
                    '__.as("b").out("followedBy").as("c"), __.as("c").out("writtenBy").as("d"), '
                    '__.where("d", neq("a")))',
    "sung-and-written": 'g.V().match(__.as("a").in("sungBy").as("b"), __.as("a").in("writtenBy").as("c"), '
                        '__.as("b").out("writtenBy").as("d"), __.as("c").out("sungBy").as("d"), '
                        '__.as("d").has("name", "Garcia"))',
    "busy-songs": 'g.V().match(__.as("a").out("followedBy").count().is(gt(10)).as("b"), '
                  '__.as("a").in("followedBy").count().is(gt(10)).as("b")).count()',
    "song-pairs": 'g.V().hasLabel("song").match(__.as("s").out("followedBy").as("t"), '
                  '__.as("t").out("followedBy").as("s")).count()',
    "singer-loops": 'g.V().hasLabel("artist").match(__.as("p").in("sungBy").as("s"), '
                    '__.as("s").out("followedBy").as("t"), __.as("t").out("sungBy").as("p"))'
                    '.select("p").dedup().count()',
}


def run_pattern(handle, text: str, timeout_ms: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, results) of one run."""
    bytecode = with_source_options(parse(text, {}), timeout_ms=timeout_ms, side_effects={})
    cpu, wall = time.process_time(), time.perf_counter()
    results = submit(handle.connection, bytecode)
    return time.perf_counter() - wall, time.process_time() - cpu, len(results)


def _cell(row: dict) -> str:
    cpu = f", cpu {row['client_cpu_ms']:.0f}" if "client_cpu_ms" in row else ""
    return f"{row['wall_ms']:.1f} ms{cpu} ({row['results']})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append", help="backend (repeatable): memory://, endpoint, ws://host:port/gremlin")
    parser.add_argument("--only", action="append", choices=sorted(PATTERNS), help="run only these patterns")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each pattern per backend (best kept)")
    parser.add_argument("--timeout", type=float, default=120.0, help="evaluationTimeout per run, seconds")
    add_output_arguments(parser, "match")
    args = parser.parse_args(argv)
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)
    urls = args.url or ["memory://"]
    names = args.only or list(PATTERNS)
    rows: dict[str, dict[str, dict]] = {name: {} for name in names}
    for url in urls:
        backend = open_backend(url, DEFAULT_DATA_DIR)
        try:
            handle = backend.graph("grateful")
            for name in names:
                runs = [run_pattern(handle, PATTERNS[name], int(args.timeout * 1000)) for _ in range(args.repeat)]
                wall, cpu, count = min(runs)
                row = {"wall_ms": round(wall * 1000, 1), "results": count}
                if not url.startswith("ws"):
                    row["client_cpu_ms"] = round(cpu * 1000, 1)  # in-process: the engine's CPU too
                rows[name][url] = row
                if not args.quiet:
                    print(f"{name:18s} {url:32s} {row['wall_ms']:10.1f} ms  {count} results", file=sys.stderr)
        finally:
            backend.close()
    print(f"{'pattern':18s} " + " ".join(f"{url[:28]:>30s}" for url in urls))
    for name in names:
        cells = [f"{_cell(rows[name][url])}" for url in urls]
        print(f"{name:18s} " + " ".join(f"{cell:>30s}" for cell in cells))
        if len({rows[name][url]["results"] for url in urls}) > 1:
            print(f"  {name}: the backends disagree on the number of results", file=sys.stderr)
    return finish(args, {"repeat": args.repeat, "patterns": {n: PATTERNS[n] for n in names}, "results": rows})


if __name__ == "__main__":
    sys.exit(main())
