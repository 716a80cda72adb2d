"""Ingest throughput end to end: a population's events sent to ``identity serve`` as JSON-RPC
``ingest`` calls by concurrent clients, per backend; events/s, call latency percentiles, and the
service's resident memory per identifier stored.

    python benchmarks/ingest.py                                   # memory, durable, endpoint
    python benchmarks/ingest.py --backends durable --people 20000 --concurrency 2 4
    python benchmarks/ingest.py --gremlin-url ws://localhost:8182/gremlin   # adds that backend
    python benchmarks/ingest.py --backends gremlin --warmup-people 0        # a just-started server, cold

The events are split into one consecutive slice per concurrency level, loaded in order into one
service per backend (so later levels run on a bigger graph). Memory per identifier is the growth
of the service process's RSS from start to the end of the load, divided by the identifiers stored.
Service CPU per event (user + system time of the service process over a level, divided by its
events) is the figure to compare on a shared machine: throughput there depends on the load.
``--server-pid`` (the process of ``--gremlin-url``'s server) adds the graph server's CPU per event.
On the gremlin backend the server is warmed first (``--warmup-people``, default 1,000): the same
levels of ingest, of other people, through another service, not counted.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (add_batch_argument, add_output_arguments, add_tree_argument, finish,  # noqa: E402
                                latency_line, process_cpu_seconds, save_results)
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402
from benchmarks.service import (WARMUP_TENANT, RpcClient, Server, add_backend_arguments,  # noqa: E402
                                add_warmup_argument, after_warmup, backend_names, run_load, running_service, scraped,
                                warmup_mix)
from identity.service.rpc.server import DEV_TENANT  # noqa: E402

__all__ = ["main", "ingest_calls"]


def ingest_calls(events: list[dict], batch: int) -> list[tuple[str, dict]]:
    return [("ingest", {"events": events[i:i + batch]}) for i in range(0, len(events), batch)]


def events_in(params: dict) -> int:
    return len(params["events"])


def _groups_written(server: Server) -> tuple[float, float]:
    """The groups the service's tenant writers have written so far, and their events."""
    return scraped([server], "identity_ingest_group_count"), scraped([server], "identity_ingest_group_sum")


def measure_backend(backend: str, events: list[dict], args: argparse.Namespace, gremlin_url: str | None,
                    tenant: str = DEV_TENANT) -> dict:
    levels = args.concurrency
    size = -(-len(events) // len(levels))
    with running_service(backend, gremlin_url=gremlin_url, tree=args.tree, tenant=tenant) as server:
        rss_start = server.rss_bytes()
        rows = []
        for n, concurrency in enumerate(levels):
            calls = ingest_calls(events[n * size:(n + 1) * size], args.batch)
            graph_pid = args.server_pid if backend == "gremlin" else None
            cpu, graph_cpu = server.cpu_seconds(), process_cpu_seconds(graph_pid) if graph_pid else 0.0
            groups = _groups_written(server)
            row = run_load(server, calls, concurrency, label=f"{backend} ingest x{concurrency}", quiet=args.quiet,
                           weight=events_in)
            count = max(1, sum(events_in(params) for _, params in calls))
            cpu_ms = 1000.0 * (server.cpu_seconds() - cpu) / count
            rows.append({**row, "events_per_second": row["units_per_second"],
                         "service_cpu_ms_per_event": round(cpu_ms, 3)})
            groups = [after - before for after, before in zip(_groups_written(server), groups)]
            if groups[0]:  # a service that counts them (identity.ingest.group)
                rows[-1]["groups"], rows[-1]["events_per_group"] = int(groups[0]), round(groups[1] / groups[0], 1)
            if graph_pid:
                rows[-1]["graph_server_cpu_ms_per_event"] = round(
                    1000.0 * (process_cpu_seconds(graph_pid) - graph_cpu) / count, 3)
        rss_end = server.rss_bytes()
        client = RpcClient(server)
        stats = client.call("stats")
        client.close()
    identifiers = stats["identifiers"]
    grown = max(0, rss_end - rss_start)
    return {"levels": rows, "stats": stats, "rss_start_bytes": rss_start, "rss_end_bytes": rss_end,
            "bytes_per_identifier": round(grown / identifiers, 1) if identifiers else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=1000)
    add_backend_arguments(parser)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8], help="client threads per level")
    add_batch_argument(parser)
    add_warmup_argument(parser)
    parser.add_argument("--server-pid", type=int,
                        help="the process id of --gremlin-url's server: its CPU per event too (/proc)")
    add_tree_argument(parser)  # the service runs from it
    add_output_arguments(parser, "ingest")
    args = parser.parse_args(argv)
    mix = mix_from_args(args)
    events = [labelled.event for labelled in generate(mix)]
    results = {"population": asdict(mix), "events": len(events),
               "batch": args.batch, "warmup_people": args.warmup_people, "backends": {}}

    def measure(backend: str, gremlin_url: str | None, warm: bool) -> dict:
        if not warm:
            return measure_backend(backend, events, args, gremlin_url)
        warmup = [labelled.event for labelled in generate(warmup_mix(mix, args.warmup_people))]
        return measure_backend(backend, warmup, args, gremlin_url, WARMUP_TENANT)

    for backend in backend_names(args.backends, args.gremlin_url):
        results["backends"][backend] = measured = after_warmup(backend, args.gremlin_url, args.warmup_people,
                                                               partial(measure, backend))
        if args.save:  # after each backend, so a long run interrupted later keeps what it measured
            save_results(args.name, results, args.out)
        for row in measured["levels"]:
            graph_cpu = (f"  graph server CPU {row['graph_server_cpu_ms_per_event']:5.2f} ms/event"
                         if "graph_server_cpu_ms_per_event" in row else "")
            groups = f"  {row['groups']} groups of {row['events_per_group']} events" if "groups" in row else ""
            print(f"{backend:9s} clients {row['concurrency']:3d}  {row['events_per_second']:8,.0f} events/s  "
                  f"service CPU {row['service_cpu_ms_per_event']:5.2f} ms/event{graph_cpu}  call {latency_line(row, 1)}"
                  f"{groups}")
        print(f"{backend:9s} {measured['stats']['identifiers']} identifiers, "
              f"{measured['bytes_per_identifier']} bytes RSS growth per identifier")
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
