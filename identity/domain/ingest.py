"""Ingest: validate a whole batch, read it once, plan every event in order, write in chunks.

1. ``prepare_batch`` validates and normalises every event: in an atomic batch nothing is written
   when one event is invalid; otherwise each invalid event is set aside with its error
   (RejectedEvent) and the others go on.
2. One read traversal fetches which of the batch's events are stored already, which of its
   identifiers were forgotten, every identifier within ``max_hops`` of the batch's identifiers
   with the links between them (one breadth-first walk for the whole batch), and the links
   already joining two identifiers of one event. The client keeps it as a ``View`` (identity.domain.batch_read).
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

Why and what it guarantees: docs/data-model.md ("Ingest"). Step 1 is identity.domain.events, step 2
identity.domain.batch_read, the chunk of step 4 identity.domain.chunk; this module plans (step 3)
and drives the batch from read to write.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversalSource

from ..base import telemetry
from ..base.errors import GraphUnavailable
from ..graph.connection import submit
from ..graph.resilience import check_deadline, concurrent_modification, id_taken
from ..security.protect import Protector
from . import customers, model, writes
from .batch_read import View, read_batch
from .chunk import Chunk, LinkWrite
from .customers import is_generic
from .events import CreationClock, IngestResult, PreparedEvent, without_suppressed
from .guards import Candidate, LinkPlan, Member, TenantConfig, mark_profiles_at_once, plan_links, scoped_links
from .walk import members_of

__all__ = ["ingest_batch", "candidates_from", "stored_candidate", "stored_customer", "MAX_WRITES_PER_TRAVERSAL"]

#: The most element writes one write traversal carries (an event is never split across two):
#: keeps a request far below Gremlin Server's and Neptune's frame limits (docs/data-model.md).
MAX_WRITES_PER_TRAVERSAL = 1000
#: How often in a row a batch is read again and re-planned after conflicting writes (without any
#: chunk getting through) before giving up.
_MAX_CONFLICTS = 25


def candidates_from(event: PreparedEvent, reach: Mapping[str, Mapping[str, int]], vertices: Mapping[str, dict],
                    tenant: str, config: TenantConfig, created: int) -> list[Candidate]:
    """The planner's view of the event: existing identifiers with their customers, new ones alone,
    stamped ``created`` + their position in the event (CreationClock.stamps).
    ``reach`` maps each existing identifier to the identifiers its neighbourhood reaches (itself
    included) and their hops; ``vertices`` holds their properties (with ``nolinks``)."""
    candidates = []
    made: dict[str, Member] = {}  # the event's identifiers mostly share their customers: one Member each
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
        candidates.append(stored_candidate(identifier.index, identifier.vertex_id, reached, vertices, config, made))
    mark_profiles_at_once(candidates, event.timestamp_ms, reach, vertices, config)
    return candidates


def stored_candidate(index: int, vertex_id: str, reached: Iterable[str], vertices: Mapping[str, dict],
                     config: TenantConfig, made: dict[str, Member] | None = None) -> Candidate:
    """The planner's view of a stored identifier at ``index`` in an event: its customer is what
    its neighbourhood ``reached`` (itself included) holds that is not generic. ``made``: the
    Members made already from ``vertices`` as they are now, which it adds to."""
    made = {} if made is None else made

    def member(vertex: str) -> Member:
        found = made.get(vertex)
        if found is None:
            found = made[vertex] = _member(vertices[vertex])
        return found

    members = {v: member(v) for v in members_of(reached, vertices, config.generic_threshold)}
    start = vertices[vertex_id]
    return Candidate(index, member(vertex_id), start["type"] in config.weak_types,
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
                  props["nolinks"], props.get(model.CONFLICTS, 0), props.get("scoped_with", frozenset()))


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
        view = read_batch(g, tenant, pending, config)
        written = _plan_and_write(g, tenant, pending, view, config, protector, clock, max_writes, reread)
        results.extend(written)
        if len(written) < len(pending):
            telemetry.current().ingest_replanned()  # several instances on one graph: how often they collide
            conflicts = 0 if written else conflicts + 1  # counted while no chunk gets through
            if conflicts > _MAX_CONFLICTS:
                raise GraphUnavailable("concurrent writes kept conflicting with this batch; it can be retried")
    return results


def _plan_and_write(g: GraphTraversalSource, tenant: str, events: list[PreparedEvent], view: View,
                    config: TenantConfig, protector: Protector, clock: CreationClock,
                    max_writes: int, reread: set[str]) -> list[IngestResult]:
    """Plan events in order against ``view``, committing a chunk whenever it is full. Returns the
    results of the committed events: fewer than ``events`` when a chunk's guard failed, or when
    the read was torn at an event not read again yet (``reread``, which it joins)."""
    committed: list[IngestResult] = []
    planned: list[IngestResult] = []
    chunk = Chunk(tenant, config)
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
            chunk = Chunk(tenant, config)
    return committed


def _torn(event: PreparedEvent, view: View) -> bool:
    """Whether the read saw ``event`` stored but none of its identifiers. On a read-committed
    graph (TinkerTransactionGraph) one read traversal can see what another instance committed
    while it ran: the event, read after its identifiers were looked for, without them; its
    result (a duplicate's customer) would then name no customer. Read once more, it is whole; an
    event stored with other identifiers than it is sent with now stays so, and answers without one."""
    return event.vertex_id in view.events and not any(i.vertex_id in view.vertices for i in event.identifiers)


def _commit(g: GraphTraversalSource, chunk: Chunk, view: View, protector: Protector) -> bool:
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


def _plan(event: PreparedEvent, view: View, chunk: Chunk, tenant: str, config: TenantConfig,
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
    if plan.scoped_devices:  # their cookies' earlier links stop joining: customers may fall apart
        customer = _scope_past_links(event, candidates, plan.scoped_devices, view, chunk, tenant, config, clock,
                                     now_ms) or customer
    turned = [c.member.id for c in candidates
              if not c.generic and is_generic(view.vertices[c.member.id], config.generic_threshold)]
    if turned:  # they left their customers, which may have fallen apart
        customer = _turned_generic(event, candidates, turned, added, view, chunk, tenant, config, clock, now_ms)
    return IngestResult(event.event_id, customer, plan.merged, list(event.blocked) + plan.refused)


def _turned_generic(event: PreparedEvent, candidates: list[Candidate], turned: list[str], added: list[tuple[str, str]],
                    view: View, chunk: Chunk, tenant: str, config: TenantConfig, clock: CreationClock,
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
    _record(change, view, chunk)
    return view.customer_id(candidates[0].member.id, config)


def _scope_past_links(event: PreparedEvent, candidates: list[Candidate], devices: list[str], view: View,
                      chunk: Chunk, tenant: str, config: TenantConfig, clock: CreationClock, now_ms: int) -> str | None:
    """Mark the links guards.scoped_links names for ``devices`` (just turned multi-user) and keep
    the ids of the customers they held (identity.domain.customers.split, as for an unlink); the
    customer id of the event's first identifier (its result) after it, None when none was marked."""
    def type_of(vertex: str) -> str:
        return view.vertices[vertex]["type"]
    def expands(vertex: str) -> bool:
        return not is_generic(view.vertices[vertex], config.expand_limit)
    pairs = sorted({pair for device in devices for pair in scoped_links(
        device, lambda v: view.adjacency.get(v, ()), type_of, expands, config)})
    if not pairs:
        return None
    around = view.around(sorted({v for pair in pairs for v in pair}), config)
    # new ids are named after the first link scoped: an element id that is scoped once
    mint = customers.Mint(model.link_id(tenant, *model.link_ends(*pairs[0])), lambda: clock.stamps(now_ms, 1))
    change = customers.split(tenant, around, config.generic_threshold, mint, cut=pairs)
    for vertex in around.vertices:  # the write is right only while the ids read are carried still
        chunk.expect(vertex, view.vertices[vertex][model.CID])
    for a, b in pairs:
        view.adjacency[a].pop(b, None)
        view.adjacency[b].pop(a, None)
        view.scope(a, b)
        chunk.scoped[model.link_id(tenant, *model.link_ends(a, b))] = now_ms
    _record(change, view, chunk)
    return view.customer_id(candidates[0].member.id, config)


def _record(change: customers.Reassignment, view: View, chunk: Chunk) -> None:
    """A split's new customer ids, in the view and as the chunk's writes."""
    for vertex, (cid, since) in change.carry.items():
        props = view.vertices[vertex]
        props[model.CID], props[model.SINCE] = cid, since
        if vertex not in chunk.created:
            chunk.carry[vertex] = (cid, since)
    chunk.retire(change.retire)


def _apply(event: PreparedEvent, candidates: list[Candidate], plan: LinkPlan, view: View, chunk: Chunk,
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
            write = chunk.links[lid] = LinkWrite(low, high, new=lid not in view.links)
            if write.new:
                # an unlink between the read and the write forbids it without changing a degree
                chunk.absent_links.add(model.nolink_id(tenant, low, high))
                if a.generic and b.generic:
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
