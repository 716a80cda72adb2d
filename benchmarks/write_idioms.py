"""Ways to write many elements that each get their own value: one child traversal per value
against one step for all of them (the TinkerPop idioms that hand each element its value), and
how a chunk's new elements are created. CPU µs per element on the in-process engine; with
``--gremlin-url``, µs per element of the round trip on that server (one request at a time, so
the server's compiling and executing), in a partition of its own.

    python benchmarks/write_idioms.py
    python benchmarks/write_idioms.py --tree /tmp/main --rounds 200
    python benchmarks/write_idioms.py --gremlin-url ws://127.0.0.1:8182/gremlin --rounds 30

* conditional last_seen on identifiers, 20 values for 3 vertices each: 20
  ``sideEffect(V(ids).has('last_seen', lt(t)).property(single, 'last_seen', t))`` against one
  ``V(all).as('v').constant(times).select(select('v').id()).as('t').select('v')
  .where(lt('t')).by('last_seen').by().property(single, 'last_seen', select('t'))``;
* new links, 20 of them: 20 ``sideEffect(mergeE(map).option(onCreate, map))`` against one
  ``inject(rows).unfold().mergeE(select('m')).option(onCreate, select('c'))``;
* new identifiers, 20 of them, each with 8 properties (what identity.domain.writes.created_vertices
  writes): ``mergeV(select('search')).option(onCreate, select('create'))`` with an ``onMatch``
  that fails (the properties ``CardinalityValue.single``) against
  ``addV('identifier').property(T.id, select('id'))`` and a ``property(single, key,
  select('row').select(key))`` per key (fails on a taken id as well);
* new events, 20 of them, each observing 4 identifiers (per event): the events' ``mergeV`` and a
  ``mergeE`` per observation (its ends as ``Merge.outV``/``Merge.inV`` options, as ingest writes
  them) against the same ``mergeV`` and an ``addE`` per observation to the identifier looked up in
  one ``V(ids).group('ends').by(id)`` side effect.

Every traversal is legal on Gremlin Server 3.7 and Neptune (no lambdas, string ids, explicit single
cardinality). The graph holds 3,000 identifier vertices; each round writes new values, links,
identifiers or events.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_tree_argument, use_tree  # noqa: E402

_GROUPS, _PER_GROUP, _VERTICES, _OBSERVED = 20, 3, 3000, 4
#: The partition (and id prefix) the rounds write in: unique per run on a shared server.
_TENANT = "t"
_IDENTIFIER_KEYS = ("type", "value", "created", "cid", "since", "first_seen", "last_seen", "degree")


def _graph(url: str = "memory://") -> Any:
    import gremlin
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.strategies import PartitionStrategy
    from gremlin_python.process.traversal import Cardinality, Merge, T
    from gremlin_python.statics import long

    connection = DriverRemoteConnection(url, "g") if url.startswith("ws") else gremlin.connect(url)
    g = traversal().with_remote(connection).with_strategies(
        PartitionStrategy(partition_key="tenant", write_partition=_TENANT, read_partitions=[_TENANT]))
    for start in range(0, _VERTICES, 100):
        t = g.inject(0)
        for n in range(start, start + 100):
            # the tenant in the search map: a real server's mergeV in a child ignores PartitionStrategy
            t = t.side_effect(__.merge_v({T.id: f"{_TENANT}:v{n}", T.label: "identifier", "tenant": _TENANT})
                              .option(Merge.on_create, {"degree": 3, "last_seen": long(5)}, Cardinality.single))
        t.iterate()
    return g


def _vertices(round_: int, group: int) -> list[str]:
    first = (round_ * _GROUPS + group) * _PER_GROUP % (_VERTICES - _PER_GROUP)
    return [f"{_TENANT}:v{n}" for n in range(first, first + _PER_GROUP)]


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
    match = {T.id: f"{_TENANT}:l{round_}:{n}", T.label: "link", Direction.OUT: f"{_TENANT}:v{a}",
             Direction.IN: f"{_TENANT}:v{b}"}
    return match, {"tenant": _TENANT, "count": 1, "first_seen": long(5), "first_event": "e", "last_seen": long(5),
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


def _identifier_rows(round_: int) -> list[dict]:
    from gremlin_python.statics import long
    values = {"type": "email", "value": "sealed:" + "x" * 60, "created": long(5), "cid": f"{_TENANT}:customer:c",
              "since": long(5), "first_seen": long(5), "last_seen": long(5), "degree": 1}
    return [{"id": f"{_TENANT}:i{round_}:{n}", **values} for n in range(_GROUPS)]


def identifiers_merged(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import CardinalityValue, Merge, T
    rows = [{"search": {T.id: row.pop("id"), T.label: "identifier", "tenant": _TENANT},
             "create": {key: CardinalityValue.single(value) for key, value in row.items()}}
            for row in _identifier_rows(round_)]
    return g.inject(0).side_effect(
        __.constant(rows).unfold().merge_v(__.select("search")).option(Merge.on_create, __.select("create"))
        .option(Merge.on_match, __.fail("exists")))


def identifiers_added(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Cardinality, T
    create = (__.constant(_identifier_rows(round_)).unfold().as_("row").add_v("identifier")
              .property(T.id, __.select("id")))
    for key in _IDENTIFIER_KEYS:
        create = create.property(Cardinality.single, key, __.select("row").select(key))
    return g.inject(0).side_effect(create)


def _event_rows(round_: int) -> list[dict]:
    from gremlin_python.statics import long
    rows = []
    for n in range(_GROUPS):
        observed = [f"{_TENANT}:v{(round_ * 7 + n * _OBSERVED + k) % _VERTICES}" for k in range(_OBSERVED)]
        rows.append({"id": f"{_TENANT}:e{round_}:{n}", "observes": observed, "event_id": f"e{round_}:{n}",
                     "type": "login", "ts": long(5), "ingested_at": long(6)})
    return rows


def _events_merged(rows: list[dict]) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import CardinalityValue, Merge, T
    merge_rows = [{"search": {T.id: row["id"], T.label: "event", "tenant": _TENANT},
                   "create": {k: CardinalityValue.single(v) for k, v in row.items() if k not in ("id", "observes")},
                   "observes": row["observes"]} for row in rows]
    return (__.constant(merge_rows).unfold().as_("row").merge_v(__.select("search"))
            .option(Merge.on_create, __.select("create")).option(Merge.on_match, __.fail("exists")).as_("event"))


def observations_merged(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Direction, Merge, T
    rows = _event_rows(round_)
    for row in rows:
        row["observes"] = [{T.id: vertex} for vertex in row["observes"]]
    return g.inject(0).side_effect(
        _events_merged(rows).select("row").select("observes").unfold()
        .merge_e({T.label: "observed", Direction.OUT: Merge.out_v, Direction.IN: Merge.in_v, "tenant": _TENANT})
        .option(Merge.out_v, __.select("event")).option(Merge.in_v, __.identity()))


def observations_added(g: Any, round_: int) -> Any:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import T
    rows = _event_rows(round_)
    ends = sorted({vertex for row in rows for vertex in row["observes"]})
    return g.inject(0).side_effect(__.V(*ends).group("ends").by(T.id)).side_effect(
        _events_merged(rows).side_effect(
            __.select("row").select("observes").unfold().as_("observed").add_e("observed").from_(__.select("event"))
            .to(__.select("ends").select(__.select("observed")).unfold())))


def measure(g: Any, build: Callable[[Any, int], Any], rounds: int, elements: int, first: int,
            clock: Callable[[], float] = time.process_time) -> float:
    """µs per element of ``clock`` (CPU in process; wall time against a server): building and
    running ``rounds`` traversals, the fastest of three."""
    best = float("inf")
    for attempt in range(3):
        started = clock()
        for r in range(rounds):
            build(g, first + attempt * rounds + r).iterate()
        best = min(best, clock() - started)
    return 1e6 * best / (rounds * elements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="traversals per measurement (default 100)")
    parser.add_argument("--gremlin-url", help="measure on this Gremlin Server (round trips) instead of in process")
    add_tree_argument(parser)
    args = parser.parse_args(argv)
    use_tree(args.tree)
    global _TENANT
    clock, what = time.process_time, "CPU µs per element"
    if args.gremlin_url:  # ids are the server's to keep unique: a partition and prefix of this run's own
        _TENANT, clock, what = f"w{uuid.uuid4().hex[:8]}", time.perf_counter, "round-trip µs per element"
    else:
        from gremlin.heap import HeapSettler
        HeapSettler().install()
    g = _graph(args.gremlin_url or "memory://")
    elements = _GROUPS * _PER_GROUP
    print(f"{what}, fastest of 3 x {args.rounds} traversals ({args.gremlin_url or args.tree.resolve()})")
    for name, build, count, first in (
            ("last_seen, one child per value", last_seen_per_value, elements, 0),
            ("last_seen, one step", last_seen_one_step, elements, 10 * args.rounds),
            ("new links, one child each", links_per_child, _GROUPS, 0),
            ("new links, one step over rows", links_one_step, _GROUPS, 0),
            ("new identifiers, mergeV, onMatch fail", identifiers_merged, _GROUPS, 0),
            ("new identifiers, addV, a step per key", identifiers_added, _GROUPS, 10 * args.rounds),
            ("events, mergeE per observation", observations_merged, _GROUPS, 0),
            ("events, addE to looked-up ends", observations_added, _GROUPS, 10 * args.rounds)):
        print(f"{name:38s} {measure(g, build, args.rounds, count, first, clock):7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
