"""Empty graphs on every backend the tests run against (tests/conftest.py, tests/identity/).

- memory: the in-process engine;
- durable: the in-process engine on a SQLite directory;
- endpoint-graphbinary / endpoint-graphson: our WebSocket endpoint through the stock driver;
- gremlin-server: a real Apache TinkerPop Gremlin Server, when GREMLIN_SERVER_URL is set.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal

import gremlin

GREMLIN_SERVER_URL = os.environ.get("GREMLIN_SERVER_URL")


def clear(url: str) -> None:
    """Drop every element of the graph at ``url``."""
    conn = gremlin.connect(url)
    try:
        traversal().with_remote(conn).V().drop().iterate()
    finally:
        conn.close()


@contextmanager
def empty_graph(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty graph on the backend ``kind``; the endpoint kinds mark the test
    ``integration``, gremlin-server skips it unless GREMLIN_SERVER_URL is set."""
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
        url = f"{request.getfixturevalue('endpoint_url')}?serializer={kind.split('-', 1)[1]}"
        clear(url)
        yield url
    elif kind == "gremlin-server":
        if not GREMLIN_SERVER_URL:
            pytest.skip("set GREMLIN_SERVER_URL=ws://host:8182/gremlin to run against a real Gremlin Server")
        request.node.add_marker(pytest.mark.integration)
        clear(GREMLIN_SERVER_URL)
        yield GREMLIN_SERVER_URL
    else:
        raise ValueError(f"unknown backend {kind!r}")
