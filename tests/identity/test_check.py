"""identity.domain.check: a graph that ingest, unlink and forget wrote checks clean; each kind of damage
is found (and the repairable kinds mended) on every backend."""

from __future__ import annotations

from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, T

from identity import IdentityGraph
from identity.domain import model
from identity.domain.check import REPAIRABLE, check_graph
from identity.security.protect import DevelopmentProtector
from identity_helpers import event

ANN, PHONE, BOB, DEVICE = ("email", "ann@example.com"), ("phone", "+15550100200"), ("email", "bob@example.com"), \
    ("device_id", "dev-1")
PROTECTOR = DevelopmentProtector()
CUSTOMER_ID_KINDS = {"customer_id", "split_customer_id", "retired_id", "retired_carried", "retired_heir"}


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
        .property("degree", 0).property("value", sealed).property(model.CID, model.customer_id("acme", twin)) \
        .property("created", 1).iterate()                                                   # duplicate_identifier
    g.add_v(model.IDENTIFIER).property(T.id, "acme:phone:zz").property(model.TENANT, "acme") \
        .property("type", "email").property("degree", 0).property(model.CID, model.customer_id("acme", "zz")) \
        .property("created", 1).iterate()                                                   # identifier_id
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
    assert {f.kind for f in repaired.repaired} == REPAIRABLE - CUSTOMER_ID_KINDS
    assert {f.kind for f in repaired.findings} == {"duplicate_identifier", "identifier_id", "event_id",
                                                   "missing_event"}
    assert g.V(model.event_vertex_id("acme", "e9")).count().next() == 0  # the orphan, as a forget drops it
    assert identity.resolve(*BOB) is None  # forgotten again
    degrees = {row["id"]: (row["degree"], row["links"]) for row in g.V().has_label(model.IDENTIFIER)
               .has(model.TENANT, "acme").project("id", "degree", "links").by(T.id).by("degree")
               .by(__.both_e(model.LINK).count()).to_list()}
    assert all(d == links for d, links in degrees.values())
    assert identity.resolve(*PHONE).identifiers["device_id"][0]["value"] == "dev-1"  # what was right stays


def _retired(g, cid: str, heir: str | None) -> None:
    record = g.add_v(model.RETIRED).property(T.id, model.retired_id("acme", cid)).property(model.TENANT, "acme")
    (record.property(model.HEIR, heir) if heir else record).property("created", 1).iterate()


def test_customer_id_damage_is_found_and_the_safe_repairs_made(g, clock) -> None:
    identity = IdentityGraph(g, "acme", clock=clock)
    identity.ingest([event("e1", ANN, PHONE)])  # customer one: ann and her phone
    clock.tick()
    identity.ingest([event("e2", BOB, DEVICE), event("e3", ("email", "cy@example.com"))])
    ann_id, bob_id = identity.resolve(*ANN).customer_id, identity.resolve(*BOB).customer_id
    cy = identity.vertex_id("email", "cy@example.com")
    assert check_graph(g, "acme", protector=PROTECTOR).ok
    # bob and his device carry ann's id as well as their own customer's: one id, two customers
    bob, device = identity.vertex_id(*BOB), identity.vertex_id(*DEVICE)
    g.V(bob, device).property(Cardinality.single, model.CID, ann_id).iterate()        # split_customer_id
    g.V(cy).properties(model.CID).drop().iterate()                                    # customer_id
    gone, moved = "c-" + "1" * 24, "c-" + "2" * 24
    _retired(g, gone, "c-" + "9" * 24)                      # retired_heir: it leads nowhere
    _retired(g, moved, gone)                                # retired_heir: to a record leading nowhere
    _retired(g, ann_id, bob_id)                             # retired_carried
    g.add_v(model.RETIRED).property(T.id, "acme:retired:nonsense").property(model.TENANT, "acme") \
        .property(model.HEIR, ann_id).iterate()             # retired_id

    report = check_graph(g, "acme", protector=PROTECTOR)
    found = {(f.kind, f.element) for f in report.findings}
    assert found == {("split_customer_id", ann_id), ("customer_id", cy),
                     ("retired_heir", model.retired_id("acme", gone)), ("retired_heir", model.retired_id("acme", moved)),
                     ("retired_carried", model.retired_id("acme", ann_id)),
                     ("retired_id", "acme:retired:nonsense")}

    repaired = check_graph(g, "acme", protector=PROTECTOR, repair=True)
    assert {(f.kind, f.element) for f in repaired.repaired} == {
        ("split_customer_id", ann_id), ("retired_carried", model.retired_id("acme", ann_id))}
    # the customers sharing ann's id are split again by the rule: equal sizes, the older keeps it
    # and bob's gets a new one; a record leading nowhere is left to a person
    assert identity.resolve(*ANN).customer_id == ann_id
    bob_now = identity.resolve(*BOB).customer_id
    assert bob_now not in (ann_id, bob_id) and identity.resolve(*DEVICE).customer_id == bob_now
    assert {(f.kind, f.element) for f in repaired.findings} == {
        ("customer_id", cy), ("retired_heir", model.retired_id("acme", gone)),
        ("retired_heir", model.retired_id("acme", moved)), ("retired_id", "acme:retired:nonsense")}


def test_a_retired_chain_is_pointed_at_its_live_end(g, clock) -> None:
    identity = IdentityGraph(g, "acme", clock=clock)
    identity.ingest([event("e1", ANN, PHONE)])
    ann_id = identity.resolve(*ANN).customer_id
    old, older = "c-" + "1" * 24, "c-" + "2" * 24
    _retired(g, old, ann_id)
    _retired(g, older, old)                                 # two steps from a live id
    report = check_graph(g, "acme", protector=PROTECTOR)
    assert [(f.kind, f.element) for f in report.findings] == [("retired_heir", model.retired_id("acme", older))]
    repaired = check_graph(g, "acme", protector=PROTECTOR, repair=True)
    assert repaired.ok and [f.kind for f in repaired.repaired] == ["retired_heir"]
    assert identity.resolve("customer", older).customer_id == ann_id


def test_a_generic_identifier_sharing_its_customers_id_is_given_its_own(g, clock) -> None:
    from identity.domain.guards import TenantConfig
    config = TenantConfig(generic_threshold=1)
    identity = IdentityGraph(g, "acme", clock=clock)  # the default threshold: ann, phone and device one customer
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    customer = identity.resolve(*ANN).customer_id
    assert check_graph(g, "acme", protector=PROTECTOR).ok
    # a lower threshold writes nothing: the phone (two links) turns generic, and ann and the
    # device are customers of their own, all three still carrying one id
    report = check_graph(g, "acme", config=config, protector=PROTECTOR)
    assert [(f.kind, f.element, f.detail) for f in report.findings] == [
        ("split_customer_id", customer, "carried by identifiers of 3 customers")]
    repaired = check_graph(g, "acme", config=config, protector=PROTECTOR, repair=True)
    assert repaired.ok and [f.kind for f in repaired.repaired] == ["split_customer_id"]
    ids = {i: IdentityGraph(g, "acme", config=config).resolve(*i).customer_id for i in (ANN, PHONE, DEVICE)}
    assert ids[ANN] == customer and len(set(ids.values())) == 3  # ann, the oldest, keeps it
