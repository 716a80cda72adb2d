"""Fixtures for the identity core tests: every graph test runs on the local engine with the
TinkerGraph rules and with Amazon Neptune's (memory://?profile=neptune)."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from identity import IdentityGraph, TenantConfig

PROFILES = ["memory://", "memory://?profile=neptune"]


class CountingConnection(RemoteConnection):
    """Wraps a RemoteConnection and counts round trips (one per submitted traversal)."""

    def __init__(self, inner: RemoteConnection):
        super().__init__(inner.url, inner.traversal_source)
        self.inner = inner
        self.submits = 0

    def submit(self, bytecode: Any) -> Any:
        self.submits += 1
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


@pytest.fixture(params=PROFILES, ids=["tinkergraph", "neptune"])
def url(request: pytest.FixtureRequest) -> str:
    return request.param


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
