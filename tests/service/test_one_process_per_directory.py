"""The embedded durable graph is served by one process: a second ``identity serve`` on the same
data directory, or a command that opens its graph while it is served, stops at once with a clear
error (exit 2) and the first process serves on, its graph intact. Tested through the command
only, so that it holds whatever the store does inside (the directory lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli_process import _post, ready, serving

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _identity(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "identity", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_second_process_on_a_served_data_directory_stops_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "IDENTITY_DATA_DIR": str(tmp_path / "data")}
    env.pop("IDENTITY_CONFIG", None)
    env.pop("IDENTITY_GRAPH_URL", None)
    with serving([sys.executable, "-m", "identity", "serve", "--port", "0", "--gremlin-port", "0"], tmp_path,
                 env) as (first, lines, seen):
        url, key = ready(lines, seen)
        event = {"event_id": "e1", "type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"},
                                                                   {"type": "phone", "value": "+15550100"}]}
        _post(url, key, {"jsonrpc": "2.0", "id": 1, "method": "ingest", "params": {"events": [event]}})
        graph = tmp_path / "data" / "graph"
        in_use = f"identity: graph directory {graph} is in use by another process (pid {first.pid})"
        for second in (("serve", "--port", "0", "--gremlin-port", "0"),
                       ("serve", "--port", "0", "--no-gremlin"),   # the console endpoint is not what opens it
                       ("forget", "email", "ann@example.com", "--tenant", "dev"),
                       ("check", "--tenant", "dev")):
            done = _identity(*second, env=env, cwd=tmp_path)
            assert (done.returncode, done.stdout) == (2, ""), (second, done.stderr[-2000:])
            assert done.stderr.startswith(in_use), (second, done.stderr[-2000:])
            assert "shared graph server" in done.stderr
        resolved = _post(url, key, {"jsonrpc": "2.0", "id": 2, "method": "resolve",
                                    "params": {"type": "phone", "value": "+15550100"}})
        assert resolved["result"]["identifiers"]["email"][0]["value"] == "ann@example.com"
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
    # free again once the first has stopped; the graph is the one it served
    checked = _identity("check", "--tenant", "dev", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert checked.stdout.strip().endswith("tenant dev: 2 identifiers, 1 links, 1 events, 2 observations: ok")
