"""The data directory is its owner's alone (issue #14, item 7: graph files were 0644 and
directories 0755): everything the ``identity`` command creates is made 0600/0700, the durable
graph is whatever the umask, and ``identity serve`` refuses a data directory others can reach."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from identity.security.files import exclusive_lock, exposed
from identity.service import cli

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): f"{stat.S_IMODE(path.stat().st_mode):04o}"
            for path in [root, *sorted(root.rglob("*"))]}


def test_everything_the_cli_creates_is_private(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"event_id": "e1", "type": "signup",
                                  "identifiers": [{"type": "email", "value": "ann@example.com"}]}) + "\n")
    with umask(0o022):  # a usual login shell's
        for argv in (["tenant", "create", "acme", "--region", "local"], ["key", "create", "acme"],
                     ["load", str(events), "--tenant", "acme"]):
            assert cli.main([*argv, "--data-dir", str(data)]) == 0
        assert os.umask(0o022) == 0o022  # the command's own umask did not outlive it
    capsys.readouterr()
    found = modes(data)
    assert {"graph", "keys", "tenants.json", "kek.key"} <= set(found) and any(name.startswith("graph/") for name in found)
    assert {name: mode for name, mode in found.items() if mode not in ("0700", "0600")} == {}
    assert {found[name] for name in found if (data / name).is_dir()} == {"0700"}


def test_the_durable_graph_is_private_whatever_the_umask(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'graph'}"
    with umask(0o022):
        g = traversal().with_remote(gremlin.connect(url))
        g.add_v("person").iterate()
        found = modes(tmp_path / "graph")  # the SQLite file, its -wal and -shm, the lock
        gremlin.forget_graph(url)
    assert len(found) >= 4 and set(found.values()) <= {"0600", "0700"} and found["."] == "0700"
    assert exposed(tmp_path / "graph") == []


def test_lock_files_are_private(tmp_path: Path) -> None:
    with umask(0o022), exclusive_lock(tmp_path / "x.lock"):
        pass
    assert stat.S_IMODE((tmp_path / "x.lock").stat().st_mode) == 0o600


def test_serve_refuses_a_data_directory_open_to_other_users(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    assert cli.main(["tenant", "create", "acme", "--region", "local", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    (data / "tenants.json").chmod(0o644)
    (data / "keys").mkdir(mode=0o755, exist_ok=True)
    (data / "keys").chmod(0o755)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "identity", "serve", "--port", "0", "--no-gremlin",
                           "--data-dir", str(data)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout
    assert "is open to other users" in done.stderr and "tenants.json (0644)" in done.stderr
    assert "keys (0755)" in done.stderr and f"chmod -R go= {data}" in done.stderr
    assert "listening" not in done.stdout
    assert sorted(path.name for path in exposed(data)) == ["keys", "tenants.json"]
