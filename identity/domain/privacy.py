"""GDPR: forget a person and export what is stored about them.

A *subject* is one identifier (``("email", "ann@example.com")``) or a whole customer
(``("customer", "c-…")``: the customer's non-generic identifiers, as ingest sees them: within
the tenant's max_hops and fan-out bound). Generic identifiers (a shared IP) belong to many people and are neither
forgotten nor exported with a customer; ask for them by value to forget them.

forget removes the subject's identifier vertices with every edge they have (links, do-not-link
rules, observations), removes the events left observing no identifier, erases the sealed
attributes of the events that also observed someone or something else (a shared IP, a family
tablet: the attributes describe what the subject did, so they go; the event stays as the other
identifiers' evidence), lowers the link degree of the identifiers they were linked to, and records
one *suppression* vertex per identifier, named by tenant, type and blind index only, never
plaintext. Ingest reads the suppression entries in its one read traversal and refuses those
identifiers ("suppressed"), so replaying old events cannot bring the person back. Two reads
(what is stored, and the customers around it), one write.

Customer ids (identity.domain.customers): the rest of a customer an identifier is forgotten from keeps
its id, whatever the identifier was; when that splits the customer, the larger part keeps it.
A whole customer forgotten takes its ids with it: they resolve to nothing, the records of ids
retired into them are erased, and they are never issued again.

export returns every stored fact about the subject as JSON-ready data, with identifier values
and event attributes decrypted.
"""

from __future__ import annotations

import json
from typing import Any

from gremlin_python.process.graph_traversal import GraphTraversal, __
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Merge, P, T

from ..base.errors import GraphUnavailable, NotFound
from ..graph.connection import submit
from . import customers, model
from .resolve import iso, open_value
from .tenant_graph import CUSTOMER_LOOKUP_TYPE, MAX_CONFLICTS, TenantGraph
from .walk import Hood, members_of, plain
from .writes import NO_ID, increment

__all__ = ["forget", "export", "subject_vertices"]

_ATTRIBUTES = model.SEALED_PROPERTIES[model.EVENT]


def subject_vertices(identity: TenantGraph, id_type: str, value: str) -> list[str]:
    """The identifier vertex ids of the subject. A customer id the tenant does not hold raises
    NotFound; an identifier is named by its value, stored or not."""
    return _subject(identity, id_type, value)[0]


def _subject(identity: TenantGraph, id_type: str, value: str) -> tuple[list[str], Hood | None]:
    """The subject's identifier vertex ids, and for a customer the neighbourhood they were read in."""
    if id_type != CUSTOMER_LOOKUP_TYPE:
        return [identity.vertex_id(id_type, value)], None
    config = identity.config
    threshold = config.generic_threshold
    # the customer as ingest sees it (the same hops and fan-out bound)
    hood = identity.hood(id_type, value, max_hops=config.max_hops, max_fanout=config.max_fanout)
    if hood is None:
        raise NotFound("customer not found in this tenant's graph")
    # never empty (an empty g.V() would read the whole graph): a generic start is its own customer
    return sorted(members_of(hood.paths, hood.vertices, threshold)) or [hood.start], hood


def forget(identity: TenantGraph, id_type: str, value: str) -> dict[str, int]:
    """Erase the subject and suppress its identifiers; returns what was removed (counts)."""
    for _ in range(MAX_CONFLICTS + 1):
        removed = _forget(identity, subject_vertices(identity, id_type, value))
        if removed is not None:
            return removed
    raise GraphUnavailable("concurrent writes kept changing the customer this forget splits; it can be retried")


def _forget(identity: TenantGraph, ids: list[str]) -> dict[str, int] | None:
    """One attempt: None when the customers around ``ids`` changed after they were read."""
    config = identity.config  # once: an operator may change it meanwhile (identity.service.settings)
    threshold = config.generic_threshold
    around = identity.around(ids, config)
    change = customers.split(identity.tenant, around, threshold, identity.mint(model.suppression_id(ids[0])),
                             forgotten=ids)
    rows = submit(identity.g.V(*ids).has_label(model.IDENTIFIER).project("id", "links", "events")
                  .by(T.id)
                  .by(__.both_e(model.LINK).id_().fold())
                  .by(__.in_(model.OBSERVED).project("id", "others", "sealed")
                      .by(T.id).by(__.out(model.OBSERVED).has_id(P.without(ids)).count())
                      .by(__.has(_ATTRIBUTES).count()).fold()))  # has(): a value read, no property element
    stored = [row["id"] for row in rows]
    links = {link for row in rows for link in row["links"]}
    events = {e["id"]: e for row in rows for e in row["events"]}
    orphans = sorted(vertex for vertex, e in events.items() if e["others"] == 0)
    erased = sorted(vertex for vertex, e in events.items() if e["others"] and e["sealed"])
    # written only while what it erases is as read: an ingest committing between these reads and
    # the write may store one of ``ids`` (forgotten but for this) or a new event observing only
    # them (left observing nothing) or carrying attributes (left unerased), and another forget
    # may erase what an event it keeps observes besides them (left observing nothing); then it
    # reads again (docs/data-model.md, "Concurrent writers")
    guard = _erasing_as_read(ids, stored, events, orphans)
    if any(v not in ids and not customers.is_generic(props, threshold) for v, props in around.vertices.items()):
        # what is left of their customers was split as read: written only while it is so
        guard += customers.unchanged(around, threshold)
    t = identity.g.inject(0).and_(*guard)
    if stored:
        # the links are those the write finds, and each lowers its other end's degree by one
        # computed by the graph: a link or degree change that a concurrent ingest made after
        # the read above is neither missed nor overwritten
        t = t.side_effect(__.V(*stored).both_e(model.LINK).dedup().side_effect(
            __.both_v().has_id(P.without(ids))
            .property(Cardinality.single, "degree", increment("degree", -1))))
    if orphans:
        t = t.side_effect(__.V(*orphans).drop())
    if erased:
        t = t.side_effect(__.V(*erased).properties(_ATTRIBUTES).drop())
    if stored:
        t = t.side_effect(__.V(*stored).drop())  # drops their links, rules and observations
    now_ms = int(identity.clock() * 1000)
    t = customers.write(t, change, identity.tenant, now_ms)
    for vertex_id in ids:
        t = (t.merge_v(model.vertex_key(identity.tenant, model.suppression_id(vertex_id), model.SUPPRESSED))
             .option(Merge.on_create, {"created": CardinalityValue.single(now_ms)}))
    if not submit(t.id_()):
        return None
    return {"identifiers": len(stored), "links": len(links), "events": len(orphans),
            "event_attributes": len(erased), "suppressed": len(ids)}


def _erasing_as_read(ids: list[str], stored: list[str], events: dict, orphans: list[str]) -> list[GraphTraversal]:
    """Checks that hold while what the forget erases is as it read it: those of ``ids`` it did not
    find ``stored`` are still absent (else one would stay stored beside its suppression entry),
    and every event observing the stored ones that it does not drop (``orphans``) still observes
    something else (else it would be left observing nothing: an event it did not read observing
    only them, or one it read whose other identifiers a concurrent forget erased meanwhile), and
    carries no sealed attributes unless it was read (they would stay). A new event observing
    someone else too, without attributes, changes nothing the forget writes: its observations go
    with the identifiers and the degrees are computed by the graph. One shape whatever they hold
    (NO_ID: never an empty ``V()``)."""
    stored_set = set(stored)
    absent = sorted(v for v in ids if v not in stored_set)
    kept = __.V(*sorted(stored), NO_ID).in_(model.OBSERVED).dedup().has_id(P.without(*orphans, NO_ID))
    unread_with_attributes = __.has_id(P.without(*sorted(events), NO_ID)).has(_ATTRIBUTES)
    return [__.V(*absent, NO_ID).count().is_(0),
            kept.or_(__.not_(__.out(model.OBSERVED).has_id(P.without(*ids, NO_ID))), unread_with_attributes)
            .count().is_(0)]


def export(identity: TenantGraph, id_type: str, value: str) -> dict[str, Any]:
    """Every stored fact about the subject: identifiers, links with their evidence, do-not-link
    rules and events, decrypted. NotFound when nothing is stored."""
    ids, subject = _subject(identity, id_type, value)
    if subject is None:  # an identifier: its customer is what resolve walks from it
        config = identity.config
        subject = identity.hood(id_type, value, max_hops=config.max_hops, max_fanout=config.max_fanout)
    customer = identity.customer_id(subject) if subject is not None else None
    rows = submit(identity.g.V(*ids).has_label(model.IDENTIFIER).project("identifier", "links", "rules", "events")
                  .by(__.element_map())
                  .by(__.both_e(model.LINK).element_map().fold())
                  .by(__.both_e(model.NOLINK).element_map().fold())
                  .by(__.in_(model.OBSERVED).element_map().fold()))
    if not rows:
        raise NotFound("identifier not found in this tenant's graph")
    protector = identity.protector
    identifiers = {}
    for row in rows:
        props = plain(row["identifier"])
        identifiers[props["id"]] = {
            "type": props["type"], "value": open_value(protector, props), "customer_id": customer,
            "created": iso(props["created"] // 1000), "first_seen": iso(props["first_seen"]),
            "last_seen": iso(props["last_seen"])}

    def describe(vertex_id: str) -> dict[str, Any]:
        # an end outside the subject may be someone else's: its type only
        found = identifiers.get(vertex_id)
        return {"type": found["type"], "value": found["value"]} if found else {"type": _type_of(vertex_id)}

    links, rules, events = {}, {}, {}
    for row in rows:
        for edge in row["links"]:
            props = plain(edge)
            links[props["id"]] = {
                "a": describe(props["out"]), "b": describe(props["in"]), "first_seen": iso(props["first_seen"]),
                "last_seen": iso(props["last_seen"]), "count": props["count"],
                "events": sorted({props["first_event"], props["last_event"]})}
        for edge in row["rules"]:
            props = plain(edge)
            rules[props["id"]] = {"a": describe(props["out"]), "b": describe(props["in"]),
                                  "created": iso(props.get("created"))}
        observer = describe(plain(row["identifier"])["id"])
        for vertex in row["events"]:
            props = plain(vertex)
            event = events.get(props["id"])
            if event is None:
                sealed = props.get("attributes")
                event = events[props["id"]] = {
                    "event_id": props["event_id"], "type": props["type"], "timestamp": iso(props["ts"]),
                    "ingested_at": iso(props.get("ingested_at")), "identifiers": [],
                    "attributes": json.loads(protector.open(props["id"], "attributes", sealed)) if sealed else {}}
            event["identifiers"].append(observer)
    return {"tenant": identity.tenant,
            "identifiers": sorted(identifiers.values(), key=lambda i: (i["type"], i["value"])),
            "links": [links[k] for k in sorted(links)], "do_not_link": [rules[k] for k in sorted(rules)],
            "events": sorted(events.values(), key=lambda e: (e["timestamp"], e["event_id"]))}


def _type_of(identifier_vertex_id: str) -> str:
    return identifier_vertex_id.split(":")[1]
