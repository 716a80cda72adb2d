"""explain(a, b): whether two identifiers are one customer, the evidence paths that join them with
their events, or what keeps them apart (a do-not-link rule, a shared email, a multi-user device,
no path, an unknown, blocked or forgotten identifier); read-only, at most two round trips, on
every backend."""

from __future__ import annotations

import pytest
from gremlin_python.process.graph_traversal import __

from identity import TenantConfig, ValidationError
from identity.domain.explain import all_shortest_paths
from identity.domain.resolve import iso
from identity_helpers import event

T0 = 1_714_550_400_000
HOUR = 3_600_000

ANN = ("email", "ann@example.com")
ANN_PHONE = ("phone", "+15550100100")
ANN_DEVICE = ("device_id", "dev-ann")
BOB = ("email", "bob@example.com")
BOB_PHONE = ("phone", "+15550100200")


def _explain(identity, connection, a, b, **options) -> dict:
    """explain, checked to take at most two round trips and to write nothing."""
    before, submits = _graph(identity), connection.submits
    answer = identity.explain(a, b, **options)
    assert connection.submits - submits <= 2
    assert _graph(identity) == before
    return answer


def _graph(identity) -> tuple:
    """Every element of the graph with its properties (a small test graph)."""
    g = identity.g
    vertices = g.V().project("id", "p").by(__.id_()).by(__.value_map()).to_list()
    edges = g.E().project("id", "p").by(__.id_()).by(__.value_map()).to_list()
    return (sorted(repr(v) for v in vertices), sorted(repr(e) for e in edges))


def _reasons(answer: dict) -> list[str]:
    return [reason["reason"] for reason in answer["apart"]]


def test_joined_by_a_two_hop_path_with_the_events_of_each_link(identity, connection, clock) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE, ts=T0, kind="signup"),
                     event("e2", ANN_PHONE, ANN_DEVICE, ts=T0 + HOUR),
                     event("e3", ANN_PHONE, ANN_DEVICE, ts=T0 + 2 * HOUR, kind="purchase")])
    answer = _explain(identity, connection, ANN, ANN_DEVICE)
    assert answer["same_customer"] and answer["apart"] == [] and not answer["truncated"]
    customer = identity.resolve(*ANN).customer_id
    assert answer["a"]["customer_id"] == answer["b"]["customer_id"] == customer
    assert answer["a"]["found"] and answer["a"]["value"] == "ann@example.com"
    [path] = answer["paths"]
    assert path["hops"] == 2
    first, second = path["steps"]
    assert (first["from"], first["to"]) == ({"type": "email", "value": "ann@example.com"},
                                            {"type": "phone", "value": "+15550100100"})
    assert second["to"] == {"type": "device_id", "value": "dev-ann"}
    assert [e["event_id"] for e in first["events"]] == ["e1"] and first["count"] == 1
    assert [(e["event_id"], e["type"], e["timestamp"]) for e in second["events"]] == [
        ("e2", "login", iso(T0 + HOUR)), ("e3", "purchase", iso(T0 + 2 * HOUR))]
    assert (second["count"], second["first_seen"], second["last_seen"]) == (2, iso(T0 + HOUR), iso(T0 + 2 * HOUR))
    assert second["events"][0]["ingested_at"] == iso(int(clock() * 1000))
    # within one hop they are still one customer (the id resolve answers), but no path is that short
    near = _explain(identity, connection, ANN, ANN_DEVICE, max_hops=1)
    assert near["same_customer"] and near["paths"] == []


def test_every_shortest_path_is_reported(identity, connection) -> None:
    account = ("partner_id", "cust-42")
    identity.ingest([event("e1", account, ANN), event("e2", account, ANN_PHONE),
                     event("e3", ANN, ANN_DEVICE), event("e4", ANN_PHONE, ANN_DEVICE)])
    answer = _explain(identity, connection, ANN, ANN_PHONE)
    assert sorted(path["steps"][0]["to"]["value"] for path in answer["paths"]) == ["cust-42", "dev-ann"]
    assert all(path["hops"] == 2 for path in answer["paths"])


def test_kept_apart_by_unlink(identity, connection, clock) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE, ts=T0)])
    clock.tick(60)
    identity.unlink(ANN, ANN_PHONE)
    unlinked_at = iso(int(clock() * 1000))
    answer = _explain(identity, connection, ANN, ANN_PHONE)
    assert not answer["same_customer"] and answer["paths"] == []
    assert _reasons(answer) == ["do_not_link", "refused", "no_path"]
    rule, refused, _ = answer["apart"]
    assert rule["created"] == unlinked_at
    assert [n["value"] for n in rule["between"]] == ["ann@example.com", "+15550100100"]  # a's side first
    assert refused["rule"] == "do_not_link" and refused["event"]["event_id"] == "e1"
    assert refused["event"]["timestamp"] == iso(T0)


def test_kept_apart_by_a_shared_email(identity, connection) -> None:
    shared = ("email", "family@example.com")
    # Bob is an established customer; then an event carries the family address with Bob's phone:
    # the address, Ann's, is refused as the bridge and marked shared (still linked to Bob's phone)
    identity.ingest([event("e1", shared, ANN_PHONE, ts=T0), event("e2", BOB, BOB_PHONE, ts=T0 + HOUR),
                     event("e3", shared, BOB, BOB_PHONE, ts=T0 + 2 * HOUR)])
    answer = _explain(identity, connection, ANN_PHONE, BOB)
    assert not answer["same_customer"]
    assert _reasons(answer) == ["not_crossed"]
    [blocked] = answer["apart"]
    assert [(s["from"]["value"], s["to"]["value"]) for s in blocked["path"]["steps"]] == [
        ("+15550100100", "family@example.com"), ("family@example.com", "+15550100200"),
        ("+15550100200", "bob@example.com")]
    assert [e["event_id"] for e in blocked["path"]["steps"][1]["events"]] == ["e3"]
    [stop] = blocked["identifiers"]
    assert (stop["value"], stop["why"], stop["shared"], stop["generic"]) == ("family@example.com", "shared", True, True)
    assert stop["last_seen"] == iso(T0 + 2 * HOUR)
    # the shared address answers for itself alone
    alone = _explain(identity, connection, shared, ANN_PHONE)
    assert _reasons(alone) == ["no_customer", "not_crossed"] and alone["a"]["shared"]
    assert alone["apart"][0]["why"] == "shared" and alone["a"]["customer_id"] == identity.resolve(*shared).customer_id


def test_kept_apart_by_a_multi_user_device(identity, connection) -> None:
    carol = ("phone", "+15550100300")
    identity.ingest([event("e1", ANN, ANN_DEVICE, ts=T0), event("e2", BOB, BOB_PHONE, ts=T0 + HOUR),
                     # Bob signs in on Ann's tablet: refused, and the tablet counts a second person
                     event("e3", ANN_DEVICE, BOB, ts=T0 + 2 * HOUR),
                     # from then on it joins no one identified, a new phone included
                     event("e4", ANN_DEVICE, carol, ts=T0 + 3 * HOUR)])
    answer = _explain(identity, connection, ANN, carol)
    assert not answer["same_customer"] and _reasons(answer) == ["refused", "no_path"]
    refused = answer["apart"][0]
    assert refused["rule"] == "multi_user_bridge" and refused["event"]["event_id"] == "e4"
    device = next(n for n in refused["between"] if n["type"] == "device_id")
    assert (device["value"], device["conflicts"], device["shared"]) == ("dev-ann", 1, False)
    bob = _explain(identity, connection, BOB, ANN_DEVICE)
    assert [(r["rule"], r["event"]["event_id"]) for r in bob["apart"] if r["reason"] == "refused"] == [
        ("multi_user_bridge", "e3")]


ACCOUNT = ("partner_id", "cust-1")
GUEST_EMAIL = ("email", "guest@example.com")
#: rule -> (config, events, a, b): the last event carries an identifier of each customer and is refused by it
REFUSALS = {
    "weak_bridge": (TenantConfig(), [event("e1", ANN, ("ip", "203.0.113.9")), event("e2", BOB, ("ip", "203.0.113.9"))],
                    ANN, BOB),
    "type_limit": (TenantConfig(), [event("e1", ACCOUNT, ANN), event("e2", ("partner_id", "cust-2"), BOB_PHONE),
                                    event("e3", ANN, BOB_PHONE)], ANN, BOB_PHONE),
    # without the multi-user rule, which the refusal itself would arm for the device
    "account_bridge": (TenantConfig(multi_user_on_conflict=frozenset()),
                       [event("e1", ACCOUNT, ANN_DEVICE), event("e2", GUEST_EMAIL, BOB_PHONE),
                        event("e3", ANN_DEVICE, GUEST_EMAIL)], ACCOUNT, GUEST_EMAIL),
}


@pytest.mark.parametrize("rule", list(REFUSALS))
def test_the_guard_rule_refusing_the_event_is_named(make_identity, connection, rule) -> None:
    config, events, a, b = REFUSALS[rule]
    identity = make_identity(config=config)
    results = identity.ingest(events)
    assert [refused["reason"] for refused in results[-1].refused] == [rule]
    answer = _explain(identity, connection, a, b)
    assert not answer["same_customer"]
    refused = [r for r in answer["apart"] if r["reason"] == "refused"]
    assert [(r["rule"], r["event"]["event_id"]) for r in refused] == [(rule, events[-1]["event_id"])]


def test_a_cookie_kept_from_an_account_holder_it_did_not_sign_in_as(make_identity, connection) -> None:
    kid_cookie = ("cookie", "ck-kid")
    # without past personal links: Bob's refused checkout would otherwise take the tablet out of Ann's
    # customer, and the replay of e4 (the identifiers of either customer it carries) would miss it
    identity = make_identity(config=TenantConfig(device_scope_sign_in=True, device_scope_after_conflicts=1,
                                                 device_past_personal_links=False))
    identity.ingest([event("e1", ACCOUNT, ANN, ANN_DEVICE, ts=T0), event("e2", BOB, BOB_PHONE, ts=T0 + HOUR),
                     # Bob checks out on Ann's tablet: refused, and the tablet is known to be shared
                     event("e3", ANN_DEVICE, BOB, ts=T0 + 2 * HOUR),
                     # a child's profile there, checking out with Ann's email, not signed in as her
                     event("e4", kid_cookie, ANN_DEVICE, ANN, ts=T0 + 3 * HOUR, kind="checkout")])
    answer = _explain(identity, connection, kid_cookie, ANN)
    assert not answer["same_customer"]
    [refused] = [r for r in answer["apart"] if r["reason"] == "refused"]
    assert (refused["rule"], refused["event"]["event_id"]) == ("device_scope", "e4")
    assert refused["detail"] == "a cookie on a device several people use joins an account holder only when they sign in"


def test_joined_within_the_bound_but_answered_by_two_ids(identity, connection) -> None:
    bob_device, bob_cookie = ("device_id", "dev-bob"), ("cookie", "ck-bob")
    # Ann's id is older; Bob's identifiers carry his id on as an alias after the merge (e4)
    identity.ingest([event("e1", ANN, ANN_PHONE), event("e2", BOB_PHONE, bob_device),
                     event("e3", bob_device, bob_cookie), event("e4", ANN_PHONE, BOB_PHONE)])
    answer = _explain(identity, connection, BOB_PHONE, bob_device, max_hops=1)
    assert answer["a"]["customer_id"] == identity.resolve(*BOB_PHONE, max_hops=1).customer_id
    assert answer["b"]["customer_id"] == identity.resolve(*bob_device, max_hops=1).customer_id
    assert not answer["same_customer"] and _reasons(answer) == ["customer_ids_differ"]
    assert [[e["event_id"] for e in step["events"]] for step in answer["paths"][0]["steps"]] == [["e2"]]
    assert _explain(identity, connection, BOB_PHONE, bob_device)["same_customer"]


def test_not_related(identity, connection) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE), event("e2", BOB, BOB_PHONE)])
    answer = _explain(identity, connection, ANN, BOB, max_hops=2)
    assert not answer["same_customer"] and answer["paths"] == []
    assert answer["apart"] == [{"reason": "no_path", "max_hops": 2, "detail": "no path of at most 2 links joins them"}]
    assert answer["a"]["customer_id"] != answer["b"]["customer_id"]


def test_unknown_and_blocked_identifiers_are_answered_not_raised(identity, connection) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE)])
    answer = _explain(identity, connection, ANN, ("email", "nobody@example.com"))
    assert not answer["same_customer"]
    assert answer["b"] == {"type": "email", "value": "nobody@example.com", "found": False, "blocked": False,
                           "customer_id": None}
    assert answer["apart"] == [{"reason": "unknown", "identifier": "b", "detail": "not in this tenant's graph"}]
    assert identity.resolve("email", "nobody@example.com") is None  # as resolve answers it
    blocked = _explain(identity, connection, ("phone", "0000000000"), ANN)
    assert _reasons(blocked) == ["blocked"] and blocked["a"]["blocked"]
    neither = _explain(identity, connection, ("email", "x@example.com"), ("email", "y@example.com"))
    assert _reasons(neither) == ["unknown", "unknown"]


def test_a_forgotten_identifier_is_named_with_when(identity, connection, clock) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE)])
    clock.tick(30)
    identity.forget(*ANN_PHONE)
    answer = _explain(identity, connection, ANN, ANN_PHONE)
    assert answer["apart"] == [{"reason": "suppressed", "identifier": "b", "created": iso(int(clock() * 1000)),
                                "detail": "forgotten on request: never stored again"}]


def test_another_tenants_identifiers_are_not_found(make_identity, connection) -> None:
    acme, bravo = make_identity("acme"), make_identity("bravo")
    bravo.ingest([event("e1", ANN, ANN_PHONE)])
    answer = _explain(acme, connection, ANN, ANN_PHONE)
    assert _reasons(answer) == ["unknown", "unknown"] and not answer["a"]["found"]
    assert _explain(bravo, connection, ANN, ANN_PHONE)["same_customer"]


def test_invalid_input_is_a_clear_error(identity) -> None:
    with pytest.raises(ValidationError, match="a.type"):
        identity.explain(("shoe_size", "9"), ANN)
    with pytest.raises(ValidationError, match="b.value"):
        identity.explain(ANN, ("phone", "not a phone"))
    with pytest.raises(ValidationError, match="same identifier"):
        identity.explain(ANN, ("email", " Ann@Example.com "))
    with pytest.raises(ValidationError, match="max_hops"):
        identity.explain(ANN, BOB, max_hops=11)


def test_the_paths_through_generic_identifiers_name_them(make_identity, connection) -> None:
    identity = make_identity(config=TenantConfig(generic_threshold=2))
    busy = ("phone", "+15550100999")
    identity.ingest([event("e1", ANN, busy), event("e2", BOB, busy), event("e3", ("email", "cy@example.com"), busy)])
    answer = _explain(identity, connection, ANN, BOB)
    assert not answer["same_customer"] and _reasons(answer) == ["not_crossed"]
    assert [(s["value"], s["why"], s["degree"]) for s in answer["apart"][0]["identifiers"]] == [
        ("+15550100999", "generic", 3)]


def test_the_paths_past_the_calls_fan_out_bound_name_it(identity, connection) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE), event("e2", BOB, BOB_PHONE), event("e3", ANN_PHONE, BOB_PHONE)])
    assert _explain(identity, connection, ANN, BOB)["same_customer"]
    # resolve with max_fanout=1 expands neither phone (2 links each): Bob answers by the id he carried
    answer = _explain(identity, connection, ANN, BOB, max_fanout=1)
    assert answer["b"]["customer_id"] == identity.resolve(*BOB, max_fanout=1).customer_id != answer["a"]["customer_id"]
    assert _reasons(answer) == ["not_crossed"] and answer["apart"][0]["path"]["hops"] == 3
    assert [(s["value"], s["why"]) for s in answer["apart"][0]["identifiers"]] == [
        ("+15550100100", "fan_out"), ("+15550100200", "fan_out")]


def test_all_shortest_paths_are_the_least_by_ids_and_bounded() -> None:
    links = {"a": {"x": "ax", "y": "ay"}, "x": {"a": "ax", "b": "xb"}, "y": {"a": "ay", "b": "yb"},
             "b": {"x": "xb", "y": "yb"}}
    assert all_shortest_paths("a", "b", links, 3, lambda v: True, 5) == [["a", "ax", "x", "xb", "b"],
                                                                       ["a", "ay", "y", "yb", "b"]]
    assert all_shortest_paths("a", "b", links, 3, lambda v: v != "x", 5) == [["a", "ay", "y", "yb", "b"]]
    assert all_shortest_paths("a", "b", links, 1, lambda v: True, 5) == []
    assert len(all_shortest_paths("a", "b", links, 3, lambda v: True, 1)) == 1


def test_the_refusals_walk_each_identifier_once(identity, connection, monkeypatch) -> None:
    """Three events carry Bob and Ann's tablet, each refused: the guards weigh each event on the
    same walks, from each of its identifiers, done once."""
    identity.ingest([event("e1", ANN, ANN_DEVICE, ts=T0), event("e2", BOB, BOB_PHONE, ts=T0 + HOUR),
                     *(event(f"e{n}", ANN_DEVICE, BOB, ts=T0 + n * HOUR) for n in (3, 4, 5))])
    import identity.domain.explain as explain_module
    walked: list[str] = []

    def counted(start, *args, **kwargs):
        walked.append(start)
        return shortest_paths(start, *args, **kwargs)

    shortest_paths = explain_module.shortest_paths
    monkeypatch.setattr(explain_module, "shortest_paths", counted)
    answer = _explain(identity, connection, BOB, ANN_DEVICE)
    assert [(r["rule"], r["event"]["event_id"]) for r in answer["apart"] if r["reason"] == "refused"] == [
        ("multi_user_bridge", "e3"), ("multi_user_bridge", "e4"), ("multi_user_bridge", "e5")]
    assert sorted(walked) == sorted(set(walked)) and len(walked) >= 2


def test_two_people_a_tablet_joined_before_it_was_known_shared(make_identity, connection) -> None:
    """Bob signs in on the family tablet, Ann types her phone number there (joined to Bob through
    it), then signs in there with her own account twice (two type-limit refusals: the tablet is
    multi-user). Its links to both stop joining (device_past_personal_links); explain names the
    tablet they went through, by type (no walk reads past a scoped link)."""
    tablet, bob_account, ann_account = ("device_id", "tablet-1"), ("partner_id", "cust-bob"), ("partner_id", "cust-ann")
    ann_number = ("phone", "+15550101234")
    identity = make_identity()
    identity.ingest([event("e1", tablet, bob_account, BOB, ts=T0), event("e2", tablet, ann_number, ts=T0 + HOUR),
                     event("e3", tablet, ann_account, ts=T0 + 2 * HOUR), event("e4", tablet, ann_account, ts=T0 + 3 * HOUR)])
    answer = _explain(identity, connection, ann_number, bob_account)
    assert not answer["same_customer"]
    [scoped] = [r for r in answer["apart"] if r["reason"] == "scoped"]
    assert [side["value"] for side in scoped["between"]] == ["+15550101234", "cust-bob"]
    assert scoped["through"] == {"type": "device_id"} and scoped["scoped"]  # when ingest marked it
    assert scoped["detail"].endswith("(device_past_personal_links)")


def test_two_people_kept_apart_by_a_shared_browser_profile(make_identity, connection) -> None:
    """Bob signs in in the family tablet's one browser profile, Ann (a guest) types her email there
    (joined to Bob through it) and on her own phone; Carol, known by her own phone, signs in in the
    profile twice (the tablet turns multi-user). With shared_browser_profiles the cookie is marked
    shared: explain names it as what the walk does not cross between Ann and Bob."""
    tablet, cookie, bob_account = ("device_id", "tablet-1"), ("cookie", "ck-family-1"), ("partner_id", "cust-bob")
    carol_account, carol_phone, ann_own = ("partner_id", "cust-carol"), ("device_id", "carol-1"), ("device_id", "ann-1")
    identity = make_identity(config=TenantConfig(shared_browser_profiles=True))
    identity.ingest([event("e1", tablet, cookie, bob_account, ts=T0), event("e2", tablet, cookie, ANN, ts=T0 + HOUR),
                     event("e3", ann_own, ANN, ts=T0 + 2 * HOUR),
                     event("e4", carol_phone, carol_account, ts=T0 + 3 * HOUR),
                     event("e5", tablet, cookie, carol_account, ts=T0 + 4 * HOUR),
                     event("e6", tablet, cookie, carol_account, ts=T0 + 5 * HOUR)])
    answer = _explain(identity, connection, ANN, bob_account)
    assert not answer["same_customer"]
    crossed = [r for r in answer["apart"] if r["reason"] == "not_crossed"]
    assert [(i["value"], i["why"]) for r in crossed for i in r["identifiers"]] == [("ck-family-1", "shared")]


def test_an_account_refused_on_a_guests_second_device_is_kept_apart_by_the_counted_device(
        make_identity, connection) -> None:
    """Ann, a guest with a phone of her own, checks out on the family tablet; Bob's account signs
    in there first time: refused (second_device_bridge), which counts the tablet, so explain's
    replay of that event on what is stored names the multi-user rule, as for a shared bridge."""
    tablet, account = ("device_id", "dev-family-tablet"), ("partner_id", "cust-bob")
    identity = make_identity()
    results = identity.ingest([event("e1", ANN, ANN_PHONE, ANN_DEVICE, ts=T0),
                               event("e2", ANN, tablet, ts=T0 + HOUR),
                               event("e3", account, tablet, ts=T0 + 2 * HOUR)])
    assert [r["reason"] for r in results[-1].refused] == ["second_device_bridge"]
    answer = _explain(identity, connection, ANN, account)
    assert not answer["same_customer"]
    assert [(r["rule"], r["event"]["event_id"]) for r in answer["apart"] if r["reason"] == "refused"] == [
        ("multi_user_bridge", "e3")]
