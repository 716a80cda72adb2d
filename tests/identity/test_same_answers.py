"""The same answers on every backend: a generated population (people in households, shared
tablets and home IPs, placeholder emails, junk) ingested through IdentityGraph gives the same
customers, the same refusals, the same stored elements and the same resolve and explain answers on the
in-process engine (memory://, with the TinkerGraph and the Neptune rules), the durable graph,
our endpoint and the real Gremlin Servers, plain and transactional.

The reference is memory://, computed once; each other backend is its own test against it."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from benchmarks.ingest_fingerprint import stored_elements
from benchmarks.population import Mix, generate
from identity import IdentityGraph, ValidationError

pytestmark = pytest.mark.slow

#: about 200 people, 1,600 events: households, shared tablets, placeholders and junk all occur
MIX = Mix(people=200, seed=11)
BATCH = 25
#: every how many events one of its identifiers is resolved (about 160 resolves)
RESOLVE_EVERY = 10


class TickingClock:
    """1 ms later at every reading, from the same start on every backend."""

    def __init__(self) -> None:
        self.now = 1.7e9

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


@functools.lru_cache(maxsize=1)
def events() -> tuple[dict, ...]:
    return tuple(item.event for item in generate(MIX))


def answers(g: Any) -> dict[str, Any]:
    """Everything the service says about the population on the graph ``g`` (empty at first)."""
    population = list(events())
    identity = IdentityGraph(g, "acme", clock=TickingClock())
    results = [r.to_dict() for start in range(0, len(population), BATCH)
               for r in identity.ingest(population[start:start + BATCH])]
    asked = dict.fromkeys((i["type"], i["value"]) for event in population[::RESOLVE_EVERY]
                          for i in event["identifiers"][:1])
    resolved = {f"{kind} {value}": _resolution(identity.resolve(kind, value, evidence=True))
                for kind, value in asked}
    explained = {f"{a} {b}": _explanation(identity, a, b) for a, b in _pairs(population)}
    customers = sorted({r["customer_id"] for r in results if r["customer_id"]})
    by_customer_id = {cid: _resolution(identity.resolve("customer", cid)) for cid in customers[::10]}
    return {"results": results, "stats": identity.stats(), "resolved": resolved, "explained": explained,
            "by_customer_id": by_customer_id,
            "vertices": stored_elements(identity.g, "V"), "edges": stored_elements(identity.g, "E")}


def _pairs(population: list[dict]) -> dict[tuple[tuple[str, str], tuple[str, str]], None]:
    """Pairs to explain: two identifiers of one event (mostly joined, or refused by a guard) and
    the first identifiers of events a few apart (mostly apart)."""
    firsts = [(e["identifiers"][0]["type"], e["identifiers"][0]["value"]) for e in population]
    pairs = dict.fromkeys(((i[0]["type"], i[0]["value"]), (i[-1]["type"], i[-1]["value"]))
                          for i in (e["identifiers"] for e in population[::RESOLVE_EVERY * 2]))
    pairs.update(dict.fromkeys(zip(firsts[::RESOLVE_EVERY * 2], firsts[3::RESOLVE_EVERY * 2])))
    return pairs


def _explanation(identity: IdentityGraph, a: tuple[str, str], b: tuple[str, str]) -> Any:
    try:
        return identity.explain(a, b)
    except ValidationError as invalid:  # two forms of one identifier
        return str(invalid)


def _resolution(resolution: Any) -> Any:
    return None if resolution is None else resolution.to_dict()


@functools.lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    from gremlin_python.process.anonymous_traversal import traversal

    import gremlin
    connection = gremlin.connect("memory://")
    try:
        return answers(traversal().with_remote(connection))
    finally:
        connection.close()


#: tests/identity/conftest.py's backends but the reference itself and our endpoint (which is
#: the same engine as memory://, over the wire the other tests cover)
OTHERS = {"neptune": "memory://?profile=neptune", "durable": "durable", "gremlin-server": "gremlin-server",
          "gremlin-server-tx": "gremlin-server-tx"}


@pytest.mark.parametrize("url", list(OTHERS.values()), ids=list(OTHERS), indirect=True)
def test_every_backend_gives_the_reference_answers(g) -> None:
    expected = reference()
    got = answers(g)
    assert got["results"] == expected["results"]
    refusals = [r for r in got["results"] if r["refused"]]
    assert refusals and any(r["merged"] for r in got["results"])  # the population exercises the guards
    assert got["stats"] == expected["stats"]
    assert got["resolved"] == expected["resolved"]
    assert got["explained"] == expected["explained"]
    explained = [answer for answer in got["explained"].values() if isinstance(answer, dict)]
    reasons = {reason.get("rule") or reason["reason"] for answer in explained for reason in answer["apart"]}
    assert {"no_path", "weak_bridge", "multi_user_bridge"} <= reasons  # and joined pairs, with their events:
    assert any(step["events"] for answer in explained for path in answer["paths"] for step in path["steps"])
    assert got["by_customer_id"] == expected["by_customer_id"]
    assert got["vertices"] == expected["vertices"]
    assert got["edges"] == expected["edges"]
