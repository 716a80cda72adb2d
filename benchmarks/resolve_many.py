"""Batch resolve through the JSON-RPC API: how long 10,000 identifiers take with ``resolve_many``
(calls of up to 1,000), against ``resolve`` in JSON-RPC batch arrays of 100 calls (what bulk users
did before), on a real ``identity serve`` process (rate limit off, as the other service
benchmarks; ``--rate`` sets one).

    python benchmarks/resolve_many.py                          # memory graph, 10,000 identifiers
    python benchmarks/resolve_many.py --backends memory --gremlin-url ws://127.0.0.1:8300/gremlin
    python benchmarks/resolve_many.py --backends gremlin --gremlin-url URL --server-pid PID --tree /tmp/main

``--server-pid`` (the process of ``--gremlin-url``'s server) adds the graph server's CPU per
identifier; ``--tree`` runs the service from another checkout (before/after in one session). On
the gremlin backend the server is warmed first (``--warmup-people``, default 1,000): the same load
and resolves, of other people, through another service, not counted (``0``: a just-started server).

Every answer of resolve_many is compared with resolve's for the same identifier (a mismatch fails
the run). The service's CPU per identifier is what the per-identifier price (identity.service.rpc.methods:
RESOLVE_MANY_COST, in units of one resolve) is measured against. Prints the numbers and writes
docs/benchmarks/resolve_many.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import add_output_arguments, add_tree_argument, finish, process_cpu_seconds  # noqa: E402
from benchmarks.ingest import events_in, ingest_calls  # noqa: E402
from benchmarks.population import add_mix_arguments, events_and_keys, mix_from_args  # noqa: E402
from benchmarks.service import (WARMUP_TENANT, RpcClient, add_backend_arguments, add_warmup_argument,  # noqa: E402
                                after_warmup, backend_names, run_load, running_service, warmup_mix)
from identity.domain.resolve import MAX_RESOLVE_MANY  # noqa: E402
from identity.service.rpc.server import DEV_TENANT  # noqa: E402

#: What the issue's bulk user sent before resolve_many: JSON-RPC batches of this many resolve calls.
_RESOLVES_PER_BATCH = 100


def _timed(server, requests: list, send, graph_pid: int | None = None) -> dict:
    """Send ``requests`` one after another on one connection; seconds, service CPU seconds and
    (with ``graph_pid``) the graph server's CPU seconds."""
    client = RpcClient(server, timeout=600)
    graph_cpu = process_cpu_seconds(graph_pid) if graph_pid else 0.0
    cpu, started = process_cpu_seconds(server.pid), time.perf_counter()
    try:
        answers = [send(client, request) for request in requests]
    finally:
        client.close()
    timed = {"seconds": round(time.perf_counter() - started, 3),
             "service_cpu_seconds": round(process_cpu_seconds(server.pid) - cpu, 3), "answers": answers}
    if graph_pid:
        timed["graph_server_cpu_seconds"] = round(process_cpu_seconds(graph_pid) - graph_cpu, 3)
    return timed


def _batch(client: RpcClient, calls: list[dict]) -> list:
    """One JSON-RPC batch array of resolve calls; each call's result."""
    import json
    body = json.dumps([{"jsonrpc": "2.0", "id": n, "method": "resolve", "params": params}
                       for n, params in enumerate(calls)])
    client._connection.request("POST", "/rpc", body=body, headers=client._headers)
    replies = sorted(json.loads(client._connection.getresponse().read()), key=lambda reply: reply["id"])
    if any("error" in reply for reply in replies):
        raise RuntimeError(f"resolve batch: {next(r['error'] for r in replies if 'error' in r)}")
    return [reply["result"] for reply in replies]


def _wanted(mix, count: int) -> tuple[list[dict], list[dict]]:
    """``mix``'s events, and ``count`` of its person-owned identifiers (all of them if fewer), shuffled."""
    events, keys = events_and_keys(mix)
    random.Random(mix.seed).shuffle(keys)
    return events, [{"type": t, "value": v} for t, v in keys[:count]]


def measure(backend: str, events: list[dict], wanted: list[dict], args: argparse.Namespace,
            gremlin_url: str | None, tenant: str = DEV_TENANT) -> dict:
    settings = {"IDENTITY_RATE_PER_SECOND": str(args.rate)} if args.rate is not None else {}
    settings["IDENTITY_REQUEST_TIMEOUT"] = "60"  # the baseline's batches of 100 resolves, not resolve_many
    graph_pid = args.server_pid if backend == "gremlin" else None
    with running_service(backend, gremlin_url=gremlin_url, settings=settings, tree=args.tree, tenant=tenant) as server:
        run_load(server, ingest_calls(events, 50), 2, label=f"{backend} load", quiet=args.quiet, weight=events_in)
        calls = [wanted[n:n + args.per_call] for n in range(0, len(wanted), args.per_call)]
        many = _timed(server, calls, lambda client, chunk: client.call("resolve_many", {"identifiers": chunk}),
                      graph_pid)
        one_by_one = [wanted[n:n + _RESOLVES_PER_BATCH] for n in range(0, len(wanted), _RESOLVES_PER_BATCH)]
        single = _timed(server, one_by_one, _batch, graph_pid)
    got = [answer for chunk in many.pop("answers") for answer in chunk["results"]]
    expected = [answer for chunk in single.pop("answers") for answer in chunk]
    mismatches = sum(1 for a, b in zip(got, expected) if a != b)
    if mismatches or len(got) != len(expected):
        raise SystemExit(f"{backend}: {mismatches} of {len(got)} resolve_many answers differ from resolve's")
    per_identifier = {name: round(run["service_cpu_seconds"] / len(wanted) * 1000, 4)
                      for name, run in (("resolve_many", many), ("resolve", single))}
    return {"identifiers": len(wanted), "per_call": args.per_call, "resolve_many": many,
            f"resolve_batches_of_{_RESOLVES_PER_BATCH}": single, "service_cpu_ms_per_identifier": per_identifier,
            "known": sum(1 for answer in got if answer is not None), "same_answers": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=2000)
    add_backend_arguments(parser)
    parser.set_defaults(backends=["memory"])
    parser.add_argument("--identifiers", type=int, default=10_000, help="identifiers to resolve")
    parser.add_argument("--per-call", type=int, default=MAX_RESOLVE_MANY, help="identifiers per resolve_many call")
    parser.add_argument("--rate", type=float, default=None, help="the service's rate_per_second (default: off)")
    parser.add_argument("--server-pid", type=int,
                        help="the process id of --gremlin-url's server: its CPU per identifier too (/proc)")
    add_warmup_argument(parser)
    add_tree_argument(parser)
    add_output_arguments(parser, "resolve_many")
    args = parser.parse_args(argv)
    mix = mix_from_args(args)
    events, wanted = _wanted(mix, args.identifiers)
    if len(wanted) < args.identifiers:
        raise SystemExit(f"the population has {len(wanted)} person-owned identifiers; ask for more --people")
    results = {"population": asdict(mix), "events": len(events), "rate_per_second": args.rate,
               "warmup_people": args.warmup_people, "backends": {}}

    def measured(backend: str, gremlin_url: str | None, warm: bool) -> dict:
        if not warm:
            return measure(backend, events, wanted, args, gremlin_url)
        # the warm-up resolves as many identifiers as its people own, up to --identifiers
        return measure(backend, *_wanted(warmup_mix(mix, args.warmup_people), args.identifiers), args, gremlin_url,
                       WARMUP_TENANT)

    for backend in backend_names(args.backends, args.gremlin_url):
        results["backends"][backend] = row = after_warmup(backend, args.gremlin_url, args.warmup_people,
                                                          partial(measured, backend))
        print(f"{backend:9s} {row['identifiers']:,} identifiers: resolve_many ({row['per_call']} a call) "
              f"{row['resolve_many']['seconds']:.2f} s, resolve in batches of {_RESOLVES_PER_BATCH} "
              f"{row[f'resolve_batches_of_{_RESOLVES_PER_BATCH}']['seconds']:.2f} s; service CPU per identifier "
              f"{row['service_cpu_ms_per_identifier']['resolve_many']:.3f} ms vs "
              f"{row['service_cpu_ms_per_identifier']['resolve']:.3f} ms; same answers"
              + ("" if "graph_server_cpu_seconds" not in row["resolve_many"] else
                 f"; graph server CPU {row['resolve_many']['graph_server_cpu_seconds']:.2f} s vs "
                 f"{row[f'resolve_batches_of_{_RESOLVES_PER_BATCH}']['graph_server_cpu_seconds']:.2f} s"))
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
