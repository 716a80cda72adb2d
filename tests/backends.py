"""Empty graphs on every backend the tests run against (tests/conftest.py, tests/identity/).

- memory: the in-process engine;
- durable: the in-process engine on a SQLite directory;
- endpoint-graphbinary / endpoint-graphson: our WebSocket endpoint through the stock driver;
- gremlin-server / gremlin-server-tx: a real Apache TinkerPop Gremlin Server serving TinkerGraph /
  TinkerTransactionGraph (tests/gremlin_servers.py starts them, or GREMLIN_SERVER_URL /
  GREMLIN_SERVER_TX_URL name them).

A test marked ``transactions`` needs each traversal to be a transaction (a failed one leaves
nothing, concurrent ones do not see each other's writes): it skips on a real server without them.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal

import gremlin
from tests.gremlin_servers import KINDS as REAL_SERVERS, is_real_server, reset

__all__ = ["REAL_SERVERS", "clear", "empty_graph"]


def clear(url: str) -> None:
    """Drop every element of the graph at ``url`` (a real server's: see gremlin_servers.reset)."""
    if is_real_server(url):
        reset(url)
        return
    conn = gremlin.connect(url)
    try:
        traversal().with_remote(conn).V().drop().iterate()
    finally:
        conn.close()


@contextmanager
def empty_graph(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty graph on the backend ``kind``; the endpoint and real-server kinds
    mark the test ``integration``."""
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
    elif kind in REAL_SERVERS:
        request.node.add_marker(pytest.mark.integration)
        servers = request.getfixturevalue("gremlin_servers")
        url = servers.url(kind)
        if request.node.get_closest_marker("transactions") and not servers.transactional(url):
            pytest.skip("TinkerGraph has no transactions: a failed traversal keeps what it wrote and "
                        "concurrent traversals see each other's writes (runs on gremlin-server-tx)")
        clear(url)
        yield url
    else:
        raise ValueError(f"unknown backend {kind!r}")
