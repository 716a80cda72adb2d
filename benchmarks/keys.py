"""What envelope encryption costs: protector operations/s with a tenant key ring vs the fixed
development keys, and re-encryption and purge throughput on the in-process graph.

    python benchmarks/keys.py                   # 20000 operations, 2000 events
    python benchmarks/keys.py --ops 100000 --events 10000

The key-ring protector checks the ring file's stamp (one stat) on every operation, so a
rotation or an offboarding made by another process takes effect at once; this measures what
that costs. Results go to docs/benchmarks-keys.json; compare within one run on one machine only.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from identity import IdentityGraph  # noqa: E402
from identity.graph.connection import close_all, open_traversal, release  # noqa: E402
from identity.security.keys import Keyring, LocalKeyFileProvider  # noqa: E402
from identity.security.protect import DevelopmentProtector, Protector  # noqa: E402
from identity.service.offboarding import PurgeProgress, purge  # noqa: E402
from identity.service.reencrypt import reencrypt  # noqa: E402

OUT = ROOT / "docs" / "benchmarks-keys.json"


def rate(count: int, work: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for n in range(count):
        work(n)
    return count / (time.perf_counter() - start)


def protector_rates(protector: Protector, ops: int) -> dict[str, float]:
    sealed = protector.seal("acme:email:x", "value", "someone@example.com")
    return {
        "blind_index_per_s": rate(ops, lambda n: protector.blind_index("email", f"user{n}@example.com")),
        "seal_per_s": rate(ops, lambda n: protector.seal("acme:email:x", "value", "someone@example.com")),
        "open_per_s": rate(ops, lambda n: protector.open("acme:email:x", "value", sealed)),
    }


def events(count: int) -> list[dict]:
    return [{"event_id": f"e{n}", "type": "signup", "timestamp": 1_700_000_000_000 + n, "attributes": {"n": n},
             "identifiers": [{"type": "email", "value": f"user{n}@example.com"},
                             {"type": "phone", "value": f"+1555{n:07d}"}]} for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    results: dict[str, object] = {"python": platform.python_version(), "ops": args.ops, "events": args.events}
    with tempfile.TemporaryDirectory() as directory:
        keyring = Keyring(Path(directory) / "keys", LocalKeyFileProvider(Path(directory) / "kek.key", create=True))
        results["development"] = protector_rates(DevelopmentProtector(), args.ops)
        results["keyring"] = protector_rates(keyring.protector("acme"), args.ops)

        url = "memory://benchmark-keys"
        g = open_traversal(url)
        batch = events(args.events)
        for name, protector in (("development", DevelopmentProtector()), ("keyring", keyring.protector("acme"))):
            tenant = "dev" if name == "development" else "acme"
            identity = IdentityGraph(g, tenant, protector=protector)
            start = time.perf_counter()
            for first in range(0, len(batch), 100):
                identity.ingest(batch[first:first + 100])
            results[name]["ingest_events_per_s"] = len(batch) / (time.perf_counter() - start)

        keyring.rotate("acme")
        start = time.perf_counter()
        done = reencrypt(g, "acme", keyring.protector("acme"), batch=args.batch)
        results["reencrypt"] = {"cells": done.resealed, "cells_per_s": done.resealed / (time.perf_counter() - start)}

        keyring.destroy("acme")
        start = time.perf_counter()
        purged: PurgeProgress = purge(g, "acme", keyring=keyring, batch=args.batch * 2)
        elements = purged.edges + purged.vertices
        results["purge"] = {"elements": elements, "elements_per_s": elements / (time.perf_counter() - start)}
        close_all()
        release(url)

    for section, values in results.items():
        if isinstance(values, dict):
            print(f"{section:12}" + "  ".join(f"{k} {v:,.0f}" for k, v in values.items()))
    OUT.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
