"""Ingest: validate a whole batch, read it once, plan every event in order, write in chunks.

1. ``prepare_batch`` validates and normalises every event: in an atomic batch nothing is written
   when one event is invalid; otherwise each invalid event is set aside with its error
   (RejectedEvent) and the others go on.
2. One read traversal fetches which of the batch's events are stored already, which of its
   identifiers were forgotten, every identifier within ``max_hops`` of the batch's identifiers
   with the links between them (one breadth-first walk for the whole batch), and the links
   already joining two identifiers of one event. The client keeps it as a ``_View``.
3. Events are planned in order with ``guards.plan_links`` against the view (each identifier's
   neighbourhood walked again in the view, by resolve's rules), and each plan is applied to the
   view, so later events see the identifiers and links planned by earlier ones.
4. The writes of consecutive events are gathered into chunks of at most
   ``MAX_WRITES_PER_TRAVERSAL`` element writes (an event is never split); each chunk is ONE
   write traversal, so a batch of 100 events costs a handful of round trips. The traversal first
   re-checks what the plans depended on (the degrees of the identifiers they saw, the absence of
   what they create): if a concurrent writer changed any of it, the traversal writes nothing,
   and the rest of the batch is read again and planned again (optimistic concurrency). Counters
   are increments computed by the graph (``degree`` + n, ``count`` + n) and times conditional
   writes, so writers that touch the same link without changing any plan never lose an update.

The request's deadline (identity.graph.resilience) is checked before each event is prepared and
planned and before each read and chunk write (each traversal also carries what is left of it
as its evaluationTimeout). Past it the batch stops with DeadlineExceeded: the chunks written
stay, whole events each, and the same batch sent again completes it (the events written are
duplicates by id, the rest are planned and written as they would have been).

Why and what it guarantees: docs/data-model.md ("Ingest").
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Direction, Merge, P, T
from gremlin_python.statics import long

from ..base import telemetry
from ..base.errors import GraphUnavailable, ValidationError
from ..graph.connection import submit
from ..graph.resilience import check_deadline, concurrent_modification, id_taken
from ..security.protect import Protector
from . import customers, model, writes
from .customers import is_generic
from .guards import Candidate, LinkPlan, Member, TenantConfig, is_blocked, plan_links
from .identifiers import normalize, parse_timestamp
from .walk import collected, members_of, nearest, neighbourhood_walk, plain, walk_source

__all__ = ["IngestResult", "RejectedEvent", "PreparedEvent", "PreparedIdentifier", "CreationClock", "prepare_batch",
           "given_event_id", "ingest_batch", "candidates_from", "stored_candidate", "stored_customer",
           "without_suppressed", "increment", "MAX_WRITES_PER_TRAVERSAL"]

_EVENT_KEYS = {"event_id", "type", "timestamp", "identifiers", "attributes"}
_MAX_IDENTIFIERS = 100
_MAX_EVENT_ID = 256
_MAX_ATTRIBUTES = 100
_SINGLE = Cardinality.single
#: The most element writes one write traversal carries (an event is never split across two):
#: keeps a request far below Gremlin Server's and Neptune's frame limits (docs/data-model.md).
MAX_WRITES_PER_TRAVERSAL = 1000
#: The identifier properties planning reads (not the sealed value).
_PLANNED_KEYS = ("type", "created", model.CID, model.SINCE, "founder", "degree", "first_seen", "last_seen",
                 model.SHARED, model.CONFLICTS)
#: How often in a row a batch is read again and re-planned after conflicting writes (without any
#: chunk getting through) before giving up.
_MAX_CONFLICTS = 25


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


def candidates_from(event: PreparedEvent, reach: Mapping[str, Iterable[str]], vertices: Mapping[str, dict],
                    tenant: str, config: TenantConfig, created: int) -> list[Candidate]:
    """The planner's view of the event: existing identifiers with their customers, new ones alone,
    stamped ``created`` + their position in the event (CreationClock.stamps).
    ``reach`` maps each existing identifier to the identifiers its neighbourhood reaches (itself
    included); ``vertices`` holds their properties (with ``nolinks``)."""
    candidates = []
    for position, identifier in enumerate(event.identifiers):
        reached = reach.get(identifier.vertex_id)
        if reached is None:
            # a new customer's id ranks after every stored one: it never names a customer the
            # event joins it to, whatever another writer's clock gave the stored ones
            cid = model.customer_id(tenant, identifier.vertex_id)
            member = Member(identifier.vertex_id, identifier.type, created + position, cid,
                            (1, created + position, cid))
            candidates.append(Candidate(identifier.index, member, identifier.weak, group={member.id: member}))
            continue
        candidates.append(stored_candidate(identifier.index, identifier.vertex_id, reached, vertices, config))
    return candidates


def stored_candidate(index: int, vertex_id: str, reached: Iterable[str], vertices: Mapping[str, dict],
                     config: TenantConfig) -> Candidate:
    """The planner's view of a stored identifier at ``index`` in an event: its customer is what
    its neighbourhood ``reached`` (itself included) holds that is not generic."""
    members = {v: _member(vertices[v]) for v in members_of(reached, vertices, config.generic_threshold)}
    start = vertices[vertex_id]
    return Candidate(index, _member(start), start["type"] in config.weak_types,
                     generic=is_generic(start, config.generic_threshold), group=members, exists=True)


def stored_customer(candidates: list[Candidate]) -> str | None:
    """The customer of an event's first stored identifier, as stored: what a duplicate (an event
    id seen before) answers. Its other identifiers are not stored again, so an id planned for
    them, or a merge, names nothing."""
    for candidate in candidates:
        if candidate.exists:
            return candidate.member.cid if candidate.generic else min(
                candidate.group.values(), key=Member.anchor_key).cid
    return None


def _member(props: dict) -> Member:
    return Member(props["id"], props["type"], props["created"], props[model.CID], customers.rank(props),
                  props["nolinks"], props.get(model.CONFLICTS, 0))


class _View:
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

    def around(self, starts: Iterable[str], config: TenantConfig, expand_too: Iterable[str] = ()) -> customers.Neighbourhood:
        """The customers around ``starts``, as resolve walks them (identity.domain.customers.walk)."""
        return customers.walk(starts, self.vertices.get, lambda v: self.adjacency.get(v, ()),
                              max_hops=config.max_hops, expand_limit=config.expand_limit, expand_too=expand_too)

    def customer_id(self, start: str, config: TenantConfig) -> str:
        """The id resolve answers for ``start`` (identity.domain.customers)."""
        return customers.customer_id(self.around([start], config), start, config.generic_threshold)


def _read(g: GraphTraversalSource, tenant: str, events: list[PreparedEvent], config: TenantConfig) -> _View:
    """One round trip: the identifiers within ``max_hops`` of any identifier of ``events`` and the
    links among them, which of the events are stored, which links already join two identifiers
    of one event, and which of the identifiers were forgotten (suppressed).

    The walk is resolve's (walk.neighbourhood_walk) from all the batch's identifiers at once:
    each identifier is expanded at its smallest distance from the batch, so it holds all the
    subgraph a per-identifier walk could see, and _View.reach walks each start's own
    neighbourhood in it, by the same rules, on the client. ``cap`` is ``path_cap`` per start.

    What comes back is kept small, for the graph builds a map per row: identifiers as element
    maps, the links of each expanded identifier as its neighbours' ids (a link's id follows from
    its ends, model.link_id), do-not-link edges among them as pairs, and times only for the links
    an event of the batch may write (those joining two of its identifiers)."""
    targets = _ReadTargets.of(tenant, events)
    if not targets.ids:
        return _View({}, {}, {}, set(), set())
    ids, pairs = targets.ids, targets.pairs
    expand = config.expand_limit
    walk = neighbourhood_walk(walk_source(g).aggregate("expanded").V(*ids).has_label(model.IDENTIFIER),
                              max_hops=config.max_hops, expand_limit=expand, cap=config.path_cap * len(ids),
                              expanded="expanded")
    seen = __.select("seen").unfold().is_(P.neq(0))
    query = (walk.fold().project("vertices", "neighbours", "nolinks", "links", "events", "suppressed")
             .by(collected("seen", __.element_map(*_PLANNED_KEYS)))
             .by(collected("expanded", __.union(__.id_(), __.both(model.LINK).id_()).fold()))
             .by(seen.both_e(model.NOLINK).dedup().local(__.both_v().id_().fold()).fold())
             .by(__.E(*pairs).project("id", "first_seen", "last_seen").by(T.id).by("first_seen").by("last_seen")
                 .fold() if pairs else __.constant([]))
             .by(__.V(*targets.events).id_().fold())
             .by(__.V(*targets.suppressions).id_().fold()))
    return _view_of(submit(query)[0], pairs)


@dataclass
class _ReadTargets:
    """What the batch read asks about: the batch's identifiers (first occurrence order), the
    link id and ends of every two identifiers of one event, its events' vertex ids and its
    identifiers' suppression entries."""

    ids: list[str]
    pairs: dict[str, tuple[str, str]]
    events: list[str]
    suppressions: list[str]

    @classmethod
    def of(cls, tenant: str, events: list[PreparedEvent]) -> "_ReadTargets":
        ids = list(dict.fromkeys(i.vertex_id for event in events for i in event.identifiers))
        pairs = {}  # link id -> its ends, for every two identifiers of one event
        for event in events:
            event_ids = [i.vertex_id for i in event.identifiers]
            for n, a in enumerate(event_ids):
                for b in event_ids[n + 1:]:
                    pairs[model.link_id(tenant, a, b)] = model.link_ends(a, b)
        return cls(ids, pairs, list(dict.fromkeys(e.vertex_id for e in events if e.identifiers)),
                   [model.suppression_id(i) for i in ids])


def _view_of(state: dict, pairs: dict[str, tuple[str, str]]) -> _View:
    """The _View of the batch read's result ``state`` (``pairs`` as _ReadTargets has them)."""
    vertices = {}
    for row in state["vertices"]:
        props = plain(row)
        props["nolinks"] = set()
        vertices[props["id"]] = props
    for a, b in state["nolinks"]:
        if a in vertices and b in vertices:
            vertices[a]["nolinks"].add(b)
            vertices[b]["nolinks"].add(a)
    for props in vertices.values():
        props["nolinks"] = frozenset(props["nolinks"])
    view = _View(vertices, {}, {}, set(state["events"]), set(state["suppressed"]))
    for vertex, *neighbours in state["neighbours"]:
        for other in neighbours:
            # else the walk's limit cut it off; a link between two expanded identifiers comes twice
            if other in vertices and other not in view.adjacency.get(vertex, ()):
                view.link(vertex, other)
    for row in state["links"]:
        view.links[row["id"]] = [row["first_seen"], row["last_seen"]]
        low, high = pairs[row["id"]]
        if low in vertices and high in vertices:
            view.link(low, high)
    return view


# -- one chunk: the writes of consecutive events and what their plans depended on --------------

@dataclass
class _LinkWrite:
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
class _Touch:
    """An identifier that existed before the chunk: what the chunk changes on it."""

    degree: int = 0
    first_seen: int | None = None
    last_seen: int | None = None


class _Chunk:
    def __init__(self, tenant: str, config: TenantConfig):
        self.tenant = tenant
        self.config = config
        self.created: dict[str, str] = {}  # new identifier -> its sealed value
        self.touched: dict[str, _Touch] = {}
        self.shared: set[str] = set()  # stored identifiers the chunk marks shared
        self.conflicts: dict[str, int] = {}  # stored identifier -> how much its conflict count rises
        self.links: dict[str, _LinkWrite] = {}
        self.events: list[tuple[PreparedEvent, list[str], int]] = []  # event, its identifiers, ingest time
        #: (predicate name, argument) -> identifiers whose degree must still satisfy it
        self.expected: dict[tuple, set[str]] = {}
        self.absent: set[str] = set()  # identifiers and events the chunk creates
        self.absent_links: set[str] = set()  # new links between two generic identifiers
        #: stored identifier -> the customer id its plans saw it carry (identity.domain.customers)
        self.cids: dict[str, str] = {}
        self.carry: dict[str, tuple[str, int]] = {}  # stored identifier -> the (cid, since) it carries now
        self.retired: dict[str, str] = {}  # customer ids no identifier carries any more -> their heirs

    @property
    def writes(self) -> int:
        return (len(self.created) + len(self.touched) + len(self.links) + len(self.shared) + len(self.conflicts)
                + len(self.carry) + 2 * len(self.retired) + sum(1 + len(ids) for _, ids, _ in self.events))

    def depend(self, view: _View, reach: dict[str, int], candidate_ids: set[str]) -> None:
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

    def touch(self, vertex: str) -> _Touch:
        return self.touched.setdefault(vertex, _Touch())

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
        shared, those whose customer id they took still carry it, and nothing the chunk creates
        exists. One shape whatever the chunk holds (identity.domain.writes): each exact degree and
        customer id is looked up by the identifier's id, the thresholds are the tenant's."""
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

    def traversal(self, g: GraphTraversalSource, view: _View, protector: Protector) -> GraphTraversal:
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
                           "observes": [{T.id: i} for i in identifier_ids]})
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
            writes.edges(lid for lid, _ in stored).property(
                "count", writes.plus_own("count", {lid: link.count for lid, link in stored})),
            # first_seen/first_event and last_seen/last_event move together: the time decides
            _conditional_set(writes.edges(lowered), P.gt, {k: long(t) for k, (t, _) in lowered.items()},
                             "first_seen").property("first_event", writes.own({k: e for k, (_, e) in lowered.items()})),
            _conditional_set(writes.edges(raised), P.lte, {k: long(t) for k, (t, _) in raised.items()},
                             "last_seen").property("last_event", writes.own({k: e for k, (_, e) in raised.items()})),
        ]
        t = g.inject(0).and_(self.guard())
        for write in writes_in_order:
            t = t.side_effect(write)
        if self.carry or self.retired:  # customer ids moved by a split (identity.domain.customers)
            t = customers.write(t, customers.Reassignment(self.carry, self.retired), tenant, self.events[-1][2])
        # an event, then its observed edges: one search map for all, the ends as options
        return t.side_effect(
            writes.created_vertices(events).as_("event").select(writes.ROW).select("observes").unfold()
            .merge_e({T.label: model.OBSERVED, Direction.OUT: Merge.out_v, Direction.IN: Merge.in_v, model.TENANT: tenant})
            .option(Merge.out_v, __.select("event")).option(Merge.in_v, __.identity()))

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

    def link_props(self, link: _LinkWrite) -> dict[str, Any]:
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
    return {key: CardinalityValue.single(value) for key, value in properties.items()}


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


def increment(key: str, amount: int) -> GraphTraversal:
    """``key`` + ``amount``, computed by the graph when it writes (identity.domain.writes.plus)."""
    return writes.plus(key, __.constant(amount))


# -- the batch ------------------------------------------------------------------------------------

def ingest_batch(g: GraphTraversalSource, tenant: str, events: list[PreparedEvent], config: TenantConfig,
                 protector: Protector, clock: CreationClock) -> list[IngestResult]:
    """Ingest prepared events in order: one read, then one write per chunk of at most
    MAX_WRITES_PER_TRAVERSAL element writes."""
    max_writes = MAX_WRITES_PER_TRAVERSAL
    results: list[IngestResult] = []
    conflicts = 0
    reread: set[str] = set()  # events read again once because the read was torn (_torn)
    while len(results) < len(events):
        check_deadline()
        pending = events[len(results):]
        view = _read(g, tenant, pending, config)
        written = _plan_and_write(g, tenant, pending, view, config, protector, clock, max_writes, reread)
        results.extend(written)
        if len(written) < len(pending):
            telemetry.current().ingest_replanned()  # several instances on one graph: how often they collide
            conflicts = 0 if written else conflicts + 1  # counted while no chunk gets through
            if conflicts > _MAX_CONFLICTS:
                raise GraphUnavailable("concurrent writes kept conflicting with this batch; it can be retried")
    return results


def _plan_and_write(g: GraphTraversalSource, tenant: str, events: list[PreparedEvent], view: _View,
                    config: TenantConfig, protector: Protector, clock: CreationClock,
                    max_writes: int, reread: set[str]) -> list[IngestResult]:
    """Plan events in order against ``view``, committing a chunk whenever it is full. Returns the
    results of the committed events: fewer than ``events`` when a chunk's guard failed, or when
    the read was torn at an event not read again yet (``reread``, which it joins)."""
    committed: list[IngestResult] = []
    planned: list[IngestResult] = []
    chunk = _Chunk(tenant, config)
    for position, event in enumerate(events):
        check_deadline()  # before planning: an event's plan costs up to its identifiers squared
        if event.event_id not in reread and _torn(event, view):
            reread.add(event.event_id)
            # what was planned before it is written, and the batch is read again from it
            return committed + planned if _commit(g, chunk, view, protector) else committed
        planned.append(_plan(event, view, chunk, tenant, config, protector, clock))
        if chunk.writes >= max_writes or position == len(events) - 1:
            check_deadline()
            if not _commit(g, chunk, view, protector):
                return committed
            committed += planned
            planned = []
            chunk = _Chunk(tenant, config)
    return committed


def _torn(event: PreparedEvent, view: _View) -> bool:
    """Whether the read saw ``event`` stored but none of its identifiers. On a read-committed
    graph (TinkerTransactionGraph) one read traversal can see what another instance committed
    while it ran: the event, read after its identifiers were looked for, without them; its
    result (a duplicate's customer) would then name no customer. Read once more, it is whole; an
    event stored with other identifiers than it is sent with now stays so, and answers without one."""
    return event.vertex_id in view.events and not any(i.vertex_id in view.vertices for i in event.identifiers)


def _commit(g: GraphTraversalSource, chunk: _Chunk, view: _View, protector: Protector) -> bool:
    """Write the chunk; False when it wrote nothing because what its plans read has changed."""
    if not chunk.writes:
        return True
    # a write the backend refuses for a concurrent modification (Neptune, a transactional
    # Gremlin Server) is retried by the connection (identity.graph.resilience), and its guard makes
    # the retry safe; one still refused after that (or on a connection that does not retry)
    # wrote nothing: it is planned again on a new read, as when the guard fails
    try:
        return bool(submit(chunk.traversal(g, view, protector)))
    except Exception as error:
        if concurrent_modification(error):
            return False
        # TinkerTransactionGraph reads committed data only: a writer that created one of the
        # chunk's new elements and committed after the guard looked makes the create fail (it
        # finds the element: writes.created_vertices; or the graph refuses its id). When this
        # tenant now sees such an element, that is what happened (and the transaction wrote
        # nothing); otherwise the id is taken where this tenant cannot see (another tenant's
        # element, which the search map's tenant does not match: docs/security.md), and that
        # error stands
        if (id_taken(error) or writes.existed(error)) and chunk.created_meanwhile(g):
            return False
        raise


def _plan(event: PreparedEvent, view: _View, chunk: _Chunk, tenant: str, config: TenantConfig,
          protector: Protector, clock: CreationClock) -> IngestResult:
    if not event.identifiers:  # every identifier was blocked: keep nothing
        return IngestResult(event.event_id, None, [], list(event.blocked))
    now_ms = clock.now_ms()
    if view.suppressed:
        event = without_suppressed(event, view.suppressed)
        if not event.identifiers:
            return IngestResult(event.event_id, None, [], list(event.blocked))
    expand = config.expand_limit
    reach = {i.vertex_id: view.reach(i.vertex_id, config.max_hops, expand)
             for i in event.identifiers if i.vertex_id in view.vertices}
    candidates = candidates_from(event, reach, view.vertices, tenant, config,
                                 clock.stamps(now_ms, len(event.identifiers)))
    plan = plan_links(candidates, config)
    if event.vertex_id in view.events:
        return IngestResult(event.event_id, stored_customer(candidates), duplicate=True)
    candidate_ids = {c.member.id for c in candidates}
    for reached in reach.values():
        chunk.depend(view, reached, candidate_ids)
    added = _apply(event, candidates, plan, view, chunk, tenant, protector, now_ms)
    customer = plan.customer_id
    turned = [c.member.id for c in candidates
              if not c.generic and is_generic(view.vertices[c.member.id], config.generic_threshold)]
    if turned:  # they left their customers, which may have fallen apart
        customer = _turned_generic(event, candidates, turned, added, view, chunk, tenant, config, clock, now_ms)
    return IngestResult(event.event_id, customer, plan.merged, list(event.blocked) + plan.refused)


def _turned_generic(event: PreparedEvent, candidates: list[Candidate], turned: list[str], added: list[tuple[str, str]],
                    view: _View, chunk: _Chunk, tenant: str, config: TenantConfig, clock: CreationClock,
                    now_ms: int) -> str:
    """Keep the ids of the customers that the event's identifiers ``turned`` generic (marked
    shared, or linked past the generic threshold) were part of (identity.domain.customers.split); the
    customer id of the event's first identifier (its result) after it."""
    around = view.around(turned, config, expand_too=turned)
    mint = customers.Mint(event.vertex_id, lambda: clock.stamps(now_ms, 1))
    change = customers.split(tenant, around, config.generic_threshold, mint, turned_generic=turned, added=added,
                             new=[c.member.id for c in candidates if not c.exists])
    # the write is right only while what the split read is as read: the degrees are guarded
    # already (the plans reached them), the ids they carry are now
    for vertex in around.vertices:
        chunk.expect(vertex, view.vertices[vertex][model.CID])
    for vertex, (cid, since) in change.carry.items():
        props = view.vertices[vertex]
        props[model.CID], props[model.SINCE] = cid, since
        if vertex not in chunk.created:
            chunk.carry[vertex] = (cid, since)
    chunk.retire(change.retire)
    return view.customer_id(candidates[0].member.id, config)


def _apply(event: PreparedEvent, candidates: list[Candidate], plan: LinkPlan, view: _View, chunk: _Chunk,
           tenant: str, protector: Protector, now_ms: int) -> list[tuple[str, str]]:
    """Record the event's writes in the chunk and its effects in the view; returns the links it adds."""
    added = []
    ts = event.timestamp_ms
    view.events.add(event.vertex_id)
    chunk.absent.add(event.vertex_id)
    # a forget between the read and the write must not see its identifiers written again
    chunk.absent.update(model.suppression_id(c.member.id) for c in candidates)
    for position, candidate in enumerate(candidates):
        member = candidate.member
        props = view.vertices.get(member.id)
        if props is None:
            anchor = plan.anchors[member.id]  # it carries the id of the customer it joins
            if anchor.id != member.id:
                chunk.expect(anchor.id, anchor.cid)
            view.vertices[member.id] = {
                "id": member.id, "type": member.type, "created": member.created, model.CID: anchor.cid,
                model.SINCE: anchor.rank[1], "first_seen": ts, "last_seen": ts, "degree": 0, "nolinks": frozenset()}
            chunk.created[member.id] = protector.seal(member.id, "value", event.identifiers[position].value)
            chunk.absent.add(member.id)
            continue
        if ts < props["first_seen"]:
            props["first_seen"] = ts
            if member.id not in chunk.created:
                chunk.touch(member.id).first_seen = ts
        if ts > props["last_seen"]:
            props["last_seen"] = ts
            if member.id not in chunk.created:
                chunk.touch(member.id).last_seen = ts
    for vertex in plan.shared:  # only ever set: a concurrent plan that did not see it yet came first
        view.vertices[vertex][model.SHARED] = True
        if vertex not in chunk.created:
            chunk.shared.add(vertex)
    for vertex in plan.conflicts:  # an increment, like degree: concurrent writers add up
        props = view.vertices[vertex]
        props[model.CONFLICTS] = props.get(model.CONFLICTS, 0) + 1
        if vertex not in chunk.created:
            chunk.conflicts[vertex] = chunk.conflicts.get(vertex, 0) + 1
    for x, y in plan.links:
        a, b = candidates[x], candidates[y]
        low, high = model.link_ends(a.member.id, b.member.id)
        lid = model.link_id(tenant, low, high)
        write = chunk.links.get(lid)
        if write is None:
            write = chunk.links[lid] = _LinkWrite(low, high, new=lid not in view.links)
            if write.new and a.generic and b.generic:
                chunk.absent_links.add(lid)
        if lid not in view.links:
            added.append((low, high))
            view.links[lid] = [ts, ts]
            view.link(low, high)
            for vertex in (low, high):
                view.vertices[vertex]["degree"] += 1
                if vertex not in chunk.created:
                    chunk.touch(vertex).degree += 1
        write.observe(ts, event.event_id, view.links[lid])
    chunk.events.append((event, [c.member.id for c in candidates], now_ms))
    return added
