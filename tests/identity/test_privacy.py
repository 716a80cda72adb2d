"""GDPR forget and export: what is erased, what is suppressed, what an export holds."""

from __future__ import annotations

import json

import pytest
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from identity import NotFound, TenantConfig, ValidationError

from identity_helpers import event

ANN = ("email", "ann@example.com")
PHONE = ("phone", "+15550100200")
DEVICE = ("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
BOB = ("email", "bob@example.com")
BOB_PHONE = ("phone", "+15550100999")


def _degrees(g) -> dict[str, int]:
    return {row["id"]: row["degree"] for row in
            g.V().has_label("identifier").project("id", "degree").by(T.id).by("degree").to_list()}


def _link_counts(g) -> dict[str, int]:
    return {row["id"]: row["links"] for row in
            g.V().has_label("identifier").project("id", "links").by(T.id).by(__.both_e("link").count()).to_list()}


def test_forgetting_an_identifier_removes_it_its_edges_and_its_own_events(identity, g) -> None:
    identity.ingest([event("e1", ANN, PHONE, attributes={"name": "Ann"}), event("e2", ANN)])
    removed = identity.forget(*ANN)
    assert removed == {"identifiers": 1, "links": 1, "events": 1, "event_attributes": 1, "suppressed": 1}
    assert identity.resolve(*ANN) is None
    remaining = identity.resolve(*PHONE)
    assert remaining.identifiers == {"phone": [{"value": "+15550100200", "hops": 0, "generic": False}]}
    # e2 observed only ann: gone; e1 still observes the phone, without what Ann did in it
    assert g.V().has_label("event").values("event_id").to_list() == ["e1"]
    assert g.V().has_label("event").has("attributes").count().next() == 0
    assert _degrees(g) == _link_counts(g)


def test_forgotten_identifiers_are_refused_when_events_are_replayed(identity, g) -> None:
    first = identity.ingest([event("e1", ANN, PHONE)])[0]
    identity.forget(*ANN)
    identity.forget(*PHONE)
    replay = identity.ingest([event("e1", ANN, PHONE), event("e3", ("email", " ANN@example.com "), DEVICE)])
    assert replay[0].customer_id is None and not replay[0].duplicate
    assert [r["reason"] for r in replay[0].refused] == ["suppressed", "suppressed"]
    assert replay[1].refused == [{"identifier": {"index": 0, "type": "email"}, "reason": "suppressed",
                                  "detail": "this identifier was forgotten on request and is never stored again"}]
    assert replay[1].customer_id != first.customer_id
    assert identity.resolve(*ANN) is None and identity.resolve(*PHONE) is None
    assert identity.resolve(*DEVICE).identifiers == {
        "device_id": [{"value": DEVICE[1], "hops": 0, "generic": False}]}


def test_an_identifier_never_seen_can_be_suppressed_in_advance(identity) -> None:
    assert identity.forget(*BOB) == {"identifiers": 0, "links": 0, "events": 0, "event_attributes": 0, "suppressed": 1}
    result = identity.ingest([event("e1", BOB, PHONE)])[0]
    assert [r["reason"] for r in result.refused] == ["suppressed"]
    assert identity.resolve(*BOB) is None
    assert identity.resolve(*PHONE) is not None


def test_suppression_entries_hold_no_plaintext(identity, g) -> None:
    identity.ingest([event("e1", ANN, PHONE, attributes={"name": "Ann"})])
    identity.forget(*ANN)
    stored = repr(g.V().has_label("suppressed").element_map().to_list())
    assert "ann" not in stored.lower() and "example" not in stored
    assert g.V().has_label("suppressed").count().next() == 1


def test_forgetting_a_customer_removes_all_its_identifiers_but_not_shared_ones(make_identity, g) -> None:
    identity = make_identity(config=TenantConfig(generic_threshold=2))
    shared = ("phone", "+15550100999")
    people = [("email", f"p{n}@example.com") for n in range(4)]
    results = identity.ingest([event(f"e{n}", person, shared) for n, person in enumerate(people)])
    cid = results[3].customer_id  # the phone was generic by then: p3 is a customer of its own
    identity.ingest([event("e4", people[3], DEVICE)])
    before = _degrees(g)[identity.vertex_id(*shared)]
    removed = identity.forget("customer", cid)
    assert removed == {"identifiers": 2, "links": 2, "events": 1, "event_attributes": 0, "suppressed": 2}
    assert identity.resolve(*people[3]) is None and identity.resolve(*DEVICE) is None
    assert identity.resolve(*shared) is not None and identity.resolve(*people[0]) is not None
    assert _degrees(g)[identity.vertex_id(*shared)] == before - 1
    assert _degrees(g) == _link_counts(g)
    # e3 still observes the shared phone; e4 observed only p3's identifiers
    assert sorted(g.V().has_label("event").values("event_id").to_list()) == ["e0", "e1", "e2", "e3"]
    with pytest.raises(NotFound):
        identity.forget("customer", cid)


def test_forgetting_a_customer_erases_the_attributes_of_its_events_that_stay(identity, g) -> None:
    cafe = ("ip", "203.0.113.7")  # Bob's customer holds it; Ann's visit there is refused as a weak bridge
    identity.ingest([event("b1", BOB, cafe, attributes={"basket": "tea"}),
                     event("b2", BOB_PHONE, cafe, attributes={"basket": "mugs"})])
    cid = identity.ingest([event("a1", ANN, PHONE, attributes={"basket": "shoes"}),
                           event("a2", ANN, cafe, attributes={"basket": "socks"})])[1].customer_id
    removed = identity.forget("customer", cid)
    assert removed == {"identifiers": 2, "links": 1, "events": 1, "event_attributes": 1, "suppressed": 2}
    # a2 stays as an observation of the cafe's IP, but what Ann bought there is gone; Bob's stay
    sealed = {row["event_id"]: row["sealed"] for row in g.V().has_label("event").project("event_id", "sealed")
              .by("event_id").by(__.properties("attributes").count()).to_list()}
    assert sealed == {"a2": 0, "b1": 1, "b2": 1}
    assert identity.export(*BOB)["events"][0]["attributes"] == {"basket": "tea"}


def test_forgetting_a_generic_customer_forgets_only_its_anchor(make_identity, g) -> None:
    identity = make_identity(config=TenantConfig(generic_threshold=1))
    shared = ("phone", "+15550100999")
    first = identity.ingest([event("e0", shared, ANN)])[0]
    identity.ingest([event("e1", shared, BOB)])
    # the phone went generic: Ann keeps the customer id it founded, the phone answers for itself
    assert identity.resolve(*ANN).customer_id == first.customer_id
    alone = identity.resolve(*shared).customer_id
    assert alone not in (first.customer_id, identity.resolve(*BOB).customer_id)
    assert identity.forget("customer", alone)["suppressed"] == 1
    assert identity.resolve(*shared) is None
    assert identity.resolve(*ANN) is not None and identity.resolve(*BOB) is not None


def test_forget_refuses_bad_input(identity) -> None:
    with pytest.raises(ValidationError):
        identity.forget("email", "not an email")
    with pytest.raises(ValidationError):
        identity.forget("customer", "ann@example.com")
    with pytest.raises(NotFound):
        identity.forget("customer", "c-000000000000000000000000")


def test_export_returns_every_stored_fact_decrypted(identity, clock) -> None:
    identity.ingest([event("e1", ANN, PHONE, attributes={"plan": "gold", "age": 41}, ts=1_714_550_400_000)])
    identity.ingest([event("e2", ANN, DEVICE, ts=1_714_550_500_000)])
    identity.unlink(ANN, DEVICE)
    exported = identity.export(*ANN)
    assert json.loads(json.dumps(exported)) == exported  # JSON as it stands
    assert exported["identifiers"] == [{"type": "email", "value": "ann@example.com",
                                        "customer_id": identity.resolve(*ANN).customer_id,
                                        "created": "2023-11-14T22:13:20Z",
                                        "first_seen": "2024-05-01T08:00:00Z",
                                        "last_seen": "2024-05-01T08:01:40Z"}]
    # the phone is linked to ann but is not the subject: its type only
    assert exported["links"] == [{"a": {"type": "email", "value": "ann@example.com"}, "b": {"type": "phone"},
                                  "first_seen": "2024-05-01T08:00:00Z", "last_seen": "2024-05-01T08:00:00Z",
                                  "count": 1, "events": ["e1"]}]
    assert exported["do_not_link"] == [{"a": {"type": "device_id"}, "b": {"type": "email", "value": "ann@example.com"},
                                        "created": "2023-11-14T22:13:20Z"}]
    assert [e["event_id"] for e in exported["events"]] == ["e1", "e2"]
    assert exported["events"][0]["attributes"] == {"plan": "gold", "age": 41}
    assert exported["events"][0]["identifiers"] == [{"type": "email", "value": "ann@example.com"}]


def test_export_of_a_customer_opens_all_its_identifiers(identity) -> None:
    cid = identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])[0].customer_id
    exported = identity.export("customer", cid)
    assert [(i["type"], i["value"]) for i in exported["identifiers"]] == sorted([ANN, PHONE, DEVICE])
    assert {json.dumps(link["a"], sort_keys=True) for link in exported["links"]} <= {
        json.dumps({"type": t, "value": v}, sort_keys=True) for t, v in (ANN, PHONE, DEVICE)}
    assert len(exported["links"]) == 2 and len(exported["events"]) == 2


def test_export_of_nothing_stored_is_not_found(identity) -> None:
    with pytest.raises(NotFound):
        identity.export(*ANN)
    identity.ingest([event("e1", ANN)])
    identity.forget(*ANN)
    with pytest.raises(NotFound):
        identity.export(*ANN)
