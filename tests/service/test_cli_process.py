"""``python -m identity serve`` as a real process: banner, dev key, ingest/resolve, SIGTERM."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def _wait_for(lines: queue.Queue, prefix: str, seen: list[str]) -> str:
    while True:
        line = lines.get(timeout=60)
        if line is None:
            raise AssertionError(f"the server exited before printing {prefix!r}: {seen}")
        seen.append(line)
        if line.startswith(prefix):
            return line


@contextlib.contextmanager
def serving(command: list[str], cwd: Path, env: dict) -> Iterator[tuple[subprocess.Popen, queue.Queue, list[str]]]:
    """``command`` running, its output lines arriving in a queue, and the lines read so far; a
    failed assertion shows its output; it is killed at the end if still running."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        yield process, lines, seen
    except AssertionError:
        process.kill()
        raise AssertionError(f"stdout: {seen}\nstderr: {process.stderr.read()[-3000:]}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def ready(lines: queue.Queue, seen: list[str]) -> tuple[str, str]:
    """The service's URL and dev key, from its banner."""
    url = _wait_for(lines, "identity listening on ", seen).split()[3]
    return url, _wait_for(lines, "dev tenant API key (shown once): ", seen).rsplit(" ", 1)[1]


def _post(url: str, key: str, body: object) -> dict:
    request = urllib.request.Request(url + "/rpc", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_serve_ingest_resolve_and_sigterm(tmp_path: Path) -> None:
    pytest.importorskip("identity.domain.core")
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "IDENTITY_DATA_DIR": str(tmp_path / "data")}
    env.pop("IDENTITY_CONFIG", None)
    command = [sys.executable, "-m", "identity", "serve", "--port", "0", "--gremlin-port", "0"]
    if importlib.util.find_spec("gremlin.durable") is None:  # the default file:// graph is not there yet
        command += ["--graph-url", "memory://"]
    with serving(command, tmp_path, env) as (process, lines, seen):
        url, key = ready(lines, seen)
        with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        event = {"type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"},
                                                   {"type": "phone", "value": "+15550100"}]}
        ingested = _post(url, key, {"jsonrpc": "2.0", "id": 1, "method": "ingest", "params": {"events": [event]}})
        customer = ingested["result"]["results"][0]["customer_id"]
        resolved = _post(url, key, {"jsonrpc": "2.0", "id": 2, "method": "resolve",
                                    "params": {"type": "phone", "value": "+15550100"}})
        assert resolved["result"]["customer_id"] == customer
        with urllib.request.urlopen(url + "/metrics", timeout=30) as response:  # telemetry from OTEL_* env
            metrics = response.read().decode()
        assert 'identity_rpc_duration_seconds_count{rpc_method="resolve",outcome="ok"} 1' in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "identity stopped" in _wait_for(lines, "identity stopped", seen)
    assert (tmp_path / "data" / "tenants.json").exists()
