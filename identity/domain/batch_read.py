"""The batch read (identity.domain.ingest, step 2): one traversal for a whole batch, and the View
of the graph its events are planned on, which each plan updates so that later events see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __

from ..graph.connection import submit
from . import customers, model, writes
from .events import PreparedEvent
from .guards import TenantConfig
from .walk import by_reference, members, nearest, neighbourhood_walk, plain, walk_source

__all__ = ["View", "read_batch", "ReadTargets", "view_of", "PLANNED_KEYS"]

#: The identifier properties planning reads (not the sealed value).
PLANNED_KEYS = ("type", "created", model.CID, model.SINCE, "founder", "degree", "first_seen", "last_seen",
                 model.SHARED, model.CONFLICTS)


class View:
    """What the batch read, plus what the events planned so far would write: identifier
    properties, the links among them and the stored events."""

    def __init__(self, vertices: dict[str, dict], adjacency: dict[str, dict[str, str]],
                 links: dict[str, list[int]], events: set[str], suppressed: set[str]):
        self.vertices = vertices
        #: identifier -> neighbour -> "": reach() counts hops, and which of two equally near
        #: paths walk.nearest prefers (by link id) does not change a count, so the read
        #: does not derive the id of every link it returns (a hash each)
        self.adjacency = adjacency
        self.links = links  # link id -> [first_seen, last_seen]
        self.events = events
        self.suppressed = suppressed  # suppression entries of the batch's identifiers

    def reach(self, start: str, max_hops: int, expand_limit: int) -> dict[str, int]:
        """Identifier -> hops, by the rules of the neighbourhood walk (walk.nearest)."""
        return {vertex: step[0] for vertex, step in nearest(start, self.vertices, self.adjacency, max_hops,
                                                             expand_limit).items()}

    def link(self, a: str, b: str) -> None:
        self.adjacency.setdefault(a, {})[b] = ""
        self.adjacency.setdefault(b, {})[a] = ""

    def scope(self, a: str, b: str) -> None:
        """The stored link between ``a`` and ``b`` stopped joining (model.SCOPED): planning refuses
        it again (guards.Member.scoped_with)."""
        for vertex, other in ((a, b), (b, a)):
            if vertex in self.vertices:
                props = self.vertices[vertex]
                props["scoped_with"] = props.get("scoped_with", frozenset()) | {other}

    def around(self, starts: Iterable[str], config: TenantConfig, expand_too: Iterable[str] = ()) -> customers.Neighbourhood:
        """The customers around ``starts``, as resolve walks them (identity.domain.customers.walk)."""
        return customers.walk(starts, self.vertices.get, lambda v: self.adjacency.get(v, ()),
                              max_hops=config.max_hops, expand_limit=config.expand_limit, expand_too=expand_too)

    def customer_id(self, start: str, config: TenantConfig) -> str:
        """The id resolve answers for ``start`` (identity.domain.customers)."""
        return customers.customer_id(self.around([start], config), start, config.generic_threshold)


def read_batch(g: GraphTraversalSource, tenant: str, events: list[PreparedEvent], config: TenantConfig) -> View:
    """One round trip: the identifiers within ``max_hops`` of any identifier of ``events`` and the
    links among them, which of the events are stored, which links already join two identifiers
    of one event, and which of the identifiers were forgotten (suppressed).

    The walk is resolve's (walk.neighbourhood_walk) from all the batch's identifiers at once:
    each identifier is expanded at its smallest distance from the batch, so it holds all the
    subgraph a per-identifier walk could see, and View.reach walks each start's own
    neighbourhood in it, by the same rules, on the client. ``cap`` is ``path_cap`` per start.

    What comes back is kept small, and each collection by one step per element, never a child
    traversal (Gremlin Server 3.7.3 paid more per element the larger the collection:
    walk.several_traversal): identifiers as element maps of the planned keys, the links crossed
    (those of every expanded identifier but scoped ones, which join nothing) and do-not-link
    edges among them as references (ids and ends: ``materializeProperties=tokens``), and times
    only for the links an event of the batch may write (those joining two of its identifiers)."""
    targets = ReadTargets.of(tenant, events)
    if not targets.ids:
        return View({}, {}, {}, set(), set())
    ids, pairs = targets.ids, targets.pairs
    expand = config.expand_limit
    # "seen" gets its placeholder after the walk (walk_source): a member that is not a vertex
    # makes Gremlin Server compare each identifier a hop reaches with every member
    source = by_reference(writes.unbulked(g))
    start = walk_source(source, seen=False).V(*ids).has_label(model.IDENTIFIER)
    walk = neighbourhood_walk(start, max_hops=config.max_hops, expand_limit=expand, cap=config.path_cap * len(ids))

    query = (walk.fold().side_effect(__.constant(0).aggregate("seen"))
             .project("vertices", "crossed", "nolinks", "links", "events", "suppressed")
             .by(members("seen").element_map(*PLANNED_KEYS).fold())
             .by(members("crossed").fold())
             .by(members("seen").both_e(model.NOLINK).dedup().fold())
             .by(__.E(*pairs).element_map("first_seen", "last_seen", model.SCOPED).fold() if pairs
                 else __.constant([]))
             .by(__.V(*targets.events).id_().fold())
             .by(__.V(*targets.suppressions).id_().fold()))
    return view_of(submit(query)[0], pairs)


@dataclass
class ReadTargets:
    """What the batch read asks about: the batch's identifiers (first occurrence order), the
    link id and ends of every two identifiers of one event, its events' vertex ids and its
    identifiers' suppression entries."""

    ids: list[str]
    pairs: dict[str, tuple[str, str]]
    events: list[str]
    suppressions: list[str]

    @classmethod
    def of(cls, tenant: str, events: list[PreparedEvent]) -> "ReadTargets":
        ids = list(dict.fromkeys(i.vertex_id for event in events for i in event.identifiers))
        pairs = {}  # link id -> its ends, for every two identifiers of one event
        for event in events:
            event_ids = [i.vertex_id for i in event.identifiers]
            for n, a in enumerate(event_ids):
                for b in event_ids[n + 1:]:
                    pairs[model.link_id(tenant, a, b)] = model.link_ends(a, b)
        return cls(ids, pairs, list(dict.fromkeys(e.vertex_id for e in events if e.identifiers)),
                   [model.suppression_id(i) for i in ids])


def view_of(state: dict, pairs: dict[str, tuple[str, str]]) -> View:
    """The View of the batch read's result ``state`` (``pairs`` as ReadTargets has them)."""
    vertices = {}
    for row in state["vertices"]:
        props = plain(row)
        props["nolinks"] = set()
        vertices[props["id"]] = props
    for edge in state["nolinks"]:
        a, b = edge.outV.id, edge.inV.id
        if a in vertices and b in vertices:
            vertices[a]["nolinks"].add(b)
            vertices[b]["nolinks"].add(a)
    for props in vertices.values():
        props["nolinks"] = frozenset(props["nolinks"])
    view = View(vertices, {}, {}, set(state["events"]), set(state["suppressed"]))
    for edge in state["crossed"]:
        a, b = edge.outV.id, edge.inV.id
        if a in vertices and b in vertices:  # else the walk's limit cut the far end off
            view.link(a, b)
    for row in state["links"]:
        props = plain(row)
        view.links[props["id"]] = [props["first_seen"], props["last_seen"]]
        low, high = pairs[props["id"]]
        if low in vertices and high in vertices:
            if model.SCOPED in props:
                view.scope(low, high)
            else:
                view.link(low, high)
    return view
