"""Backends every graph test runs against.

- memory: the in-process engine;
- durable: the in-process engine on a SQLite directory;
- endpoint-graphbinary / endpoint-graphson: our WebSocket endpoint through the stock driver;
- gremlin-server: a real Apache TinkerPop Gremlin Server, when GREMLIN_SERVER_URL is set.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal

import gremlin

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
GREMLIN_SERVER_URL = os.environ.get("GREMLIN_SERVER_URL")

BACKENDS = ["memory", "durable", "endpoint-graphbinary", "endpoint-graphson", "gremlin-server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--docker", action="store_true", default=False,
                     help="run the tests that start docker/docker-compose.yml (needs a Docker engine)")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if config.getoption("--docker"):
        return
    skip = pytest.mark.skip(reason="needs a Docker engine: run with --docker on a machine that has one")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    """Our Gremlin-Server-compatible endpoint on a free loopback port, serving memory://."""
    from gremlin.server import running_server
    with running_server(gremlin.Graph()) as url:
        yield url


def _clear(conn) -> None:
    traversal().with_remote(conn).V().drop().iterate()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty graph on each backend."""
    kind = request.param
    if kind == "memory":
        url = f"memory://test-{uuid.uuid4().hex}"
        yield url
        gremlin.forget_graph(url)
    elif kind == "durable":
        url = f"file://{tmp_path / 'graph'}"
        yield url
        gremlin.forget_graph(url)
    elif kind.startswith("endpoint"):
        request.node.add_marker(pytest.mark.integration)
        url = request.getfixturevalue("endpoint_url")
        serializer = kind.split("-", 1)[1]
        full = f"{url}?serializer={serializer}"
        conn = gremlin.connect(full)
        _clear(conn)
        conn.close()
        yield full
    else:
        if not GREMLIN_SERVER_URL:
            pytest.skip("set GREMLIN_SERVER_URL=ws://host:8182/gremlin to run against a real Gremlin Server")
        conn = gremlin.connect(GREMLIN_SERVER_URL)
        _clear(conn)
        conn.close()
        yield GREMLIN_SERVER_URL


@pytest.fixture
def g(backend_url: str):
    """A traversal source on an empty graph, for each backend."""
    conn = gremlin.connect(backend_url)
    yield traversal().with_remote(conn)
    conn.close()


@pytest.fixture
def backend_name(backend_url: str) -> str:
    if backend_url.startswith("memory"):
        return "memory"
    if backend_url.startswith("file"):
        return "durable"
    if GREMLIN_SERVER_URL and backend_url == GREMLIN_SERVER_URL:
        return "gremlin-server"
    return "endpoint"
