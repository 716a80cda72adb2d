"""Identity ingest throughput by backend and batch size, with round trips and request sizes.

    python benchmarks/ingest_core.py                          # 3000 events, memory + durable + endpoint
    python benchmarks/ingest_core.py --repeat 3               # keep the fastest of 3 runs per case
    python benchmarks/ingest_core.py --events 10000 --batches 1 100 1000 --backends durable

The stream is benchmarks/quick_identity.py's. For each backend and batch size the same events go
into an empty graph; printed per run: events/s by wall clock and by this process's CPU time (the
machine may be shared: CPU time is steadier; the endpoint runs its server in this process, so its
CPU figure includes the server), round trips per event, and with --sizes the largest request (the
GraphBinary bytes of one submitted traversal). Batch size 1 is the one-event-at-a-time baseline
(one read and one write per event). Writes docs/benchmarks-ingest.json. Figures compare within
one run on one machine only.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gremlin_python.driver.remote_connection import RemoteConnection  # noqa: E402
from gremlin_python.process.anonymous_traversal import traversal  # noqa: E402
from gremlin_python.structure.io.graphbinaryV1 import GraphBinaryWriter  # noqa: E402

import gremlin  # noqa: E402
from identity import IdentityGraph  # noqa: E402
from quick_identity import stream  # noqa: E402


class Measured(RemoteConnection):
    """Counts submitted traversals and keeps the largest one's GraphBinary size."""

    def __init__(self, inner: RemoteConnection, sizes: bool):
        super().__init__(inner.url, inner.traversal_source)
        self.inner = inner
        self.submits = 0
        self.largest = 0
        self._writer = GraphBinaryWriter() if sizes else None

    def submit(self, bytecode: Any) -> Any:
        self.submits += 1
        if self._writer is not None:
            self.largest = max(self.largest, len(self._writer.write_object(bytecode)))
        return self.inner.submit(bytecode)

    def close(self) -> None:
        self.inner.close()


def run(url: str, events: list[dict], batch: int, sizes: bool) -> dict:
    connection = Measured(gremlin.connect(url), sizes)
    identity = IdentityGraph(traversal().with_remote(connection), "bench")
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(events), batch):
        identity.ingest(events[i:i + batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    connection.close()
    return {"wall": len(events) / wall, "cpu": len(events) / cpu, "trips": connection.submits / len(events),
            "largest": connection.largest}


def run_on(backend: str, events: list[dict], batch: int, sizes: bool) -> dict:
    """run() on an empty graph of ``backend``."""
    with tempfile.TemporaryDirectory() as directory:
        if backend == "endpoint":
            from gremlin.server import running_server
            with running_server(gremlin.Graph()) as endpoint:
                return run(f"{endpoint}?serializer=graphbinary", events, batch, sizes)
        url = {"memory": "memory://", "neptune": "memory://?profile=neptune",
               "durable": f"file://{directory}/graph"}[backend]
        try:
            return run(url, events, batch, sizes)
        finally:
            gremlin.forget_graph(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--backends", nargs="+", default=["memory", "durable", "endpoint"],
                        choices=["memory", "neptune", "durable", "endpoint"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each case this many times and keep the fastest (steadier on a busy machine)")
    parser.add_argument("--sizes", action="store_true",
                        help="also serialize every request to report the largest (costs CPU time)")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks-ingest.json"))
    args = parser.parse_args(argv)
    results: dict = {"machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
                     "command": "python benchmarks/ingest_core.py " + " ".join(argv or sys.argv[1:]),
                     "events": args.events, "runs": []}
    events = stream(args.events, args.seed)
    print(f"{args.events} events; events/s by wall clock and by CPU time; round trips per event")
    for backend in args.backends:
        for batch in args.batches:
            figures = max((run_on(backend, events, batch, args.sizes) for _ in range(args.repeat)),
                          key=lambda f: f["cpu"])
            results["runs"].append({"backend": backend, "batch": batch, "events_per_s_wall": figures["wall"],
                                    "events_per_s_cpu": figures["cpu"], "round_trips_per_event": figures["trips"],
                                    **({"largest_request_bytes": figures["largest"]} if args.sizes else {})})
            size = f"  largest request {figures['largest']:,} B" if args.sizes else ""
            print(f"{backend:9s} batch {batch:5d}: {figures['wall']:7,.0f} events/s wall  "
                  f"{figures['cpu']:7,.0f} events/s cpu  {figures['trips']:.3f} trips/event{size}", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
