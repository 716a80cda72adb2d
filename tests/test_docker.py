"""The docker/ path: a real Apache TinkerPop Gremlin Server from docker-compose.yml.

Run with `pytest --docker` on a machine with a Docker engine; skipped otherwise (see conftest.py).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

import gremlin

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def docker_compose_file(pytestconfig) -> str:
    return str(Path(__file__).resolve().parent.parent / "docker" / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up --build -d gremlin-server"]


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def gremlin_server_url(docker_ip, docker_services) -> str:
    port = docker_services.port_for("gremlin-server", 8182)
    docker_services.wait_until_responsive(timeout=120.0, pause=1.0, check=lambda: _listening(docker_ip, port))
    return f"ws://{docker_ip}:{port}/gremlin"


def test_real_gremlin_server_accepts_the_services_traversals(gremlin_server_url):
    conn = gremlin.connect(gremlin_server_url)
    g = traversal().with_remote(conn)
    try:
        g.V().drop().iterate()
        g.add_v("identifier").property(T.id, "t1:email:abc").property("tenant", "t1").iterate()
        assert g.V("t1:email:abc").values("tenant").next() == "t1"
    finally:
        conn.close()


def test_the_identity_core_ingests_and_resolves_on_the_real_gremlin_server(gremlin_server_url):
    from identity import IdentityGraph
    from identity.graph.connection import open_traversal

    ids = IdentityGraph(open_traversal(gremlin_server_url), "docker-test")
    results = ids.ingest([{"event_id": "e1", "type": "login", "identifiers": [
        {"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+1 415 555 0100"}]}])
    resolution = ids.resolve("phone", "+14155550100")
    assert resolution.customer_id == results[0].customer_id
    assert [i["value"] for i in resolution.identifiers["email"]] == ["ann@example.com"]
