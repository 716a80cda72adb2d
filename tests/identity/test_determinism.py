"""The same events give the same customers in every process: whatever Python's string hash seed
(set and dict order of strings) and however fast the clock runs while they are planned."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from identity_helpers import event

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # subprocesses

#: Ingests the events on stdin in batches through the identity API on a fresh memory:// graph and
#: prints what a caller can observe: every result, every identifier's resolution, the counts.
#: argv[1] is the clock: "steady" never moves (every event planned in one millisecond), "ticking"
#: moves on a millisecond at every reading (a slow planner).
_CHILD = """
import json, sys
from identity import IdentityGraph
from identity.graph.connection import open_traversal

class Clock:
    def __init__(self, step):
        self.now, self.step = 1_700_000_000.0, step
    def __call__(self):
        self.now += self.step
        return self.now

events, batch = json.load(sys.stdin), int(sys.argv[2])
ids = IdentityGraph(open_traversal("memory://"), "acme", clock=Clock(0.0 if sys.argv[1] == "steady" else 0.001))
results = [r.to_dict() for i in range(0, len(events), batch) for r in ids.ingest(events[i:i + batch])]
keys = sorted({(i["type"], i["value"]) for e in events for i in e["identifiers"]})
resolved = []
for id_type, value in keys:
    answer = ids.resolve(id_type, value, max_identifiers=1000)
    resolved.append(None if answer is None else [answer.customer_id, answer.identifiers, answer.aliases])
print(json.dumps({"results": results, "resolved": resolved, "stats": ids.stats()}, sort_keys=True))
"""


def _events(count: int, seed: int) -> list[dict]:
    """Events joining identifiers drawn from small pools, so that customers form and merge."""
    rng = random.Random(seed)
    pools = {"email": [f"person{n}@example.com" for n in range(40)],
             "phone": [f"+1555010{n:04d}" for n in range(30)],
             "device_id": [f"6d92078a-8246-4ba4-ae5b-{n:012d}" for n in range(15)],
             "cookie": [f"ck-{n}" for n in range(30)], "ip": [f"203.0.113.{n}" for n in range(5)]}
    events = []
    for n in range(count):
        types = rng.sample(list(pools), rng.randint(1, 4))
        events.append(event(f"e{n}", *[(t, rng.choice(pools[t])) for t in types], ts=1_714_550_400_000 + n))
    return events


def _run(script: str, *args: str, hash_seed: int, stdin: str = "") -> str:
    """``script``'s output in a new Python process with string hash seed ``hash_seed``."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", script, *args], input=stdin, env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _observed(events: list[dict], hash_seed: int, clock: str, batch: int) -> dict:
    return json.loads(_run(_CHILD, clock, str(batch), hash_seed=hash_seed, stdin=json.dumps(events)))


def test_two_processes_build_the_same_customers_from_the_same_events() -> None:
    events = _events(300, seed=11)
    first = _observed(events, hash_seed=1, clock="steady", batch=50)
    second = _observed(events, hash_seed=2, clock="ticking", batch=50)
    assert first["stats"]["identifiers"] > 100 and any(r["merged"] for r in first["results"])  # a real test
    assert second == first


#: Two customers holding an identifier of each of four personal types, and a device of the first
#: one typed with the second one's email: the refusal names one of the four types, and with no
#: type_priority they all rank alike.
_TIED_TYPES = """
from identity import IdentityGraph, TenantConfig
from identity.graph.connection import open_traversal

def person(n):
    return [{"type": "email", "value": f"person{n}@example.com"}, {"type": "phone", "value": f"+1555010020{n}"},
            {"type": "hashed_email", "value": f"{n}" * 64}, {"type": "partner_id", "value": f"account-{n}"}]

config = TenantConfig(type_priority=(), type_limits={})
ids = IdentityGraph(open_traversal("memory://"), "acme", config=config)
device = {"type": "device_id", "value": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}
ids.ingest([{"type": "login", "identifiers": person(1) + [device]}, {"type": "login", "identifiers": person(2)}])
third = ids.ingest([{"type": "login", "identifiers": [device, person(2)[0]]}])[0]
print([r["detail"] for r in third.refused])
"""


def test_a_refusal_names_the_same_type_whatever_the_hash_seed() -> None:
    details = {_run(_TIED_TYPES, hash_seed=seed) for seed in range(1, 6)}
    assert details == {"['a shared device_id never joins two holders of different emails']\n"}


#: Ingests a generated population (households, shared tablets and IPs: identifiers turn generic)
#: with a walk of argv[1] hops, and prints every result and the id every identifier carries. A
#: short walk sees a customer as several parts carrying its id, which tie in every order but the
#: set order of their members.
_SHORT_WALK = """
import json, sys
from benchmarks.ingest_fingerprint import stored_elements
from benchmarks.population import Mix, generate
from identity import IdentityGraph, TenantConfig
from identity.graph.connection import open_traversal

class Clock:
    now = 1.7e9
    def __call__(self):
        self.now += 0.001
        return self.now

events = [item.event for item in generate(Mix(people=80, seed=7))]
ids = IdentityGraph(open_traversal("memory://"), "acme", config=TenantConfig(max_hops=int(sys.argv[1]), generic_threshold=8),
                    clock=Clock())
results = [r.to_dict() for i in range(0, len(events), 20) for r in ids.ingest(events[i:i + 20])]
print(json.dumps({"results": results, "stored": stored_elements(ids.g, "V")}, sort_keys=True))
"""


@pytest.mark.parametrize("max_hops", [0, 1])
def test_a_short_walk_gives_the_same_customer_ids_whatever_the_hash_seed(max_hops: int) -> None:
    first, second = (json.loads(_run(_SHORT_WALK, str(max_hops), hash_seed=seed)) for seed in (1, 2))
    turned_generic = [row for row in map(json.loads, first["stored"]) if row.get("degree", 0) > 8]
    assert len(first["results"]) > 500 and turned_generic  # a real test: customers split as identifiers turn generic
    assert second["results"] == first["results"]
    assert second["stored"] == first["stored"]
