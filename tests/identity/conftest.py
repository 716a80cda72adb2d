"""Fixtures for the identity core tests: every graph test runs on the local engine with the
TinkerGraph rules and with Amazon Neptune's (memory://?profile=neptune), on the durable engine
(file://), on our endpoint through the stock driver, and on a real Gremlin Server serving
TinkerGraph and one serving TinkerTransactionGraph (tests/backends.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from identity import IdentityGraph, TenantConfig
from tests.backends import empty_graph

#: fixture id -> the in-process URL (a new private graph per connection) or a tests/backends.py kind
BACKENDS = {"tinkergraph": "memory://", "neptune": "memory://?profile=neptune", "durable": "durable",
            "endpoint": "endpoint-graphbinary", "gremlin-server": "gremlin-server",
            "gremlin-server-tx": "gremlin-server-tx"}


class CountingConnection(RemoteConnection):
    """Wraps a RemoteConnection and counts round trips (one per submitted traversal)."""

    def __init__(self, inner: RemoteConnection):
        super().__init__(inner.url, inner.traversal_source)
        self.inner = inner
        self.submits = 0
        self.sent: list = []  # the bytecode of each round trip

    def submit(self, bytecode: Any) -> Any:
        self.submits += 1
        self.sent.append(bytecode)
        return self.inner.submit(bytecode)

    def close(self) -> None:
        self.inner.close()


class Clock:
    """A settable clock (seconds), so tests control which identifier is older."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


@pytest.fixture(params=list(BACKENDS.values()), ids=list(BACKENDS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty graph on each backend."""
    if request.param.startswith("memory://"):
        yield request.param
        return
    with empty_graph(request.param, request, tmp_path) as named:
        yield named


@pytest.fixture
def connection(url: str) -> CountingConnection:
    conn = CountingConnection(gremlin.connect(url))
    yield conn
    conn.close()


@pytest.fixture
def g(connection: CountingConnection):
    return traversal().with_remote(connection)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_identity(g, clock: Clock) -> Callable[..., IdentityGraph]:
    def make(tenant: str = "acme", config: TenantConfig | None = None) -> IdentityGraph:
        return IdentityGraph(g, tenant, config=config, clock=clock)
    return make


@pytest.fixture
def identity(make_identity) -> IdentityGraph:
    return make_identity()
