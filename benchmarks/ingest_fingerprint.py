"""What an ingest produces, as one JSON document: to show that a change to the ingest path (or the
engine under it) leaves every result and every stored element as it was.

    python benchmarks/ingest_fingerprint.py --out /tmp/after.json
    python benchmarks/ingest_fingerprint.py --tree /tmp/main --out /tmp/before.json
    cmp /tmp/before.json /tmp/after.json
    PYTHONHASHSEED=0 python benchmarks/ingest_fingerprint.py --store durable --out /tmp/after.json

A population's events (300 people by default) are ingested in order, in batches, into an empty
memory graph (``--store durable``: a durable one, ``file://`` in a temporary directory) with a clock that advances 1 ms per call, under several tenant configurations
(default guards at batch sizes 20 and 7; ``max_hops`` 0 to 3 with generic threshold 8). For each,
the document holds every ingest result (customer id, merges, refusals, duplicates), the tenant's
stats, and every vertex and edge with all its properties, sorted, but for what differs between
runs by design: sealed values (a fresh nonce each time), ingest times and the ids the graph
generates (observed edges). ``--tree`` imports identity and gremlin from another checkout.
tests/identity/test_same_answers.py holds every backend to the same document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_tree_argument, use_tree  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402

#: properties written from a random nonce or the wall clock
_VARYING = {"value", "attributes", "ingested_at"}
#: edge labels whose ids the graph generates (a counter, a UUID: they differ between backends)
_GENERATED_IDS = {"observed"}


def stored_elements(g: Any, start: str, without: Iterable[str] = ()) -> list[str]:
    """Every vertex (``start`` "V") or edge ("E") of the graph with its properties, as sorted
    JSON lines, less what differs between runs and backends by design: sealed values, ingest
    times and the ids the graph generates; and less the properties named in ``without``."""
    from gremlin_python.process.traversal import T
    leave_out = _VARYING.union(without)
    rows = []
    for element in getattr(g, start)().element_map().to_list():
        # an edge's ends come as maps of their id and label: their id says it all
        row = {str(k): (v[T.id] if isinstance(v, dict) else v) for k, v in element.items() if str(k) not in leave_out}
        if element.get(T.label) in _GENERATED_IDS:
            del row[str(T.id)]
        rows.append(json.dumps(row, sort_keys=True, default=str))
    return sorted(rows)


def fingerprint(events: list[dict], configs: dict[str, tuple[Any, int]], directory: Path | None = None
                ) -> dict[str, Any]:
    """The document (see the module docstring), from memory graphs, or from durable graphs in
    ``directory`` when one is given."""
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    document = {}
    for name, (config, batch) in configs.items():
        url = f"memory://fingerprint-{name}" if directory is None else f"file://{directory}/{name}"
        connection = gremlin.connect(url)
        g = traversal().with_remote(connection)
        now = [1.7e9]

        def clock() -> float:
            now[0] += 0.001
            return now[0]

        ids = IdentityGraph(g, "t1", config=config, clock=clock)
        results = [r.to_dict() for i in range(0, len(events), batch) for r in ids.ingest(events[i:i + batch])]
        document[name] = {"results": results, "stats": ids.stats(), "vertices": stored_elements(g, "V"),
                          "edges": stored_elements(g, "E")}
        if directory is None:
            gremlin.forget_graph(url)
        else:
            connection.close()
        print(f"{name}: {len(results)} results, {len(document[name]['vertices'])} vertices, "
              f"{len(document[name]['edges'])} edges", file=sys.stderr)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the JSON document goes")
    parser.add_argument("--store", choices=["memory", "durable"], default="memory",
                        help="the graphs ingested into (default memory)")
    add_tree_argument(parser)
    add_mix_arguments(parser, people=300)
    args = parser.parse_args(argv)
    use_tree(args.tree)
    events = [item.event for item in generate(mix_from_args(args))]
    from identity.domain.guards import TenantConfig
    configs = {"default-batch20": (TenantConfig(), 20), "default-batch7": (TenantConfig(), 7),
               **{f"hops{h}-generic8": (TenantConfig(max_hops=h, generic_threshold=8), 20) for h in range(4)}}
    with tempfile.TemporaryDirectory() as directory:
        document = fingerprint(events, configs, Path(directory) if args.store == "durable" else None)
    args.out.write_text(json.dumps(document, sort_keys=True, default=str) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
