"""identity.service.client against the real app (a server thread for the blocking client, the test's
own loop for the asyncio one): round trips, errors, and the retry policy."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.httpclient import AsyncHTTPClient

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity.graph.resilience import RetryPolicy  # noqa: E402
from identity.service.client import AsyncIdentityClient, ClientError, IdentityClient, Unavailable  # noqa: E402
from identity.service.rpc import make_app  # noqa: E402
from identity.service.rpc.errors import INVALID_PARAMS, UNAUTHORIZED  # noqa: E402
from service_support import real_service  # noqa: E402
from tests.ports import refused_port  # noqa: E402

FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)
EVENTS = [{"event_id": "e1", "type": "signup", "identifiers": [
    {"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+15550100"}]}]


class Flaky(tornado.web.RequestHandler):
    """Answers 503 (Retry-After: 0) ``failures`` times, then passes requests on to /rpc."""

    def initialize(self, state: dict) -> None:
        self.state = state

    async def post(self) -> None:
        self.state["seen"] += 1
        if self.state["failures"] > 0:
            self.state["failures"] -= 1
            self.set_status(503)
            self.set_header("Retry-After", "0")
            self.finish(json.dumps({"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32002, "message": "Graph unavailable"}}))
            return
        real = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{self.request.host.split(':')[1]}/rpc",
                                             method="POST", body=self.request.body, raise_error=False,
                                             headers={"Authorization": self.request.headers["Authorization"]})
        self.set_status(real.code)
        self.finish(real.body)


class Server:
    def __init__(self, tmp: Path):
        self.graph_url = f"memory://client-{uuid.uuid4().hex}"
        real = real_service(tmp, self.graph_url, {"acme": "eu-west-1"}, admin=True, operator=True)
        self.service, self.key = real.service, real.keys["acme"]
        self.flaky = {"failures": 0, "seen": 0}
        self.app = make_app(self.service)
        self.app.add_handlers(r".*", [(r"/flaky/rpc", Flaky, {"state": self.flaky})])
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        server = tornado.httpserver.HTTPServer(self.app)
        server.add_sockets(sockets)
        self.ready.set()
        self.loop.run_forever()
        server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.service.close()
        gremlin.forget_graph(self.graph_url)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path) as running:
        yield running


def test_the_blocking_client_round_trips_every_method(server: Server) -> None:
    client = IdentityClient(server.url, server.key, policy=FAST)
    [result] = client.ingest(EVENTS)["results"]
    found = client.resolve("phone", "+15550100")
    assert found["customer_id"] == result["customer_id"]
    assert client.resolve("email", "nobody@example.com") is None
    assert client.stats()["identifiers"] == 2
    joined = client.explain(("email", "ann@example.com"), ("phone", "+15550100"), max_hops=1)
    assert joined["same_customer"] and joined["paths"][0]["hops"] == 1
    assert client.unlink(("email", "ann@example.com"), ("phone", "+15550100")) == {"unlinked": True}
    apart = client.explain(("email", "ann@example.com"), ("phone", "+15550100"))
    assert not apart["same_customer"] and apart["apart"][0]["reason"] == "do_not_link"
    assert client.tenant_create("globex", "us-east-1")["tenant"] == "globex"
    assert {t["tenant"] for t in client.tenant_list()["tenants"]} == {"acme", "globex"}
    key = client.key_create("globex")
    assert client.key_revoke(key["key_id"])["revoked_at"] is not None


def test_the_client_reports_rejected_events_and_resolves_many(server: Server) -> None:
    client = IdentityClient(server.url, server.key, policy=FAST)
    bad = {"type": "signup", "identifiers": [{"type": "phone", "value": "12"}]}
    with pytest.raises(ClientError) as raised:
        client.ingest([*EVENTS, bad], atomic=True)
    assert raised.value.code == INVALID_PARAMS and client.stats()["events"] == 0
    written, rejected = client.ingest([*EVENTS, bad])["results"]
    assert written["customer_id"] and rejected["error"]["code"] == INVALID_PARAMS
    found, unknown, invalid = client.resolve_many([("phone", "+15550100"), ("email", "nobody@example.com"),
                                                   ("phone", "12")])["results"]
    assert found == client.resolve("phone", "+15550100") and unknown is None
    assert invalid["error"]["data"]["errors"][0]["field"] == "identifiers[2].value"


def test_json_rpc_errors_become_client_errors_without_retries(server: Server) -> None:
    client = IdentityClient(server.url, server.key, policy=FAST)
    with pytest.raises(ClientError) as raised:
        client.resolve("email", "x", max_hops=99)
    assert raised.value.code == INVALID_PARAMS and not isinstance(raised.value, Unavailable)
    with pytest.raises(ClientError) as raised:
        IdentityClient(server.url, "idk_wrong", policy=FAST).stats()
    assert (raised.value.code, raised.value.http_status) == (UNAUTHORIZED, 401)


def test_503_is_retried_honouring_retry_after_and_the_ingest_lands_once(server: Server) -> None:
    server.flaky["failures"] = 3
    client = IdentityClient(server.url + "/flaky", server.key, policy=FAST)
    client.ingest(EVENTS)
    assert server.flaky["seen"] == 4
    server.flaky["failures"] = 1
    client.ingest(EVENTS)  # the same events again: idempotent
    assert IdentityClient(server.url, server.key).stats()["identifiers"] == 2


def test_retries_stop_at_the_policy_limit(server: Server) -> None:
    server.flaky["failures"] = 100
    with pytest.raises(Unavailable) as raised:
        IdentityClient(server.url + "/flaky", server.key, policy=FAST).stats()
    assert server.flaky["seen"] == FAST.attempts and raised.value.http_status == 503


def test_an_open_circuit_is_waited_out_through_retry_after(server: Server) -> None:
    [region] = server.service.router.opened() or [server.service.router.endpoints("local")]
    breaker = region.writer_connection.breaker
    breaker.reset_after = 0.5
    for _ in range(breaker.threshold):
        breaker.record_failure()
    assert IdentityClient(server.url, server.key, policy=FAST).stats()["identifiers"] == 0
    assert breaker.state == "closed"


def test_an_unreachable_service_is_unavailable_after_the_retries() -> None:
    with refused_port() as port, pytest.raises(Unavailable):
        IdentityClient(f"http://127.0.0.1:{port}", "idk_x", policy=FAST).stats()


def test_the_async_client_round_trips_and_retries(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncIdentityClient(server.url + "/flaky", server.key, policy=FAST) as client:
            server.flaky["failures"] = 2
            [result] = (await client.ingest(EVENTS))["results"]
            assert server.flaky["seen"] == 3
            assert (await client.resolve("email", "ann@example.com"))["customer_id"] == result["customer_id"]
            assert (await client.explain(("email", "ann@example.com"), ("email", "bo@example.com")))["apart"] == [
                {"reason": "unknown", "identifier": "b", "detail": "not in this tenant's graph"}]
            with pytest.raises(ClientError) as raised:
                await client.resolve("email", "x", max_hops=99)
            assert raised.value.code == INVALID_PARAMS
        with refused_port() as port, pytest.raises(Unavailable):
            await AsyncIdentityClient(f"http://127.0.0.1:{port}", "idk_x", policy=FAST).stats()

    asyncio.run(scenario())
