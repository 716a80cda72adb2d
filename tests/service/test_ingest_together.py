"""A tenant's ingests waiting for their turn are written together (Service.run, Joinable, setting
ingest_together): when an ingest's turn comes, the ingests queued behind it run with it, in its
slot and one worker, and the tenant's writer writes their events as one group (one read, one
write). Each call still gets what it gets alone: its results, its invalid events' errors, the
error of an atomic call with an invalid event (nothing of it written). Another tenant keeps its
own slots and workers whatever one tenant queues."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from service_support import TelemetryRecorder, real_service

from identity.security import auth
from identity.service.rpc import dispatch, method_table
from identity.service.rpc.methods import Context

_WAIT_S = 30  # bounds a wait that would otherwise hang; not a timing assertion
TABLE = method_table()


def _event(event_id: str, *identifiers: tuple[str, str]) -> dict:
    return {"event_id": event_id, "type": "signup", "timestamp": "2024-05-01T10:00:00Z",
            "identifiers": [{"type": t, "value": v} for t, v in identifiers]}


def _ingest(n: int, *events: dict, atomic: bool = False) -> dict:
    return {"jsonrpc": "2.0", "id": n, "method": "ingest", "params": {"events": list(events), "atomic": atomic}}


def _calls() -> list[dict]:
    """Six ingests: links across calls, a duplicate, an atomic call with an invalid event, a call
    with one invalid event among valid ones."""
    return [_ingest(1, _event("a", ("email", "ann@example.com"), ("phone", "+15550100001"))),
            _ingest(2, _event("b", ("phone", "+15550100001"), ("device_id", "dev-a")),
                    _event("c", ("email", "bob@example.com"))),
            _ingest(3, _event("d", ("email", "carol@example.com")), _event("e", ("shoe_size", "9")), atomic=True),
            _ingest(4, _event("a", ("email", "ann@example.com"), ("phone", "+15550100001")),
                    _event("f", ("shoe_size", "9")), _event("g", ("email", "bob@example.com"), ("cookie", "ck-1"))),
            _ingest(5, _event("h", ("cookie", "ck-1"), ("email", "dan@example.com"))),
            _ingest(6, _event("i", ("email", "carol@example.com")))]


def _context(service: Any, key: str) -> Context:
    return Context(service, auth.authenticate(service.registry, f"Bearer {key}"))


async def _queued(service: Any, context: Context, calls: list[dict]) -> list[Any]:
    """``calls`` sent while the tenant's only slot is held, all queued before it is given back."""
    until = time.monotonic() + _WAIT_S
    tenant = context.principal.tenant
    assert await service.admission.turn(tenant, until)
    tasks = [asyncio.ensure_future(dispatch.run(dispatch.make_plan(call, TABLE, 10), context)) for call in calls]
    slots = service.admission._slots[tenant]
    while len(slots._waiters) < len(tasks):
        assert time.monotonic() < until
        await asyncio.sleep(0.01)
    service.admission.release(tenant)
    return list(await asyncio.wait_for(asyncio.gather(*tasks), _WAIT_S))


async def _one_at_a_time(context: Context, calls: list[dict]) -> list[Any]:
    return [await dispatch.run(dispatch.make_plan(call, TABLE, 10), context) for call in calls]


def _groups_written(graph: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The events of each group ``graph``'s writer writes from now on."""
    groups: list[int] = []
    write = graph._ingest_writer._write_batch
    monkeypatch.setattr(graph._ingest_writer, "_write_batch", lambda items: groups.append(len(items)) or write(items))
    return groups


def _as_read(replies: list[Any]) -> list[Any]:
    """Replies with customer ids named by first appearance (two tenants' ids differ)."""
    names: dict[str, str] = {}

    def named(customer: str) -> str:
        return names.setdefault(customer, f"customer-{len(names)}")

    read = []
    for reply in replies:
        if "error" in reply:
            read.append(("error", reply["error"]["code"]))
            continue
        read.append([("error", result["error"]["code"]) if "error" in result else
                     (result["event_id"], named(result["customer_id"]), sorted(map(named, result["merged"])),
                      result["duplicate"], len(result["refused"])) for result in reply["result"]["results"]])
    return read


def test_queued_ingests_are_written_as_one_group_each_answered_as_alone(backend_url: str, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = real_service(tmp_path, backend_url, {"acme": "local", "solo": "local"}, tenant_concurrency=1,
                        ingest_together=4)
    service = real.service
    try:
        together_graph, alone_graph = service.identity("acme"), service.identity("solo")
        groups, alone_groups = _groups_written(together_graph, monkeypatch), _groups_written(alone_graph, monkeypatch)
        with TelemetryRecorder() as recorder:
            together = asyncio.run(_queued(service, _context(service, real.keys["acme"]), _calls()))
        alone = asyncio.run(_one_at_a_time(_context(service, real.keys["solo"]), _calls()))
        # calls 1-4 in one group (call 3 failed whole: nothing of it written, call 4's invalid
        # event set aside), then 5 and 6; one at a time, a group per call that writes
        assert groups == [1 + 2 + 2, 1 + 1]
        assert alone_groups == [1, 2, 2, 1, 1]
        assert _as_read(together) == _as_read(alone)
        assert together[2]["error"]["code"] == -32602 and together[3]["result"]["results"][1]["error"]["code"] == -32602
        assert together[3]["result"]["results"][0]["duplicate"] is True
        points = recorder.points()
        assert [(point.count, point.sum) for point in points["identity.rpc.together"]] == [(2, 6)]
        assert [(point.count, point.sum) for point in points["identity.ingest.group"]] == [(2, 7)]
        assert not alone_graph.resolve("email", "carol@example.com").identifiers.get("shoe_size")
    finally:
        service.close()


def test_the_setting_bounds_the_group_and_1_writes_each_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [_ingest(n, _event(f"e{n}", ("email", f"p{n}@example.com"))) for n in range(7)]
    for together, expected in ((3, [3, 3, 1]), (1, [1] * 7)):
        (tmp_path / str(together)).mkdir()
        real = real_service(tmp_path / str(together), f"memory://together-{together}", {"acme": "local"},
                            tenant_concurrency=1, ingest_together=together)
        try:
            groups = _groups_written(real.service.identity("acme"), monkeypatch)
            replies = asyncio.run(_queued(real.service, _context(real.service, real.keys["acme"]), calls))
            assert groups == expected
            assert [reply["result"]["results"][0]["event_id"] for reply in replies] == [f"e{n}" for n in range(7)]
        finally:
            real.service.close()


def test_one_tenant_queueing_ingests_holds_one_slot_and_worker_and_another_runs_beside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tenant flood's group is held inside its write; eight more of its ingests queue. Tenant
    other's ingest still runs and answers (the pool has two workers), flood holds its one slot
    and its queued calls hold none, and its calls then run in groups of at most four."""
    real = real_service(tmp_path, "memory://starve", {"flood": "local", "other": "local"}, tenant_concurrency=1,
                        ingest_together=4, workers=2)
    service = real.service
    entered, opened = threading.Event(), threading.Event()
    try:
        graph = service.identity("flood")
        write = graph._ingest_writer._write_batch
        groups: list[int] = []

        def held_write(items: list) -> Any:
            groups.append(len(items))
            if len(groups) == 1:
                entered.set()
                assert opened.wait(_WAIT_S), "the held write was never let go"
            return write(items)

        monkeypatch.setattr(graph._ingest_writer, "_write_batch", held_write)

        async def scenario() -> tuple[list[Any], Any]:
            flood, other = _context(service, real.keys["flood"]), _context(service, real.keys["other"])

            def send(context: Context, call: dict) -> asyncio.Future:
                return asyncio.ensure_future(dispatch.run(dispatch.make_plan(call, TABLE, 10), context))

            first = send(flood, _ingest(0, _event("f0", ("email", "f0@example.com"))))
            assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, _WAIT_S)
            queued = [send(flood, _ingest(n, _event(f"f{n}", ("email", f"f{n}@example.com")))) for n in range(1, 9)]
            slots = service.admission._slots["flood"]
            until = time.monotonic() + _WAIT_S
            while len(slots._waiters) < len(queued):
                assert time.monotonic() < until
                await asyncio.sleep(0.01)
            answered = await asyncio.wait_for(send(other, _ingest(9, _event("o", ("email", "o@example.com")))),
                                              _WAIT_S)
            assert slots.held == 1 and len(slots._waiters) == 8 and not first.done()
            opened.set()
            return list(await asyncio.wait_for(asyncio.gather(first, *queued), _WAIT_S)), answered

        flooded, answered = asyncio.run(scenario())
        assert answered["result"]["results"][0]["event_id"] == "o"
        assert all("result" in reply for reply in flooded)
        assert groups == [1, 4, 4]
    finally:
        opened.set()
        service.close()
