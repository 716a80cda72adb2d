"""In-process CPU per event of ``IdentityGraph.ingest``, split into the batch read, the write
(building, running and committing each chunk's traversal; the share that writes rows to SQLite,
"journal", apart) and the rest (validation, sealing, planning), on a population's events.

    python benchmarks/ingest_split.py                            # durable, 300 people, batches of 20
    python benchmarks/ingest_split.py --backends memory durable --repeat 3
    python benchmarks/ingest_split.py --tree /tmp/main           # another checkout's identity/ and gremlin/

The events go in order, in batches of ``--batch``, into an empty graph in this process, with
gremlin.heap's HeapSettler installed as ``identity serve`` installs it. CPU time is this process's
(time.process_time), so the figures hold on a shared machine better than wall time; ``--repeat``
keeps the fastest run. ``--tree`` imports identity and gremlin from another checkout, to compare
two trees in one session. Nothing is written: the figures are printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_batch_argument, parse_on_tree  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402


def _timed(spent: dict[str, float], name: str, function: Callable) -> Callable:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started
    return timed


def _row_writer(durable: Any) -> tuple[Any, str]:
    """What writes a durable graph's rows: the disk store's flush, or in a tree from before it
    (``--tree``), the journal's commit."""
    journal = getattr(durable, "SqliteJournal", None)
    if journal is not None:
        return journal, "commit"
    from gremlin.disk_store import DiskStore
    return DiskStore, "_flush"


def run(backend: str, events: list[dict], batch: int) -> dict[str, float]:
    """One ingest of ``events`` into an empty ``backend`` graph: CPU ms per event by part."""
    import gremlin
    import gremlin.durable
    from gremlin_python.process.anonymous_traversal import traversal
    import identity.domain.ingest
    from identity import IdentityGraph

    spent = {"read": 0.0, "write": 0.0, "journal": 0.0}
    ingest = identity.domain.ingest
    patched = [(ingest, "read_batch"), (ingest, "_commit"), _row_writer(gremlin.durable)]
    originals = [getattr(owner, name) for owner, name in patched]
    for (owner, name), original, part in zip(patched, originals, ("read", "write", "journal")):
        setattr(owner, name, _timed(spent, part, original))
    try:
        with tempfile.TemporaryDirectory() as directory:
            url = "memory://" if backend == "memory" else f"file://{directory}/graph"
            connection = gremlin.connect(url)
            ids = IdentityGraph(traversal().with_remote(connection), "bench")
            started = time.process_time()
            for i in range(0, len(events), batch):
                ids.ingest(events[i:i + batch])
            total = time.process_time() - started
            connection.close()
            if backend == "memory":
                gremlin.forget_graph(url)
    finally:
        for (owner, name), original in zip(patched, originals):
            setattr(owner, name, original)
    per_event = 1000.0 / len(events)
    return {"total": total * per_event, "read": spent["read"] * per_event, "write": spent["write"] * per_event,
            "journal": spent["journal"] * per_event,
            "rest": (total - spent["read"] - spent["write"]) * per_event}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["durable"], choices=["memory", "durable"])
    add_batch_argument(parser)
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend; the fastest is printed")
    add_mix_arguments(parser, people=300)
    args = parse_on_tree(parser, argv)
    events = [item.event for item in generate(mix_from_args(args))]
    from gremlin.heap import HeapSettler
    HeapSettler().install()
    print(f"{len(events):,} events in batches of {args.batch}; CPU ms per event of {args.tree.resolve()}")
    for backend in args.backends:
        best = min((run(backend, events, args.batch) for _ in range(args.repeat)), key=lambda f: f["total"])
        print(f"{backend:8s} total {best['total']:.3f}  read {best['read']:.3f}  write {best['write']:.3f} "
              f"(journal {best['journal']:.3f})  rest {best['rest']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
