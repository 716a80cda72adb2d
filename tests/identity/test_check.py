"""identity.check: a graph that ingest, unlink and forget wrote checks clean; each kind of damage
is found (and the repairable kinds mended) on every backend."""

from __future__ import annotations

from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, T

from identity import IdentityGraph, model
from identity.check import REPAIRABLE, check_graph
from identity.protect import DevelopmentProtector
from identity_helpers import event

ANN, PHONE, BOB, DEVICE = ("email", "ann@example.com"), ("phone", "+15550100200"), ("email", "bob@example.com"), \
    ("device_id", "dev-1")
PROTECTOR = DevelopmentProtector()


def _populated(g, clock) -> IdentityGraph:
    identity = IdentityGraph(g, "acme", clock=clock)
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE), event("e3", BOB, DEVICE)])
    clock.tick()
    identity.ingest([event("e1", ANN, PHONE)])  # a duplicate
    identity.unlink(BOB, DEVICE)
    identity.forget(*ANN)
    IdentityGraph(g, "bravo", clock=clock).ingest([event("b1", ANN, PHONE)])
    return identity


def test_what_the_service_wrote_checks_clean(g, clock) -> None:
    _populated(g, clock)
    report = check_graph(g, "acme", protector=PROTECTOR, acknowledged=["e1", "e2", "e3"])
    assert report.findings == []
    assert (report.identifiers, report.links, report.events, report.observations) == (3, 1, 3, 5)
    assert report.summary() == "tenant acme: 3 identifiers, 1 links, 3 events, 5 observations: ok"
    assert check_graph(g, "bravo", protector=PROTECTOR, acknowledged=["b1"]).ok


def test_each_kind_of_damage_is_found_and_the_repairable_ones_mended(g, clock) -> None:
    identity = _populated(g, clock)
    phone, device, bob = (identity.vertex_id(*i) for i in (PHONE, DEVICE, BOB))
    bravo_phone = IdentityGraph(g, "bravo").vertex_id(*PHONE)
    sealed = g.V(phone).values("value").next()
    g.V(device).property(Cardinality.single, "degree", 7).iterate()                        # degree
    g.V(phone).as_("i").V(model.event_vertex_id("acme", "e2")).add_e(model.OBSERVED).to("i") \
        .property(model.TENANT, "acme").iterate()                                           # duplicate_observation
    g.V(phone).as_("i").V(bravo_phone).add_e(model.LINK).from_("i").property(T.id, "x-link") \
        .property(model.TENANT, "acme").iterate()                                           # cross_tenant
    low, high = model.link_ends(bob, device)
    g.V(low).as_("l").V(high).add_e(model.LINK).from_("l").property(T.id, model.link_id("acme", low, high)) \
        .property(model.TENANT, "acme").property("count", 1).iterate()                     # do_not_link (+ degrees)
    twin = "acme:phone:" + "0" * 32
    g.add_v(model.IDENTIFIER).property(T.id, twin).property(model.TENANT, "acme").property("type", "phone") \
        .property("degree", 0).property("value", sealed).iterate()                          # duplicate_identifier
    g.add_v(model.IDENTIFIER).property(T.id, "acme:phone:zz").property(model.TENANT, "acme") \
        .property("type", "email").property("degree", 0).iterate()                          # identifier_id
    g.add_v(model.SUPPRESSED).property(T.id, model.suppression_id(bob)).property(model.TENANT, "acme").iterate()
    g.add_v(model.EVENT).property(T.id, model.event_vertex_id("acme", "e9")).property(model.TENANT, "acme") \
        .property("event_id", "e9").iterate()                                               # orphan_event
    g.add_v(model.EVENT).property(T.id, "acme:event:wrong").property(model.TENANT, "acme") \
        .property("event_id", "e10").as_("ev").V(phone).add_e(model.OBSERVED).from_("ev") \
        .property(model.TENANT, "acme").iterate()                                           # event_id

    report = check_graph(g, "acme", protector=PROTECTOR, acknowledged=["e2", "e3", "never-sent"])
    found = {(f.kind, f.element) for f in report.findings}
    assert {kind for kind, _ in found} == {
        "degree", "duplicate_observation", "cross_tenant", "do_not_link", "duplicate_identifier", "identifier_id",
        "suppressed", "orphan_event", "event_id", "missing_event"}
    assert ("degree", device) in found and ("duplicate_identifier", twin) in found
    assert ("suppressed", bob) in found and ("cross_tenant", "x-link") in found
    assert ("missing_event", model.event_vertex_id("acme", "never-sent")) in found
    assert not report.ok and "wrong (" in report.summary()

    repaired = check_graph(g, "acme", protector=PROTECTOR, acknowledged=["e2", "e3", "never-sent"], repair=True)
    assert {f.kind for f in repaired.repaired} == REPAIRABLE
    assert {f.kind for f in repaired.findings} == {"duplicate_identifier", "identifier_id", "event_id",
                                                   "missing_event"}
    assert g.V(model.event_vertex_id("acme", "e9")).count().next() == 0  # the orphan, as a forget drops it
    assert identity.resolve(*BOB) is None  # forgotten again
    degrees = {row["id"]: (row["degree"], row["links"]) for row in g.V().has_label(model.IDENTIFIER)
               .has(model.TENANT, "acme").project("id", "degree", "links").by(T.id).by("degree")
               .by(__.both_e(model.LINK).count()).to_list()}
    assert all(d == links for d, links in degrees.values())
    assert identity.resolve(*PHONE).identifiers["device_id"][0]["value"] == "dev-1"  # what was right stays
