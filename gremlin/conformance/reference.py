"""The reference: a real Gremlin Server 3.7.3 with TinkerPop's own test configuration, for a run.

``python -m gremlin.conformance --url reference`` starts ``../shared/gremlin-server`` (relative to
the repository root) with the graph TinkerPop's scenario runs use (``.ci/reference``: TinkerGraph
with INTEGER id managers, the tinker.search and tinker.degree.centrality services registered),
runs the scenarios against it and stops it. ``reference?port=N`` picks the port (otherwise a free
one). Starting is bounded (the ``start`` script gives up after 120 s) and the server is stopped
whatever happens to the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["ReferenceServer", "ReferenceUnavailable", "SHARED_SERVER", "CONFIGURATION"]

_REPOSITORY = Path(__file__).resolve().parents[2]
#: The Gremlin Server distribution the project's machines and CI have beside the repository.
SHARED_SERVER = _REPOSITORY.parent / "shared" / "gremlin-server"
#: TinkerPop's test configuration, written for this project: graph properties and init script.
CONFIGURATION = _REPOSITORY / ".ci" / "reference"
_START_SECONDS = 150
_STOP_SECONDS = 60


class ReferenceUnavailable(RuntimeError):
    """The reference server cannot run here (no Java, no server) or did not start."""


class ReferenceServer:
    """A Gremlin Server started with TinkerPop's test configuration; ``stop()`` (or leaving the
    ``with`` block) stops it and removes its state directory."""

    def __init__(self, port: int | None = None, *, home: Path = SHARED_SERVER, configuration: Path = CONFIGURATION,
                 heap: str = "1g"):
        self.home = home
        self.port = port or _free_port()
        self.graph = configuration / "tinkergraph-conformance.properties"
        self.init = configuration / "conformance-init.groovy"
        self.heap = heap
        self.state: Path | None = None
        self.url: str | None = None

    def start(self) -> str:
        if shutil.which("java") is None:
            raise ReferenceUnavailable(f"no java on PATH to run the reference Gremlin Server ({self.home})")
        if not (self.home / "start").exists():
            raise ReferenceUnavailable(f"no Gremlin Server at {self.home}")
        self.state = Path(tempfile.mkdtemp(prefix=f"conformance-reference-{self.port}-"))
        command = [str(self.home / "start"), "--port", str(self.port), "--state", str(self.state),
                   "--graph", str(self.graph), "--init", str(self.init)]
        try:
            done = subprocess.run(command, timeout=_START_SECONDS, capture_output=True, text=True,
                                  env={**os.environ, "GREMLIN_SERVER_HEAP": self.heap}, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ReferenceUnavailable(f"the reference Gremlin Server gave no answer within {_START_SECONDS} s") from None
        if done.returncode != 0:
            said = (done.stderr or "").strip()
            self.stop()
            raise ReferenceUnavailable(f"the reference Gremlin Server did not start: {said}")
        self.url = done.stdout.strip().splitlines()[-1]
        return self.url

    def stop(self) -> None:
        if self.state is None:
            return
        try:
            subprocess.run([str(self.home / "stop"), "--port", str(self.port), "--state", str(self.state)],
                           timeout=_STOP_SECONDS, capture_output=True, check=False)
        finally:
            shutil.rmtree(self.state, ignore_errors=True)
            self.state = None

    def __enter__(self) -> "ReferenceServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
