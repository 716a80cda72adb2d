"""Runs in a worker process of test_cross_process.py: one IdentityGraph per process on a shared
graph, as one service instance holds one per tenant (spawned processes import this module)."""

from __future__ import annotations

import time
from typing import Any

from identity import IdentityGraph, TenantConfig
from identity.base.errors import NotFound
from identity.graph.connection import open_traversal

_sources: dict[str, Any] = {}


def deliver(url: str, tenant: str, config: dict, operations: list, start_at: float) -> list[dict]:
    """Runs ``operations`` (("ingest", events) / ("unlink", a, b) / ("forget", type, value)) in
    order from ``start_at`` (wall clock, so that the processes start together); the ingest results."""
    if url not in _sources:
        _sources[url] = open_traversal(url)  # as the service connects: retried, behind a breaker
    identity = IdentityGraph(_sources[url], tenant, config=TenantConfig(**config))
    time.sleep(max(0.0, start_at - time.time()))
    try:
        return _run(identity, operations)
    except Exception as error:  # the driver's errors do not survive pickling back to the test
        raise RuntimeError(f"{type(error).__name__}: {error}") from None


def _run(identity: IdentityGraph, operations: list) -> list[dict]:
    results = []
    for operation in operations:
        if operation[0] == "ingest":
            results += [r.to_dict() for r in identity.ingest(operation[1])]
        elif operation[0] == "unlink":
            try:
                identity.unlink(operation[1], operation[2])
            except NotFound:  # not ingested yet by anyone: nothing to unlink
                pass
        else:
            identity.forget(operation[1], operation[2])
    return results
