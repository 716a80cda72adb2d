"""Real Apache TinkerPop Gremlin Servers for the tests: the reference backend.

Two kinds, each a backend of tests/backends.py:

- ``gremlin-server``: TinkerGraph, as the stock server serves it (no transactions: a traversal
  that fails midway keeps what it wrote, and concurrent traversals see each other's writes);
- ``gremlin-server-tx``: TinkerTransactionGraph, where each request is one transaction that is
  committed when it succeeds and rolled back when it fails, as Neptune treats a traversal.

``GREMLIN_SERVER_URL`` / ``GREMLIN_SERVER_TX_URL`` name servers someone else runs (a
transactional server given as ``GREMLIN_SERVER_URL`` serves both kinds). Otherwise the first test
that needs a kind starts ``../shared/gremlin-server`` on a free loopback port (the start is
bounded), and the session stops it at its end, failed or not; a watchdog process stops it too
if this process dies without cleaning up. On a machine without Java those tests skip, saying so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

import gremlin
from gremlin.conformance.reference import SHARED_SERVER, SharedGremlinServer

__all__ = ["GremlinServers", "reset", "is_real_server", "PLAIN", "TRANSACTIONAL", "KINDS", "SHARED_SERVER"]

PLAIN, TRANSACTIONAL = "gremlin-server", "gremlin-server-tx"
KINDS = (PLAIN, TRANSACTIONAL)
_GIVEN = {PLAIN: "GREMLIN_SERVER_URL", TRANSACTIONAL: "GREMLIN_SERVER_TX_URL"}
STOP_SECONDS = 60
#: seconds any single request of this module may take
REQUEST_SECONDS = 30
#: a test graph is small: no need for the script's 2 GB default per server
HEAP = os.environ.get("GREMLIN_SERVER_HEAP", "1g")
#: the URL of every real server some GremlinServers handed out in this process
_REAL_URLS: set = set()


def is_real_server(url: str) -> bool:
    """Whether ``url`` is one of the real servers (not our endpoint, not in-process)."""
    return url in _REAL_URLS


@dataclass
class _Started:
    """A server this session started, and the watchdog that stops it if this process dies."""

    server: SharedGremlinServer
    watchdog: subprocess.Popen

    @property
    def url(self) -> str:
        return self.server.url

    def cpu_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.server.pid()}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        # the watchdog is ours: end it first so that it does not run stop a second time
        if self.watchdog.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.watchdog.pid, signal.SIGTERM)
            self.watchdog.wait(timeout=STOP_SECONDS)
        self.server.stop()


@dataclass
class GremlinServers:
    """The real servers of one test session, each started the first time a test asks for it."""

    environ: dict = field(default_factory=lambda: dict(os.environ))
    _urls: dict = field(default_factory=dict)
    _transactional: dict = field(default_factory=dict)
    _started: list = field(default_factory=list)
    _failed: dict = field(default_factory=dict)

    def url(self, kind: str) -> str:
        """The URL of the server of ``kind`` (PLAIN or TRANSACTIONAL); skips the calling test
        when none can run here, fails it when one should have started and did not."""
        if kind not in KINDS:
            raise ValueError(f"unknown Gremlin Server kind {kind!r}")
        if kind not in self._urls:
            if kind in self._failed:
                pytest.fail(self._failed[kind], pytrace=False)
            self._urls[kind] = self._given(kind) or self._start(kind)
            _REAL_URLS.add(self._urls[kind])
        return self._urls[kind]

    def transactional(self, url: str) -> bool:
        """Whether a traversal that fails at ``url`` leaves nothing it wrote (probed once)."""
        if url not in self._transactional:
            self._transactional[url] = _rolls_back(url)
        return self._transactional[url]

    def cpu_seconds(self, url: str) -> float | None:
        """CPU time the server at ``url`` has used so far, when this session started it (else None)."""
        for server in self._started:
            if server.url == url:
                return server.cpu_seconds()
        return None

    def close(self) -> None:
        """Stop every server this session started."""
        started, self._started = self._started, []
        for server in started:
            server.stop()

    # -- where a server comes from ----------------------------------------------------------------
    def _given(self, kind: str) -> str | None:
        url = self.environ.get(_GIVEN[kind])
        if url:
            if kind == TRANSACTIONAL and not self.transactional(url):
                pytest.fail(f"GREMLIN_SERVER_TX_URL={url} keeps the writes of a failed traversal: "
                            "it is not a transactional graph (start it with --transactional)", pytrace=False)
            return url
        plain = self.environ.get(_GIVEN[PLAIN])
        if kind == TRANSACTIONAL and plain and self.transactional(plain):
            return plain  # one transactional server given: it serves both kinds
        return None

    def _start(self, kind: str) -> str:
        if shutil.which("java") is None:
            pytest.skip(f"no java on PATH to run a real Gremlin Server ({SHARED_SERVER}); "
                        f"install Java 11+ or set {_GIVEN[kind]}")
        if not (SHARED_SERVER / "start").exists():
            pytest.skip(f"no Gremlin Server at {SHARED_SERVER}; set {_GIVEN[kind]}")
        try:
            server = _start(kind)
        except RuntimeError as error:
            self._failed[kind] = str(error)  # every later test fails at once instead of waiting again
            pytest.fail(str(error), pytrace=False)
        self._started.append(server)
        return server.url


def _start(kind: str) -> _Started:
    """Start ``../shared/gremlin-server`` on a free port; RuntimeError (with its log) if it will not."""
    server = SharedGremlinServer(home=SHARED_SERVER, transactional=kind == TRANSACTIONAL, heap=HEAP,
                                 name=f"identity-{kind}")
    server.start()
    return _Started(server, _watchdog(server.port, server.state))


def _watchdog(port: int, state: Path) -> subprocess.Popen:
    """A process that stops the server once this one is gone, however it went (even SIGKILL)."""
    script = ('while kill -0 "$1" 2>/dev/null; do sleep 1; done; '
              '"$2" --port "$3" --state "$4" >/dev/null 2>&1; rm -rf "$4"')
    return subprocess.Popen(["sh", "-c", script, "watchdog", str(os.getpid()), str(SHARED_SERVER / "stop"),
                             str(port), str(state)], start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _rolls_back(url: str) -> bool:
    """Send a traversal that writes, then fails; see whether its write stayed."""
    probe = f"transaction-probe-{uuid.uuid4().hex}"
    connection = gremlin.connect(url)
    try:
        g = traversal().with_remote(connection)
        try:
            g.add_v("probe").property(T.id, probe).fail("probing for transactions").iterate()
        except Exception:  # the fail() step's error: expected
            pass
        kept = g.V(probe).count().next()
        if kept:
            g.V(probe).drop().iterate()
        return kept == 0
    finally:
        connection.close()


def reset(url: str) -> None:
    """Empty the TinkerGraph behind the real server at ``url``.

    ``graph.clear()`` rather than ``g.V().drop()``: in TinkerPop 3.7.3 TinkerTransactionGraph
    counts every read of an element as a use that a read-only commit never gives back, so an
    element read by one request and later dropped stays behind as a deleted entry, and every
    later request that creates an element with the same id fails with "Conflict: element
    modified in another transaction" (fixed in 3.7.4). The tests reuse ids from test to test.
    A server that takes no scripts (not TinkerGraph) is emptied with ``g.V().drop()``."""
    client = Client(url, "g")
    try:
        client.submit("graph.clear()").all().result(timeout=REQUEST_SECONDS)
        return
    except Exception as error:  # not TinkerGraph, or no scripts: the traversal below still empties it
        print(f"graph.clear() refused by {url} ({error}); dropping every vertex instead", file=sys.stderr)
    finally:
        client.close()
    connection = gremlin.connect(url)
    try:
        traversal().with_remote(connection).V().drop().iterate()
    finally:
        connection.close()
