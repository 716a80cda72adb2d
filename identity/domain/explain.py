"""explain(a, b): are two identifiers one customer now, and why, or what keeps them apart.

Read-only, two graph round trips at most:

1. resolve's neighbourhood walk (identity.domain.resolve) from both identifiers at once, as resolve_many
   walks several starts, with the do-not-link rules around them and their suppression entries
   (an identifier forgotten on request). The walk goes as far as the wider of the call's bounds
   (``max_hops``, ``max_fanout``) and the tenant's own (ingest's), so both views are in it:
   resolve's, which says whether they are one customer (the customer ids resolve answers) and
   through which shortest paths; ingest's, the customers the guards weigh.
2. The events behind the links of the paths reported (each link's first and last event and the
   earliest EVENTS_PER_LINK of those that observed both its ends, found among EVENT_SCAN
   observations), and, when they are apart, the earliest events that observed an identifier of
   each customer (up to MAX_JOINT_EVENTS, found among EVENT_SCAN observations): the guards are
   run again on what is stored (identity.domain.guards.plan_links, the identifiers of those two
   customers in the event, as the customers are now) to name the rule that refuses joining them.

When they are apart it lists what it finds, each with its timestamps: a do-not-link rule between
the two customers (``unlink``: when it was made); a link between them that stopped joining
(``scoped``: when); shortest paths that exist but go through an
identifier resolve's walk does not cross (marked shared, generic by its link count, or past the
call's fan-out bound: its degree, conflict count, first and last seen); events whose link the
guards refuse; an identifier that answers for itself alone (shared or generic); a path within
``max_hops`` whose two ends' walks reach different oldest customer ids; no path at all within
``max_hops``; an identifier unknown, blocked by the tenant's guards or forgotten on request (the
suppression's time).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, __
from gremlin_python.process.traversal import P, T

from ..base.errors import ValidationError
from ..graph.connection import submit
from . import model
from .customers import is_generic
from .guards import TenantConfig, is_blocked, plan_links
from .identifiers import normalize
from .ingest import stored_candidate
from .resolve import iso, open_value
from .tenant_graph import TenantGraph
from .walk import (anchor_of, edge_props, hood_source, hood_traversal, hoods_of, link_map, members, members_of,
                   plain, result_vertices, shortest_paths)

__all__ = ["explain", "all_shortest_paths", "MAX_PATHS", "EVENTS_PER_LINK", "MAX_JOINT_EVENTS", "EVENT_SCAN"]

#: The most shortest paths reported (joining them, or kept from joining them).
MAX_PATHS = 5
#: The events listed per link besides its first and last (its ``count`` says how many there are).
EVENTS_PER_LINK = 10
#: The most events that observed both customers whose refusal is explained.
MAX_JOINT_EVENTS = 10
#: The most observations one search for events reads: the events of a busy identifier are many.
EVENT_SCAN = 1000

_EVENT_KEYS = ("event_id", "type", "ts", "ingested_at")


@dataclass
class _Side:
    """One of the two identifiers asked about."""

    name: str  # "a" or "b": the field errors name
    type: str
    value: str | None  # normalised (None: invalid, but a blocked placeholder)
    vertex: str | None
    blocked: bool


def explain(identity: TenantGraph, a: Any, b: Any, *, max_hops: int, max_fanout: int) -> dict[str, Any]:
    """The answer of IdentityGraph.explain (options already checked), read through ``identity``."""
    config = identity.config  # once: an operator may change it meanwhile (identity.service.settings)
    sides = [_side(identity, config, "a", a), _side(identity, config, "b", b)]
    if sides[0].vertex is not None and sides[0].vertex == sides[1].vertex:
        raise ValidationError("b", "is the same identifier as a")
    graph = _Read(identity, config, [s.vertex for s in sides if s.vertex is not None], max_hops, max_fanout)
    return _Explanation(identity, config, graph, sides, max_hops).answer()


def _side(identity: TenantGraph, config: TenantConfig, name: str, identifier: Any) -> _Side:
    if not isinstance(identifier, (tuple, list)) or len(identifier) != 2:
        raise ValidationError(name, "must be an identifier: (type, value)")
    id_type, raw = identifier
    try:
        value = normalize(id_type, raw, config, field=name)
    except ValidationError as invalid:  # a blocked placeholder ("0000000000") need not be valid
        if invalid.field.endswith(".type") or not isinstance(raw, str) or not is_blocked(config, id_type, "", raw):
            raise
        return _Side(name, id_type, None, None, True)
    vertex = model.identifier_id(identity.tenant, id_type, identity.protector.blind_index(id_type, value))
    return _Side(name, id_type, value, vertex, is_blocked(config, id_type, value, raw))


class _Read:
    """The first round trip: the walk from both identifiers, read in resolve's and ingest's views."""

    def __init__(self, identity: TenantGraph, config: TenantConfig, starts: list[str], max_hops: int,
                 max_fanout: int):
        self.expand = min(config.generic_threshold, max_fanout)  # resolve's walk
        result: dict[str, Any] = {}
        if starts:
            walk = hood_source(identity.reader).V(*starts).has_label(model.IDENTIFIER)
            suppressed = __.V(*[model.suppression_id(v) for v in starts]).element_map("created").fold()
            # the links no walk crosses (model.SCOPED) at the identifiers reached: when
            scoped = (members("seen").both_e(model.LINK).has(model.SCOPED).dedup()
                      .project("id", "ends", "scoped").by(T.id).by(__.both_v().id_().fold()).by(model.SCOPED).fold())
            result = submit(hood_traversal(walk, max_hops=max(max_hops, config.max_hops),
                                           expand_limit=max(self.expand, config.expand_limit),
                                           path_cap=config.path_cap * len(starts),
                                           extra={"suppressed": suppressed, "scoped": scoped},
                                           nolink_created=True))[0]
        self.vertices = result_vertices(result)
        self.edges, self.links = link_map(self.vertices, result.get("edges", []))
        decoded = (result, self.vertices, self.edges, self.links)
        self.resolved = hoods_of(*decoded, max_hops=max_hops, expand_limit=self.expand)
        self.ingested = hoods_of(*decoded, max_hops=config.max_hops, expand_limit=config.expand_limit)
        self.capped = any(hood.capped for hood in self.resolved.values())
        self.nolinks = {frozenset((rule["out"], rule["in"])): rule["created"]
                        for rule in map(edge_props, result.get("nolinks", []))}
        self.suppressed = {rule["id"]: rule["created"] for rule in map(plain, result.get("suppressed", []))}
        self.scoped = {row["id"]: (tuple(row["ends"]), row["scoped"]) for row in result.get("scoped", [])}


class _Explanation:
    def __init__(self, identity: TenantGraph, config: TenantConfig, graph: _Read, sides: list[_Side],
                 max_hops: int):
        self.identity, self.config, self.graph, self.sides, self.max_hops = identity, config, graph, sides, max_hops
        self.threshold = config.generic_threshold
        self.reaches: dict[str, dict[str, list[str]]] = {}  # ingest_reach's walks
        self.values: dict[str, str] = {}

    # -- the answer ------------------------------------------------------------------------------
    def answer(self) -> dict[str, Any]:
        graph, (a, b) = self.graph, self.sides
        found = a.vertex in graph.resolved and b.vertex in graph.resolved
        customers = [self.customer(side) for side in self.sides]
        same = found and customers[0] is not None and customers[0] == customers[1] and not any(
            is_generic(graph.vertices[side.vertex], self.threshold) for side in self.sides)
        apart: list[dict[str, Any]] = [reason for side in self.sides for reason in self.missing(side)]
        paths: list[list[str]] = []
        blocked: list[list[str]] = []
        joint: list[str] = []
        if found:
            paths = self.shortest(lambda v: not is_generic(graph.vertices[v], graph.expand))
        if found and not same:
            apart += [reason for side in self.sides for reason in self.no_customer(side)]
            apart += self.do_not_link()
            apart += self.scoped_between()
            blocked = [] if paths else [path for path in self.shortest(lambda v: True) if self.stops(path)]
            joint = self.joint_query_ids()
        events = self.events([link for path in paths + blocked for link in path[1::2]], joint)
        if found and not same:
            joint_events = sorted(events.get("joint", []), key=lambda row: _event_order(row["event"]))
            refusals = (self.refusal(row) for row in joint_events)
            apart += [refusal for refusal in refusals if refusal is not None]
            apart += [{"reason": "not_crossed", "path": self.path(path, events),
                       "identifiers": [self.stop(v) for v in self.stops(path)]} for path in blocked]
            if paths:  # each is in the other's walk, but the walks reach different oldest ids
                apart.append({"reason": "customer_ids_differ", "detail": "joined within max_hops, but resolve "
                              "from each reaches a different oldest customer id: their customer reaches further"})
            elif not blocked:
                apart.append({"reason": "no_path", "max_hops": self.max_hops,
                              "detail": f"no path of at most {self.max_hops} links joins them"})
        return {"a": self.describe_side(a, customers[0]), "b": self.describe_side(b, customers[1]),
                "same_customer": same, "paths": [self.path(path, events) for path in paths], "apart": apart,
                "truncated": graph.capped}

    def customer(self, side: _Side) -> str | None:
        hood = self.graph.resolved.get(side.vertex or "")
        return None if hood is None else anchor_of(hood, self.threshold)[model.CID]

    def describe_side(self, side: _Side, customer: str | None) -> dict[str, Any]:
        described: dict[str, Any] = {"type": side.type, "value": side.value, "found": customer is not None,
                                     "blocked": side.blocked, "customer_id": customer}
        if side.vertex in self.graph.vertices:
            described.update(self.facts(side.vertex))
        return described

    # -- what keeps them apart -------------------------------------------------------------------
    def missing(self, side: _Side) -> Iterator[dict[str, Any]]:
        """An identifier that is not stored: forgotten on request, blocked, or never seen."""
        if side.vertex in self.graph.resolved:
            return
        created = self.graph.suppressed.get(model.suppression_id(side.vertex)) if side.vertex else None
        if created is not None:
            yield {"reason": "suppressed", "identifier": side.name, "created": iso(created),
                   "detail": "forgotten on request: never stored again"}
        elif side.blocked:
            yield {"reason": "blocked", "identifier": side.name, "detail": "a blocked value is never linked"}
        else:
            yield {"reason": "unknown", "identifier": side.name, "detail": "not in this tenant's graph"}

    def no_customer(self, side: _Side) -> Iterator[dict[str, Any]]:
        """An identifier that answers for itself alone (shared, or generic by its link count)."""
        props = self.graph.vertices[side.vertex]
        if is_generic(props, self.threshold):
            yield {"reason": "no_customer", "identifier": side.name, **self.stop(side.vertex)}

    def scoped_between(self) -> list[dict[str, Any]]:
        """The links between the two customers (resolve's) that stopped joining (model.SCOPED): a
        cookie's, made on a device before it was known to be used by several people; and two such
        links of an identifier in neither customer, one to each (``through``: a device whose links
        to personal identifiers stopped joining, ``device_past_personal_links``: it joined the two
        before it was known to be used by several people). Such a device was not read (no walk
        crosses a scoped link): it is named by its type, the rest of its vertex id being a blind index."""
        a, b = (self.graph.resolved[side.vertex].paths for side in self.sides)
        found = []
        outside: dict[str, list[tuple[str, int]]] = {}  # an identifier in neither -> its scoped ends in one
        for link, ((x, y), when) in sorted(self.graph.scoped.items()):
            if y in a and x in b:
                x, y = y, x
            if x in a and y in b:
                found.append({"reason": "scoped", "between": [self.described(x), self.described(y)],
                              "scoped": iso(when), "detail": self._scoped_detail(x, y)})
                continue
            for inside, other in ((x, y), (y, x)):
                if (inside in a or inside in b) and other not in a and other not in b:
                    outside.setdefault(other, []).append((inside, when))
        for middle, ends in sorted(outside.items()):
            # one entry per identifier gone through, between each side's start when it is an end
            sides = [[(v, when) for v, when in ends if v in hood] for hood in (a, b)]
            if not all(sides):
                continue
            (x, x_when), (z, z_when) = (min(found_in, key=lambda end: (end[0] != side.vertex, end))
                                        for found_in, side in zip(sides, self.sides))
            found.append({"reason": "scoped", "between": [self.described(x), self.described(z)],
                          "through": {"type": model.identifier_type(middle)}, "scoped": iso(max(x_when, z_when)),
                          "detail": self._scoped_detail(x, z)})
        return found

    def _scoped_detail(self, x: str, y: str) -> str:
        if {self.graph.vertices[x]["type"], self.graph.vertices[y]["type"]} & self.config.device_scoped_types:
            return ("a cookie's link made on a device before it was known to be used by several people joins "
                    "nothing since (device_scope_past_links)")
        return ("joined through a device before it was known to be used by several people: its links to personal "
                "identifiers join nothing since (device_past_personal_links)")

    def do_not_link(self) -> list[dict[str, Any]]:
        """The do-not-link rules (unlink) between the two customers, as ingest sees them."""
        group_a, group_b = self.groups
        rules = []
        for x in sorted(group_a):
            for y in sorted(self.graph.vertices[x]["nolinks"] & group_b):
                rules.append({"reason": "do_not_link", "between": [self.node(x), self.node(y)],
                              "created": iso(self.graph.nolinks.get(frozenset((x, y))))})
        return rules

    @functools.cached_property
    def groups(self) -> tuple[set[str], set[str]]:
        """The identifiers of each side's customer as ingest weighs it (itself when it is in none)."""
        hoods = [self.graph.ingested[side.vertex] for side in self.sides]
        group_a, group_b = ({hood.start, *members_of(hood.paths, hood.vertices, self.threshold)} for hood in hoods)
        return group_a, group_b

    def joint_query_ids(self) -> list[str]:
        return sorted(self.groups[0] | self.groups[1])

    def ingest_reach(self, vertex: str) -> dict[str, list[str]]:
        """What ingest's walk from ``vertex`` reaches in what was read: walked once per call, however
        many of the joint events carry it."""
        if vertex not in self.reaches:
            self.reaches[vertex] = shortest_paths(vertex, self.graph.vertices, self.graph.links,
                                                  self.config.max_hops, self.config.expand_limit)
        return self.reaches[vertex]

    def refusal(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """An event that observed both customers, with the rule the guards refuse joining them by
        now; None when they would not (it joined them, through an identifier now generic or shared,
        or with what was stored then)."""
        group_a, group_b = self.groups
        stored = sorted((v for v in set(row["identifiers"]) if v in group_a | group_b),
                        key=lambda v: (self.config.priority(self.graph.vertices[v]["type"]), v))
        candidates = [stored_candidate(n, v, self.ingest_reach(v), self.graph.vertices, self.config)
                      for n, v in enumerate(stored)]
        event = _event(plain(row["event"]))
        for refused in plan_links(candidates, self.config).refused:
            x, y = stored[refused["a"]["index"]], stored[refused["b"]["index"]]
            if x in group_b and y in group_a:
                x, y = y, x  # a's side first
            if x in group_a and y in group_b:
                return {"reason": "refused", "rule": refused["reason"], "detail": refused["detail"],
                        "between": [self.described(x), self.described(y)], "event": event}
        return None

    def stops(self, path: list[str]) -> list[str]:
        """The identifiers of ``path`` that resolve's walk does not go through."""
        return [v for v in path[0::2] if is_generic(self.graph.vertices[v], self.graph.expand)]

    def stop(self, vertex: str) -> dict[str, Any]:
        props = self.graph.vertices[vertex]
        why = ("shared" if props.get(model.SHARED) else "generic" if props["degree"] > self.threshold
               else "fan_out" if props["degree"] > self.graph.expand else None)
        return {**self.described(vertex), "why": why}

    # -- paths -----------------------------------------------------------------------------------
    def shortest(self, crossable: Callable[[str], bool]) -> list[list[str]]:
        a, b = (side.vertex for side in self.sides)
        return all_shortest_paths(a, b, self.graph.links, self.max_hops, crossable, MAX_PATHS)

    def path(self, path: list[str], events: Mapping[str, list]) -> dict[str, Any]:
        steps = []
        for k in range(1, len(path), 2):
            edge = self.graph.edges[path[k]]
            steps.append({"from": self.node(path[k - 1]), "to": self.node(path[k + 1]),
                          "first_seen": iso(edge["first_seen"]), "last_seen": iso(edge["last_seen"]),
                          "count": edge["count"],
                          "events": [_event(plain(e)) for e in sorted(events.get(path[k], []), key=_event_order)]})
        return {"hops": len(path) // 2, "steps": steps}

    def events(self, links: list[str], joint: list[str]) -> dict[str, list]:
        """The second round trip: each link's events, and the events that observed both customers."""
        queries: dict[str, GraphTraversal] = {}
        for link in dict.fromkeys(links):
            queries[link] = self.link_events(self.graph.edges[link])
        if joint:
            group_a, group_b = (sorted(group) for group in self.groups)
            queries["joint"] = (__.V(*joint).in_(model.OBSERVED).dedup().limit(EVENT_SCAN)
                                .where(__.out(model.OBSERVED).has_id(*group_a))
                                .where(__.out(model.OBSERVED).has_id(*group_b))
                                .order().by("ts").by("event_id").limit(MAX_JOINT_EVENTS)
                                .project("event", "identifiers").by(__.element_map(*_EVENT_KEYS))
                                .by(__.out(model.OBSERVED).id_().fold()).fold())
        if not queries:
            return {}
        names = [f"q{n}" for n in range(len(queries))]  # link ids are long: the reply names them short
        traversal = self.identity.reader.inject(0).project(*names)
        for query in queries.values():
            traversal = traversal.by(query)
        row = submit(traversal)[0]
        return {key: row[name] for key, name in zip(queries, names)}

    def link_events(self, edge: Mapping[str, Any]) -> GraphTraversal:
        """A link's first and last events, and others that observed both its ends, read from the
        end with fewer links (its events are likely fewer)."""
        ends = sorted((edge["out"], edge["in"]), key=lambda v: (self.graph.vertices[v]["degree"], v))
        named = sorted({model.event_vertex_id(self.identity.tenant, edge[k]) for k in ("first_event", "last_event")})
        return (__.union(__.V(*named).has_label(model.EVENT),
                         __.V(ends[0]).in_(model.OBSERVED).limit(EVENT_SCAN)
                         .where(__.out(model.OBSERVED).has_id(ends[1]))
                         .order().by("ts").by("event_id").limit(EVENTS_PER_LINK))
                .dedup().element_map(*_EVENT_KEYS).fold())

    # -- how identifiers are shown ---------------------------------------------------------------
    def node(self, vertex: str) -> dict[str, Any]:
        props = self.graph.vertices[vertex]
        if vertex not in self.values:
            self.values[vertex] = open_value(self.identity.protector, props)
        return {"type": props["type"], "value": self.values[vertex]}

    def described(self, vertex: str) -> dict[str, Any]:
        return {**self.node(vertex), **self.facts(vertex)}

    def facts(self, vertex: str) -> dict[str, Any]:
        """What the graph records about an identifier that bears on merging it."""
        props = self.graph.vertices[vertex]
        return {"degree": props["degree"], "shared": bool(props.get(model.SHARED)),
                "conflicts": props.get(model.CONFLICTS, 0), "generic": is_generic(props, self.threshold),
                "first_seen": iso(props["first_seen"]), "last_seen": iso(props["last_seen"])}


def all_shortest_paths(start: str, goal: str, links: Mapping[str, Mapping[str, str]], max_hops: int,
                       crossable: Callable[[str], bool], limit: int) -> list[list[str]]:
    """The shortest paths (ids: v, e, v, ...) from ``start`` to ``goal`` of at most ``max_hops``
    links, going on only from identifiers ``crossable`` allows (the start included), at most
    ``limit`` of them: the least by their ids, so that every backend reports the same ones."""
    parents: dict[str, list[tuple[str, str]]] = {start: []}
    frontier = [start]
    for _ in range(max_hops):
        if goal in parents or not frontier:
            break
        found: dict[str, list[tuple[str, str]]] = {}
        for vertex in frontier:
            if not crossable(vertex):
                continue
            for other, link in links.get(vertex, {}).items():
                if other not in parents:
                    found.setdefault(other, []).append((vertex, link))
        parents.update(found)
        frontier = list(found)
    if goal not in parents:
        return []
    paths: list[list[str]] = []

    def back(vertex: str, tail: list[str]) -> None:
        if len(paths) >= limit:
            return
        if vertex == start:
            paths.append([start, *tail])
            return
        for parent, link in sorted(parents[vertex]):
            back(parent, [link, vertex, *tail])

    back(goal, [])
    return sorted(paths)


def _event(props: Mapping[str, Any]) -> dict[str, Any]:
    return {"event_id": props["event_id"], "type": props["type"], "timestamp": iso(props["ts"]),
            "ingested_at": iso(props["ingested_at"])}


def _event_order(element_map: Mapping[Any, Any]) -> tuple:
    props = plain(element_map)
    return props["ts"], props["event_id"]
