"""One tenant floods the service; how fast are the other tenant's resolves? (issue #14, item 4)

    python benchmarks/flood.py                      # durable graph, the service's default limits
    python benchmarks/flood.py --modes limits unlimited --seconds 30
    python benchmarks/flood.py --tree /path/to/other/checkout --modes unlimited   # another tree
    python benchmarks/flood.py --backend gremlin --gremlin-url ws://127.0.0.1:8182/gremlin

A real ``identity serve`` (benchmarks/service.py) on a fresh graph (the embedded durable graph by
default; with ``--backend gremlin``, a Gremlin Server's, which runs traversals side by side where
the embedded graph runs one at a time) with two tenants: ``dev`` (the victim) and
``flood``. The victim sends resolves at a fixed rate (open loop: latency counts from each call's
planned start, so a slow server cannot hide queueing) from two connections; first alone
(baseline), then while ``--flooders`` connections of the flood tenant send, back to back, the
requests of the issue that were too heavy: a batch of ``--stats-batch`` stats calls (full scans
of the flood tenant's graph) and an ingest of events of ``--width`` identifiers each. A flooder
that is answered 429 waits the Retry-After it was given, as the bundled clients do.

Modes (the service's settings while flooded):

- ``limits``: the defaults (cost-charged rate limit, max_request_cost, tenant_concurrency,
  tenant_queue);
- ``unlimited``: no rate limit, no cost ceiling, every worker open to one tenant: the limits as
  they were before they knew cost (deadlines still hold: they are not a setting).

Prints per phase the victim's resolve latency (p50/p95/p99/max), the flood's outcomes by kind, and
writes docs/benchmarks/flood.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import ROOT, add_output_arguments, finish, latency_summary  # noqa: E402
from benchmarks.service import RpcClient, Server, _env, run_load, running_service  # noqa: E402
from identity.service.config import Config  # noqa: E402

MODES = {
    "limits": {},
    "unlimited": {"IDENTITY_RATE_PER_SECOND": "0", "IDENTITY_MAX_REQUEST_COST": str(10 ** 12),
                  "IDENTITY_TENANT_CONCURRENCY": "64", "IDENTITY_TENANT_QUEUE": "100000"},
}
#: the service's default rate limit (the benchmark harness turns it off unless told)
_DEFAULT_RATE = {"IDENTITY_RATE_PER_SECOND": str(Config().rate_per_second)}
_SEED_BATCH = 500


def _event(prefix: str, n: int, width: int) -> dict:
    return {"event_id": f"{prefix}-{n}", "type": "signup",
            "identifiers": [{"type": "email", "value": f"{prefix}{n}@example.com"},
                            {"type": "phone", "value": f"+1415{n % 10_000_000:07d}"},
                            *({"type": "partner_id", "value": f"{prefix}-{n}-{k}"} for k in range(width - 2))]}


def _flood_key(server: Server, tree: Path) -> str:
    """Tenant ``flood`` and a key for it, made with the CLI on the running server's data dir
    (the server sees the registry change)."""
    env = {**_env(tree), "IDENTITY_DATA_DIR": str(server.data_dir)}
    command = [sys.executable, "-m", "identity"]
    subprocess.run([*command, "tenant", "create", "flood", "--region", "local"], env=env, check=True,
                   capture_output=True, text=True, timeout=120)
    made = subprocess.run([*command, "key", "create", "flood"], env=env, check=True, capture_output=True, text=True,
                          timeout=120)
    return made.stdout.split()[-1]


def _seed(server: Server, prefix: str, events: int) -> None:
    """Ingest ``events`` small events, waiting out the rate limit (Retry-After) like a client does."""
    for start in range(0, events, _SEED_BATCH):
        batch = {"events": [_event(prefix, n, 3) for n in range(start, min(events, start + _SEED_BATCH))]}
        for _ in range(100):
            rpc = RpcClient(server, timeout=600)  # a 429 before the body closes the connection
            try:
                rpc.call("ingest", batch)
                break
            except RuntimeError as error:
                if "HTTP 429" not in str(error):
                    raise
                waited = re.search(r"'retry_after': (\d+)", str(error))
                time.sleep(int(waited.group(1)) if waited else 1)
            finally:
                rpc.close()


class Flooder(threading.Thread):
    """Sends heavy requests back to back until ``stop``; counts what they got."""

    def __init__(self, server: Server, key: str, bodies: list[str], stop: threading.Event, outcomes: dict[str, int],
                 lock: threading.Lock):
        super().__init__(daemon=True)
        self.server, self.key, self.bodies, self.stop, self.outcomes, self.lock = server, key, bodies, stop, outcomes, lock

    def run(self) -> None:
        parts = urlsplit(self.server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        n = 0
        while not self.stop.is_set():
            body = self.bodies[n % len(self.bodies)]
            n += 1
            try:
                connection.request("POST", "/rpc", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                self._count("connection error")
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
                continue
            kind, wait = self._kind(response, payload)
            self._count(kind)
            if wait:
                self.stop.wait(wait)
        connection.close()

    @staticmethod
    def _kind(response: http.client.HTTPResponse, payload: bytes) -> tuple[str, float]:
        if response.status == 429:
            return "429 rate limited", float(response.getheader("Retry-After") or 1)
        if response.status != 200:
            return f"HTTP {response.status}", 0.0
        document = json.loads(payload)
        answers = document if isinstance(document, list) else [document]
        codes = sorted({str(a["error"]["code"]) for a in answers if "error" in a})
        return ("ok" if not codes else "error " + ",".join(codes)), 0.0

    def _count(self, kind: str) -> None:
        with self.lock:
            self.outcomes[kind] = self.outcomes.get(kind, 0) + 1


def _victim(server: Server, seconds: float, rate: float, victims: int) -> dict[str, Any]:
    calls = [("resolve", {"type": "email", "value": f"victim{n % victims}@example.com"})
             for n in range(int(seconds * rate))]
    return run_load(server, calls, 2, rate=rate, quiet=True)


def _phase(server: Server, flood_key: str, args: argparse.Namespace, flooding: bool) -> dict[str, Any]:
    stop, lock, outcomes = threading.Event(), threading.Lock(), {}
    stats = json.dumps([{"jsonrpc": "2.0", "id": n, "method": "stats"} for n in range(args.stats_batch)])
    ingest = [json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ingest", "params": {
        "events": [_event(f"heavy{round_}", n, args.width) for n in range(args.heavy_events)]}})
        for round_ in range(20)]
    flooders = [Flooder(server, flood_key, [stats, *ingest] if n % 2 == 0 else [*ingest, stats], stop, outcomes, lock)
                for n in range(args.flooders)] if flooding else []
    for flooder in flooders:
        flooder.start()
    time.sleep(1.0 if flooding else 0.0)  # the flood is on before the victim starts
    started = time.monotonic()
    victim = _victim(server, args.seconds, args.rate, args.victim_events)
    stop.set()
    for flooder in flooders:
        flooder.join(timeout=600)
    row = {"victim": {key: victim[key] for key in ("requests", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors")},
           "victim_seconds": round(time.monotonic() - started, 1), "flood_outcomes": dict(sorted(outcomes.items()))}
    return row


def _line(name: str, row: dict[str, Any]) -> str:
    v = row["victim"]
    flood = ", ".join(f"{k} {n}" for k, n in row["flood_outcomes"].items()) or "none"
    return (f"{name:22s} resolve p50 {v['p50_ms']:8.1f} ms  p95 {v['p95_ms']:8.1f}  p99 {v['p99_ms']:8.1f}  "
            f"max {v['max_ms']:8.1f}  errors {v['errors']}  | flood: {flood}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="durable", choices=("memory", "durable", "gremlin"))
    parser.add_argument("--gremlin-url", help="the Gremlin Server of --backend gremlin (ws://host:port/gremlin)")
    parser.add_argument("--modes", nargs="+", default=["limits", "unlimited"], choices=sorted(MODES))
    parser.add_argument("--seconds", type=float, default=20.0, help="victim load per phase")
    parser.add_argument("--rate", type=float, default=10.0, help="victim resolves a second, over its two connections")
    parser.add_argument("--victim-events", type=int, default=200, help="events the victim tenant holds")
    parser.add_argument("--flood-events", type=int, default=3000, help="events the flood tenant holds (stats scans them)")
    parser.add_argument("--flooders", type=int, default=8, help="flood connections")
    parser.add_argument("--stats-batch", type=int, default=50, help="stats calls in one flood batch (100 units each)")
    parser.add_argument("--heavy-events", type=int, default=60, help="events in one flood ingest")
    parser.add_argument("--width", type=int, default=30, help="identifiers per event of a flood ingest")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose service is measured")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        help="a service setting for every mode, e.g. --set tenant_concurrency=1")
    add_output_arguments(parser, "flood")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"backend": args.backend, "settings": {
        k: getattr(args, k) for k in ("seconds", "rate", "victim_events", "flood_events", "flooders", "stats_batch",
                                      "heavy_events", "width")}, "tree": str(args.tree.resolve()), "modes": {}}
    extra = {f"IDENTITY_{name.strip().upper()}": value.strip()
             for name, value in (setting.split("=", 1) for setting in args.set)}
    results["settings"]["set"] = args.set
    for mode in args.modes:
        settings = {**_DEFAULT_RATE, **MODES[mode], **extra}
        with running_service(args.backend, gremlin_url=args.gremlin_url, settings=settings, tree=args.tree) as server:
            flood_key = _flood_key(server, args.tree)
            _seed(server, "victim", args.victim_events)
            flood = Server(server.url, flood_key, server.pid, server.backend, server.gremlin_url, server.data_dir)
            _seed(flood, "flood", args.flood_events)
            rows = {"alone": _phase(server, flood_key, args, flooding=False),
                    "flooded": _phase(server, flood_key, args, flooding=True)}
        results["modes"][mode] = rows
        for phase, row in rows.items():
            print(_line(f"{mode}, {phase}", row), flush=True)
    return finish(args, results)


if __name__ == "__main__":
    sys.exit(main())
