"""Ingest: validate a whole batch, then per event one read traversal and one write traversal.

The read fetches, in one round trip, whether the event is already stored, the neighbourhood of
each of its identifiers and the links already between them. ``guards.plan_links`` decides. The
write is one traversal (atomic on the local engine and on Neptune) that starts by checking the
event vertex again, so a duplicate delivered concurrently writes nothing either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Direction, Merge, P, T

from . import model
from .errors import ValidationError
from .graph import submit
from .guards import Candidate, LinkPlan, Member, TenantConfig, is_blocked, plan_links
from .identifiers import normalize, parse_timestamp
from .protect import Protector
from .resolve import Hood, hood_traversal, members_of, parse_hoods

__all__ = ["IngestResult", "PreparedEvent", "PreparedIdentifier", "prepare_batch", "ingest_event",
           "candidates_from", "without_suppressed"]

_EVENT_KEYS = {"event_id", "type", "timestamp", "identifiers", "attributes"}
_MAX_IDENTIFIERS = 100
_MAX_ATTRIBUTES = 100
_SINGLE = Cardinality.single


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


def prepare_batch(events: Any, tenant: str, config: TenantConfig, protector: Protector,
                  now_ms: int) -> list[PreparedEvent]:
    """Validate and normalise every event before anything is written (ValidationError otherwise)."""
    if not isinstance(events, list):
        raise ValidationError("events", "must be a list of events")
    return [_prepare(event, f"events[{i}]", tenant, config, protector, now_ms) for i, event in enumerate(events)]


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
    elif not isinstance(event_id, str) or not 1 <= len(event_id) <= 256:
        raise ValidationError(f"{where}.event_id", "must be a string of 1..256 characters")
    return PreparedEvent(event_id, model.event_vertex_id(tenant, event_id), event_type, ts, identifiers,
                         blocked, attributes)


# -- one event -------------------------------------------------------------------------------------

def _read(g: GraphTraversalSource, tenant: str, event: PreparedEvent, config: TenantConfig) -> dict:
    ids = [i.vertex_id for i in event.identifiers]
    link_ids = [model.link_id(tenant, a, b)
                for n, a in enumerate(ids) for b in ids[n + 1:]]
    expand = min(config.generic_threshold, config.max_fanout)
    links = (__.V(*ids).both_e(model.LINK).has_id(P.within(link_ids)).dedup().element_map().fold()
             if link_ids else __.constant([]))
    suppressed = __.V(*[model.suppression_id(i) for i in ids]).id_().fold()
    query = hood_traversal(g.V(*ids).has_label(model.IDENTIFIER), max_hops=config.max_hops,
                           expand_limit=expand, path_cap=config.path_cap,
                           extra={"event": __.V(event.vertex_id).count(), "links": links, "suppressed": suppressed})
    return submit(query)[0]


def without_suppressed(event: PreparedEvent, suppressed: set[str]) -> PreparedEvent:
    """The event minus identifiers forgotten on request (``suppressed``: suppression entry ids),
    each reported as refused."""
    kept = [i for i in event.identifiers if model.suppression_id(i.vertex_id) not in suppressed]
    refused = [{"identifier": {"index": i.index, "type": i.type}, "reason": "suppressed",
                "detail": "this identifier was forgotten on request and is never stored again"}
               for i in event.identifiers if model.suppression_id(i.vertex_id) in suppressed]
    return replace(event, identifiers=kept, blocked=event.blocked + refused)


def candidates_from(event: PreparedEvent, hoods: dict[str, Hood], tenant: str, config: TenantConfig,
                    now_ms: int) -> list[Candidate]:
    """The planner's view of the event: existing identifiers with their customers, new ones alone."""
    candidates = []
    for position, identifier in enumerate(event.identifiers):
        hood = hoods.get(identifier.vertex_id)
        if hood is None:
            member = Member(identifier.vertex_id, identifier.type, now_ms * 1000 + position,
                            model.customer_id(tenant, identifier.vertex_id))
            candidates.append(Candidate(identifier.index, member, identifier.weak, group={member.id: member}))
            continue
        members = {v: _member(hood.vertices[v]) for v in members_of(hood, config.generic_threshold)}
        member = _member(hood.vertices[identifier.vertex_id])
        start = hood.vertices[identifier.vertex_id]
        candidates.append(Candidate(identifier.index, member, identifier.weak,
                                    generic=start["degree"] > config.generic_threshold,
                                    group=members, exists=True))
    return candidates


def _member(props: dict) -> Member:
    return Member(props["id"], props["type"], props["created"], props["cid"], props["nolinks"],
                  bool(props.get("founder")))


def ingest_event(g: GraphTraversalSource, tenant: str, event: PreparedEvent, config: TenantConfig,
                 protector: Protector, clock: Callable[[], float]) -> IngestResult:
    if not event.identifiers:  # every identifier was blocked: keep nothing
        return IngestResult(event.event_id, None, [], list(event.blocked))
    now_ms = int(clock() * 1000)
    state = _read(g, tenant, event, config)
    if state["suppressed"]:
        event = without_suppressed(event, set(state["suppressed"]))
        if not event.identifiers:
            return IngestResult(event.event_id, None, [], list(event.blocked))
    hoods = parse_hoods(state, config.path_cap)
    candidates = candidates_from(event, hoods, tenant, config, now_ms)
    plan = plan_links(candidates, config)
    if state["event"]:
        return IngestResult(event.event_id, plan.customer_id, duplicate=True)
    links = {props[T.id]: props for props in state["links"]}
    written = submit(_write(g, tenant, event, candidates, hoods, plan, links, protector, now_ms))
    if not written:  # a concurrent delivery of the same event won the race
        return IngestResult(event.event_id, plan.customer_id, duplicate=True)
    return IngestResult(event.event_id, plan.customer_id, plan.merged, list(event.blocked) + plan.refused)


def _write(g: GraphTraversalSource, tenant: str, event: PreparedEvent, candidates: list[Candidate],
           hoods: dict[str, Hood], plan: LinkPlan, links: dict[str, dict], protector: Protector,
           now_ms: int) -> Any:
    ts = event.timestamp_ms
    new_links = [(x, y) for x, y in plan.links
                 if model.link_id(tenant, candidates[x].member.id, candidates[y].member.id) not in links]
    added = [0] * len(candidates)
    for x, y in new_links:
        added[x] += 1
        added[y] += 1
    t = (g.V(event.vertex_id).fold().filter_(__.unfold().count().is_(0))
         .add_v(model.EVENT).property(T.id, event.vertex_id)
         .property(_SINGLE, model.TENANT, tenant).property(_SINGLE, "event_id", event.event_id)
         .property(_SINGLE, "type", event.type).property(_SINGLE, "ts", ts)
         .property(_SINGLE, "ingested_at", now_ms))
    if event.attributes:
        sealed = protector.seal(event.vertex_id, "attributes", json.dumps(event.attributes, sort_keys=True))
        t = t.property(_SINGLE, "attributes", sealed)
    t = t.as_("ev")
    for position, candidate in enumerate(candidates):
        member = candidate.member
        old = hoods[member.id].vertices[member.id] if candidate.exists else None
        single = CardinalityValue.single
        on_create = {model.TENANT: single(tenant), "type": single(member.type),
                     "value": single(protector.seal(member.id, "value", event.identifiers[position].value)),
                     "created": single(member.created), "cid": single(member.cid),
                     "founder": single(plan.anchors[member.id] == member.id),
                     "first_seen": single(ts), "last_seen": single(ts), "degree": single(added[position])}
        on_match = {} if old is None else {
            "first_seen": single(min(old["first_seen"], ts)), "last_seen": single(max(old["last_seen"], ts)),
            "degree": single(old["degree"] + added[position])}
        t = (t.merge_v({T.id: member.id, T.label: model.IDENTIFIER})
             .option(Merge.on_create, on_create).option(Merge.on_match, on_match).as_(f"i{position}"))
    for position in range(len(candidates)):
        t = t.add_e(model.OBSERVED).from_("ev").to(f"i{position}").property(model.TENANT, tenant)
    for x, y in plan.links:
        low, high = model.link_ends(candidates[x].member.id, candidates[y].member.id)
        lid = model.link_id(tenant, low, high)
        old = links.get(lid)
        on_create = {model.TENANT: tenant, "first_seen": ts, "last_seen": ts, "count": 1,
                     "first_event": event.event_id, "last_event": event.event_id}
        on_match = {} if old is None else {
            "first_seen": min(old["first_seen"], ts), "count": old["count"] + 1,
            "last_seen": max(old["last_seen"], ts),
            "first_event": event.event_id if ts < old["first_seen"] else old["first_event"],
            "last_event": event.event_id if ts >= old["last_seen"] else old["last_event"]}
        t = (t.merge_e({T.id: lid, T.label: model.LINK, Direction.OUT: low, Direction.IN: high})
             .option(Merge.on_create, on_create).option(Merge.on_match, on_match))
    return t.select("ev").id_()
