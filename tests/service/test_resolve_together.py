"""A tenant's resolves waiting for their turn are walked together (Service.run, Joinable): when a
resolve's turn comes, the resolves with the same options already queued behind it run with it, in
one walk. Each caller still gets what it gets alone (its answer, its error, null when unknown), its
deadline and its own span; other options, other methods and other tenants keep their place."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from service_support import TelemetryRecorder, make_service, real_service

import identity.domain.tenant_graph as tenant_graph
from identity.security import auth
from identity.service.rpc import Limits, dispatch, method_table
from identity.service.rpc.admission import Slots
from identity.service.rpc.methods import Context

_WAIT_S = 30  # bounds a wait that would otherwise hang; not a timing assertion
TABLE = method_table()


def _resolve(n: int, value: str, kind: str = "email", **options: Any) -> dict:
    return {"jsonrpc": "2.0", "id": n, "method": "resolve", "params": {"type": kind, "value": value, **options}}


def _event(event_id: str, *identifiers: tuple[str, str]) -> dict:
    return {"event_id": event_id, "type": "signup", "timestamp": "2024-05-01T10:00:00Z",
            "identifiers": [{"type": t, "value": v} for t, v in identifiers]}


async def _queued(service: Any, context: Context, calls: list[dict], *, late: dict | None = None) -> list[Any]:
    """``calls`` (and ``late``, whose deadline passes while it waits) sent while the tenant's only
    slot is held, all queued before it is given back: their replies, in order."""
    until = time.monotonic() + _WAIT_S
    tenant = context.principal.tenant
    assert await service.admission.turn(tenant, until)
    tasks = [asyncio.ensure_future(dispatch.run(dispatch.make_plan(call, TABLE, 10), context)) for call in calls]
    if late is not None:
        soon = Context(context.service, context.principal, deadline=time.monotonic() + 0.05)
        tasks.append(asyncio.ensure_future(dispatch.run(dispatch.make_plan(late, TABLE, 10), soon)))
    slots = service.admission._slots[tenant]
    while len(slots._waiters) + sum(task.done() for task in tasks) < len(tasks):
        assert time.monotonic() < until
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the late one's deadline passes while it waits
    service.admission.release(tenant)
    return list(await asyncio.wait_for(asyncio.gather(*tasks), _WAIT_S))


def _walks_together(graph: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each walk of several resolves ``graph`` makes from now on (resolve_each)."""
    groups: list[int] = []
    resolve_each = graph.resolve_each
    monkeypatch.setattr(graph, "resolve_each", lambda asked, **o: groups.append(len(asked)) or
                        resolve_each(asked, **o))
    return groups


def _context(service: Any, key: str) -> Context:
    return Context(service, auth.authenticate(service.registry, f"Bearer {key}"))


async def _one_at_a_time(context: Context, calls: list[dict]) -> list[Any]:
    return [await dispatch.run(dispatch.make_plan(call, TABLE, 10), context) for call in calls]


def test_queued_resolves_are_walked_together_each_answered_as_alone(backend_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = real_service(tmp_path, backend_url, {"acme": "local"}, tenant_concurrency=1)
    service = real.service
    try:
        graph = service.identity("acme")
        graph.ingest([_event("a", ("email", "ann@example.com"), ("phone", "+15550100001")),
                      _event("b", ("email", "bob@example.com"), ("device_id", "dev-b")),
                      _event("c", ("device_id", "dev-b"), ("cookie", "ck-b")),
                      _event("d", ("email", "carol@example.com"), ("phone", "+15550100003"))])
        customer = graph.resolve("email", "ann@example.com").customer_id
        context = _context(service, real.keys["acme"])
        calls = [_resolve(1, "ann@example.com"), _resolve(2, "nobody@example.com"), _resolve(3, "9", "shoe_size"),
                 _resolve(4, customer, "customer"), _resolve(5, "not a phone", "phone"),
                 _resolve(6, "bob@example.com", max_hops=1),  # other options: a walk of its own
                 _resolve(7, "BOB@example.com"), _resolve(8, "x-1", "customer"),
                 _resolve(9, "carol@example.com", evidence=True), _resolve(10, "ann@example.com")]
        groups = _walks_together(graph, monkeypatch)
        walks: list[int] = []
        submit = tenant_graph.submit
        monkeypatch.setattr(tenant_graph, "submit", lambda traversal: walks.append(1) or submit(traversal))
        with TelemetryRecorder() as recorder:
            together = asyncio.run(_queued(service, context, calls, late=_resolve(11, "ann@example.com")))
        walked_together = len(walks)
        alone = asyncio.run(_one_at_a_time(context, calls))
        assert groups == [8]  # 1-5, 7, 8 and 10 in one walk; 6 and 9 alone; 11 gave up waiting
        assert walked_together == 4 and len(walks) - walked_together == 7  # round trips: together, alone
        assert json.loads(json.dumps(together[:-1])) == json.loads(json.dumps(alone))
        assert together[-1]["error"]["code"] == -32010  # its deadline passed in the queue, as alone
        codes = [reply.get("error", {}).get("code") for reply in alone]
        assert codes == [None, None, -32602, None, -32602, None, None, -32602, None, None]
        assert alone[1]["result"] is None and alone[6]["result"]["customer_id"] == alone[5]["result"]["customer_id"]
        marked = [span for span in recorder.spans.get_finished_spans()
                  if span.name == "resolve" and span.attributes.get("identity.rpc.together") == 8]
        assert len(marked) == 8  # each caller's own span says so
        sizes = recorder.points()["identity.rpc.together"]
        assert [(point.count, point.sum) for point in sizes] == [(1, 8)]
    finally:
        service.close()


def test_the_setting_bounds_the_walk_and_1_walks_each_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [_resolve(n, f"p{n}@example.com") for n in range(7)]
    for together, expected in ((3, [3, 3]), (1, [])):
        (tmp_path / str(together)).mkdir()
        fx = make_service(tmp_path / str(together), limits=Limits(tenant_concurrency=1, resolve_together=together))
        try:
            graph = fx.service.identity("acme")
            graph.ingest([_event(f"e{n}", ("email", f"p{n}@example.com")) for n in range(7)])
            groups = _walks_together(graph, monkeypatch)
            replies = asyncio.run(_queued(fx.service, _context(fx.service, fx.user_key), calls))
            # the first takes 2 along, the fourth the next 2, the seventh runs alone
            assert groups == expected
            assert [reply["result"]["identifiers"]["email"][0]["value"] for reply in replies] == \
                [f"p{n}@example.com" for n in range(7)]
        finally:
            fx.service.close()


def test_each_call_walked_together_pays_its_own_price(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket of 3 units that never refills: three queued resolves are charged, walked together;
    the fourth, which the bucket cannot pay for, is refused as it would be alone."""
    from identity.service.rpc.ratelimit import RateLimiter

    limiter = RateLimiter(rate=0.001, burst=3, clock=lambda: 0.0)
    fx = make_service(tmp_path, limits=Limits(tenant_concurrency=1), limiter=limiter)
    try:
        graph = fx.service.identity("acme")
        graph.ingest([_event(f"e{n}", ("email", f"p{n}@example.com")) for n in range(4)])
        groups = _walks_together(graph, monkeypatch)
        replies = asyncio.run(_queued(fx.service, _context(fx.service, fx.user_key),
                                      [_resolve(n, f"p{n}@example.com") for n in range(3)],
                                      late=_resolve(3, "p3@example.com")))
        assert groups == [3] and all("result" in reply for reply in replies[:3])
        assert replies[3]["error"]["code"] == -32006
        assert limiter._buckets["acme"].tokens == 0  # 1 unit each; their share of the walk's CPU below it
    finally:
        fx.service.close()


def test_taken_along_in_order_leaving_other_keys_and_expired_calls_in_place() -> None:
    class Call:
        def __init__(self, key: str, until: float):
            self.key, self.until, self.taken = key, until, False

    async def scenario() -> None:
        slots, now = Slots(1), time.monotonic()
        assert await slots.acquire(now + 5)
        calls = [Call("a", now + 5), Call("b", now + 5), Call("a", now - 1), Call("a", now + 5), Call("a", now + 5)]
        waiting = [asyncio.ensure_future(slots.acquire(call.until if call.until > now else now + 5, call))
                   for call in calls]
        await asyncio.sleep(0.01)
        taken = slots.take_along("a", 2, now)
        assert taken == [calls[0], calls[3]] and [call.taken for call in calls] == [True, False, False, True, False]
        await asyncio.sleep(0)
        assert [task.done() for task in waiting] == [True, False, False, True, False]
        slots.release()  # the slot goes to the first call still waiting
        assert await asyncio.wait_for(waiting[1], _WAIT_S) and not calls[1].taken
        for task in waiting[2:]:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    asyncio.run(scenario())
