"""``serve()``: startup banner data, dev tenant bootstrap, graceful drain on stop."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from service_support import make_service
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.testing import AsyncTestCase, gen_test

from identity.security import auth
from identity.security.tenants import TenantRegistry
from identity.service.config import Config
from identity.service.rpc.server import DEV_TENANT, ServerInfo, ensure_dev_tenant, serve, shared_graph_url
from identity.service.rpc.service import Service


def test_dev_tenant_is_created_once(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    key = ensure_dev_tenant(registry)
    assert key is not None
    principal = auth.authenticate(registry, f"Bearer {key}")
    assert principal.is_admin and not principal.is_operator  # dev's own admin, no platform rights
    assert ensure_dev_tenant(registry) is None
    assert registry.tenant(DEV_TENANT) is not None


def test_anonymous_memory_url_gets_a_shared_name() -> None:
    named = shared_graph_url("memory://?profile=neptune")
    assert named.startswith("memory://identity-") and named.endswith("?profile=neptune")
    assert shared_graph_url("memory://mine") == "memory://mine"
    assert shared_graph_url("file:///var/x") == "file:///var/x"


async def start_serving(service: Service, data_dir: Path, graph_url: str) -> tuple[asyncio.Future, asyncio.Event,
                                                                                   ServerInfo]:
    """serve() on a free port (20 s grace period), once it is ready: its task, its stop event, its info."""
    config = Config(port=0, data_dir=str(data_dir), graph_url=graph_url, gremlin_enabled=False, grace_period=20)
    ready: list[ServerInfo] = []
    stop = asyncio.Event()
    server = asyncio.ensure_future(serve(config, stop=stop, on_ready=ready.append, handle_signals=False,
                                         service=service))
    while not ready:
        await asyncio.sleep(0.01)
    return server, stop, ready[0]


class GracefulShutdown(AsyncTestCase):
    tmp: Path

    @gen_test(timeout=30)
    async def test_in_flight_request_finishes_after_stop(self) -> None:
        fx = make_service(self.tmp)
        gate = threading.Event()
        fx.service.identity("acme").gate = gate  # type: ignore[attr-defined]
        server, stop, info = await start_serving(fx.service, self.tmp, "memory://")
        assert info.dev_key is not None and info.gremlin_url is None
        body = {"jsonrpc": "2.0", "method": "ingest", "id": 1,
                "params": {"events": [{"type": "t", "identifiers": [{"type": "email", "value": "a@b.c"}]}]}}
        request = HTTPRequest(info.url + "/rpc", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"Bearer {fx.admin_key}"}, request_timeout=25)
        pending = asyncio.ensure_future(AsyncHTTPClient().fetch(request, raise_error=False))
        while fx.service.inflight == 0:
            await asyncio.sleep(0.01)
        stop.set()
        while not fx.service.draining:
            await asyncio.sleep(0.01)
        assert not server.done()  # waiting for the in-flight request
        gate.set()
        response = await pending
        assert response.code == 200 and json.loads(response.body)["result"]["results"][0]["customer_id"]
        await server
        assert fx.service.executor._shutdown  # type: ignore[attr-defined]

    @gen_test(timeout=30)
    async def test_ingests_queued_behind_the_writer_are_written_before_shutdown(self) -> None:
        import uuid

        import gremlin
        from service_support import real_service

        graph_url = f"memory://drain-{uuid.uuid4().hex}"
        # three calls of one tenant at once: one writing, two queued behind it
        real = real_service(self.tmp, graph_url, {"acme": "local"}, tenant_concurrency=3)
        writer = real.service.identity("acme")._ingest_writer  # type: ignore[attr-defined]
        write_batch, entered, gate, batches = writer._write_batch, threading.Event(), threading.Event(), []

        def held_write(items: list) -> list:
            entered.set()
            assert gate.wait(25)
            batches.append(len(items))
            return write_batch(items)

        writer._write_batch = held_write
        server, stop, info = await start_serving(real.service, self.tmp, graph_url)

        def ingest(n: int) -> asyncio.Future:
            body = {"jsonrpc": "2.0", "method": "ingest", "id": n, "params": {"events": [
                {"event_id": f"e{n}", "type": "t", "identifiers": [{"type": "email", "value": f"p{n}@example.com"}]}]}}
            return asyncio.ensure_future(AsyncHTTPClient().fetch(HTTPRequest(
                info.url + "/rpc", method="POST", body=json.dumps(body), request_timeout=25,
                headers={"Authorization": f"Bearer {real.keys['acme']}"}), raise_error=False))

        try:
            calls = [ingest(0)]
            while not entered.is_set():
                await asyncio.sleep(0.01)
            calls += [ingest(1), ingest(2)]
            while writer.waiting < 2:
                await asyncio.sleep(0.01)
            stop.set()
            while not real.service.draining:
                await asyncio.sleep(0.01)
            assert not server.done()  # waiting for the writer and the callers queued behind it
            gate.set()
            responses = await asyncio.gather(*calls)
            await server
        finally:
            gate.set()
            gremlin.forget_graph(graph_url)
        assert [json.loads(r.body)["result"]["results"][0]["event_id"] for r in responses] == ["e0", "e1", "e2"]
        assert batches == [1, 2]  # the two queued calls were written together
