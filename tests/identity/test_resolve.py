"""Resolve: one round trip, hop distances, evidence, bounds, as-of, unlink."""

from __future__ import annotations

import gc

import pytest

from identity import NotFound, TenantConfig, ValidationError
from identity.domain import model
from identity.domain.walk import hood_traversal, shortest_paths
from identity_helpers import event

ANN = ("email", "ann@example.com")
PHONE = ("phone", "+15550100200")
DEVICE = ("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
COOKIE = ("cookie", "ck-1")
PARTNER = ("partner_id", "crm-7")

DAY = 86_400_000
T0 = 1_714_550_400_000  # 2024-05-01T08:00:00Z


@pytest.fixture
def chain(identity, clock):
    """ann -- phone -- device -- cookie, one link per day."""
    for n, pair in enumerate([(ANN, PHONE), (PHONE, DEVICE), (DEVICE, COOKIE)]):
        identity.ingest([event(f"e{n}", *pair, ts=T0 + n * DAY)])
        clock.tick()
    return identity


def _hops(resolution) -> dict[str, list[tuple[str, int]]]:
    return {t: [(i["value"], i["hops"]) for i in items] for t, items in resolution.identifiers.items()}


def test_resolve_walks_the_links_in_one_round_trip(chain, connection) -> None:
    before = connection.submits
    resolution = chain.resolve(*ANN)
    assert connection.submits - before == 1
    assert _hops(resolution) == {"email": [("ann@example.com", 0)], "phone": [("+15550100200", 1)],
                                 "device_id": [(DEVICE[1], 2)], "cookie": [("ck-1", 3)]}
    assert not resolution.truncated
    assert chain.resolve("email", " ANN@Example.com ").customer_id == resolution.customer_id


def test_max_hops_bounds_the_walk(chain) -> None:
    assert set(chain.resolve(*ANN, max_hops=1).identifiers) == {"email", "phone"}
    assert set(chain.resolve(*ANN, max_hops=0).identifiers) == {"email"}


def test_max_identifiers_truncates(chain) -> None:
    resolution = chain.resolve(*ANN, max_identifiers=2)
    assert sum(len(v) for v in resolution.identifiers.values()) == 2 and resolution.truncated


def test_max_fanout_stops_expanding_busy_identifiers(identity) -> None:
    identity.ingest([event("e1", PHONE, ANN, ("email", "a2@example.com"), ("email", "a3@example.com")),
                     event("e2", ANN, DEVICE)])
    resolution = identity.resolve(*DEVICE, max_fanout=2)
    assert set(_hops(resolution)["email"]) == {("ann@example.com", 1)}  # ann (4 links) is not expanded
    assert resolution.truncated


def test_shortest_paths_take_the_smallest_path_and_expand_only_the_unbusy() -> None:
    # a - b - d and a - c - d tie at two hops: the path through the smaller link wins; c is busy
    # (3 links > 2), so e is reached from d only, at three hops; f lies beyond max_hops
    vertices = {v: {"degree": d} for v, d in [("a", 2), ("b", 2), ("c", 3), ("d", 3), ("e", 2), ("f", 1)]}
    links = {"a": {"b": "ab", "c": "ac"}, "b": {"a": "ab", "d": "bd"}, "c": {"a": "ac", "d": "cd", "e": "ce"},
             "d": {"b": "bd", "c": "cd", "e": "de"}, "e": {"c": "ce", "d": "de", "f": "ef"}, "f": {"e": "ef"}}
    vertices["d"]["degree"] = 2
    paths = shortest_paths("a", vertices, links, 3, 2)
    assert paths == {"a": ["a"], "b": ["a", "ab", "b"], "c": ["a", "ac", "c"], "d": ["a", "ab", "b", "bd", "d"],
                     "e": ["a", "ab", "b", "bd", "d", "de", "e"]}
    assert shortest_paths("a", vertices, links, 3, 5)["e"] == ["a", "ac", "c", "ce", "e"]
    assert shortest_paths("a", vertices, links, 0, 5) == {"a": ["a"]}


def test_shortest_paths_leave_no_garbage_for_the_collector() -> None:
    # every resolve computes them: a reference cycle would hold its paths until a collection
    # (and for ever if the service's heap settler froze them meanwhile)
    links = {"a": {"b": "ab"}, "b": {"a": "ab", "c": "bc"}, "c": {"b": "bc"}}
    vertices = {v: {"degree": len(links[v])} for v in links}
    gc.collect()
    gc.disable()
    try:
        assert shortest_paths("a", vertices, links, 3, 5)["c"] == ["a", "ab", "b", "bc", "c"]
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_dense_cluster_gives_shortest_hops_and_one_deterministic_path(identity) -> None:
    # phone, device, ann2 and cookie all linked to one another (many simple paths), ann linked to
    # phone and device, partner to ann2: cookie and ann2 are two hops from ann, partner three,
    # each with the smallest of its tied paths as evidence (the first link decides the tie)
    ann2 = ("email", "ann2@example.com")
    identity.ingest([event("e1", PHONE, DEVICE, ann2, COOKIE), event("e2", ANN, PHONE), event("e3", ANN, DEVICE),
                     event("e4", ann2, PARTNER)])
    resolution = identity.resolve(*ANN, evidence=True)
    hops = {(i["value"], i["hops"]) for items in resolution.identifiers.values() for i in items}
    assert hops == {(ANN[1], 0), (PHONE[1], 1), (DEVICE[1], 1), (ann2[1], 2), (COOKIE[1], 2), (PARTNER[1], 3)}
    ann = identity.vertex_id(*ANN)
    first = min((PHONE, DEVICE), key=lambda i: model.link_id("acme", ann, identity.vertex_id(*i)))
    by_value = {item["value"]: item for item in resolution.evidence}
    assert [(s["from"]["value"], s["to"]["value"]) for s in by_value[PARTNER[1]]["path"]] == [
        (ANN[1], first[1]), (first[1], ann2[1]), (ann2[1], PARTNER[1])]
    assert [s["to"]["value"] for s in by_value[COOKIE[1]]["path"]] == [first[1], COOKIE[1]]


def test_a_hop_cut_at_path_cap_is_truncated(make_identity) -> None:
    identity = make_identity(config=TenantConfig(path_cap=2))
    identity.ingest([event("e1", ANN, PHONE, DEVICE, COOKIE)])
    resolution = identity.resolve(*ANN)
    assert resolution.truncated  # ann's three links exceed path_cap at hop one
    assert not make_identity(config=TenantConfig(path_cap=3)).resolve(*ANN).truncated


def test_unknown_identifiers_resolve_to_none(identity) -> None:
    assert identity.resolve(*ANN) is None
    with pytest.raises(ValidationError):
        identity.resolve("email", "not-an-email")
    with pytest.raises(ValidationError):
        identity.resolve(*ANN, max_hops=99)


def test_evidence_gives_the_path_and_the_events(chain) -> None:
    resolution = chain.resolve(*ANN, evidence=True)
    by_value = {item["value"]: item for item in resolution.evidence}
    cookie = by_value["ck-1"]
    assert cookie["hops"] == 3
    assert [(s["from"]["value"], s["to"]["value"]) for s in cookie["path"]] == [
        ("ann@example.com", "+15550100200"), ("+15550100200", DEVICE[1]), (DEVICE[1], "ck-1")]
    assert [s["events"] for s in cookie["path"]] == [["e0"], ["e1"], ["e2"]]
    assert cookie["path"][0]["first_seen"] == "2024-05-01T08:00:00Z" and cookie["path"][0]["count"] == 1
    assert chain.resolve(*ANN).evidence is None


def test_as_of_uses_only_links_first_seen_by_then(chain) -> None:
    day1 = "2024-05-02T09:00:00Z"  # after e0 and e1, before e2
    assert set(chain.resolve(*ANN, as_of=day1).identifiers) == {"email", "phone", "device_id"}
    assert set(chain.resolve(*ANN, as_of=(T0 + 10) / 1000).identifiers) == {"email", "phone"}
    assert chain.resolve(*COOKIE, as_of=day1) is None  # not seen yet
    assert set(chain.resolve(*ANN).identifiers) == {"email", "phone", "device_id", "cookie"}


def test_unlink_splits_and_is_not_undone_by_replays(chain) -> None:
    ann_customer = chain.resolve(*ANN).customer_id
    chain.unlink(PHONE, DEVICE)
    assert set(chain.resolve(*ANN).identifiers) == {"email", "phone"}
    split = chain.resolve(*DEVICE)
    assert set(split.identifiers) == {"device_id", "cookie"} and split.customer_id != ann_customer
    replay = chain.ingest([event("e1-replay", PHONE, DEVICE), event("e1", PHONE, DEVICE)])
    assert replay[0].refused[0]["reason"] == "do_not_link" and replay[1].duplicate
    # nor can a third identifier bridge the two sides again
    bridge = chain.ingest([event("e9", ANN, COOKIE)])[0]
    assert [r["reason"] for r in bridge.refused] == ["do_not_link"]
    assert chain.resolve(*ANN).customer_id == ann_customer
    assert set(chain.resolve(*ANN).identifiers) == {"email", "phone"}


def test_unlink_of_unknown_identifiers(identity) -> None:
    identity.ingest([event("e1", ANN)])
    with pytest.raises(NotFound):
        identity.unlink(ANN, PHONE)
    with pytest.raises(ValidationError):
        identity.unlink(ANN, ("email", "ANN@example.com"))


def test_resolution_to_dict_is_json_ready(chain) -> None:
    import json
    document = chain.resolve(*ANN, evidence=True).to_dict()
    assert json.loads(json.dumps(document))["customer_id"].startswith("c-")
    assert {"customer_id", "identifiers", "evidence", "truncated"} <= set(document)


def test_resolve_builds_its_walk_once_per_shape(chain, monkeypatch) -> None:
    """The walk's bytecode is kept by its bounds and sent again with another start: each start
    still gets its own neighbourhood, and other bounds another walk."""
    from identity.domain import tenant_graph
    built = []
    monkeypatch.setattr(tenant_graph, "hood_traversal",
                        lambda *args, **kwargs: built.append(kwargs) or hood_traversal(*args, **kwargs))
    assert _hops(chain.resolve(*COOKIE)) == {"cookie": [("ck-1", 0)], "device_id": [(DEVICE[1], 1)],
                                             "phone": [("+15550100200", 2)], "email": [("ann@example.com", 3)]}
    assert _hops(chain.resolve(*ANN))["cookie"] == [("ck-1", 3)]
    assert _hops(chain.resolve(*PHONE)) == {"phone": [("+15550100200", 0)], "email": [("ann@example.com", 1)],
                                            "device_id": [(DEVICE[1], 1)], "cookie": [("ck-1", 2)]}
    assert len(built) == 1
    assert set(chain.resolve(*DEVICE, max_hops=1).identifiers) == {"device_id", "phone", "cookie"}
    assert chain.resolve(*DEVICE, evidence=True).evidence
    assert len(built) == 3
    assert chain.resolve("email", "nobody@example.com") is None and len(built) == 3
