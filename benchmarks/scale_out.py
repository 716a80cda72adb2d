"""Several ``identity serve`` instances on one graph (issue #16): is anything lost, duplicated or
split, what does it cost in accuracy, and how do ingest and resolve throughput grow?

    python benchmarks/scale_out.py --gremlin-url ws://127.0.0.1:8310/gremlin --instances 4 --people 500

Against a transactional graph (a Gremlin Server serving TinkerTransactionGraph, or Neptune):

1. starts ``--instances`` service processes on the graph, sharing one data directory (the tenant
   registry and key rings: every instance must derive the same vertex ids), and a fresh tenant;
2. sends the population's events (benchmarks/population.py) in batches of ``--batch`` consecutive
   events, batch k to instance k mod N, from ``--clients`` concurrent clients per instance: the
   events of one person reach several instances at the same time. A call that fails is sent
   again (the events are idempotent by id) up to ``--retries`` times, as a client would;
3. resolves every identifier the events carry through one instance and scores the answers as
   benchmarks/accuracy.py does (pairwise precision and recall against the ground truth);
4. runs ``identity check --tenant T --acknowledged FILE`` (every event some ingest answered for
   with a customer must be stored; every identifier vertex must be its value's);
5. measures resolve throughput through 1, 2 and 4 of the instances (``--resolve-instances``);
6. repeats 1-4 with one instance on a fresh tenant (the same clients, all on it).

The last line: ``instances=N events=E acknowledged=A lost=L duplicate_identifiers=D check=ok|FAILED
precision=P recall=R single_precision=P1 single_recall=R1 ingest_events_per_s=X
single_ingest_events_per_s=Y``. ``lost`` counts acknowledged events the check did not find;
``duplicate_identifiers`` identifier vertices that are not their value's own (a second vertex for
one identifier). Results go to docs/benchmarks/scale_out.json (docs/operations.md shows them).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy import pairwise_scores, truth_of  # noqa: E402
from benchmarks.harness import Progress, add_output_arguments, finish  # noqa: E402
from benchmarks.population import add_mix_arguments, generate, mix_from_args  # noqa: E402
from benchmarks.service import (RpcClient, Server, _env, child_process, run_load, run_threads, scraped,  # noqa: E402
                                wait_for_line)

_REGION = "local"  # the region of the tenants: served by the graph of --gremlin-url


def _identity(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "identity", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode not in (0, 1):  # 1: check found something (the output says what)
        raise RuntimeError(f"identity {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-1000:]}")
    return done.stdout


@contextlib.contextmanager
def instances(count: int, graph_url: str, work: Path, tenant: str, workers: int) -> Iterator[list[Server]]:
    """``count`` service processes on ``graph_url`` sharing the data directory ``work/data``, where
    ``tenant`` is created with an API key first."""
    env = _env()
    env.update({"IDENTITY_DATA_DIR": str(work / "data"), "IDENTITY_GRAPH_URL": graph_url,
                "IDENTITY_RATE_PER_SECOND": "0", "IDENTITY_WORKERS": str(workers), "IDENTITY_LOG_LEVEL": "WARNING"})
    _identity("tenant", "create", tenant, "--region", _REGION, env=env, cwd=work)
    key = _identity("key", "create", tenant, env=env, cwd=work).strip().splitlines()[-1]
    with contextlib.ExitStack() as stack:
        servers = []
        for _ in range(count):  # one after another: the first creates the dev tenant, the others find it
            process, lines = stack.enter_context(child_process(
                [sys.executable, "-m", "identity", "serve", "--port", "0", "--no-gremlin"], env, work))
            url = wait_for_line(lines, "identity listening on ", process).split()[3]
            servers.append(Server(url, key, process.pid, "gremlin", graph_url, work / "data"))
        yield servers


def ingest_spread(servers: list[Server], events: list[dict], batch: int, clients: int, retries: int,
                  quiet: bool) -> tuple[list[dict], float, int]:
    """Batch k to server k mod N from ``clients`` threads per server; (results, seconds, retried calls)."""
    batches = [events[i:i + batch] for i in range(0, len(events), batch)]
    queues: list[list[list[dict]]] = [[] for _ in servers]
    for k, chunk in enumerate(batches):
        queues[k % len(servers)].append(chunk)
    results: list[dict] = []
    retried = [0]
    lock = threading.Lock()
    bar = Progress("ingest", len(events), quiet)

    def client(server: Server, mine: list[list[dict]]) -> None:
        rpc = RpcClient(server)
        try:
            while True:
                with lock:
                    if not mine:
                        return
                    chunk = mine.pop(0)
                for attempt in range(retries + 1):
                    try:
                        answer = rpc.call("ingest", {"events": chunk})
                        break
                    except Exception:  # noqa: BLE001 - counted; the client sends the same events again
                        if attempt == retries:
                            raise
                        with lock:
                            retried[0] += 1
                        rpc.close()
                        rpc = RpcClient(server)
                        time.sleep(0.2 * 2 ** attempt * random.random())
                with lock:
                    results.extend(answer["results"])
                    bar.advance(len(chunk))
        finally:
            rpc.close()

    seconds = run_threads([threading.Thread(target=client, args=(server, queues[n]), daemon=True)
                           for n, server in enumerate(servers) for _ in range(clients)])
    bar.close()
    return results, seconds, retried[0]


def resolve_every(server: Server, keys: list[tuple[str, str]], quiet: bool) -> dict:
    rpc = RpcClient(server)
    customers = {}
    bar = Progress("resolve", len(keys), quiet)
    try:
        for id_type, value in keys:
            answer = rpc.call("resolve", {"type": id_type, "value": value, "max_identifiers": 1})
            if answer is not None:
                customers[(id_type, value)] = answer["customer_id"]
            bar.advance()
    finally:
        rpc.close()
        bar.close()
    return customers


def run_check(work: Path, graph_url: str, tenant: str, acknowledged: list[str]) -> dict:
    """``identity check`` as an operator runs it; its findings by kind."""
    env = _env()
    env.update({"IDENTITY_DATA_DIR": str(work / "data"), "IDENTITY_GRAPH_URL": graph_url,
                "IDENTITY_LOG_LEVEL": "WARNING"})
    listed = work / f"acknowledged-{tenant}.txt"
    listed.write_text("".join(f"{event_id}\n" for event_id in acknowledged))
    started = time.perf_counter()
    summary = _identity("check", "--tenant", tenant, "--acknowledged", str(listed), env=env, cwd=work) \
        .strip().splitlines()[-1]
    seconds = time.perf_counter() - started
    kinds = {kind: int(n) for n, kind in re.findall(r"(\d+) ([a-z_]+)(?=[,)])", summary.split(": ", 2)[-1])}
    return {"summary": summary, "ok": summary.endswith(": ok"), "findings": kinds, "seconds": round(seconds, 2)}


def resolve_throughput(servers: list[Server], keys: list[tuple[str, str]], counts: list[int], calls: int,
                       clients: int, quiet: bool) -> list[dict]:
    """Resolves of random identifiers through the first k servers, ``clients`` per server."""
    rows = []
    rng = random.Random(3)
    for k in counts:
        if k > len(servers):
            continue
        sample = [("resolve", {"type": t, "value": v, "max_identifiers": 10}) for t, v in rng.choices(keys, k=calls)]
        share = [sample[n::k] for n in range(k)]
        outcomes: list[dict] = [{} for _ in range(k)]
        seconds = run_threads([threading.Thread(target=lambda n=n: outcomes.__setitem__(
                                   n, run_load(servers[n], share[n], clients, label=f"resolve via {k}", quiet=quiet)))
                               for n in range(k)])
        rows.append({"instances": k, "clients": clients * k, "resolves_per_s": round(calls / seconds, 1),
                     "p50_ms": max(o["p50_ms"] for o in outcomes), "p99_ms": max(o["p99_ms"] for o in outcomes),
                     "errors": sum(o["errors"] for o in outcomes)})
        print(f"resolve through {k} instance(s), {clients * k} clients: {rows[-1]['resolves_per_s']} resolves/s "
              f"(p50 {rows[-1]['p50_ms']} ms, p99 {rows[-1]['p99_ms']} ms)", file=sys.stderr)
    return rows


def one_run(args: argparse.Namespace, count: int, truth: Any, keys: list, label: str,
            throughput: list[int] | None = None) -> dict:
    tenant = f"{label}-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="identity-scale-out-") as tmp:
        work = Path(tmp)
        with instances(count, args.gremlin_url, work, tenant, args.workers) as servers:
            # the same clients in total whatever the number of instances
            per_instance = max(1, args.clients * args.instances // count)
            results, seconds, retried = ingest_spread(servers, truth.events, args.batch, per_instance, args.retries,
                                                      args.quiet)
            replans = scraped(servers, "identity_ingest_replans_total")
            graph_retries = scraped(servers, "identity_graph_retries_total")
            customers = resolve_every(servers[0], keys, args.quiet)
            rows = resolve_throughput(servers, keys, throughput, args.resolves, args.resolve_clients,
                                      args.quiet) if throughput else []
        acknowledged = sorted({r["event_id"] for r in results if r.get("customer_id") is not None})
        check = run_check(work, args.gremlin_url, tenant, acknowledged)
    scores = pairwise_scores(truth.person_owned, customers)
    findings = check["findings"]
    run = {"instances": count, "tenant": tenant, "events": len(truth.events), "acknowledged": len(acknowledged),
           "answered": len(results), "retried_calls": retried,
           "ingest_replans": int(replans), "graph_retries": int(graph_retries), "lost": findings.get("missing_event", 0),
           "duplicate_identifiers": findings.get("duplicate_identifier", 0) + findings.get("identifier_id", 0),
           "check": check, "precision": round(scores.precision, 4), "recall": round(scores.recall, 4),
           "ingest_seconds": round(seconds, 2), "ingest_events_per_s": round(len(truth.events) / seconds, 1),
           "resolve_throughput": rows}
    print(f"{count} instance(s): {run['ingest_events_per_s']} events/s, {retried} calls sent again, "
          f"{int(replans)} chunks planned again, {int(graph_retries)} graph requests retried, "
          f"check {check['summary']} ({check['seconds']} s), precision {run['precision']} recall {run['recall']}",
          file=sys.stderr)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser, people=500)
    parser.add_argument("--gremlin-url", required=True, help="the shared graph (a transactional Gremlin Server, Neptune)")
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10, help="events per ingest call")
    parser.add_argument("--clients", type=int, default=2, help="concurrent ingest clients per instance")
    parser.add_argument("--retries", type=int, default=5, help="times a failed ingest call is sent again")
    parser.add_argument("--workers", type=int, default=4, help="each instance's worker threads")
    parser.add_argument("--resolve-instances", type=int, nargs="*", default=[1, 2, 4],
                        help="measure resolve throughput through this many instances (none: skip)")
    parser.add_argument("--resolves", type=int, default=2000, help="resolves per throughput measurement")
    parser.add_argument("--resolve-clients", type=int, default=4, help="concurrent resolve clients per instance")
    add_output_arguments(parser, "scale_out")
    args = parser.parse_args(argv)
    truth = truth_of(generate(mix_from_args(args)))
    keys = sorted(truth.owner)
    print(f"population: {args.people} people, {len(truth.events)} events, {len(keys)} distinct identifiers",
          file=sys.stderr)
    scaled = one_run(args, args.instances, truth, keys, f"scale{args.instances}",
                     throughput=[k for k in args.resolve_instances if k <= max(args.instances, 1)])
    single = one_run(args, 1, truth, keys, "single")
    results = {"population": asdict(mix_from_args(args)), "gremlin_url": args.gremlin_url, "batch": args.batch,
               "clients_per_instance": args.clients, "scaled": scaled, "single": single}
    finish(args, results)
    print(f"instances={args.instances} events={scaled['events']} acknowledged={scaled['acknowledged']} "
          f"lost={scaled['lost']} duplicate_identifiers={scaled['duplicate_identifiers']} "
          f"check={'ok' if scaled['check']['ok'] else 'FAILED'} precision={scaled['precision']} "
          f"recall={scaled['recall']} single_precision={single['precision']} single_recall={single['recall']} "
          f"ingest_events_per_s={scaled['ingest_events_per_s']} "
          f"single_ingest_events_per_s={single['ingest_events_per_s']}")
    return 0 if scaled["check"]["ok"] and single["check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
