"""Backends every graph test runs against (see tests/backends.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from tests.backends import GREMLIN_SERVER_URL, empty_graph

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

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
def backend_name(backend_url: str) -> str:
    if backend_url.startswith("memory"):
        return "memory"
    if backend_url.startswith("file"):
        return "durable"
    if GREMLIN_SERVER_URL and backend_url == GREMLIN_SERVER_URL:
        return "gremlin-server"
    return "endpoint"
