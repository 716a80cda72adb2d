"""One chunk (identity.domain.ingest, step 4): the writes of consecutive events and what their
plans depended on, written as ONE traversal that first checks the graph is still as the plans
read it (the guard) and otherwise writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, P
from gremlin_python.statics import long

from ..graph.connection import submit
from ..security.protect import Protector
from . import customers, model, writes
from .batch_read import View
from .events import PreparedEvent
from .guards import TenantConfig

__all__ = ["Chunk", "LinkWrite", "Touch"]

_SINGLE = Cardinality.single


@dataclass
class LinkWrite:
    low: str
    high: str
    new: bool
    count: int = 0
    first: tuple[float, str] = (float("inf"), "")
    last: tuple[float, str] = (float("-inf"), "")

    lowers_first: bool = False  # whether first_seen/last_seen may change: stored values
    raises_last: bool = False   # only ever fall/rise, so the view's tell when they cannot

    def observe(self, ts: int, event_id: str, seen: list[int]) -> None:
        # the same tie-breaks as one event at a time: the earliest event keeps first_event,
        # the latest takes last_event
        self.count += 1
        if ts < self.first[0]:
            self.first = (ts, event_id)
        if ts >= self.last[0]:
            self.last = (ts, event_id)
        self.lowers_first = self.lowers_first or ts < seen[0]
        self.raises_last = self.raises_last or ts >= seen[1]
        seen[0], seen[1] = min(seen[0], ts), max(seen[1], ts)


@dataclass
class Touch:
    """An identifier that existed before the chunk: what the chunk changes on it."""

    degree: int = 0
    first_seen: int | None = None
    last_seen: int | None = None


class Chunk:
    def __init__(self, tenant: str, config: TenantConfig):
        self.tenant = tenant
        self.config = config
        self.created: dict[str, str] = {}  # new identifier -> its sealed value
        self.touched: dict[str, Touch] = {}
        self.shared: set[str] = set()  # stored identifiers the chunk marks shared
        self.conflicts: dict[str, int] = {}  # stored identifier -> how much its conflict count rises
        self.links: dict[str, LinkWrite] = {}
        #: stored link -> when it stopped joining (model.SCOPED: guards.scoped_links)
        self.scoped: dict[str, int] = {}
        self.events: list[tuple[PreparedEvent, list[str], int]] = []  # event, its identifiers, ingest time
        #: (predicate name, argument) -> identifiers whose degree must still satisfy it
        self.expected: dict[tuple, set[str]] = {}
        self.absent: set[str] = set()  # identifiers and events the chunk creates
        #: new links between two generic identifiers, and the do-not-link rules of every new link
        self.absent_links: set[str] = set()
        #: stored identifier -> the customer id its plans saw it carry (identity.domain.customers)
        self.cids: dict[str, str] = {}
        self.carry: dict[str, tuple[str, int]] = {}  # stored identifier -> the (cid, since) it carries now
        self.retired: dict[str, str] = {}  # customer ids no identifier carries any more -> their heirs

    @property
    def writes(self) -> int:
        return (len(self.created) + len(self.touched) + len(self.links) + len(self.shared) + len(self.conflicts)
                + len(self.scoped) + len(self.carry) + 2 * len(self.retired) + sum(1 + len(ids) for _, ids, _ in self.events))

    def depend(self, view: View, reach: dict[str, int], candidate_ids: set[str]) -> None:
        """Record what a plan read about the identifiers it reached, as of the chunk's start.
        Identifiers whose links matter (expanded ones, the event's own) must keep their exact
        degree; the others only their side of the thresholds the plan compared them with; those
        it saw in customers must still not be marked shared (a concurrent mark would have split
        what the plan joins, or moved the id it takes)."""
        threshold, max_hops = self.config.generic_threshold, self.config.max_hops
        expand = self.config.expand_limit
        for vertex, hops in reach.items():
            if vertex in self.absent:
                continue
            touch = self.touched.get(vertex)
            degree = view.vertices[vertex]["degree"] - (touch.degree if touch else 0)
            if touch and touch.degree or (degree > threshold):
                key = ("eq", degree) if touch and touch.degree else ("gt", threshold)
            elif (hops < max_hops and degree <= expand) or vertex in candidate_ids:
                key = ("eq", degree)
            elif hops < max_hops:
                key = ("between", (expand + 1, threshold + 1))
            else:
                key = ("lte", threshold)
            unshared = degree <= threshold and (vertex in self.shared or not view.vertices[vertex].get(model.SHARED))
            self.expected.setdefault((*key, unshared), set()).add(vertex)

    def touch(self, vertex: str) -> Touch:
        return self.touched.setdefault(vertex, Touch())

    def expect(self, vertex: str, cid: str) -> None:
        """A plan took (or moved) ``vertex``'s customer id ``cid``: it must carry it still when the
        chunk is written (as of the chunk's start: the first expectation stands)."""
        if vertex not in self.absent:
            self.cids.setdefault(vertex, cid)

    def retire(self, retired: Mapping[str, str]) -> None:
        for old, heir in retired.items():
            for earlier, their_heir in self.retired.items():  # an id retired into ``old`` leads on
                if their_heir == old:
                    self.retired[earlier] = heir
            self.retired[old] = heir

    def guard(self) -> GraphTraversal:
        """A check that holds when nothing the chunk's plans depended on has changed: every
        identifier they reached still has the degree they saw (exactly, or on the same side of
        the thresholds they compared it with), those they saw in customers are still not marked
        shared, those whose customer id they took still carry it, nothing the chunk creates
        exists, and no do-not-link rule forbids a link it creates. One shape whatever the chunk
        holds (identity.domain.writes): each exact degree and customer id is looked up by the
        identifier's id, the thresholds are the tenant's."""
        exact: dict[str, int] = {}
        sides: dict[str, set[str]] = {"gt": set(), "between": set(), "lte": set()}
        unshared: set[str] = set()
        for (name, argument, must_be_unshared), vertices in self.expected.items():
            if must_be_unshared:
                unshared |= vertices
            if name != "eq":
                sides[name] |= vertices
                continue
            for vertex in vertices:  # one identifier is expected at one degree: -1 never holds
                exact[vertex] = argument if exact.get(vertex, argument) == argument else -1
        threshold, expand = self.config.generic_threshold, self.config.expand_limit
        checks = [writes.own_value(writes.vertices(exact).values("degree").as_("degree"), exact)
                  .where(P.eq("degree")).count().is_(len(exact))]
        for name, predicate in (("gt", P.gt(threshold)), ("between", P.between(expand + 1, threshold + 1)),
                                ("lte", P.lte(threshold))):
            checks.append(writes.vertices(sides[name]).has("degree", predicate).count().is_(len(sides[name])))
        checks.append(writes.vertices(unshared).has_not(model.SHARED).count().is_(len(unshared)))
        checks.append(writes.own_value(writes.vertices(self.cids).values(model.CID).as_(model.CID), self.cids)
                      .where(P.eq(model.CID)).count().is_(len(self.cids)))
        return __.and_(*checks, writes.vertices(self.absent).count().is_(0),
                       writes.edges(self.absent_links).count().is_(0))

    def created_meanwhile(self, g: GraphTraversalSource) -> bool:
        """Whether an element this chunk creates exists now (one read)."""
        new_links = sorted(lid for lid, link in self.links.items() if link.new)
        # never an empty V()/E(): that would count the whole partition
        reads = ([__.V(*sorted(self.absent))] if self.absent else []) + ([__.E(*new_links)] if new_links else [])
        return bool(reads) and bool(submit(g.inject(0).union(*reads).count())[0])

    def traversal(self, g: GraphTraversalSource, view: View, protector: Protector) -> GraphTraversal:
        """The chunk's one write traversal: the guard, then every write. It returns one value
        when it wrote and nothing when the guard failed (then it wrote nothing). Its steps are
        the same whatever the chunk holds; the elements and values are arguments (identity.domain.writes)."""
        tenant = self.tenant
        created = []
        for vertex, sealed in self.created.items():
            created.append({"search": model.vertex_key(tenant, vertex, model.IDENTIFIER),
                            "create": _single(self.identifier_props(view.vertices[vertex], sealed))})
        touched = self.touched.items()
        degrees = {v: touch.degree for v, touch in touched if touch.degree}
        # the lesser/greater of the stored time and the plan's, computed by the graph when it
        # writes, not from the read: a concurrent writer may have moved them
        first_seen = {v: long(touch.first_seen) for v, touch in touched if touch.first_seen is not None}
        last_seen = {v: long(touch.last_seen) for v, touch in touched if touch.last_seen is not None}
        new_links, stored = [], []
        for lid, link in self.links.items():
            if link.new:
                new_links.append({"search": model.edge_key(tenant, lid, model.LINK, link.low, link.high),
                                  "create": self.link_props(link)})
            else:
                stored.append((lid, link))
        lowered = {lid: link.first for lid, link in stored if link.lowers_first}
        raised = {lid: link.last for lid, link in stored if link.raises_last}
        events = []
        for event, identifier_ids, ingested_at in self.events:
            events.append({"search": model.vertex_key(tenant, event.vertex_id, model.EVENT),
                           "create": _single(self.event_props(event, ingested_at, protector)),
                           "observes": writes.ends(identifier_ids, model.IDENTIFIER)})
        # the creates first: they are what can fail on the data (an id taken, an end gone), and
        # then before anything else is written (what is left on a graph without transactions is
        # said in docs/data-model.md); the events last, so that a stored event was written whole
        writes_in_order = [
            writes.created_vertices(created),
            writes.created_edges(new_links),
            writes.vertices(degrees).property(_SINGLE, "degree", writes.plus_own("degree", degrees)),
            writes.vertices(first_seen).property(_SINGLE, "first_seen", writes.least_own("first_seen", first_seen)),
            writes.vertices(last_seen).property(_SINGLE, "last_seen", writes.greatest_own("last_seen", last_seen)),
            writes.vertices(self.shared).property(_SINGLE, model.SHARED, True),
            writes.vertices(self.conflicts).property(_SINGLE, model.CONFLICTS,
                                                     writes.plus_own(model.CONFLICTS, self.conflicts)),
            writes.edges(self.scoped).property(model.SCOPED, writes.own({lid: long(ms) for lid, ms in self.scoped.items()})),
            writes.edges(lid for lid, _ in stored).property(
                "count", writes.plus_own("count", {lid: link.count for lid, link in stored})),
            # first_seen/first_event and last_seen/last_event move together: the time decides
            _conditional_set(writes.edges(lowered), P.gt, {k: long(t) for k, (t, _) in lowered.items()},
                             "first_seen").property("first_event", writes.own({k: e for k, (_, e) in lowered.items()})),
            _conditional_set(writes.edges(raised), P.lte, {k: long(t) for k, (t, _) in raised.items()},
                             "last_seen").property("last_event", writes.own({k: e for k, (_, e) in raised.items()})),
        ]
        t = writes.unbulked(g).inject(0).and_(self.guard())
        for write in writes_in_order:
            t = t.side_effect(write)
        if self.carry or self.retired:  # customer ids moved by a split (identity.domain.customers)
            t = customers.write(t, customers.Reassignment(self.carry, self.retired), tenant, self.events[-1][2])
        # an event, then its observed edges, added from it to each identifier it observes (a
        # reference the graph resolves by id): the event is new, so none of its edges can exist,
        # and an addE() searches for nothing where a mergeE() row built, strategy-applied and ran
        # a search traversal of its own on the server (docs/benchmarks.md, "The graph server's
        # CPU per event")
        return t.side_effect(writes.created_vertices_with_edges(events, "observes", model.OBSERVED))

    # what a new element of the chunk holds besides its search map (model.vertex_key / edge_key:
    # id, label, tenant); times as long: gremlinpython's GraphBinary writes a plain int as a 32-bit Int

    def identifier_props(self, props: dict, sealed: str) -> dict[str, Any]:
        """A new identifier's properties, from its view entry ``props`` and sealed value."""
        created = {"type": props["type"], "value": sealed,
                   "created": long(props["created"]), model.CID: props[model.CID], model.SINCE: long(props[model.SINCE]),
                   "first_seen": long(props["first_seen"]), "last_seen": long(props["last_seen"]),
                   "degree": props["degree"]}
        if props.get(model.SHARED):
            created[model.SHARED] = True
        if props.get(model.CONFLICTS):
            created[model.CONFLICTS] = props[model.CONFLICTS]
        return created

    def link_props(self, link: LinkWrite) -> dict[str, Any]:
        return {"count": link.count, "first_seen": long(link.first[0]),
                "first_event": link.first[1], "last_seen": long(link.last[0]), "last_event": link.last[1]}

    def event_props(self, event: PreparedEvent, ingested_at: int, protector: Protector) -> dict[str, Any]:
        created = {"event_id": event.event_id, "type": event.type,
                   "ts": long(event.timestamp_ms), "ingested_at": long(ingested_at)}
        if event.attributes:
            created["attributes"] = protector.seal(event.vertex_id, "attributes",
                                                   json.dumps(event.attributes, sort_keys=True))
        return created


def _single(properties: dict) -> dict:
    """An onCreate map whose every property is written with single cardinality (Neptune's
    default is set; a map that comes from a traversal cannot take option()'s cardinality)."""
    return {key: writes.single(value) for key, value in properties.items()}


def _conditional_set(elements: GraphTraversal, compare: Any, values: Mapping[str, int], key: str) -> GraphTraversal:
    """Set ``key`` of each element to its own value in ``values`` where its stored value
    ``compare``s to it (so a concurrent writer's later or earlier time is kept); the caller sets
    what goes with it on the elements that pass."""
    chosen = writes.own_value(elements, values).as_("value").select(writes.ELEMENT).where(compare("value")).by(key).by()
    return chosen.property(key, __.select("value"))


def _grouped(pairs: Iterable[tuple[Any, str]]) -> dict[Any, list[str]]:
    """(change, element id) pairs as change -> the ids of the elements it applies to."""
    groups: dict[Any, list[str]] = {}
    for change, element in pairs:
        groups.setdefault(change, []).append(element)
    return groups
