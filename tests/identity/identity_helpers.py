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
