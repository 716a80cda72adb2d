"""The Gremlin console endpoint of ``identity serve`` (issue #14): a tenant's API key reads its
own partition only and writes nothing, an operator key the whole graph, no key nothing; no
console traversal stalls the JSON-RPC service; a taken console port is explained."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.strategies import PartitionStrategy
from gremlin_python.statics import long

from identity.base.errors import ConfigError
from identity.security import auth
from identity.security.auth import AuthenticationFailed
from identity.security.tenants import TenantRegistry
from identity.service.config import Config
from identity.service.console_access import ConsoleAccess
from identity.service.rpc.server import ServerInfo, serve

REPO = Path(__file__).resolve().parents[2]


# ---- who gets what ------------------------------------------------------------------------------

def test_a_tenant_key_gets_its_partition_read_only_and_an_operator_key_everything(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    for tenant in ("acme", "globex"):
        registry.create_tenant(tenant, "local")
    user = auth.issue_key(registry, "acme").key
    admin = auth.issue_key(registry, "acme", admin=True).key
    operator = auth.issue_key(registry, "globex", operator=True).key
    access = ConsoleAccess(registry)
    for key in (user, admin):
        grant = access.grant("acme", key)
        names = [s.strategy_name for s in grant.strategies]
        assert names == ["PartitionStrategy", "ReadOnlyStrategy"] and grant.valid()
        assert grant.strategies[0].configuration["readPartitions"] == ["acme"]
    assert access.grant("globex", operator).strategies == ()
    for user_name, key in (("globex", user), ("acme", operator), ("acme", "idk_nope"), ("acme", ""),
                           ("acme", f"{user}x")):
        with pytest.raises(AuthenticationFailed):
            access.grant(user_name, key)
    grant = access.grant("acme", user)
    registry.revoke_key(auth.key_id_of(user))
    assert not grant.valid()
    with pytest.raises(AuthenticationFailed):
        access.grant("acme", user)


# ---- the served endpoint ------------------------------------------------------------------------

class Served:
    """``serve()`` on free ports in a background thread, with tenants acme and globex, on an
    in-memory graph or a durable one (identity serve's default; a small cache, so reads go to
    its file)."""

    def __init__(self, tmp: Path, graph: str = "memory", **settings: Any):
        self.registry = TenantRegistry(tmp / "data").load()
        self.keys: dict[str, str] = {}
        for tenant in ("acme", "globex"):
            self.registry.create_tenant(tenant, "local")
            self.keys[tenant] = auth.issue_key(self.registry, tenant).key
        self.keys["operator"] = auth.issue_key(self.registry, "globex", operator=True).key
        self.config = Config(port=0, gremlin_port=0, data_dir=str(tmp / "data"), dev_tenant=False,
                             graph_url=f"memory://console-{uuid.uuid4().hex}" if graph == "memory" else
                             f"{(tmp / 'graph').as_uri()}?cache_mb=1", rate_per_second=0,
                             log_level="WARNING", **settings)
        self.info: ServerInfo | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()

            def ready(info: ServerInfo) -> None:
                self.info = info
                self._ready.set()
            await serve(self.config, stop=self._stop, on_ready=ready, handle_signals=False)
        try:
            asyncio.run(run())
        except BaseException as error:  # reported to the test
            self.error = error
            self._ready.set()

    def __enter__(self) -> "Served":
        self._thread.start()
        assert self._ready.wait(60), "serve() did not start"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def rpc(self, tenant: str, method: str, params: dict) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.info.url + "/rpc", data=body, method="POST",  # type: ignore[union-attr]
                                         headers={"Authorization": f"Bearer {self.keys[tenant]}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.loads(response.read())
        assert "error" not in reply, reply
        return reply["result"]

    def ingest(self, tenant: str, people: int) -> None:
        events = [{"event_id": f"{tenant}-{n}", "type": "signup", "identifiers": [
            {"type": "email", "value": f"p{n}@{tenant}.example.com"}, {"type": "phone", "value": f"+1415555{n:04d}"},
            {"type": "device_id", "value": f"{tenant}-device-{n // 3}"}]} for n in range(people)]
        for start in range(0, len(events), 200):
            self.rpc(tenant, "ingest", {"events": events[start:start + 200]})

    @contextmanager
    def console(self, user: str | None, key: str | None = None) -> Iterator[Client]:
        options = {} if user is None else {"username": user, "password": key or self.keys[user]}
        c = Client(self.info.gremlin_url, "g", pool_size=1, **options)  # type: ignore[union-attr]
        try:
            yield c
        finally:
            c.close()
            gc.collect()


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["memory", "durable"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served(tmp_path_factory.mktemp("console"), request.param) as served:
        served.ingest("acme", 30)
        served.ingest("globex", 30)
        yield served


def test_without_a_key_or_with_a_wrong_one_the_console_serves_nothing(served: Served) -> None:
    for user, key in ((None, None), ("acme", served.keys["globex"]), ("acme", "idk_0123456789abcdef_" + "x" * 43),
                      ("globex", served.keys["acme"])):
        with served.console(user, key) as c:
            with pytest.raises(Exception) as caught:
                c.submit("g.V().count()").all().result(30)
        message = str(caught.value)
        assert "401" in message or "username" in message.lower()
        assert served.keys["acme"] not in message and served.keys["globex"] not in message


def test_a_tenant_key_reads_its_own_tenant_only(served: Served) -> None:
    with served.console("acme") as c:
        tenants = c.submit("g.V().values('tenant').dedup()").all().result(30)
        assert tenants == ["acme"]
        assert c.submit("g.E().values('tenant').dedup()").all().result(30) == ["acme"]
        assert c.submit("g.withoutStrategies(PartitionStrategy).V().values('tenant').dedup()").all().result(30) == \
            ["acme"]
        assert c.submit("g.V().has('tenant', 'globex').count()").all().result(30) == [0]
        ids = c.submit("g.V().id()").all().result(30)
        assert ids and all(i.startswith("acme:") for i in ids)
    connection = DriverRemoteConnection(served.info.gremlin_url, "g", username="acme",  # type: ignore[union-attr]
                                        password=served.keys["acme"])
    try:
        g = traversal().with_remote(connection)
        wide = g.with_strategies(PartitionStrategy(partition_key="tenant", write_partition="globex",
                                                   read_partitions=["acme", "globex"]))
        assert set(wide.V().values("tenant").dedup().to_list()) == {"acme"}
    finally:
        connection.close()


@pytest.mark.parametrize("write", ["g.V().drop()", "g.addV('identifier').property('tenant', 'acme')",
                                   "g.V().limit(1).property('degree', 0)", "g.E().drop()",
                                   "g.V().has('tenant', 'globex').drop()"])
def test_a_tenant_key_writes_nothing(served: Served, write: str) -> None:
    with served.console("globex", served.keys["operator"]) as c:
        before = c.submit("g.V().count()").all().result(30) + c.submit("g.E().count()").all().result(30)
    with served.console("acme") as c:
        with pytest.raises(GremlinServerError, match="read only"):
            c.submit(write).all().result(30)
    with served.console("globex", served.keys["operator"]) as c:
        assert c.submit("g.V().count()").all().result(30) + c.submit("g.E().count()").all().result(30) == before


def test_an_operator_key_reads_every_tenant(served: Served) -> None:
    with served.console("globex", served.keys["operator"]) as c:
        assert sorted(c.submit("g.V().values('tenant').dedup()").all().result(30)) == ["acme", "globex"]


def test_a_revoked_key_ends_its_console_session(tmp_path: Path) -> None:
    with Served(tmp_path) as served:
        with served.console("acme") as c:
            assert c.submit("g.V().count()").all().result(30) == [0]
            served.registry.revoke_key(auth.key_id_of(served.keys["acme"]))
            with pytest.raises(GremlinServerError, match="no longer valid"):
                c.submit("g.V().count()").all().result(30)


@pytest.mark.parametrize("graph", ["memory", "durable"])
def test_a_heavy_console_traversal_does_not_stall_the_service(tmp_path: Path, graph: str) -> None:
    with Served(tmp_path, graph, gremlin_timeout_ms=6000) as served:
        served.ingest("acme", 300)
        with served.console("acme") as c:
            heavy = ThreadPoolExecutor(1).submit(
                lambda: c.submit("g.V().repeat(both()).times(1000000).count()").all().result(60))
            time.sleep(0.5)
            latencies = []
            for n in range(10):
                started = time.monotonic()
                served.rpc("acme", "resolve", {"type": "email", "value": f"p{n}@acme.example.com"})
                latencies.append(time.monotonic() - started)
            assert not heavy.done() and max(latencies) < 1.0, latencies
            with pytest.raises(GremlinServerError) as caught:
                heavy.result(30)
            assert caught.value.status_code == 598


def test_a_clients_huge_evaluation_timeout_ends_within_the_servers_cap(tmp_path: Path) -> None:
    with Served(tmp_path, gremlin_timeout_ms=1000) as served:
        served.ingest("acme", 300)
        with served.console("acme") as c:
            started = time.monotonic()
            with pytest.raises(GremlinServerError) as caught:
                c.submit("g.V().repeat(both()).times(1000000).count()",
                         request_options={"evaluationTimeout": long(10 ** 12)}).all().result(30)
            assert caught.value.status_code == 598 and time.monotonic() - started < 4


# ---- a taken port --------------------------------------------------------------------------------

@contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_console_port_is_explained_and_the_api_port_released(tmp_path: Path) -> None:
    with taken_port() as port, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        api_port = probe.getsockname()[1]
        probe.close()
        config = Config(port=api_port, gremlin_port=port, data_dir=str(tmp_path), graph_url="memory://",
                        dev_tenant=False)
        with pytest.raises(ConfigError) as caught:
            asyncio.run(serve(config, handle_signals=False))
    message = str(caught.value)
    assert f"Gremlin console port 127.0.0.1:{port} is already in use" in message
    assert "--gremlin-port" in message and "--no-gremlin" in message
    with socket.socket() as again:  # the API's port was not left bound
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", api_port))


def test_identity_serve_with_the_console_port_taken_says_how_to_choose_another(tmp_path: Path) -> None:
    with taken_port() as port:
        result = subprocess.run([sys.executable, "-m", "identity", "serve", "--port", "0", "--gremlin-port", str(port),
                                 "--graph-url", "memory://", "--data-dir", str(tmp_path)],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"identity: the Gremlin console port 127.0.0.1:{port} is already in use" in result.stderr
    assert "--gremlin-port PORT" in result.stderr and "--no-gremlin" in result.stderr
    assert "Traceback" not in result.stderr and "identity listening" not in result.stdout
