"""Helpers shared by the identity core tests."""

from __future__ import annotations

from typing import Any


def event(event_id: str | None, *identifiers: tuple[str, str], ts: Any = 1_714_550_400_000,
          kind: str = "login", **extra: Any) -> dict:
    body: dict[str, Any] = {"type": kind, "timestamp": ts,
                            "identifiers": [{"type": t, "value": v} for t, v in identifiers], **extra}
    if event_id is not None:
        body["event_id"] = event_id
    return body


def sends_a_forgotten_event_again(stream: list) -> bool:
    """Whether a stream of operations (``("ingest", event_id, ...)``, ``("forget...", ...)``)
    ingests an event id again after a forget that came after its first ingest: the forget may
    have dropped that event's vertex, read by id before, and the ingest then creates it again,
    which TinkerTransactionGraph 3.7.3 refuses for good (tests/gremlin_servers.py, reset)."""
    before, forgotten = set(), False
    for op in stream:
        if op[0].startswith("forget"):
            forgotten = True
        elif op[0] == "ingest" and op[1] is not None:
            if forgotten and op[1] in before:
                return True
            before.add(op[1])
    return False
