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

__all__ = ["SharedGremlinServer", "ReferenceServer", "ReferenceUnavailable", "SHARED_SERVER", "CONFIGURATION"]

_REPOSITORY = Path(__file__).resolve().parents[2]
#: The Gremlin Server distribution the project's machines and CI have beside the repository.
SHARED_SERVER = _REPOSITORY.parent / "shared" / "gremlin-server"
#: TinkerPop's test configuration, written for this project: graph properties and init script.
CONFIGURATION = _REPOSITORY / ".ci" / "reference"
_START_SECONDS = 150
_STOP_SECONDS = 60


class ReferenceUnavailable(RuntimeError):
    """The reference server cannot run here (no Java, no server) or did not start."""


class SharedGremlinServer:
    """One ``../shared/gremlin-server`` process: TinkerGraph as the stock server serves it, or
    TinkerTransactionGraph (``transactional``), or the graph a properties file and an init script
    make. ``start()`` is bounded and, without a port given, picks a free one (another if it is
    taken meanwhile); ``stop()`` (or leaving the ``with`` block) stops it and removes its state."""

    def __init__(self, port: int | None = None, *, home: Path = SHARED_SERVER, graph: Path | None = None,
                 init: Path | None = None, transactional: bool = False, heap: str = "1g", name: str = "gremlin-server"):
        self.home, self.given_port, self.port = home, port, port or 0
        self.graph, self.init, self.transactional, self.heap, self.name = graph, init, transactional, heap, name
        self.state: Path | None = None
        self.url: str | None = None

    def start(self, tries: int = 3) -> str:
        if shutil.which("java") is None:
            raise ReferenceUnavailable(f"no java on PATH to run a Gremlin Server ({self.home})")
        if not (self.home / "start").exists():
            raise ReferenceUnavailable(f"no Gremlin Server at {self.home}")
        for attempt in range(tries):
            self.port = self.given_port or _free_port()
            self.state = Path(tempfile.mkdtemp(prefix=f"{self.name}-{self.port}-"))
            try:
                done = subprocess.run(self._command(), timeout=_START_SECONDS, capture_output=True, text=True,
                                      env={**os.environ, "GREMLIN_SERVER_HEAP": self.heap}, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                done = None
            if done is not None and done.returncode == 0 and self.pid() is not None:
                self.url = done.stdout.strip().splitlines()[-1]
                return self.url
            log = self.log_tail()
            self.stop()  # it may have started without answering in time
            said = f"no answer within {_START_SECONDS} s" if done is None else (done.stderr or "").strip()
            if "is taken" in said and not self.given_port and attempt < tries - 1:
                continue  # someone took the port between our probe and the start: another one
            raise ReferenceUnavailable(f"the Gremlin Server ({self.name}) did not start: {said}\n{log}")
        raise AssertionError("unreachable")

    def _command(self) -> list[str]:
        command = [str(self.home / "start"), "--port", str(self.port), "--state", str(self.state)]
        if self.transactional:
            command.append("--transactional")
        if self.graph is not None:
            command += ["--graph", str(self.graph)]
        if self.init is not None:
            command += ["--init", str(self.init)]
        return command

    def pid(self) -> int | None:
        """The server's process id while it runs (the start script records it)."""
        try:
            return int((self.state / "pid").read_text()) if self.state is not None else None
        except (OSError, ValueError):
            return None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.state / "server.log").read_text(errors="replace") if self.state is not None else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.state is None:
            return
        try:
            subprocess.run([str(self.home / "stop"), "--port", str(self.port), "--state", str(self.state)],
                           timeout=_STOP_SECONDS, capture_output=True, check=False)
        finally:
            shutil.rmtree(self.state, ignore_errors=True)
            self.state = None

    def __enter__(self) -> "SharedGremlinServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ReferenceServer(SharedGremlinServer):
    """The Gremlin Server with TinkerPop's test configuration (CONFIGURATION)."""

    def __init__(self, port: int | None = None, *, home: Path = SHARED_SERVER, configuration: Path = CONFIGURATION,
                 heap: str = "1g"):
        super().__init__(port, home=home, graph=configuration / "tinkergraph-conformance.properties",
                         init=configuration / "conformance-init.groovy", heap=heap, name="conformance-reference")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
