"""Customer ids: one definition, and how a customer keeps its id when it loses identifiers.

Every identifier carries a customer id (``cid``) and when that id was issued (``since``, a
creation stamp). A new identifier takes the id of the customer it joins, or mints one when it
starts a customer (model.customer_id). **A customer's id is the oldest id its identifiers carry**
(``rank``; ``primary``); the other ids they carry are its aliases (customers merged into it).
So new links never change an id; a merge keeps the older one and rewrites nothing (the absorbed
customer's identifiers carry its id on, as an alias); and an identifier that leaves a customer
(forgotten, unlinked, marked shared, gone generic) takes nothing with it, for the others carry
the same id.

What a customer is: the non-generic identifiers resolve's walk reaches (``max_hops``, generic
ones not expanded). ``walk`` is that walk on the client, over what ingest, unlink and forget read
from the graph and over the reference model's dictionaries, so that they all see the same
customers. When customers change (``split``: an unlink, a forget, an event that turns identifiers
generic), ``reassign`` decides the ids from the customers before and after (a pure function,
shared like guards.plan_links):

- each customer before leaves its id with the customer after that holds most of its remaining
  identifiers, one carrying the id if any does (an id merged in earlier goes back to its own
  side); equal sizes: the one holding the oldest identifier. So a customer that only lost
  identifiers keeps its id, and of a split one the larger part does;
- a customer after goes by the oldest id it got, or carries and no other took, else a new one
  (model.fresh_customer_id); an identifier carrying an id that went elsewhere carries its
  customer's id instead, so no id ever names two customers; one that turned generic (it answers
  for itself alone) keeps its id, unless a customer got it: then it gets a new one;
- an id left with no carrier while what it named lives on (its identifiers were forgotten, or it
  went to a customer that already had an older one) is *retired*: a record says which id it
  resolves through, and ``resolve("customer", id)`` follows it;
- when a whole customer is forgotten its ids die with it: they resolve to nothing and are never
  issued again (ids are digests of vertex ids, which forgetting suppresses for good, and of what
  split them, which happens once).

Why ids are carried rather than looked up from one founder: see docs/data-model.md ("Customer ids").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, __
from gremlin_python.process.traversal import Cardinality, Merge, P
from gremlin_python.statics import long

from . import model, writes

__all__ = ["rank", "carried", "primary", "anchor", "customer_id", "aliases", "is_generic", "Neighbourhood", "walk", "components",
           "Mint", "Reassignment", "reassign", "split", "unchanged", "write"]


def rank(props: Mapping[str, Any]) -> tuple[int, int, str]:
    """The order of the ids identifiers carry, oldest first: a customer's id ranks first."""
    since = props.get(model.SINCE)
    if since is not None:
        return (0, since, props[model.CID])
    # stored before ``since`` existed: a founder's cid was issued when it was created; any other
    # identifier's cid was never shown, so it ranks after every issued one
    return (0 if props.get("founder") else 1, props["created"], props[model.CID])


def carried(props: Mapping[str, Any]) -> tuple[str, int]:
    """(cid, since) as an identifier joining this one's customer takes it."""
    _, since, cid = rank(props)
    return cid, since


def primary(members: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The identifier whose id names the customer made of ``members`` (their properties)."""
    return min(members, key=lambda props: (rank(props), props["id"]))


def anchor(start: Mapping[str, Any], reached: Iterable[Mapping[str, Any]], generic_threshold: int) -> Mapping[str, Any]:
    """The identifier whose id names the customer of ``start``, given what a walk from it
    ``reached``: a generic start answers for itself alone (it is part of no customer)."""
    if is_generic(start, generic_threshold):
        return start
    return primary(props for props in reached if not is_generic(props, generic_threshold))


def customer_id(around: "Neighbourhood", start: str, generic_threshold: int) -> str:
    """The id of the customer of ``start``, in the neighbourhood a walk from it read."""
    return anchor(around.vertices[start], around.vertices.values(), generic_threshold)[model.CID]


def aliases(members: Iterable[Mapping[str, Any]], customer_id: str) -> list[str]:
    """The other issued ids the customer's identifiers carry."""
    return sorted({props[model.CID] for props in members if rank(props)[0] == 0} - {customer_id})


def is_generic(props: Mapping[str, Any], generic_threshold: int) -> bool:
    """An identifier that is part of no customer (it merges nothing and is not expanded): linked
    to more than ``generic_threshold`` others, or marked shared by ingest."""
    return props["degree"] > generic_threshold or bool(props.get(model.SHARED))


# -- the customers around some identifiers ------------------------------------------------------

@dataclass
class Neighbourhood:
    """What a walk reached: identifiers (their properties) and the links it crossed, both ways;
    ``frontier``: those it would have expanded but for ``max_hops`` (what lies beyond was not read)."""

    vertices: dict[str, Mapping[str, Any]]
    links: dict[str, set[str]]
    frontier: set[str] = field(default_factory=set)


def walk(starts: Iterable[str], props_of: Callable[[str], Mapping[str, Any] | None],
         neighbours_of: Callable[[str], Iterable[str]], *, max_hops: int, expand_limit: int,
         expand_too: Iterable[str] = ()) -> Neighbourhood:
    """The neighbourhood walk (walk.neighbourhood_walk) from ``starts`` over any graph: each
    identifier reached at its smallest distance from a start, and expanded when nearer than
    ``max_hops`` and not generic by ``expand_limit``, or when in ``expand_too`` (identifiers that
    just turned generic, walked as the members they were). Starts ``props_of`` does not know are
    left out. The links crossed are those of the expanded identifiers."""
    forced = set(expand_too)
    vertices: dict[str, Mapping[str, Any]] = {}
    hops: dict[str, int] = {}
    queue: deque[str] = deque()
    for start in starts:
        props = props_of(start)
        if props is not None and start not in vertices:
            vertices[start], hops[start] = props, 0
            queue.append(start)
    links: dict[str, set[str]] = {}
    frontier = set()
    while queue:
        vertex = queue.popleft()
        if is_generic(vertices[vertex], expand_limit) and vertex not in forced:
            continue
        if hops[vertex] == max_hops:
            frontier.add(vertex)
            continue
        for other in neighbours_of(vertex):
            if other not in vertices:
                props = props_of(other)
                if props is None:
                    continue
                vertices[other], hops[other] = props, hops[vertex] + 1
                queue.append(other)
            links.setdefault(vertex, set()).add(other)
            links.setdefault(other, set()).add(vertex)
    return Neighbourhood(vertices, links, frontier)


def components(members: Iterable[str], links: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """``members`` grouped by the links among them."""
    left = set(members)
    groups = []
    while left:
        seed = left.pop()
        group, frontier = {seed}, [seed]
        while frontier:
            for other in links.get(frontier.pop(), ()):
                if other in left:
                    left.discard(other)
                    group.add(other)
                    frontier.append(other)
        groups.append(group)
    return groups


# -- splitting a customer ---------------------------------------------------------------------

@dataclass(frozen=True)
class Mint:
    """How new ids are made in one split: ``cause`` names what split the customer, an element
    id that happens once (model.fresh_customer_id); ``stamp`` gives each new id its ``since``."""

    cause: str
    stamp: Callable[[], int]


@dataclass
class Reassignment:
    """What a split changes: the ids identifiers carry from now on, the ids retired (each with the
    id it resolves through) and the ids gone with their whole customer."""

    carry: dict[str, tuple[str, int]] = field(default_factory=dict)
    retire: dict[str, str] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.carry or self.retire or self.dead)

    def update(self, other: "Reassignment") -> None:
        self.carry.update(other.carry)
        self.retire.update(other.retire)
        self.dead |= other.dead


def reassign(tenant: str, props: Mapping[str, Mapping[str, Any]], before: list[set[str]], after: list[set[str]],
             generic: Iterable[str], mint: Mint, beyond: Iterable[str] = ()) -> Reassignment:
    """The ids once the customers ``before`` (sets of identifiers) became the customers ``after``.
    ``props``: every identifier's properties, as carried before. Identifiers of ``before`` in no
    customer ``after`` turned ``generic`` (they stay, each answering for itself alone) or were
    forgotten; identifiers only ``after`` came with the change (an event's new ones). ``mint``
    makes new ids. Module docstring: the rules; in detail:

    1. each customer before (parts of ``before`` carrying one id are one customer) places its id
       with the customer after holding most of its remaining identifiers (one carrying that id,
       if any does: an id merged in earlier comes back to its side; then the one holding its
       oldest identifier); ahead of all, one holding an identifier
       of ``beyond`` (its further links were not read: it may be larger, and it might not be
       rewritten whole). With none remaining, one of its identifiers that turned generic keeps
       it, else (all forgotten) it dies;
    2. every other id carried goes with the first customer after carrying it (by the same order),
       else with an identifier turned generic carrying it;
    3. a customer after goes by the oldest id it got, else a new one; what it got and no longer
       carries is retired into it, and an identifier carrying an id that went elsewhere carries
       its customer's id instead; an identifier turned generic keeps its id unless it went to a
       customer, then gets a new one."""
    change = Reassignment()
    cid = {v: p[model.CID] for v, p in props.items()}
    ranks = {cid[v]: rank(p) for v, p in props.items()}
    oldest = {v: (p["created"], v) for v, p in props.items()}
    unread, old = set(beyond), set().union(*before)
    ordered = sorted(after, key=lambda part: (not part & unread, -len(part & old), -len(part),
                                              min(oldest[v] for v in part)))
    part_of = {v: n for n, part in enumerate(ordered) for v in part}
    turned = sorted(set(generic), key=oldest.__getitem__)
    owner: dict[str, Any] = {}  # id -> a customer after (its index), an identifier turned generic, or None
    leads = {}  # identifier of a customer before -> that customer's id
    # a walk that stopped short (``max_hops``) may see one customer as several parts carrying its
    # id: they are one customer before, so where its id goes depends on no order among them
    customers_before: dict[str, set[str]] = {}
    for group in before:
        customers_before.setdefault(cid[_first(group, ranks, cid)], set()).update(group)
    for name, group in sorted(customers_before.items(), key=lambda item: ranks[item[0]]):
        leads.update(dict.fromkeys(group, name))
        remaining = [v for v in group if v in part_of]
        if remaining:
            def share(m: int) -> tuple:
                held = [v for v in remaining if part_of[v] == m]
                return (not ordered[m] & unread, -len(held), min(oldest[v] for v in held))
            candidates = sorted({part_of[v] for v in remaining}, key=share)
            carrying = [m for m in candidates if any(part_of.get(v) == m and cid[v] == name for v in group)]
            owner[name] = (carrying or candidates)[0]
        else:
            keepers = [v for v in turned if v in group]
            keepers.sort(key=lambda v: cid[v] != name)  # one carrying it, the oldest first
            owner[name] = ("generic", keepers[0]) if keepers else None
    for v in sorted(props, key=lambda v: (part_of.get(v, len(ordered)), oldest[v])):
        if cid[v] not in owner:
            if v in part_of:
                owner[cid[v]] = part_of[v]
            elif v in turned:
                owner[cid[v]] = ("generic", v)
    # what each customer after goes by
    names: list[tuple[str, int]] = []
    for n, part in enumerate(ordered):
        got = sorted((ranks[name], name) for name, where in owner.items() if where == n)
        names.append((got[0][1], got[0][0][1]) if got else _fresh(tenant, min(part, key=oldest.__getitem__), mint))
    now = dict(cid)
    for n, part in enumerate(ordered):
        for v in part:
            if owner.get(cid[v]) != n:
                change.carry[v] = names[n]
                now[v] = names[n][0]
        if all(now[v] != names[n][0] for v in part):  # its id's carriers all left: one takes it on
            heir = _successor(part, now, props, oldest)
            change.carry[heir] = names[n]
            now[heir] = names[n][0]
    for v in turned:
        if owner.get(cid[v]) != ("generic", v):
            change.carry[v] = _fresh(tenant, v, mint)
            now[v] = change.carry[v][0]
    carried_now = {now[v] for v in part_of} | {now[v] for v in turned}
    for name in set(cid.values()) - carried_now:
        if ranks[name][0] != 0:
            continue  # never issued (stored before ids were carried)
        where = owner.get(name)
        if where is None and name in owner:
            change.dead.add(name)
            continue
        if where is None:  # carried by forgotten identifiers only: it follows their customer's id
            where = owner.get(leads.get(min((v for v in props if cid[v] == name), key=oldest.__getitem__)))
            if where is None:
                change.dead.add(name)
                continue
        change.retire[name] = names[where][0] if isinstance(where, int) else now[where[1]]
    return change


def _first(group: Iterable[str], ranks: Mapping[str, tuple], cid: Mapping[str, str]) -> str:
    """The identifier of ``group`` carrying its customer's id."""
    return min(group, key=lambda v: (ranks[cid[v]], v))


def _fresh(tenant: str, vertex: str, mint: Mint) -> tuple[str, int]:
    return model.fresh_customer_id(tenant, vertex, mint.cause), mint.stamp()


def _successor(part: set[str], now: Mapping[str, str], props: Mapping[str, Mapping[str, Any]],
               oldest: Mapping[str, tuple]) -> str:
    """The identifier of ``part`` that takes on the part's id: one whose id another identifier of
    the part carries too (no id is lost), else the one carrying the youngest id; then the oldest."""
    carriers: dict[str, int] = {}
    for v in part:
        carriers[now[v]] = carriers.get(now[v], 0) + 1
    candidates = sorted(part, key=oldest.__getitem__)
    candidates.sort(key=lambda v: rank(props[v]), reverse=True)  # sorts are stable
    candidates.sort(key=lambda v: carriers[now[v]] == 1)
    return candidates[0]


def split(tenant: str, around: Neighbourhood, generic_threshold: int, mint: Mint, *,
          forgotten: Iterable[str] = (), cut: Iterable[tuple[str, str]] = (), added: Iterable[tuple[str, str]] = (),
          turned_generic: Iterable[str] = (), new: Iterable[str] = ()) -> Reassignment:
    """The ids once the customers in ``around`` changed: identifiers ``forgotten``, links ``cut``
    (both still in ``around``), links ``added`` and identifiers ``new`` (in ``around`` already),
    identifiers ``turned_generic`` (generic in ``around``, members before). Only the customers
    the change touched are looked at (``reassign``)."""
    forgotten, turned, new = set(forgotten), set(turned_generic), set(new)
    cut, added = {frozenset(pair) for pair in cut}, {frozenset(pair) for pair in added}
    members = {v for v, p in around.vertices.items() if not is_generic(p, generic_threshold)}
    gone = forgotten | turned

    def linked(exclude: set[frozenset]) -> dict[str, set[str]]:
        return {v: {o for o in others if frozenset((v, o)) not in exclude and o not in forgotten}
                for v, others in around.links.items()}
    before_links = {v: {o for o in others if frozenset((v, o)) not in added}
                    for v, others in around.links.items()}
    before = components((members | turned) - new, before_links)
    after = components(members - gone, linked(cut))
    touched = gone | {v for pair in cut | added for v in pair}
    # the customers the change touched, before and after (through any link of either)
    region = set().union(*(group for group in components(
        (members | turned), {v: set(before_links.get(v, ())) | set(around.links.get(v, ())) for v in around.vertices})
        if group & touched))
    change = reassign(tenant, {v: around.vertices[v] for v in region}, [g for g in before if g & region],
                      [p for p in after if p & region], turned & region, mint, around.frontier)
    for v in sorted(forgotten - members):  # a generic identifier was a customer of its own
        if v in around.vertices:
            change.dead.add(around.vertices[v][model.CID])
    return change


def unchanged(around: Neighbourhood, generic_threshold: int) -> list[GraphTraversal]:
    """Checks (for a guarded write: ``and_(*checks)``) that hold while what a split read of
    ``around`` is as it was: each member with its degree (so its links) and the id it carries,
    not marked shared; each generic identifier generic still."""
    groups: dict[tuple, list[str]] = {}
    for vertex, props in sorted(around.vertices.items()):
        if props.get(model.SHARED):
            groups.setdefault(("shared",), []).append(vertex)
        elif props["degree"] > generic_threshold:
            groups.setdefault(("generic",), []).append(vertex)
        else:
            groups.setdefault(("degree", props["degree"]), []).append(vertex)
            groups.setdefault(("cid", props[model.CID]), []).append(vertex)
    checks = []
    for key, vertices in groups.items():
        check = __.V(*vertices)
        if key[0] == "shared":
            check = check.has(model.SHARED)
        elif key[0] == "generic":
            check = check.has("degree", P.gt(generic_threshold))
        elif key[0] == "degree":
            check = check.has("degree", key[1]).has_not(model.SHARED)
        else:
            check = check.has(model.CID, key[1])
        checks.append(check.count().is_(len(vertices)))
    return checks


def write(t: GraphTraversal, change: Reassignment, tenant: str, now_ms: int) -> GraphTraversal:
    """Append ``change``'s writes to the write traversal ``t`` (each a side effect)."""
    if change.carry:  # one step whatever the identifiers: each one's id looked up by its id (identity.domain.writes)
        cids = {vertex: cid for vertex, (cid, _) in change.carry.items()}
        sinces = {vertex: long(since) for vertex, (_, since) in change.carry.items()}
        t = t.side_effect(writes.vertices(cids).property(Cardinality.single, model.CID, writes.own(cids))
                          .property(Cardinality.single, model.SINCE, writes.own(sinces)))
    for old, heir in sorted(change.retire.items()):
        # ids retired into ``old`` before lead on to its heir: every record names a live id (has()
        # on the heir right after V(), where the embedded graph answers it from a value index)
        t = t.side_effect(__.V().has(model.HEIR, old).has_label(model.RETIRED).has(model.TENANT, tenant)
                          .property(Cardinality.single, model.HEIR, heir))
        t = t.side_effect(__.merge_v(model.vertex_key(tenant, model.retired_id(tenant, old), model.RETIRED))
                          .option(Merge.on_create, {model.HEIR: heir, "created": long(now_ms)}, Cardinality.single))
    if change.dead:
        t = t.side_effect(__.V().has(model.HEIR, P.within(*sorted(change.dead))).has_label(model.RETIRED)
                          .has(model.TENANT, tenant).drop())
    return t
