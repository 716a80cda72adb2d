"""An ingest batch's events, validated and normalised before anything is read or written
(identity.domain.ingest, step 1), and what ingest answers for each: an IngestResult, or a
RejectedEvent for an invalid event of a partial batch. CreationClock stamps the identifiers the
events create, in the order they are ingested.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..base.errors import ValidationError
from ..graph.resilience import check_deadline
from ..security.protect import Protector
from . import model
from .guards import TenantConfig, is_blocked
from .identifiers import normalize, parse_timestamp

__all__ = ["IngestResult", "RejectedEvent", "PreparedEvent", "PreparedIdentifier", "CreationClock", "prepare_batch",
           "given_event_id", "without_suppressed"]

_EVENT_KEYS = {"event_id", "type", "timestamp", "identifiers", "attributes"}
_MAX_IDENTIFIERS = 100
_MAX_EVENT_ID = 256
_MAX_ATTRIBUTES = 100


@dataclass
class IngestResult:
    event_id: str
    customer_id: str | None
    merged: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "customer_id": self.customer_id, "merged": list(self.merged),
                "refused": [dict(r) for r in self.refused], "duplicate": self.duplicate}


@dataclass(frozen=True)
class PreparedIdentifier:
    index: int
    type: str
    value: str  # normalised plaintext: sealed before it is stored
    vertex_id: str
    weak: bool


@dataclass
class PreparedEvent:
    event_id: str
    vertex_id: str
    type: str
    timestamp_ms: int
    identifiers: list[PreparedIdentifier]  # valid, not blocked, first occurrence of each vertex
    blocked: list[dict]
    attributes: dict[str, Any]


@dataclass
class RejectedEvent:
    """An event of a partial (non-atomic) batch that was not ingested: ``error`` says which field
    broke which rule (never its value). Its neighbours in the batch were ingested."""

    index: int  # its position in the batch
    event_id: str | None  # as sent, when it is a valid one
    error: ValidationError


def prepare_batch(events: Any, tenant: str, config: TenantConfig, protector: Protector,
                  now_ms: int, *, atomic: bool = True) -> list[PreparedEvent | RejectedEvent]:
    """Validate and normalise every event before anything is written. ``atomic``: the first
    invalid event raises its ValidationError (nothing is written); otherwise each invalid event
    becomes a RejectedEvent in its place and the others are prepared."""
    if not isinstance(events, list):
        raise ValidationError("events", "must be a list of events")
    prepared: list[PreparedEvent | RejectedEvent] = []
    for i, event in enumerate(events):
        check_deadline()  # a blind index per identifier: 100,000 of them take a while
        try:
            prepared.append(_prepare(event, f"events[{i}]", tenant, config, protector, now_ms))
        except ValidationError as invalid:
            if atomic:
                raise
            prepared.append(RejectedEvent(i, given_event_id(event), invalid))
    return prepared


def given_event_id(event: Any) -> str | None:
    """The event_id an event (valid or not) was sent with, when it is a valid one."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) and 1 <= len(event_id) <= _MAX_EVENT_ID else None


def _prepare(event: Any, where: str, tenant: str, config: TenantConfig, protector: Protector,
             now_ms: int) -> PreparedEvent:
    if not isinstance(event, dict):
        raise ValidationError(where, "must be an object")
    for key in event:
        if key not in _EVENT_KEYS:
            raise ValidationError(f"{where}.{key}", "is not an event field")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= 128:
        raise ValidationError(f"{where}.type", "must be a string of 1..128 characters")
    timestamp = event.get("timestamp")
    ts = now_ms if timestamp is None else parse_timestamp(timestamp, field=f"{where}.timestamp")
    raw_identifiers = event.get("identifiers")
    if not isinstance(raw_identifiers, list) or not 1 <= len(raw_identifiers) <= _MAX_IDENTIFIERS:
        raise ValidationError(f"{where}.identifiers", f"must be a list of 1..{_MAX_IDENTIFIERS} identifiers")
    identifiers, blocked, seen = [], [], set()
    for index, item in enumerate(raw_identifiers):
        at = f"{where}.identifiers[{index}]"
        if not isinstance(item, dict) or set(item) != {"type", "value"}:
            raise ValidationError(at, "must be an object with exactly 'type' and 'value'")
        id_type = item["type"]
        try:
            value = normalize(id_type, item["value"], config, field=at)
        except ValidationError as invalid:  # a blocked placeholder ("0000000000") need not be valid
            if invalid.field.endswith(".type") or not is_blocked(config, id_type, "", item["value"]):
                raise
            value = ""
        if not value or is_blocked(config, id_type, value, item["value"]):
            blocked.append({"identifier": {"index": index, "type": id_type}, "reason": "blocked",
                            "detail": "a blocked value is never linked"})
            continue
        vertex_id = model.identifier_id(tenant, id_type, protector.blind_index(id_type, value))
        if vertex_id not in seen:
            seen.add(vertex_id)
            identifiers.append(PreparedIdentifier(index, id_type, value, vertex_id, id_type in config.weak_types))
    attributes = event.get("attributes") or {}
    if not isinstance(attributes, dict) or len(attributes) > _MAX_ATTRIBUTES:
        raise ValidationError(f"{where}.attributes", f"must be an object of at most {_MAX_ATTRIBUTES} entries")
    for key, value in attributes.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationError(f"{where}.attributes", "keys must be strings of 1..128 characters")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValidationError(f"{where}.attributes.{key}", "must be a string, number, boolean or null")
    event_id = event.get("event_id")
    if event_id is None:
        # keyed, so the derived id reveals nothing about the identifiers it was computed from
        canonical = json.dumps([event_type, ts, sorted((i.type, i.value) for i in identifiers), attributes],
                               sort_keys=True, default=str)
        event_id = "h-" + protector.blind_index("event", canonical)[:32]
    elif given_event_id(event) is None:
        raise ValidationError(f"{where}.event_id", f"must be a string of 1..{_MAX_EVENT_ID} characters")
    return PreparedEvent(event_id, model.event_vertex_id(tenant, event_id), event_type, ts, identifiers,
                         blocked, attributes)


def without_suppressed(event: PreparedEvent, suppressed: set[str]) -> PreparedEvent:
    """The event minus identifiers forgotten on request (``suppressed``: suppression entry ids),
    each reported as refused."""
    kept = [i for i in event.identifiers if model.suppression_id(i.vertex_id) not in suppressed]
    refused = [{"identifier": {"index": i.index, "type": i.type}, "reason": "suppressed",
                "detail": "this identifier was forgotten on request and is never stored again"}
               for i in event.identifiers if model.suppression_id(i.vertex_id) in suppressed]
    return replace(event, identifiers=kept, blocked=event.blocked + refused)


class CreationClock:
    """The ``created`` stamps of new identifiers: the clock's milliseconds x 1000, plus a sequence
    that keeps them strictly increasing in the order events are ingested through this object.

    The oldest id names a merged customer, so which of two identifiers is older must follow
    the order of the events, never how fast they were planned: stamps of milliseconds x 1000 +
    position in the event tied across the events planned within one millisecond, and then the
    identifiers' ids decided, so the same events gave different customers from run to run."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._next = 0  # the smallest stamp not yet given out
        #: unlink and forget take stamps too, beside the tenant's one ingest writer
        self.lock = threading.Lock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def stamps(self, now_ms: int, count: int) -> int:
        """The first of ``count`` consecutive stamps for an event planned at ``now_ms``. Callers
        take them one at a time: ingest is serialised per IdentityGraph (identity.graph.group_commit), and
        unlink and forget, which take one for each customer id they mint, hold the lock."""
        with self.lock:
            first = max(now_ms * 1000, self._next)
            self._next = first + count
            return first
