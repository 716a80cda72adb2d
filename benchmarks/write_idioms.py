"""Two ways to write many elements that each get their own value, on the in-process engine: one
child traversal per value (what identity/ingest.py writes) against one step for all of them
(the TinkerPop idioms that hand each element its value), CPU µs per element.

    python benchmarks/write_idioms.py
    python benchmarks/write_idioms.py --tree /tmp/main --rounds 200

* conditional last_seen on identifiers, 20 values for 3 vertices each: 20
  ``sideEffect(V(ids).has('last_seen', lt(t)).property(single, 'last_seen', t))`` against one
  ``V(all).as('v').constant(times).select(select('v').id()).as('t').select('v')
  .where(lt('t')).by('last_seen').by().property(single, 'last_seen', select('t'))``;
* new links, 20 of them: 20 ``sideEffect(mergeE(map).option(onCreate, map))`` against one
  ``inject(rows).unfold().mergeE(select('m')).option(onCreate, select('c'))``.

Every traversal is legal on Gremlin Server 3.7 and Neptune (no lambdas, string ids, explicit single
cardinality). The graph holds 3,000 identifier vertices; each round writes new values or links.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_tree_argument, use_tree  # noqa: E402

_GROUPS, _PER_GROUP, _VERTICES = 20, 3, 3000


def _graph() -> Any:
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.strategies import PartitionStrategy
    from gremlin_python.process.traversal import Cardinality, Merge, T
    from gremlin_python.statics import long

    g = traversal().with_remote(gremlin.connect("memory://")).with_strategies(
        PartitionStrategy(partition_key="tenant", write_partition="t", read_partitions=["t"]))
    for start in range(0, _VERTICES, 100):
        t = g.inject(0)
        for n in range(start, start + 100):
            t = t.side_effect(__.merge_v({T.id: f"t:v{n}", T.label: "identifier"})
                              .option(Merge.on_create, {"degree": 3, "last_seen": long(5)}, Cardinality.single))
        t.iterate()
    return g


def _vertices(round_: int, group: int) -> list[str]:
    first = (round_ * _GROUPS + group) * _PER_GROUP % (_VERTICES - _PER_GROUP)
    return [f"t:v{n}" for n in range(first, first + _PER_GROUP)]


def last_seen_per_value(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Cardinality, P
    from gremlin_python.statics import long
    t = g.inject(0)
    for group in range(_GROUPS):
        when = long(10 + round_ * _GROUPS + group)
        t = t.side_effect(__.V(*_vertices(round_, group)).has("last_seen", P.lt(when))
                          .property(Cardinality.single, "last_seen", when))
    return t


def last_seen_one_step(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Cardinality, P
    from gremlin_python.statics import long
    times = {v: long(10 + round_ * _GROUPS + group) for group in range(_GROUPS) for v in _vertices(round_, group)}
    return g.inject(0).side_effect(
        __.V(*times).as_("v").constant(times).select(__.select("v").id_()).as_("t").select("v")
        .where(P.lt("t")).by("last_seen").by().property(Cardinality.single, "last_seen", __.select("t")))


def _link(round_: int, n: int) -> tuple[dict, dict]:
    from gremlin_python.process.traversal import Direction, T
    from gremlin_python.statics import long
    a, b = (round_ * _GROUPS + n) % _VERTICES, (round_ * _GROUPS + n + 1) % _VERTICES
    match = {T.id: f"t:l{round_}:{n}", T.label: "link", Direction.OUT: f"t:v{a}", Direction.IN: f"t:v{b}"}
    return match, {"tenant": "t", "count": 1, "first_seen": long(5), "first_event": "e", "last_seen": long(5),
                   "last_event": "e"}


def links_per_child(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Merge
    t = g.inject(0)
    for n in range(_GROUPS):
        match, create = _link(round_, n)
        t = t.side_effect(__.merge_e(match).option(Merge.on_create, create))
    return t


def links_one_step(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Merge
    rows = [{"m": match, "c": create} for match, create in (_link(round_ + 100_000, n) for n in range(_GROUPS))]
    return g.inject(rows).unfold().merge_e(__.select("m")).option(Merge.on_create, __.select("c"))


def measure(g: Any, build: Callable[[Any, int], Any], rounds: int, elements: int, first: int) -> float:
    """CPU µs per element: building and running ``rounds`` traversals, the fastest of three."""
    best = float("inf")
    for attempt in range(3):
        started = time.process_time()
        for r in range(rounds):
            build(g, first + attempt * rounds + r).iterate()
        best = min(best, time.process_time() - started)
    return 1e6 * best / (rounds * elements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="traversals per measurement (default 100)")
    add_tree_argument(parser)
    args = parser.parse_args(argv)
    use_tree(args.tree)
    from gremlin.heap import HeapSettler
    HeapSettler().install()
    g = _graph()
    elements = _GROUPS * _PER_GROUP
    print(f"CPU µs per element, fastest of 3 x {args.rounds} traversals ({args.tree.resolve()})")
    for name, build, count, first in (
            ("last_seen, one child per value", last_seen_per_value, elements, 0),
            ("last_seen, one step", last_seen_one_step, elements, 10 * args.rounds),
            ("new links, one child each", links_per_child, _GROUPS, 0),
            ("new links, one step over rows", links_one_step, _GROUPS, 0)):
        print(f"{name:32s} {measure(g, build, args.rounds, count, first):6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
