"""The identity service as the RPC benchmarks see it: a real ``identity serve`` process on a
chosen backend, a keep-alive JSON-RPC client, and a load runner with concurrent clients.

Backends: ``memory`` (memory://), ``durable`` (file:// in a temporary directory), ``endpoint``
(our Gremlin endpoint as a separate process, reached over WebSocket with GraphSON, the
serializer the recorded results used) and
``gremlin`` (a real Gremlin Server: by default Apache TinkerPop's from ``../shared/gremlin-server``,
started for the run on a free port when Java is present, or any given by ``--gremlin-url``, such as
Neptune).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar
from urllib.parse import urlsplit

from benchmarks.harness import ROOT, Progress, latency_summary, process_cpu_seconds, process_rss_bytes
from identity.service.rpc.server import DEV_TENANT

__all__ = ["BACKENDS", "Server", "running_service", "RpcClient", "run_load", "run_threads", "backend_names",
           "add_backend_arguments", "add_warmup_argument", "warmup_mix", "after_warmup", "WARMUP_TENANT", "child_process",
           "wait_for_line", "gremlin_server", "SHARED_GREMLIN_SERVER", "scraped"]

BACKENDS = ("memory", "durable", "endpoint", "gremlin")
#: the warm-up population's seed is the measured one's plus this: other people, other identifiers
_WARMUP_SEED_OFFSET = 1_000_003
#: the tenant the warm-up acts for: none of its vertex ids (an event's is named by tenant and event
#: id) and none of its counts (``stats``) is the measured dev tenant's
WARMUP_TENANT = "warmup"
T = TypeVar("T")
_START_TIMEOUT_S = 120
#: Apache TinkerPop's Gremlin Server 3.7.3 beside the checkout (its README says how it runs)
SHARED_GREMLIN_SERVER = ROOT.parent / "shared" / "gremlin-server"


def add_backend_arguments(parser: argparse.ArgumentParser, default: Sequence[str] = ("durable", "gremlin")) -> None:
    parser.add_argument("--backends", nargs="+", default=list(default),
                        help=f"of {', '.join(BACKENDS)} (gremlin: the real Gremlin Server, skipped without Java "
                             "unless --gremlin-url names one)")
    parser.add_argument("--gremlin-url", help="the Gremlin Server of the gremlin backend (ws://host:port/gremlin); "
                                              "default: start ../shared/gremlin-server for the run")


def backend_names(requested: Sequence[str], gremlin_url: str | None) -> list[str]:
    names = list(requested)
    if gremlin_url and "gremlin" not in names:
        names.append("gremlin")
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backends {sorted(unknown)} (known: {', '.join(BACKENDS)})")
    if "gremlin" in names and not gremlin_url and not _can_start_gremlin_server():
        print("gremlin backend skipped: no Java or no ../shared/gremlin-server (give --gremlin-url)", file=sys.stderr)
        names.remove("gremlin")
    return names


def add_warmup_argument(parser: argparse.ArgumentParser, default: int = 1000) -> None:
    parser.add_argument("--warmup-people", type=int, default=default, metavar="N",
                        help="gremlin backend: before the measured run, the same work on N other people (another "
                             "seed) through another identity serve (its own data dir, so another tenant key) on the "
                             "same graph server, not counted: the server's JVM is then warm, as a long-running "
                             f"server's is (default {default}; 0: measure a just-started server)")


def warmup_mix(mix: Any, people: int) -> Any:
    """The warm-up's population: ``mix`` (a benchmarks.population.Mix) with ``people`` people of another seed."""
    return replace(mix, people=people, seed=mix.seed + _WARMUP_SEED_OFFSET)


def after_warmup(backend: str, gremlin_url: str | None, warmup_people: int,
                 measure: Callable[[str | None, bool], T]) -> T:
    """``measure(gremlin_url, False)``: the measured run of ``backend``. On the gremlin backend the
    graph server (``gremlin_url``, or one started here for both runs) first serves
    ``measure(url, True)``, the warm-up on ``warmup_people`` other people (none when 0), whose
    result is dropped: a just-started JVM interprets and compiles the server's code paths during
    the first thousands of requests, which a production server (Neptune, a long-running Gremlin
    Server) has long done. The warm-up's service and
    population must differ from the measured run's (another data dir: another tenant key, so none
    of its vertices is the measured run's). The embedded backends' graph lives in the measured
    service's own process: they get no warm-up."""
    if backend != "gremlin":
        return measure(gremlin_url, False)
    with gremlin_server(gremlin_url) as url:
        if warmup_people > 0:
            print(f"{backend}: warming the graph server up on {warmup_people} other people (not counted)",
                  file=sys.stderr)
            measure(url, True)
        return measure(url, False)


def _can_start_gremlin_server() -> bool:
    return shutil.which("java") is not None and (SHARED_GREMLIN_SERVER / "start").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gremlin_server(url: str | None = None) -> Iterator[str]:
    """``url``, or a fresh ../shared/gremlin-server (TinkerGraph) on a free port, stopped (and its
    state removed) when the block ends."""
    if url:
        yield url
        return
    if not _can_start_gremlin_server():
        raise SystemExit("no Java or no ../shared/gremlin-server: give --gremlin-url")
    with tempfile.TemporaryDirectory(prefix="identity-bench-gs-") as state:
        port = _free_port()
        started = subprocess.run([str(SHARED_GREMLIN_SERVER / "start"), "--port", str(port), "--state", state],
                                 capture_output=True, text=True, timeout=_START_TIMEOUT_S + 30)
        if started.returncode != 0:
            raise RuntimeError(f"../shared/gremlin-server did not start: {started.stderr[-500:]}")
        try:
            yield started.stdout.strip().splitlines()[-1]
        finally:
            subprocess.run([str(SHARED_GREMLIN_SERVER / "stop"), "--port", str(port), "--state", state],
                           capture_output=True, timeout=_START_TIMEOUT_S)


@dataclass
class Server:
    url: str
    key: str
    pid: int
    backend: str
    #: a Gremlin endpoint on the same graph (for the client-side walk), when there is one
    gremlin_url: str | None
    #: the service's data directory (its tenants' key rings: what identifier vertex ids are keyed with)
    data_dir: Path
    #: driver options reaching ``gremlin_url`` (the service's console takes the tenant and its key)
    gremlin_options: dict = field(default_factory=dict)
    #: the tenant ``key`` acts for
    tenant: str = DEV_TENANT

    def cpu_seconds(self) -> float:
        """CPU the service process has used so far."""
        return process_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the service process (Linux /proc; 0 where unavailable)."""
        return process_rss_bytes(self.pid)


def _lines(stream: Any, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def wait_for_line(lines: queue.Queue, prefix: str, process: subprocess.Popen) -> str:
    """The first line ``process`` prints that starts with ``prefix`` (within the start timeout)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError(f"{process.args[:4]} exited (status {process.wait()}) before printing {prefix!r}")
        if line.startswith(prefix):
            return line
    raise RuntimeError(f"{process.args[:4]} printed no {prefix!r} within {_START_TIMEOUT_S}s")


@contextlib.contextmanager
def child_process(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[subprocess.Popen, queue.Queue]]:
    """``command`` running, with the lines it prints on a queue; terminated when the block ends."""
    # BENCH_SERVER_LOGS=1 shows the servers' logs (to see why calls fail)
    logs = None if os.environ.get("BENCH_SERVER_LOGS") else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=logs, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        yield process, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env(tree: Path = ROOT) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    return {**env, "PYTHONPATH": python_path}


@contextlib.contextmanager
def running_service(backend: str, *, gremlin_url: str | None = None, workers: int = 8,
                    settings: dict[str, str] | None = None, tree: Path = ROOT,
                    tenant: str = DEV_TENANT) -> Iterator[Server]:
    """``identity serve`` on ``backend`` (a fresh, empty graph; rate limit off unless ``settings``,
    ``IDENTITY_*`` variables, say otherwise), from the checkout ``tree``, until the block ends. The
    clients act for ``tenant``: the dev tenant, or one created with a key of its own in the
    service's fresh data directory before it starts."""
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        env = _env(tree.resolve())
        if backend == "memory":
            graph_url = "memory://"
        elif backend == "durable":
            graph_url = (work / "graph").as_uri()
        elif backend == "endpoint":
            process, lines = stack.enter_context(child_process(
                [sys.executable, "-m", "gremlin.server", "--port", "0"], env, work))
            graph_url = wait_for_line(lines, "gremlin server listening on ", process).split()[4] + "?serializer=graphson"
        elif backend == "gremlin":
            graph_url = stack.enter_context(gremlin_server(gremlin_url))
        else:
            raise ValueError(f"unknown backend {backend!r}")
        env.update({"IDENTITY_DATA_DIR": str(work / "data"), "IDENTITY_GRAPH_URL": graph_url,
                    "IDENTITY_RATE_PER_SECOND": "0", "IDENTITY_WORKERS": str(workers),
                    "IDENTITY_LOG_LEVEL": "WARNING", **(settings or {})})
        tenant_key = None if tenant == DEV_TENANT else _tenant_key(tenant, env, work)
        process, lines = stack.enter_context(child_process(
            [sys.executable, "-m", "identity", "serve", "--port", "0", "--gremlin-port", "0"], env, work))
        url = wait_for_line(lines, "identity listening on ", process).split()[3]
        console = None
        if urlsplit(graph_url).scheme in ("memory", "file"):
            console = wait_for_line(lines, "gremlin console endpoint on ", process).split()[-1]
        key = wait_for_line(lines, "dev tenant API key", process).split()[-1]
        key = tenant_key or key
        walk_url = console if console else graph_url
        options = {"username": tenant, "password": key} if console else {}
        yield Server(url, key, process.pid, backend, walk_url, work / "data", options, tenant)


def _tenant_key(tenant: str, env: dict[str, str], cwd: Path) -> str:
    """Create ``tenant`` in ``env``'s data directory (``identity tenant create``, ``key create``); its key."""
    for command in (["tenant", "create", tenant, "--region", "local"], ["key", "create", tenant]):
        done = subprocess.run([sys.executable, "-m", "identity", *command], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=_START_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"identity {' '.join(command)}: {done.stderr[-500:]}")
    return done.stdout.split()[-1]


class RpcClient:
    """JSON-RPC over one keep-alive HTTP connection (one per client thread)."""

    def __init__(self, server: Server, timeout: float = 120):
        parts = urlsplit(server.url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
        self._ids = 0

    def call(self, method: str, params: dict | None = None) -> Any:
        self._ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params or {}})
        self._connection.request("POST", "/rpc", body=body, headers=self._headers)
        response = self._connection.getresponse()
        payload = json.loads(response.read())
        if response.status != 200 or "error" in payload:
            raise RuntimeError(f"{method}: HTTP {response.status} {payload.get('error')}")
        return payload["result"]

    def close(self) -> None:
        self._connection.close()


def scraped(servers: list[Server], metric: str) -> float:
    """The sum over ``servers`` of a counter their ``/metrics`` show (every label)."""
    total = 0.0
    for server in servers:
        with urllib.request.urlopen(server.url + "/metrics", timeout=30) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(metric + "{") or line.startswith(metric + " "):
                    total += float(line.rsplit(" ", 1)[1])
    return total


def run_threads(threads: Sequence[threading.Thread]) -> float:
    """Start every thread, wait for them all; the seconds that took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_load(server: Server, calls: Sequence[tuple[str, dict]], concurrency: int, *, rate: float | None = None,
             label: str = "", quiet: bool = False, weight: Callable[[dict], int] = lambda params: 1) -> dict:
    """Send ``calls`` from ``concurrency`` client threads, each on its own connection. Closed loop
    (next call as soon as the last answers) unless ``rate`` (calls/s over all clients): then each
    call has a planned start and its latency counts from then, so a slow server cannot hide
    queueing by slowing the clients down (coordinated omission). ``weight`` counts the units
    a call carries (events in an ingest) for the throughput figure."""
    work: queue.Queue = queue.Queue()
    for n, call in enumerate(calls):
        work.put((n, call))
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    bar = Progress(label, sum(weight(params) for _, params in calls), quiet)
    started = time.perf_counter()

    def client() -> None:
        rpc = RpcClient(server)
        try:
            while True:
                try:
                    n, (method, params) = work.get_nowait()
                except queue.Empty:
                    return
                planned = started + n / rate if rate else time.perf_counter()
                delay = planned - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                try:
                    rpc.call(method, params)
                except Exception as error:  # counted and reported, the load goes on
                    with lock:
                        errors.append(str(error)[:200])
                    continue
                finished = time.perf_counter()
                with lock:
                    latencies.append((finished - planned) * 1000)
                    bar.advance(weight(params))
        finally:
            rpc.close()

    run_threads([threading.Thread(target=client, daemon=True) for _ in range(concurrency)])
    seconds = time.perf_counter() - started
    bar.close()
    if not latencies:
        raise RuntimeError(f"every call failed: {errors[:3]}")
    summary = latency_summary(latencies, seconds)
    units = sum(weight(params) for _, params in calls)
    return {"concurrency": concurrency, "target_rate": rate, **summary,
            "units_per_second": round(units / seconds, 1), "errors": len(errors), "error_samples": errors[:3]}
