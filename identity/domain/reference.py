"""A plain-Python reference implementation of the identity rules, for property-based tests.

It keeps the graph in dictionaries and walks it breadth-first, so it shares no graph code with
the service: what it shares are the rules that are pure functions already (validation and
normalisation in ``ingest.prepare_batch``, link planning in ``guards.plan_links``, customer ids
in ``customers``). Random event streams resolved by both must agree
(tests/identity/test_property_based.py, tests/identity/test_customer_id_stability.py).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..security.protect import DevelopmentProtector, Protector
from . import customers, model
from .customers import is_generic
from .events import CreationClock, IngestResult, PreparedEvent, prepare_batch, without_suppressed
from .guards import TenantConfig, plan_links, scoped_links
from .identifiers import normalize, parse_timestamp
from .ingest import candidates_from, stored_customer

__all__ = ["ReferenceIdentity"]


@dataclass
class _Link:
    first_seen: int
    last_seen: int
    count: int
    scoped: int | None = None  # when it stopped joining (model.SCOPED)


@dataclass
class ReferenceIdentity:
    tenant: str
    config: TenantConfig = field(default_factory=TenantConfig)
    protector: Protector = field(default_factory=DevelopmentProtector)
    clock: Callable[[], float] = lambda: 0.0
    identifiers: dict[str, dict] = field(default_factory=dict)  # vertex id -> properties
    links: dict[frozenset, _Link] = field(default_factory=dict)
    nolinks: set[frozenset] = field(default_factory=set)
    events: dict[str, set[str]] = field(default_factory=dict)  # event vertex id -> identifiers observed
    sealed_events: set[str] = field(default_factory=set)  # event vertex ids holding sealed attributes
    suppressed: set[str] = field(default_factory=set)  # suppression entry ids
    retired: dict[str, str] = field(default_factory=dict)  # retired customer id -> the id it resolves through

    def __post_init__(self) -> None:
        self._creation = CreationClock(self.clock)

    # -- graph walking ---------------------------------------------------------------------
    def _neighbours(self, vertex: str, as_of_ms: int | None) -> list[str]:
        found = []
        for pair, link in self.links.items():
            if vertex in pair and link.scoped is None and (as_of_ms is None or link.first_seen <= as_of_ms):
                (other,) = pair - {vertex}
                found.append(other)
        return found

    def hood(self, start: str, max_hops: int, expand_limit: int, as_of_ms: int | None = None) -> dict[str, int]:
        """Identifier -> hop distance, expanding only identifiers with at most expand_limit links."""
        hops = {start: 0}
        queue = deque([start])
        while queue:
            vertex = queue.popleft()
            if hops[vertex] == max_hops or is_generic(self.identifiers[vertex], expand_limit):
                continue
            for other in self._neighbours(vertex, as_of_ms):
                if other not in hops:
                    hops[other] = hops[vertex] + 1
                    queue.append(other)
        return hops

    def _scoped_with(self, vertex: str) -> frozenset[str]:
        return frozenset(other for pair, link in self.links.items() if vertex in pair and link.scoped is not None
                         for other in pair - {vertex})

    def _nolinks_of(self, vertex: str) -> frozenset[str]:
        return frozenset(other for pair in self.nolinks if vertex in pair for other in pair - {vertex})

    def _around(self, starts: list[str], expand_too: list[str] = ()) -> customers.Neighbourhood:
        return customers.walk(starts, self.identifiers.get, lambda v: self._neighbours(v, None),
                              max_hops=self.config.max_hops, expand_limit=self.config.expand_limit,
                              expand_too=expand_too)

    def _mint(self, cause: str, now_ms: int | None = None) -> customers.Mint:
        now_ms = int(self.clock() * 1000) if now_ms is None else now_ms
        return customers.Mint(cause, lambda: self._creation.stamps(now_ms, 1))

    def _change(self, change: customers.Reassignment) -> None:
        for vertex, (cid, since) in change.carry.items():
            self.identifiers[vertex].update({model.CID: cid, model.SINCE: since})
        for old, heir in change.retire.items():
            for earlier, their_heir in self.retired.items():
                if their_heir == old:
                    self.retired[earlier] = heir
            self.retired[old] = heir
        self.retired = {old: heir for old, heir in self.retired.items() if heir not in change.dead}

    # -- the API ---------------------------------------------------------------------------
    def ingest(self, events: list[dict]) -> list[IngestResult]:
        now_ms = int(self.clock() * 1000)
        prepared = prepare_batch(events, self.tenant, self.config, self.protector, now_ms)
        return [self._ingest_one(event) for event in prepared]

    def _ingest_one(self, event: PreparedEvent) -> IngestResult:
        if not event.identifiers:
            return IngestResult(event.event_id, None, [], list(event.blocked))
        event = without_suppressed(event, self.suppressed)
        if not event.identifiers:
            return IngestResult(event.event_id, None, [], list(event.blocked))
        now_ms = int(self.clock() * 1000)
        expand = self.config.expand_limit
        reach = {i.vertex_id: self.hood(i.vertex_id, self.config.max_hops, expand)
                 for i in event.identifiers if i.vertex_id in self.identifiers}
        vertices = {v: {**self.identifiers[v], "nolinks": self._nolinks_of(v), "scoped_with": self._scoped_with(v)}
                    for hops in reach.values() for v in hops}
        candidates = candidates_from(event, reach, vertices, self.tenant, self.config,
                                     self._creation.stamps(now_ms, len(event.identifiers)))
        plan = plan_links(candidates, self.config)
        if event.vertex_id in self.events:
            return IngestResult(event.event_id, stored_customer(candidates), duplicate=True)
        self.events[event.vertex_id] = {candidate.member.id for candidate in candidates}
        if event.attributes:
            self.sealed_events.add(event.vertex_id)
        ts = event.timestamp_ms
        for position, candidate in enumerate(candidates):
            member = candidate.member
            props = self.identifiers.get(member.id)
            if props is None:
                anchor = plan.anchors[member.id]
                self.identifiers[member.id] = {
                    "id": member.id, "type": member.type, "value": event.identifiers[position].value,
                    "created": member.created, model.CID: anchor.cid, model.SINCE: anchor.rank[1], "degree": 0,
                    "first_seen": ts, "last_seen": ts}
            else:
                props["first_seen"] = min(props["first_seen"], ts)
                props["last_seen"] = max(props["last_seen"], ts)
        for vertex in plan.shared:
            self.identifiers[vertex][model.SHARED] = True
        for vertex in plan.conflicts:
            props = self.identifiers[vertex]
            props[model.CONFLICTS] = props.get(model.CONFLICTS, 0) + 1
        added = []
        for x, y in plan.links:
            a, b = candidates[x].member.id, candidates[y].member.id
            link = self.links.get(frozenset((a, b)))
            if link is None:
                added.append((a, b))
                self.links[frozenset((a, b))] = _Link(ts, ts, 1)
                self.identifiers[a]["degree"] += 1
                self.identifiers[b]["degree"] += 1
            else:
                link.first_seen, link.last_seen = min(link.first_seen, ts), max(link.last_seen, ts)
                link.count += 1
        customer = plan.customer_id
        threshold = self.config.generic_threshold
        first = candidates[0].member.id
        pairs = sorted({pair for device in plan.scoped_devices for pair in scoped_links(
            device, lambda v: self._neighbours(v, None), lambda v: self.identifiers[v]["type"],
            lambda v: not is_generic(self.identifiers[v], self.config.expand_limit), self.config)})
        if pairs:
            cause = model.link_id(self.tenant, *model.link_ends(*pairs[0]))
            self._change(customers.split(self.tenant, self._around(sorted({v for pair in pairs for v in pair})),
                                         threshold, self._mint(cause, now_ms), cut=pairs))
            for pair in pairs:
                self.links[frozenset(pair)].scoped = now_ms
            customer = customers.customer_id(self._around([first]), first, threshold)
        turned = [c.member.id for c in candidates if not c.generic and is_generic(self.identifiers[c.member.id], threshold)]
        if turned:
            self._change(customers.split(self.tenant, self._around(turned, turned), threshold,
                                         self._mint(event.vertex_id, now_ms), turned_generic=turned, added=added,
                                         new=[c.member.id for c in candidates if not c.exists]))
            customer = customers.customer_id(self._around([first]), first, threshold)
        return IngestResult(event.event_id, customer, plan.merged, list(event.blocked) + plan.refused)

    def resolve(self, id_type: str, value: str, *, max_hops: int | None = None, max_fanout: int = 50,
                as_of: float | str | None = None, aliases: bool = False) -> tuple | None:
        """(customer id, type -> sorted [(value, hops, generic)]), with the aliases third when
        ``aliases``; or None. ``id_type`` "customer" starts from a customer id."""
        max_hops = self.config.max_hops if max_hops is None else max_hops
        vertex = self._customer_start(value) if id_type == "customer" else self._vertex_id(id_type, value)
        as_of_ms = None if as_of is None else parse_timestamp(as_of, field="as_of", epoch_unit_ms=False)
        props = self.identifiers.get(vertex) if vertex is not None else None
        if props is None or (as_of_ms is not None and props["first_seen"] > as_of_ms):
            return None
        threshold = self.config.generic_threshold
        hops = self.hood(vertex, max_hops, min(threshold, max_fanout), as_of_ms)
        anchor = customers.anchor(props, (self.identifiers[v] for v in hops), threshold)
        grouped: dict[str, list[tuple[str, int, bool]]] = {}
        for v, h in hops.items():
            p = self.identifiers[v]
            grouped.setdefault(p["type"], []).append((p["value"], h, is_generic(p, threshold)))
        answer = anchor[model.CID], {t: sorted(items) for t, items in grouped.items()}
        if not aliases:
            return answer
        others = [] if is_generic(props, threshold) else customers.aliases(
            (self.identifiers[v] for v in hops if not is_generic(self.identifiers[v], threshold)), anchor[model.CID])
        if id_type == "customer" and value not in others and value != anchor[model.CID]:
            others = sorted([*others, value])  # a retired id: it leads here
        return (*answer, others)

    def _customer_start(self, cid: str) -> str | None:
        """The identifier resolve("customer", cid) starts from: one carrying it (not generic if
        one is), by vertex id; else, for a retired id, one carrying the id it resolves through."""
        for wanted in (cid, self.retired.get(cid)):
            carriers = sorted((is_generic(props, self.config.generic_threshold), v)
                              for v, props in self.identifiers.items() if props[model.CID] == wanted)
            if carriers:
                return carriers[0][1]
        return None

    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        va, vb = self._vertex_id(*a), self._vertex_id(*b)
        if va not in self.identifiers or vb not in self.identifiers:
            raise KeyError("identifier not found")
        change = customers.Reassignment()
        if frozenset((va, vb)) in self.links:
            change = customers.split(self.tenant, self._around([va, vb]), self.config.generic_threshold,
                                     self._mint(model.nolink_id(self.tenant, va, vb)), cut=[(va, vb)])
        if self.links.pop(frozenset((va, vb)), None) is not None:
            self.identifiers[va]["degree"] -= 1
            self.identifiers[vb]["degree"] -= 1
        self.nolinks.add(frozenset((va, vb)))
        self._change(change)

    def forget(self, id_type: str, value: str) -> dict[str, int]:
        """Forget an identifier or (type "customer") a customer: the counts IdentityGraph.forget returns."""
        threshold = self.config.generic_threshold
        if id_type == "customer":
            start = self._customer_start(value)
            if start is None:
                raise KeyError("customer not found")
            hops = self.hood(start, self.config.max_hops, self.config.expand_limit)
            ids = sorted(v for v in hops if not is_generic(self.identifiers[v], threshold)) or [start]
        else:
            ids = [self._vertex_id(id_type, value)]
        change = customers.split(self.tenant, self._around(ids), threshold,
                                 self._mint(model.suppression_id(ids[0])), forgotten=ids)
        gone = set(ids)
        stored = sum(self.identifiers.pop(vertex, None) is not None for vertex in ids)
        pairs = [pair for pair in self.links if pair & gone]
        for pair in pairs:
            del self.links[pair]
            for other in pair - gone:
                self.identifiers[other]["degree"] -= 1
        self.nolinks = {pair for pair in self.nolinks if not pair & gone}
        orphans = [e for e, observed in self.events.items() if observed <= gone]
        for event in orphans:
            del self.events[event]
            self.sealed_events.discard(event)
        erased = [e for e, observed in self.events.items() if observed & gone and e in self.sealed_events]
        self.sealed_events.difference_update(erased)
        for observed in self.events.values():
            observed -= gone
        self.suppressed.update(model.suppression_id(vertex) for vertex in ids)
        self._change(change)
        return {"identifiers": stored, "links": len(pairs), "events": len(orphans),
                "event_attributes": len(erased), "suppressed": len(ids)}

    def _vertex_id(self, id_type: str, value: str) -> str:
        normalized = normalize(id_type, value, self.config)
        return model.identifier_id(self.tenant, id_type, self.protector.blind_index(id_type, normalized))
