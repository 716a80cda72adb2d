"""Limits that know what a request costs (issue #14, item 4): a batch is charged per call and
ingest by events and identifiers, a request over the cost ceiling is refused before it runs, and
one tenant's calls hold at most ``tenant_concurrency`` workers and ``tenant_queue`` open
requests, so other tenants are not starved."""

from __future__ import annotations

import json
import threading
import time

import pytest
from service_support import ServiceTestCase

from identity.security import auth
from identity.service.rpc import Limits
from identity.service.rpc.admission import Slots
from identity.service.rpc.methods import PAIRS_PER_UNIT, STATS_COST, ingest_cost
from identity.service.rpc.ratelimit import TokenBucket

_WAIT_S = 20  # bounds a wait that would otherwise hang; not a timing assertion


def _call(method: str, params: dict | None = None, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params else {})}


def _event(n: int, identifiers: int) -> dict:
    return {"event_id": f"e{n}", "type": "t",
            "identifiers": [{"type": "partner_id", "value": f"p{n}-{k}"} for k in range(identifiers)]}


RESOLVE = _call("resolve", {"type": "email", "value": "a@b.c"})


def test_ingest_costs_an_event_plus_its_pairs_of_identifiers() -> None:
    assert ingest_cost([_event(0, 1), _event(1, 3)]) == 2 + 3 / PAIRS_PER_UNIT
    # the issue's ingest (60 events x 100 identifiers, 33.9 s) against a batch of 1,000 typical events
    assert ingest_cost([_event(n, 100) for n in range(60)]) == 60 + 60 * 4950 / PAIRS_PER_UNIT
    assert ingest_cost([_event(n, 3) for n in range(1000)]) == 1300


def test_a_cost_beyond_the_bucket_waits_for_a_full_bucket_and_leaves_a_debt() -> None:
    bucket = TokenBucket(rate=10.0, burst=20.0, tokens=20.0, updated=0.0)
    assert bucket.take(0.0, 5) == 0.0 and bucket.take(0.0, 100) == 0.5  # not full: nothing charged
    assert bucket.take(0.5, 100) == 0.0 and bucket.tokens == -80.0
    assert bucket.take(0.5, 1) == 8.1  # the next request waits for the debt to be paid back


class CostCharged(ServiceTestCase):
    limits = Limits(max_request_cost=1000)
    bucket = (1.0, 10.0)

    def test_a_batch_is_charged_per_call_and_stops_where_the_tenant_cannot_pay(self) -> None:
        assert all("result" in r for r in json.loads(self.rpc([RESOLVE] * 6).body))  # 6 of the 10 units
        replies = json.loads(self.rpc([{**RESOLVE, "id": n} for n in range(6)]).body)  # 4 left
        assert [r.get("error", {}).get("code") for r in replies] == [None] * 4 + [-32006] * 2
        assert replies[4]["error"]["data"] == {"retry_after": 1} and [r["id"] for r in replies] == list(range(6))
        response = self.rpc(RESOLVE)  # a lone call the tenant cannot pay for is HTTP 429
        assert response.code == 429 and int(response.headers["Retry-After"]) == 1

    def test_a_request_over_the_cost_ceiling_is_refused_before_any_call_runs(self) -> None:
        calls = []
        graph = self.fx.service.identity("acme")
        graph.stats = lambda: calls.append(1) or {}  # type: ignore[method-assign]
        reply = json.loads(self.rpc([_call("stats", request_id=n) for n in range(1000)]).body)  # 100,000 units
        assert reply["error"] == {"code": -32600, "message": "Invalid request: it costs 100000 units, more than "
                                  "the 1000 one request may", "data": {"cost": 100000, "max_request_cost": 1000}}
        heavy = json.loads(self.rpc(_call("ingest", {"events": [_event(n, 100) for n in range(60)]})).body)
        assert heavy["error"]["data"] == {"cost": 29760, "max_request_cost": 1000}
        assert calls == [] and not self.fx.graphs["acme"].seen_events
        assert "result" in json.loads(self.rpc(_call("stats")).body)  # 100 units: within the ceiling...
        assert self.rpc(_call("stats")).code == 429  # ...and the bucket (10) now owes 90
        assert STATS_COST == 100

    def test_the_cpu_a_call_used_beyond_its_price_is_charged_after_it(self) -> None:
        graph = self.fx.service.identity("acme")

        def busy_stats() -> dict:
            started = time.thread_time()
            while time.thread_time() - started < 0.1:  # 100 ms of CPU: 200 units, priced 100
                pass
            return {}

        graph.stats = busy_stats  # type: ignore[method-assign]
        assert "result" in json.loads(self.rpc(_call("stats")).body)
        bucket = self.limiter._buckets["acme"]
        assert bucket.tokens < 10 - 100 - 90  # the price, and about 100 units more
        assert self.rpc(RESOLVE).code == 429


class TenantsShareTheWorkers(ServiceTestCase):
    limits = Limits(tenant_concurrency=1, tenant_queue=3)

    def setUp(self) -> None:
        super().setUp()
        self.fx.service.registry.create_tenant("globex", "eu-west-1")
        self.globex_key = auth.issue_key(self.fx.service.registry, "globex").key

    def hold_acme(self) -> tuple[threading.Event, threading.Event]:
        """acme's ingests wait at a gate (the first one to arrive signals ``entered``)."""
        graph = self.fx.service.identity("acme")
        entered, gate, ingest = threading.Event(), threading.Event(), graph.ingest

        def held(events: list, **options: object) -> list:
            entered.set()
            assert gate.wait(_WAIT_S)
            return ingest(events, **options)

        graph.ingest = held  # type: ignore[method-assign]
        return entered, gate

    def send(self, body: dict, key: str) -> object:
        return self.http_client.fetch(self.get_url("/rpc"), method="POST", body=json.dumps(body), raise_error=False,
                                      headers={"Authorization": f"Bearer {key}"}, request_timeout=_WAIT_S)

    def wait_until(self, condition) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + _WAIT_S
        while not condition():
            assert time.monotonic() < deadline
            self.io_loop.run_sync(lambda: __import__("asyncio").sleep(0.01))

    def test_a_tenant_at_its_concurrency_waits_while_another_tenant_runs(self) -> None:
        entered, gate = self.hold_acme()
        ingest = _call("ingest", {"events": [_event(0, 2)]})
        first = self.send(ingest, self.fx.user_key)
        self.wait_until(entered.is_set)
        second = self.send({**ingest, "id": 2}, self.fx.user_key)  # acme's one slot is taken: it waits
        self.wait_until(lambda: self.fx.service.admission.open_requests("acme") == 2)
        other = self.io_loop.run_sync(lambda: self.send(RESOLVE, self.globex_key), timeout=_WAIT_S)
        assert other.code == 200 and "result" in json.loads(other.body)  # globex is not behind acme
        assert not first.done() and not second.done()
        gate.set()
        replies = [json.loads(self.io_loop.run_sync(lambda f=f: f, timeout=_WAIT_S).body) for f in (first, second)]
        assert [r["result"]["results"][0]["duplicate"] for r in replies] == [False, True]

    def test_requests_beyond_the_tenants_queue_get_429(self) -> None:
        entered, gate = self.hold_acme()
        ingest = _call("ingest", {"events": [_event(0, 2)]})
        pending = [self.send({**ingest, "id": n}, self.fx.user_key) for n in range(3)]
        self.wait_until(lambda: self.fx.service.admission.open_requests("acme") == 3)
        refused = self.fetch("/rpc", method="POST", body=json.dumps(RESOLVE), raise_error=False,
                             headers={"Authorization": f"Bearer {self.fx.user_key}"})
        assert refused.code == 429 and refused.headers["Retry-After"] == "1"
        assert json.loads(refused.body)["error"]["data"] == {"retry_after": 1, "max_open_requests": 3}
        assert self.rpc(RESOLVE, key=self.globex_key).code == 200  # another tenant is not refused
        gate.set()
        for future in pending:
            assert self.io_loop.run_sync(lambda f=future: f, timeout=_WAIT_S).code == 200
        assert self.fx.service.admission.open_requests("acme") == 0
        assert self.rpc(RESOLVE).code == 200


@pytest.mark.parametrize("cancel_after_handover", [False, True])
def test_slots_are_handed_over_in_order_and_never_leak(cancel_after_handover: bool) -> None:
    import asyncio

    async def scenario() -> list[str]:
        slots, order = Slots(1), []
        assert await slots.acquire(time.monotonic() + 1)

        async def waiter(name: str, seconds: float) -> None:
            if await slots.acquire(time.monotonic() + seconds):
                order.append(name)
                slots.release()
            else:
                order.append(name + " gave up")

        late = asyncio.ensure_future(waiter("late", 0.05))
        first = asyncio.ensure_future(waiter("first", 5))
        second = asyncio.ensure_future(waiter("second", 5))
        await asyncio.sleep(0.1)  # "late" gives up while the slot is held
        slots.release()
        if cancel_after_handover:
            first.cancel()  # handed the slot, cancelled before it ran: the slot goes on to "second"
        await asyncio.gather(late, first, second, return_exceptions=True)
        assert slots.held == 0
        return order

    order = asyncio.run(scenario())
    assert order == (["late gave up", "second"] if cancel_after_handover else ["late gave up", "first", "second"])
