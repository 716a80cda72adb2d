"""The service's own work in one ``resolve``, in process, on any graph: for instruction counts
that the machine's load does not move (issues #15 and #18).

    python benchmarks/resolve_in_process.py --people 100 --resolves 400                    # durable
    python benchmarks/resolve_in_process.py --people 100 --resolves 400 --graph-url URL    # a Gremlin Server
    valgrind --tool=cachegrind --cache-sim=no python benchmarks/resolve_in_process.py --people 100 --resolves 0 [--tree T]

The population (``benchmarks/population.py``'s flags) is ingested through ``IdentityGraph`` as the
service builds it (its key ring, telemetry as ``identity serve`` installs it without OTEL_*), into a
fresh durable graph or the Gremlin Server ``--graph-url`` (a new tenant key each run, so runs do not
see each other's identifiers, and event ids of the run's own: a server stores an event once per
tenant and id, and took a second run's events for ones it held, leaving every resolve unknown),
50 warm-up resolves follow, then ``--resolves`` resolves of random identifiers: their CPU ms each
is printed. Under cachegrind, run it with ``--resolves 0`` and ``N``: the difference of the two
``I refs`` over N is the instructions of one resolve (on a graph server: the service's side only,
building and writing the request, reading and opening the answer).
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import parse_on_tree  # noqa: E402
from benchmarks.population import add_mix_arguments, events_and_keys, mix_from_args  # noqa: E402

_WARM_UP = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=100)
    parser.add_argument("--resolves", type=int, default=400, help="resolves measured (after 50 warm-up ones)")
    parser.add_argument("--graph-url", help="a Gremlin Server (ws://host:port/gremlin); default: a fresh durable graph")
    args = parse_on_tree(parser, argv)
    from identity.base import telemetry
    from identity.graph.connection import release
    from identity.service.config import Config
    from identity.service.rpc.app import build_service
    from identity.service.rpc.server import ensure_dev_tenant

    events, keys = events_and_keys(mix_from_args(args))
    run = secrets.token_hex(4)
    events = [{**event, "event_id": f"{run}-{event['event_id']}"} for event in events]
    rng = random.Random(2)
    sample = [rng.choice(keys) for _ in range(_WARM_UP + args.resolves)]
    previous = telemetry.install(telemetry.from_environment({}))
    try:
        with tempfile.TemporaryDirectory(prefix="identity-resolve-") as tmp:
            url = args.graph_url or (Path(tmp) / "graph").as_uri()
            service = build_service(Config(data_dir=Path(tmp) / "data", graph_url=url))
            try:
                ensure_dev_tenant(service.registry)
                graph = service.identity("dev")
                for start in range(0, len(events), 50):
                    graph.ingest(events[start:start + 50])
                for id_type, value in sample[:_WARM_UP]:
                    graph.resolve(id_type, value)
                started = time.process_time()
                for id_type, value in sample[_WARM_UP:]:
                    graph.resolve(id_type, value)
                used = time.process_time() - started
            finally:
                service.close()
                release(url)
    finally:
        telemetry.install(previous).shutdown()
    each = f"{1000 * used / args.resolves:.3f} ms of CPU each" if args.resolves else "none measured"
    print(f"{len(events)} events, {args.resolves} resolves: {each} ({args.graph_url or 'durable'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
