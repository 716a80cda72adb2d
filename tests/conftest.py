"""Backends every graph test runs against (see tests/backends.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from tests.backends import REAL_SERVERS, empty_graph
from tests.gremlin_servers import TRANSACTIONAL, GremlinServers

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

#: the transactional server runs only the tests marked ``transactions`` here (the identity tests,
#: tests/identity/conftest.py, run on both servers)
BACKENDS = ["memory", "durable", "endpoint-graphbinary", "endpoint-graphson", *REAL_SERVERS]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--docker", action="store_true", default=False,
                     help="run the tests that start docker/docker-compose.yml (needs a Docker engine)")


#: tests the real server answers otherwise than our engine today (the engine is wrong there)
KNOWN_REAL_SERVER_FAILURES = REPO / ".ci" / "gremlin-server-known-failures"


def _known_real_server_failures() -> dict[str, str]:
    """Test node id (without its backend) -> what the real server does instead."""
    known = {}
    for line in KNOWN_REAL_SERVER_FAILURES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            node, _, reason = line.partition("#")
            known[node.strip()] = reason.strip()
    return known


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    known = _known_real_server_failures()
    for item in items:
        if "[" in item.nodeid and item.callspec.params.get("backend_url") in REAL_SERVERS:
            reason = known.get(item.nodeid.split("[", 1)[0])
            if reason is not None:  # strict: once the engine is fixed, the line must go
                item.add_marker(pytest.mark.xfail(reason=f"engine differs from the real server: {reason} "
                                                         f"(.ci/gremlin-server-known-failures)", strict=True))
    # the transactional server answers the tests of this folder as the plain one does, except
    # where a test needs transactions: only those run on it
    needless = [item for item in items if _backend_of(item) == TRANSACTIONAL
                and item.get_closest_marker("transactions") is None]
    if needless:
        config.hook.pytest_deselected(items=needless)
        dropped = set(needless)
        items[:] = [item for item in items if item not in dropped]
    if config.getoption("--docker"):
        return
    skip = pytest.mark.skip(reason="needs a Docker engine: run with --docker on a machine that has one")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend_url")


@pytest.fixture(scope="session")
def gremlin_servers() -> Iterator[GremlinServers]:
    """The real Gremlin Servers (tests/gremlin_servers.py), stopped when the session ends."""
    servers = GremlinServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    """Our Gremlin-Server-compatible endpoint on a free loopback port, serving memory://."""
    from gremlin.server import running_server
    with running_server(gremlin.Graph()) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty graph on each backend."""
    with empty_graph(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture
def g(backend_url: str):
    """A traversal source on an empty graph, for each backend."""
    conn = gremlin.connect(backend_url)
    yield traversal().with_remote(conn)
    conn.close()


@pytest.fixture
def backend_name(request: pytest.FixtureRequest, backend_url: str) -> str:
    """memory, durable, endpoint, gremlin-server or gremlin-server-tx."""
    kind = request.node.callspec.params["backend_url"]
    return "endpoint" if kind.startswith("endpoint") else kind
