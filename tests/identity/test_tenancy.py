"""Tenant isolation, adversarially: nothing tenant B sends reads or changes tenant A's data.

Two walls: every traversal runs under PartitionStrategy(tenant), and every id is tenant-prefixed.
The last tests take the second wall away (B computes A's ids) to show the first holds alone.
"""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __

import gremlin

from identity import IdentityGraph, NotFound, ValidationError
from identity.domain import model
from identity.domain.tenant_graph import tenant_scoped

from identity_helpers import event

ANN = ("email", "ann@example.com")
PHONE = ("phone", "+15550100200")
HOSTILE_VALUES = [
    "a:b:c", "acme:email:0123", "x'y\"z", "x').drop();g.V('", "g.V().drop().iterate()", "${7*7}",
    "{\"tenant\":\"acme\"}", "\\x00", "tenant=acme", "z" * 256,
]


def _snapshot(g, tenant: str) -> list:
    """Everything stored for ``tenant``, and every edge touching its vertices whoever wrote it,
    as comparable text."""
    return sorted(map(repr, g.V().has("tenant", tenant).element_map().to_list()
                      + g.E().has("tenant", tenant).element_map().to_list()
                      + g.V().has("tenant", tenant).both_e().dedup().element_map().to_list()))


@pytest.fixture
def two(make_identity):
    a, b = make_identity("acme"), make_identity("bravo")
    a.ingest([event("e1", ANN, PHONE, attributes={"note": "private"}),
              event("e2", ANN, ("partner_id", "crm-1"))])
    return a, b


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_identifier_values_stay_in_their_tenant(two, g, value: str) -> None:
    a, b = two
    a.ingest([event("a-hostile", ANN, ("cookie", value))])
    before = _snapshot(g, "acme")
    resolved = b.ingest([event("e1", ("partner_id", value), ("cookie", value))])[0]
    assert not resolved.duplicate  # same event id, other tenant: a different event
    assert _snapshot(g, "acme") == before
    seen = b.resolve("partner_id", value)
    assert seen.customer_id == resolved.customer_id != a.resolve(*ANN).customer_id
    assert set(seen.identifiers) == {"partner_id", "cookie"}
    assert a.resolve("cookie", value).identifiers["email"][0]["value"] == ANN[1]


@pytest.mark.parametrize("value", ["x" * 10_000, "nul\x00byte", "a b", "", "é" * 300])
def test_invalid_hostile_values_are_refused_without_writing(two, g, value: str) -> None:
    a, b = two
    before = _snapshot(g, "acme"), _snapshot(g, "bravo")
    for call in (lambda: b.ingest([event("x", ("partner_id", value))]), lambda: b.resolve("partner_id", value),
                 lambda: b.forget("partner_id", value), lambda: b.export("partner_id", value),
                 lambda: b.unlink(("partner_id", value), ANN)):
        with pytest.raises(ValidationError) as caught:
            call()
        assert value not in str(caught.value) or not value
    assert (_snapshot(g, "acme"), _snapshot(g, "bravo")) == before


def test_another_tenants_customer_id_names_nothing(two, g) -> None:
    a, b = two
    cid = a.resolve(*ANN).customer_id
    before = _snapshot(g, "acme")
    assert b.resolve("customer", cid) is None
    with pytest.raises(NotFound):
        b.forget("customer", cid)
    with pytest.raises(NotFound):
        b.export("customer", cid)
    assert _snapshot(g, "acme") == before
    assert a.resolve("customer", cid).customer_id == cid


def test_another_tenants_values_name_nothing_to_unlink_forget_or_export(two, g) -> None:
    a, b = two
    before = _snapshot(g, "acme")
    with pytest.raises(NotFound):
        b.unlink(ANN, PHONE)
    with pytest.raises(NotFound):
        b.export(*ANN)
    assert b.forget(*ANN)["identifiers"] == 0  # suppressed in bravo only
    assert _snapshot(g, "acme") == before
    assert a.ingest([event("e3", ANN)])[0].refused == []
    assert b.ingest([event("e3", ANN)])[0].refused[0]["reason"] == "suppressed"
    assert b.stats()["identifiers"] == 0 and a.stats()["identifiers"] == 3
    assert (a.stats()["suppressed"], b.stats()["suppressed"]) == (0, 1)


def test_tenant_names_cannot_reach_into_another_tenants_ids(g) -> None:
    for bad in ("acme:email", "", "a:b", None):
        with pytest.raises(ValidationError):
            IdentityGraph(g, bad)


def test_the_partition_alone_hides_another_tenants_elements(two, g) -> None:
    a, _ = two
    everything = g.V().count().next()
    bravo = tenant_scoped(g, "bravo")
    ann = a.vertex_id(*ANN)
    assert bravo.V().count().next() == 0 and bravo.E().count().next() == 0
    assert bravo.V(ann).count().next() == 0
    assert bravo.V().has("cid", a.resolve(*ANN).customer_id).count().next() == 0
    assert tenant_scoped(g, "acme").V(ann).both("link").count().next() == 2
    assert g.V().count().next() == everything


def test_the_partition_alone_keeps_writes_off_another_tenants_elements(two, g, monkeypatch) -> None:
    a, b = two
    before = _snapshot(g, "acme")
    original = model.identifier_id
    # a bug that drops the tenant from ids: bravo now computes acme's vertex ids
    monkeypatch.setattr(model, "identifier_id", lambda tenant, id_type, blind: original("acme", id_type, blind))
    assert b.resolve(*ANN) is None
    with pytest.raises(NotFound):
        b.unlink(ANN, PHONE)
    with pytest.raises(NotFound):
        b.export(*ANN)
    with pytest.raises(Exception, match="already exists"):
        b.ingest([event("e9", ANN, PHONE)])  # cannot see acme's vertex, cannot reuse its id
    assert _snapshot(g, "acme") == before
    assert g.V().has("tenant", "bravo").has_label(model.IDENTIFIER).count().next() == 0
    assert g.E().has("tenant", "bravo").where(__.both_v().has("tenant", "acme")).count().next() == 0


def test_isolation_and_forget_hold_on_every_backend(backend_url: str) -> None:
    """The partition travels in the bytecode: the same answers over both wire formats, the
    durable store and the real Gremlin Servers."""
    connection = gremlin.connect(backend_url)
    try:
        g = traversal().with_remote(connection)
        a, b = IdentityGraph(g, "acme"), IdentityGraph(g, "bravo")
        cid = a.ingest([event("e1", ANN, PHONE, attributes={"note": "private"})])[0].customer_id
        assert b.ingest([event("e1", ANN)])[0].customer_id != cid
        assert b.resolve("customer", cid) is None and b.resolve(*PHONE) is None
        assert a.export("customer", cid)["events"][0]["attributes"] == {"note": "private"}
        assert b.forget(*PHONE)["identifiers"] == 0
        assert a.resolve(*PHONE).customer_id == cid
        assert a.forget(*ANN) == {"identifiers": 1, "links": 1, "events": 0, "event_attributes": 1, "suppressed": 1}
        assert a.ingest([event("e2", ANN, PHONE)])[0].refused[0]["reason"] == "suppressed"
        assert b.resolve(*ANN) is not None
    finally:
        connection.close()
