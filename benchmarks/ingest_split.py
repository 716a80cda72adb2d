"""CPU per event of ``IdentityGraph.ingest``, split into its parts, on a population's events:
preparing them (validation, normalising, blind indexes), the batch read (the View built from its
answer apart), planning, the write (building its traversal and, in process, the share that writes
rows to SQLite apart) and, on a graph server, writing the requests and decoding the answers
(the driver's threads).

    python benchmarks/ingest_split.py                            # durable, 300 people, batches of 20
    python benchmarks/ingest_split.py --backends memory durable --repeat 3
    python benchmarks/ingest_split.py --backends gremlin --gremlin-url ws://127.0.0.1:8182/gremlin
    python benchmarks/ingest_split.py --tree /tmp/main           # another checkout's identity/ and gremlin/
    valgrind --tool=cachegrind --cache-sim=no python benchmarks/ingest_split.py --people 100 --batch 200 [--batches 1]

Under valgrind the instructions the whole run executes ("I refs") are counted, which the
machine's load does not change as it changes CPU time: the run's count less that of the same
command with ``--batches 1`` (imports, the first batch and its compiles) is what the later
batches' events took; divided by their number (printed), instructions per event.

The events go in order, in batches of ``--batch``, into an empty graph in this process (on a
server, under a tenant of their own, through the service's own connection: retries, fast reader
and writer), with gremlin.heap's HeapSettler installed as ``identity serve`` installs it. The
total is this process's CPU time (time.process_time), each part the CPU time of the thread that
ran it (time.thread_time), so the figures hold on a shared machine better than wall time; "rest"
is what no part holds (results, the group commit, on a server the client's own work). A part that
ran inside another (the View, building the write, the SQLite rows; with the lean connection,
which works in the calling thread, writing and decoding) is also counted in that one.
``--repeat`` keeps the fastest run. ``--tree`` imports identity and gremlin from another
checkout, to compare two trees in one session. Nothing is written: the figures are printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_batch_argument, parse_on_tree  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402


_running = threading.local()  # the parts running in this thread, outermost first


def _timed(spent: dict[str, float], name: str, function: Callable) -> Callable:
    """``function`` adding its thread's CPU to ``spent[name]``, and to ``spent["inside"]`` when it
    ran inside another part (the View in the read; with a client working in the calling thread,
    the lean connection, writing and decoding in the read and the write)."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        parts = _running.__dict__.setdefault("parts", [])
        parts.append(name)
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            cpu = time.thread_time() - started
            parts.pop()
            spent[name] += cpu
            if parts:
                spent["inside"] += cpu
    return timed


def _row_writer(durable: Any) -> tuple[Any, str]:
    """What writes a durable graph's rows: the disk store's flush, or in a tree from before it
    (``--tree``), the journal's commit."""
    journal = getattr(durable, "SqliteJournal", None)
    if journal is not None:
        return journal, "commit"
    from gremlin.disk_store import DiskStore
    return DiskStore, "_flush"


#: part -> (module, attribute) that does it; "view", "build" and "journal" run inside "read" and "write",
#: "serialise" and "decode" in the driver's threads or, with the lean connection, inside them too
_PARTS = {"prepare": ("identity.domain.core", "prepare_batch"), "read": ("identity.domain.ingest", "read_batch"),
          "view": ("identity.domain.batch_read", "view_of"), "plan": ("identity.domain.ingest", "_plan"),
          "write": ("identity.domain.ingest", "_commit"), "build": ("identity.domain.chunk", "Chunk.traversal"),
          "serialise": ("gremlin_python.driver.serializer", "GraphBinarySerializersV1.serialize_message"),
          "decode": ("gremlin_python.driver.serializer", "GraphBinarySerializersV1.deserialize_message")}
def _patch_points() -> list[tuple[str, Any, str]]:
    """(part, owner, attribute) for each part this tree has."""
    import importlib

    import gremlin.durable
    points = [("journal", *_row_writer(gremlin.durable))]
    for part, (module, path) in _PARTS.items():
        owner: Any = importlib.import_module(module)
        *owners, name = path.split(".")
        for attribute in owners:
            owner = getattr(owner, attribute)
        if hasattr(owner, name):
            points.append((part, owner, name))
    return points


def run(backend: str, events: list[dict], batch: int, gremlin_url: str | None = None) -> dict[str, float]:
    """One ingest of ``events`` into an empty ``backend`` graph: CPU ms per event by part."""
    import uuid

    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from identity import IdentityGraph

    spent = dict.fromkeys([*_PARTS, "journal", "inside"], 0.0)
    points = _patch_points()
    originals = [getattr(owner, name) for _, owner, name in points]
    for (part, owner, name), original in zip(points, originals):
        setattr(owner, name, _timed(spent, part, original))
    try:
        with tempfile.TemporaryDirectory() as directory:
            if backend == "gremlin":
                from identity.graph.connection import close_all, open_traversal
                g, tenant = open_traversal(gremlin_url), f"split{uuid.uuid4().hex[:12]}"  # its own, empty tenant
                g.inject(0).iterate()  # the connection opened before the clock starts
            else:
                url = "memory://" if backend == "memory" else f"file://{directory}/graph"
                connection = gremlin.connect(url)
                g, tenant = traversal().with_remote(connection), "bench"
            ids = IdentityGraph(g, tenant)
            started = time.process_time()
            for i in range(0, len(events), batch):
                ids.ingest(events[i:i + batch])
            total = time.process_time() - started
            if backend == "gremlin":
                close_all()
            else:
                connection.close()
            if backend == "memory":
                gremlin.forget_graph(url)
    finally:
        for (_, owner, name), original in zip(points, originals):
            setattr(owner, name, original)
    per_event = 1000.0 / len(events)
    figures = {part: cpu * per_event for part, cpu in spent.items()}
    figures["total"] = total * per_event
    outermost = sum(cpu for part, cpu in figures.items() if part not in ("inside", "total")) - figures.pop("inside")
    figures["rest"] = figures["total"] - outermost
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["durable"], choices=["memory", "durable", "gremlin"])
    parser.add_argument("--gremlin-url", help="the graph server of the gremlin backend")
    add_batch_argument(parser)
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend; the fastest is printed")
    parser.add_argument("--batches", type=int, help="ingest only the first N batches (instruction counts: the doc)")
    add_mix_arguments(parser, people=300)
    args = parse_on_tree(parser, argv)
    if "gremlin" in args.backends and not args.gremlin_url:
        parser.error("the gremlin backend needs --gremlin-url")
    events = [item.event for item in generate(mix_from_args(args))]
    if args.batches is not None:
        print(f"{max(0, len(events) - args.batch):,} events after the first batch")
        events = events[:args.batches * args.batch]
    from gremlin.heap import HeapSettler
    HeapSettler().install()
    print(f"{len(events):,} events in batches of {args.batch}; CPU ms per event of {args.tree.resolve()}")
    for backend in args.backends:
        best = min((run(backend, events, args.batch, args.gremlin_url) for _ in range(args.repeat)),
                   key=lambda f: f["total"])
        remote = f"  serialise {best['serialise']:.3f}  decode {best['decode']:.3f}" if backend == "gremlin" else ""
        journal = f", journal {best['journal']:.3f}" if backend == "durable" else ""
        print(f"{backend:8s} total {best['total']:.3f}  prepare {best['prepare']:.3f}  read {best['read']:.3f} "
              f"(view {best['view']:.3f})  plan {best['plan']:.3f}  write {best['write']:.3f} "
              f"(build {best['build']:.3f}{journal}){remote}  rest {best['rest']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
