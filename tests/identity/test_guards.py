"""Over-merge guards: blocked values, weak types, shareable types, generic values, type limits."""

from __future__ import annotations

import pytest

from identity import TenantConfig
from identity.domain.guards import is_blocked
from identity_helpers import event

ANN = ("email", "ann@example.com")
BOB = ("email", "bob@example.com")


@pytest.mark.parametrize("id_type, raw", [
    ("email", "TEST@test.com"), ("email", "noreply@shop.example"), ("phone", "0000000000"),
    ("phone", "+1 555 555 5555"), ("device_id", "00000000-0000-0000-0000-000000000000"),
    ("ip", "127.0.0.1"), ("ip", "127.8.8.8"), ("cookie", "undefined"), ("partner_id", "NULL"),
])
def test_default_blocked_values(identity, id_type: str, raw: str) -> None:
    result = identity.ingest([event("e1", ANN, (id_type, raw))])[0]
    assert result.refused == [{"identifier": {"index": 1, "type": id_type}, "reason": "blocked",
                               "detail": "a blocked value is never linked"}]
    assert identity.stats()["identifiers"] == 1  # the blocked value is not stored at all


def test_blocked_values_are_configurable(make_identity) -> None:
    config = TenantConfig(blocked_values={"email": ("ann@example.com",)},
                          blocked_patterns={"email": (r".*@spam\.example",)})
    assert is_blocked(config, "email", "ann@example.com") and is_blocked(config, "email", "x@spam.example")
    assert not is_blocked(config, "email", "test@test.com")  # defaults replaced
    identity = make_identity(config=config)
    result = identity.ingest([event("e1", ANN, BOB)])[0]
    assert result.refused[0]["reason"] == "blocked" and identity.resolve(*ANN) is None


def test_an_event_of_blocked_values_only_stores_nothing(identity) -> None:
    result = identity.ingest([event("e1", ("email", "test@test.com"))])[0]
    assert result.customer_id is None and identity.stats()["events"] == 0


def test_weak_identifiers_never_bridge_two_customers(identity) -> None:
    ip = ("ip", "203.0.113.9")
    ann = identity.ingest([event("e1", ANN, ip)])[0].customer_id
    bob = identity.ingest([event("e2", BOB, ip)])[0]
    assert bob.customer_id != ann
    assert bob.refused == [{"a": {"index": 0, "type": "email"}, "b": {"index": 1, "type": "ip"},
                            "reason": "weak_bridge", "detail": "a weak identifier never bridges two customers"}]
    assert set(identity.resolve(*ANN).identifiers) == {"email", "ip"}
    assert set(identity.resolve(*BOB).identifiers) == {"email"}


def test_an_anonymous_weak_customer_is_absorbed_by_a_known_one(identity, clock) -> None:
    cookie = ("cookie", "anon-1")
    anonymous = identity.ingest([event("e1", cookie)])[0].customer_id
    clock.tick()
    login = identity.ingest([event("e2", cookie, ANN)])[0]
    assert login.refused == [] and login.customer_id == anonymous  # the older id survives
    assert set(identity.resolve(*ANN).identifiers) == {"email", "cookie"}


def test_weak_types_are_configurable(make_identity) -> None:
    identity = make_identity(config=TenantConfig(weak_types=frozenset()))
    ip = ("ip", "203.0.113.9")
    ann = identity.ingest([event("e1", ANN, ip)])[0].customer_id
    bob = identity.ingest([event("e2", BOB, ip)])[0]
    assert bob.customer_id == ann and bob.refused == []


TABLET = ("device_id", "3f2c1a9e-0b7d-4e8a-9c61-5d2f0e4b7a10")


def test_a_shared_device_never_joins_two_people_holding_different_emails(identity, clock) -> None:
    ann = identity.ingest([event("e1", ANN, TABLET)])[0].customer_id
    clock.tick()
    bob = identity.ingest([event("e2", BOB, TABLET)])[0]  # bob's first event, on the family tablet
    assert bob.customer_id != ann and bob.merged == []
    assert bob.refused == [{"a": {"index": 0, "type": "email"}, "b": {"index": 1, "type": "device_id"},
                            "reason": "shared_bridge",
                            "detail": "a shared device_id never joins two holders of different emails"}]
    assert identity.resolve(*TABLET).customer_id == ann  # the tablet stays with its first customer
    assert "device_id" not in identity.resolve(*BOB).identifiers


def test_a_shared_device_never_joins_two_customers_holding_different_phones(identity, clock) -> None:
    identity.ingest([event("e1", ("phone", "+15550100201"), TABLET)])
    clock.tick()
    other = identity.ingest([event("e2", ("phone", "+15550100202"), ("device_id", "own-phone-2"))])[0]
    clock.tick()
    bridge = identity.ingest([event("e3", ("device_id", "own-phone-2"), TABLET)])[0]
    assert bridge.customer_id == other.customer_id and bridge.merged == []
    assert [r["reason"] for r in bridge.refused] == ["shared_bridge"]


def test_a_persons_new_device_and_new_phone_still_join_them(identity, clock) -> None:
    ann = identity.ingest([event("e1", ANN, TABLET)])[0].customer_id
    clock.tick()
    phone = ("phone", "+15550100300")
    second = identity.ingest([event("e2", ANN, ("device_id", "ann-laptop"), phone)])[0]
    assert second.customer_id == ann and second.refused == []
    clock.tick()
    assert identity.ingest([event("e3", phone, TABLET)])[0].refused == []  # same customer already
    assert set(identity.resolve(*TABLET).identifiers) == {"email", "device_id", "phone"}


def test_a_shared_placeholder_email_never_joins_two_phone_holders(identity, clock) -> None:
    placeholder = ("email", "walkin@store.example.com")
    ann = identity.ingest([event("e1", placeholder, ("phone", "+15550100401"))])[0].customer_id
    clock.tick()
    bob = identity.ingest([event("e2", ("phone", "+15550100402"), placeholder)])[0]
    assert bob.customer_id != ann
    assert bob.refused[0]["reason"] == "shared_bridge" and bob.refused[0]["detail"].endswith("phones")


ACCOUNT = ("partner_id", "crm-1001")


def test_a_known_guest_on_an_account_holders_device_stays_apart(identity, clock) -> None:
    holder = identity.ingest([event("e1", ACCOUNT, TABLET)])[0].customer_id  # signed in on the tablet
    clock.tick()
    guest = identity.ingest([event("e2", BOB, ("phone", "+15550100601"))])[0].customer_id
    clock.tick()
    checkout = identity.ingest([event("e3", BOB, TABLET)])[0]  # Bob checks out as a guest on it
    assert checkout.customer_id == guest and checkout.merged == []
    assert checkout.refused == [{"a": {"index": 0, "type": "email"}, "b": {"index": 1, "type": "device_id"},
                                 "reason": "account_bridge",
                                 "detail": "a shared device_id never joins an account holder and a known guest"}]
    assert identity.resolve(*TABLET).customer_id == holder
    assert "partner_id" not in identity.resolve(*BOB).identifiers


def test_a_known_account_signing_in_on_a_guests_device_stays_apart(identity, clock) -> None:
    laptop = ("device_id", "bob-laptop")
    guest = identity.ingest([event("e1", BOB, laptop)])[0].customer_id  # a guest checkout
    clock.tick()
    holder = identity.ingest([event("e2", ACCOUNT, ("device_id", "ann-phone"))])[0].customer_id
    clock.tick()
    signed_in = identity.ingest([event("e3", ACCOUNT, laptop)])[0]  # Ann signs in on Bob's laptop
    assert signed_in.customer_id == holder and signed_in.merged == []
    assert [r["reason"] for r in signed_in.refused] == ["account_bridge"]
    assert identity.resolve(*BOB).customer_id == guest
    clock.tick()
    both = identity.ingest([event("e4", ACCOUNT, BOB)])[0]  # a signed-in checkout with Bob's email
    assert both.refused == [] and both.merged  # an event carrying both is evidence enough


def test_a_new_email_on_an_account_holders_device_and_a_new_account_on_a_guests_device_still_join(
        identity, clock) -> None:
    holder = identity.ingest([event("e1", ACCOUNT, TABLET)])[0].customer_id
    clock.tick()
    first_checkout = identity.ingest([event("e2", ANN, TABLET)])[0]  # nothing known of this email yet
    assert first_checkout.customer_id == holder and first_checkout.refused == []
    clock.tick()
    laptop = ("device_id", "bob-laptop")
    guest = identity.ingest([event("e3", BOB, laptop)])[0].customer_id
    clock.tick()
    signed_up = identity.ingest([event("e4", ("partner_id", "crm-1002"), laptop)])[0]  # a new account
    assert signed_up.customer_id == guest and signed_up.refused == []


def test_account_types_are_configurable(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(account_types=frozenset()))
    holder = identity.ingest([event("e1", ACCOUNT, TABLET)])[0].customer_id
    clock.tick()
    identity.ingest([event("e2", BOB, ("phone", "+15550100601"))])
    clock.tick()
    checkout = identity.ingest([event("e3", BOB, TABLET)])[0]
    assert checkout.refused == [] and checkout.customer_id == holder
    with pytest.raises(ValueError):
        TenantConfig(account_types=frozenset({"shoe_size"}))


PLACEHOLDER = ("email", "walkin@store.example.com")
ANN_PHONE, BOB_PHONE = ("phone", "+15550100501"), ("phone", "+15550100502")


def _ingest(identity, clock, events: list[dict], batched: bool) -> list:
    """The events as one batch, or one call each with the clock moving between them."""
    if batched:
        return identity.ingest(events)
    results = []
    for item in events:
        results += identity.ingest([item])
        clock.tick()
    return results


def _placeholder_typed_by_a_known_customer(identity, clock, batched: bool) -> list:
    """Ann checks out with the store's placeholder email; Bob, known by his own email and phone,
    then types it at checkout with his phone; then a new walk-in customer types it too."""
    events = [event("e1", PLACEHOLDER, ANN_PHONE), event("e2", BOB, BOB_PHONE),
              event("e3", BOB_PHONE, PLACEHOLDER), event("e4", PLACEHOLDER, ("phone", "+15550100503"))]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_an_email_typed_by_a_known_customer_holding_another_phone_is_marked_shared(identity, clock,
                                                                                    batched: bool) -> None:
    ann, bob, typed, walk_in = _placeholder_typed_by_a_known_customer(identity, clock, batched)
    assert [r["reason"] for r in typed.refused] == ["shared_bridge"] and typed.customer_id == bob.customer_id
    # from then on the placeholder is generic: it merges nothing and resolution stops at it
    assert walk_in.merged == [] and walk_in.refused == []
    assert identity.resolve(*PLACEHOLDER).identifiers == {
        "email": [{"value": PLACEHOLDER[1], "hops": 0, "generic": True}]}
    ann_now = identity.resolve(*ANN_PHONE)
    assert ann_now.identifiers == {"phone": [{"value": ANN_PHONE[1], "hops": 0, "generic": False}],
                                   "email": [{"value": PLACEHOLDER[1], "hops": 1, "generic": True}]}
    walk_in_now = identity.resolve("phone", "+15550100503")
    assert walk_in_now.customer_id not in (ann_now.customer_id, bob.customer_id)
    assert set(identity.resolve(*BOB).identifiers) == {"email", "phone"}


def _walk_ins(identity, clock, batched: bool) -> list:
    """Three walk-in customers, each new, type the store's placeholder with their own new phone;
    then a fourth types it on their own phone (a device)."""
    events = [event(f"e{n}", PLACEHOLDER, ("phone", f"+1555010070{n}")) for n in range(3)]
    events.append(event("e3", PLACEHOLDER, ("device_id", "walk-in-4-phone")))
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_an_email_refused_again_and_again_with_new_competing_identifiers_is_marked_shared(
        identity, clock, batched: bool) -> None:
    first, second, third, fourth = _walk_ins(identity, clock, batched)
    assert [r["reason"] for r in second.refused] == ["shared_bridge"] == [r["reason"] for r in third.refused]
    placeholder = identity.resolve(*PLACEHOLDER)
    assert placeholder.identifiers["email"] == [{"value": PLACEHOLDER[1], "hops": 0, "generic": True}]
    assert fourth.merged == [] and fourth.refused == []
    walk_in = identity.resolve("device_id", "walk-in-4-phone")
    assert set(walk_in.identifiers) == {"device_id", "email"}  # the first walk-in's phone is not reached
    assert walk_in.customer_id != identity.resolve("phone", "+15550100700").customer_id


def test_one_new_competing_identifier_does_not_mark_an_email_shared(identity, clock) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE)])
    clock.tick()
    new_phone = identity.ingest([event("e2", ANN, ("phone", "+15550100799"))])[0]  # Ann's new number
    assert [r["reason"] for r in new_phone.refused] == ["shared_bridge"]
    assert identity.resolve(*ANN).identifiers["email"] == [{"value": ANN[1], "hops": 0, "generic": False}]
    assert [p["value"] for p in identity.resolve(*ANN).identifiers["phone"]] == [ANN_PHONE[1]]


def test_a_new_second_email_on_a_persons_device_does_not_mark_anything_shared(identity, clock) -> None:
    identity.ingest([event("e1", ANN, TABLET)])
    clock.tick()
    second = identity.ingest([event("e2", ("email", "ann.work@example.com"), TABLET)])[0]
    assert [r["reason"] for r in second.refused] == ["shared_bridge"]
    for email in (ANN, ("email", "ann.work@example.com")):
        assert not identity.resolve(*email).identifiers["email"][0]["generic"]
    assert not identity.resolve(*ANN).identifiers["device_id"][0]["generic"]


def test_a_persons_own_email_typed_on_a_family_tablet_is_not_marked_shared(identity, clock) -> None:
    identity.ingest([event("e1", ANN, ANN_PHONE, TABLET)])
    clock.tick()
    identity.ingest([event("e2", BOB, BOB_PHONE)])
    clock.tick()
    on_tablet = identity.ingest([event("e3", BOB, TABLET)])[0]  # the tablet's customer's email is not Bob's
    assert [r["reason"] for r in on_tablet.refused] == ["shared_bridge"]
    assert identity.resolve(*BOB).identifiers["email"] == [{"value": BOB[1], "hops": 0, "generic": False}]
    assert identity.resolve(*ANN).identifiers["device_id"][0]["generic"] is False


def test_marking_shared_emails_is_configurable(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(shared_on_conflict=frozenset()))
    ann, bob, typed, walk_in = _placeholder_typed_by_a_known_customer(identity, clock, batched=False)
    assert [r["reason"] for r in typed.refused] == ["shared_bridge"]
    placeholder = identity.resolve(*PLACEHOLDER)
    assert placeholder.customer_id == ann.customer_id and not placeholder.identifiers["email"][0]["generic"]
    assert [p["value"] for p in placeholder.identifiers["phone"]] == [ANN_PHONE[1]]
    with pytest.raises(ValueError):
        TenantConfig(shared_on_conflict=frozenset({"shoe_size"}))
    counted = make_identity("other", config=TenantConfig(shared_after_conflicts=0))
    _walk_ins(counted, clock, batched=False)
    assert not counted.resolve(*PLACEHOLDER).identifiers["email"][0]["generic"]
    # without the mark the fourth walk-in joins the first one's customer
    assert (counted.resolve("device_id", "walk-in-4-phone").customer_id
            == counted.resolve("phone", "+15550100700").customer_id)
    with pytest.raises(ValueError):
        TenantConfig(shared_after_conflicts=-1)


def test_shareable_types_are_configurable(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(shareable_types=frozenset()))
    ann = identity.ingest([event("e1", ANN, TABLET)])[0].customer_id
    clock.tick()
    bob = identity.ingest([event("e2", BOB, TABLET)])[0]
    assert bob.customer_id == ann and bob.refused == []
    strict = make_identity("other", config=TenantConfig(personal_types=frozenset({"partner_id"})))
    strict.ingest([event("e1", ANN, TABLET)])
    assert strict.ingest([event("e2", BOB, TABLET)])[0].refused == []  # two emails no longer conflict


def test_generic_identifiers_stop_expanding_and_merge_nothing(make_identity) -> None:
    identity = make_identity(config=TenantConfig(generic_threshold=2))
    shared = ("phone", "+15550100999")
    results = [identity.ingest([event(f"e{n}", (("email", f"p{n}@example.com")), shared)])[0]
               for n in range(4)]
    # the third person's event linked the phone (2 links: not generic yet) to a third email, and
    # then the phone is generic: the customer it joined fell apart, the oldest part keeping its id
    assert results[0].customer_id == results[1].customer_id
    now = [identity.resolve("email", f"p{n}@example.com").customer_id for n in range(4)]
    assert now[0] == results[0].customer_id and len(set(now)) == 4
    assert results[2].customer_id == now[2]  # the event's result names the customer it left p2 in
    assert results[3].customer_id == now[3] and results[3].merged == []
    hub = identity.resolve(*shared)
    assert set(hub.identifiers) == {"phone"} and hub.identifiers["phone"][0]["generic"]
    p3 = identity.resolve("email", "p3@example.com")
    assert p3.identifiers["phone"] == [{"value": "+15550100999", "hops": 1, "generic": True}]
    assert "p0@example.com" not in str(p3.identifiers)


def test_type_limits_refuse_the_link_that_exceeds_them(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(type_limits={"email": 2}))
    phone = ("phone", "+15550100200")
    identity.ingest([event("e1", ANN, phone)])
    clock.tick()
    identity.ingest([event("e2", BOB, phone)])
    clock.tick()
    third = identity.ingest([event("e3", ("email", "cy@example.com"), phone)])[0]
    assert third.refused[0]["reason"] == "type_limit" and third.refused[0]["detail"].startswith("email")
    assert len(identity.resolve(*phone).identifiers["email"]) == 2


def test_type_priority_decides_which_link_wins(make_identity) -> None:
    # one event, two partner ids: the limit (1) lets only the first-decided pair through
    config = TenantConfig(type_limits={"partner_id": 1})
    identity = make_identity(config=config)
    result = identity.ingest([event("e1", ("device_id", "dev-1"), ("partner_id", "p-1"), ("partner_id", "p-2"))])[0]
    reasons = {(r["a"]["index"], r["b"]["index"]): r["reason"] for r in result.refused}
    assert reasons == {(1, 2): "type_limit", (0, 2): "type_limit"}
    assert identity.resolve("device_id", "dev-1").identifiers["partner_id"] == [
        {"value": "p-1", "hops": 1, "generic": False}]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        TenantConfig(default_country_code="0")
    with pytest.raises(ValueError):
        TenantConfig(weak_types=frozenset({"shoe_size"}))
    with pytest.raises(ValueError):
        TenantConfig(shareable_types=frozenset({"shoe_size"}))
    with pytest.raises(ValueError):
        TenantConfig(personal_types=frozenset({"shoe_size"}))
    assert TenantConfig().rank("partner_id") < TenantConfig().rank("email") < TenantConfig().rank("ip")


CAROL_PHONE = ("phone", "+15550100801")
PAGE_VIEW_COOKIE = ("cookie", "ck-tablet-2")


def _family_tablet(identity, clock, batched: bool) -> list:
    """Bob checks out as a guest on the family tablet; Ann, of the same household, then types her
    own (new) email on it; then a new account signs in on it, a page view comes from it, and an
    event carries the new account and Ann's email together."""
    events = [event("e1", BOB, TABLET), event("e2", ANN, TABLET), event("e3", ACCOUNT, TABLET),
              event("e4", TABLET, PAGE_VIEW_COOKIE), event("e5", ACCOUNT, ANN)]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_device_two_people_identified_themselves_on_never_joins_a_new_account_to_its_customer(
        identity, clock, batched: bool) -> None:
    bob, ann, signed_in, page_view, both = _family_tablet(identity, clock, batched)
    assert [r["reason"] for r in ann.refused] == ["shared_bridge"]  # Ann is not Bob: the tablet is shared
    assert signed_in.customer_id != bob.customer_id and signed_in.merged == []
    assert signed_in.refused == [{"a": {"index": 0, "type": "partner_id"}, "b": {"index": 1, "type": "device_id"},
                                  "reason": "multi_user_bridge",
                                  "detail": "a device_id several people use never joins two identified customers"}]
    assert page_view.refused == [] and page_view.customer_id == bob.customer_id  # anonymous: still attaches
    assert both.refused == [] and both.merged  # direct evidence still joins
    assert identity.resolve(*ACCOUNT).customer_id == identity.resolve(*ANN).customer_id != bob.customer_id
    tablet = identity.resolve(*TABLET)
    assert tablet.customer_id == bob.customer_id and not tablet.identifiers["device_id"][0]["generic"]
    assert "partner_id" not in tablet.identifiers  # the tablet's link to the account was refused


def test_the_reference_model_marks_and_refuses_multi_user_devices_alike(identity, clock) -> None:
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", clock=clock)
    expected = [r.to_dict() for r in _family_tablet(reference, clock, batched=False)]
    assert "multi_user_bridge" in {r["reason"] for result in expected for r in result["refused"]}
    assert [r.to_dict() for r in _family_tablet(identity, clock, batched=False)] == expected
    for key in (BOB, ANN, ACCOUNT, TABLET, PAGE_VIEW_COOKIE):
        found, (customer, identifiers) = identity.resolve(*key), reference.resolve(*key)
        assert (found.customer_id, sorted(found.identifiers)) == (customer, sorted(identifiers))


def test_a_known_account_refused_on_a_guests_device_makes_it_multi_user(identity, clock) -> None:
    guest = identity.ingest([event("e1", BOB, TABLET)])[0].customer_id
    clock.tick()
    identity.ingest([event("e2", ACCOUNT, ("device_id", "ann-phone"))])
    clock.tick()
    assert [r["reason"] for r in identity.ingest([event("e3", ACCOUNT, TABLET)])[0].refused] == ["account_bridge"]
    clock.tick()
    carol = identity.ingest([event("e4", CAROL_PHONE, TABLET)])[0]  # nothing competes with a phone there
    assert [r["reason"] for r in carol.refused] == ["multi_user_bridge"] and carol.customer_id != guest


def test_a_new_phone_on_a_device_only_its_owner_identified_themselves_on_still_joins(identity, clock) -> None:
    owner = identity.ingest([event("e1", BOB, TABLET)])[0].customer_id
    clock.tick()
    assert identity.ingest([event("e2", BOB, TABLET)])[0].refused == []  # the same person again
    clock.tick()
    phone = identity.ingest([event("e3", CAROL_PHONE, TABLET)])[0]
    assert phone.refused == [] and phone.customer_id == owner


def test_multi_user_devices_are_configurable(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(multi_user_on_conflict=frozenset()))
    bob, ann, signed_in, page_view, both = _family_tablet(identity, clock, batched=False)
    assert signed_in.refused == [] and signed_in.customer_id == bob.customer_id  # the guest "signed up"
    assert page_view.refused == [] and page_view.customer_id == bob.customer_id  # no device is multi-user
    with pytest.raises(ValueError):
        TenantConfig(multi_user_on_conflict=frozenset({"shoe_size"}))


def test_an_email_marked_shared_by_an_event_merges_nothing_in_the_rest_of_that_event(identity, clock) -> None:
    ann_phone, bob_phone, device = ("phone", "+15550100601"), ("phone", "+15550100602"), ("device_id", "dev-601")
    identity.ingest([event("e1", ANN, ann_phone)])
    clock.now += 1
    bob = identity.ingest([event("e2", BOB, bob_phone)])[0]
    clock.now += 1
    # Bob types Ann's address on his new device: the address is marked shared, and the device is
    # Bob's, as it would be had the address been shared before this event
    typed = identity.ingest([event("e3", ANN, bob_phone, device)])[0]
    assert "shared_bridge" in [r["reason"] for r in typed.refused]
    assert identity.resolve(*device).customer_id == bob.customer_id
    assert identity.resolve(*device).identifiers.keys() == {"device_id", "phone", "email"}


BOB_COOKIE, ANN_COOKIE, ANN_NEW_COOKIE = ("cookie", "ck-bob-1"), ("cookie", "ck-ann-1"), ("cookie", "ck-ann-2")
BOB_ACCOUNT, ANN_ACCOUNT = ("partner_id", "cust-bob"), ("partner_id", "cust-ann")
HOME_IP = ("ip", "81.2.69.160")


def _family_tablet_profiles(identity, clock, batched: bool) -> list:
    """Bob signs in on the family tablet in his browser profile, with the home IP; Ann signs in
    with her own account in her own profile, twice (the type limit refuses the tablet as the
    bridge between two account holders each time: two refusals counted, so several people use
    it); a page view then comes from Ann's renewed cookie, with the home IP; then Ann signs in
    with that cookie."""
    events = [event("e1", TABLET, BOB_COOKIE, HOME_IP, BOB_ACCOUNT),
              event("e2", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e3", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e4", ANN_NEW_COOKIE, TABLET, HOME_IP, kind="page_view"),
              event("e5", TABLET, ANN_NEW_COOKIE, HOME_IP, ANN_ACCOUNT)]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_cookie_on_a_family_tablet_joins_only_the_person_it_was_seen_with(identity, clock, batched: bool) -> None:
    bob, ann, again, page_view, login = _family_tablet_profiles(identity, clock, batched)
    assert "type_limit" in [r["reason"] for r in ann.refused] and "type_limit" in [r["reason"] for r in again.refused]
    ann_id = identity.resolve(*ANN_ACCOUNT).customer_id
    assert identity.resolve(*ANN_COOKIE).customer_id == ann_id != bob.customer_id
    # seen with the tablet and the home IP only, the renewed cookie joins neither Bob (through the
    # tablet) nor the household (through the home IP): nothing says whose it is yet
    assert [r["reason"] for r in page_view.refused] == ["device_scope", "device_scope"]
    assert page_view.customer_id not in (bob.customer_id, ann_id)
    # Ann's sign-in with it says: it is hers, and resolving it answers Ann, not the household
    assert identity.resolve(*ANN_NEW_COOKIE).customer_id == ann_id
    assert sorted(c["value"] for c in identity.resolve(*ANN_ACCOUNT).identifiers["cookie"]) == ["ck-ann-1", "ck-ann-2"]
    resolved = identity.resolve(*BOB_ACCOUNT)
    assert resolved.customer_id == bob.customer_id and identity.resolve(*TABLET).customer_id == bob.customer_id
    assert [c["value"] for c in resolved.identifiers["cookie"]] == ["ck-bob-1"]


def test_the_reference_model_keeps_cookies_on_multi_user_devices_alike(identity, clock) -> None:
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", clock=clock)
    expected = [r.to_dict() for r in _family_tablet_profiles(reference, clock, batched=False)]
    assert "device_scope" in {r["reason"] for result in expected for r in result["refused"]}
    assert [r.to_dict() for r in _family_tablet_profiles(identity, clock, batched=False)] == expected
    for key in (BOB_ACCOUNT, ANN_ACCOUNT, TABLET, BOB_COOKIE, ANN_COOKIE, ANN_NEW_COOKIE, HOME_IP):
        found, (customer, identifiers) = identity.resolve(*key), reference.resolve(*key)
        assert (found.customer_id, sorted(found.identifiers)) == (customer, sorted(identifiers))


@pytest.mark.parametrize("config, scoped", [
    (TenantConfig(device_scoped_types=frozenset()), False),            # the rule off
    # two refusals are not enough (and the third, in the last event, would scope the cookie's past links)
    (TenantConfig(device_scope_after_conflicts=3, device_scope_past_links=False), False),
    (TenantConfig(device_scope_after_conflicts=1), True)], ids=["off", "after 3", "after 1"])
def test_device_scoped_types_are_configurable(make_identity, clock, config, scoped: bool) -> None:
    identity = make_identity(config=config)
    bob, ann, again, page_view, login = _family_tablet_profiles(identity, clock, batched=False)
    if scoped:
        assert identity.resolve(*ANN_NEW_COOKIE).customer_id == identity.resolve(*ANN_ACCOUNT).customer_id
    else:  # the renewed cookie joins the tablet's customer and stays there
        assert page_view.refused == [] and page_view.customer_id == bob.customer_id
        assert identity.resolve(*ANN_NEW_COOKIE).customer_id == bob.customer_id


def test_device_scope_settings_are_validated() -> None:
    for not_scoped in ({"device_id"}, {"email"}, {"phone"}, {"shoe_size"}):
        with pytest.raises(ValueError):
            TenantConfig(device_scoped_types=frozenset(not_scoped))
    with pytest.raises(ValueError):
        TenantConfig(device_scope_after_conflicts=0)


def test_one_refusal_on_a_device_does_not_scope_its_cookies(identity, clock) -> None:
    """A person's second email refused on their own device counts once: their new cookie there,
    seen in a page view, still joins them."""
    phone, cookie, new_cookie = ("device_id", "ann-phone"), ("cookie", "ck-phone-1"), ("cookie", "ck-phone-2")
    first = identity.ingest([event("e1", phone, cookie, ANN)])[0]
    clock.tick()
    second = identity.ingest([event("e2", phone, cookie, ("email", "ann.work@example.com"))])[0]
    assert "shared_bridge" in [r["reason"] for r in second.refused]
    clock.tick()
    page_view = identity.ingest([event("e3", new_cookie, phone, kind="page_view")])[0]
    assert page_view.refused == [] and page_view.customer_id == first.customer_id


PAST_LINKS = TenantConfig(device_scope_past_links=True)


def _cookie_seen_before_the_tablet_was_shared(identity, clock, batched: bool, count: int = 5) -> list:
    """Bob signs in on the family tablet; Ann's cookie is first seen there in a page view (with
    the home IP), before anyone knows the tablet is shared: it joins Bob's customer. Ann then
    signs in with her account in that profile, twice: the type limit refuses the tablet as the
    bridge between two account holders, and the weak-bridge rule her cookie as the bridge to her
    account (it is Bob's customer's); the second refusal makes the tablet multi-user. Then she
    signs in once more."""
    events = [event("e1", TABLET, BOB_COOKIE, HOME_IP, BOB_ACCOUNT),
              event("e2", ANN_COOKIE, TABLET, HOME_IP, kind="page_view"),
              event("e3", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e4", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e5", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT)]
    return _ingest(identity, clock, events[:count], batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_cookie_that_joined_a_tablet_before_it_was_shared_leaves_when_it_is(make_identity, clock,
                                                                              batched: bool) -> None:
    identity = make_identity(config=PAST_LINKS)
    bob, page_view, first, second, third = _cookie_seen_before_the_tablet_was_shared(identity, clock, batched)
    assert page_view.customer_id == bob.customer_id and page_view.refused == []
    assert {r["reason"] for r in first.refused} == {"type_limit", "weak_bridge"}
    # the second refusal: the tablet is multi-user, the links Ann's cookie got on it (to the tablet,
    # to the home IP) stop joining, and so do Bob's cookie's; Bob keeps his id, his account its cookie
    ann_id = identity.resolve(*ANN_ACCOUNT).customer_id
    resolved = identity.resolve(*BOB_ACCOUNT)
    assert resolved.customer_id == bob.customer_id != ann_id
    assert [c["value"] for c in resolved.identifiers["cookie"]] == ["ck-bob-1"]
    assert sorted(resolved.identifiers) == ["cookie", "device_id", "ip", "partner_id"]
    assert identity.resolve(*TABLET).customer_id == bob.customer_id
    # Ann's signed-in event joins her cookie to her: no longer Bob's (the tablet, the event's first
    # identifier, stays Bob's; it and the home IP are refused as bridges to Bob)
    assert third.customer_id == bob.customer_id and "weak_bridge" in {r["reason"] for r in third.refused}
    assert identity.resolve(*ANN_COOKIE).customer_id == identity.resolve(*ANN_ACCOUNT).customer_id == ann_id
    assert sorted(identity.resolve(*ANN_ACCOUNT).identifiers) == ["cookie", "partner_id"]
    # replayed, nothing changes: the same answers, nothing marked or split again
    before = {key: identity.resolve(*key).customer_id for key in (BOB_ACCOUNT, ANN_ACCOUNT, ANN_COOKIE, TABLET)}
    again = _cookie_seen_before_the_tablet_was_shared(identity, clock, batched)
    assert all(result.duplicate for result in again)
    assert {key: identity.resolve(*key).customer_id for key in before} == before


def test_without_past_links_the_cookie_stays_with_the_tablets_customer(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(device_scope_past_links=False))
    bob, *_ = _cookie_seen_before_the_tablet_was_shared(identity, clock, batched=False)
    assert identity.resolve(*ANN_COOKIE).customer_id == bob.customer_id != identity.resolve(*ANN_ACCOUNT).customer_id


def test_the_customer_a_scoped_cookie_leaves_is_split_by_the_id_rule(make_identity, clock) -> None:
    """After the second refusal (before Ann's third sign-in) the cookie stands alone: it gets a
    new id, the one its old id's customer (Bob's) keeps, and the graph checks clean."""
    from identity.domain.check import check_graph
    from identity.security.protect import DevelopmentProtector
    identity = make_identity(config=PAST_LINKS)
    bob, page_view, first, second = _cookie_seen_before_the_tablet_was_shared(identity, clock, False, count=4)
    alone = identity.resolve(*ANN_COOKIE)
    assert alone.customer_id not in (bob.customer_id, identity.resolve(*ANN_ACCOUNT).customer_id)
    assert list(alone.identifiers) == ["cookie"] and alone.aliases == []
    assert identity.resolve("customer", bob.customer_id).customer_id == bob.customer_id
    report = check_graph(identity.g, "acme", protector=DevelopmentProtector(), acknowledged=[f"e{n}" for n in range(1, 5)])
    assert report.findings == []
    # forgetting the cookie afterwards takes nothing else with it
    identity.forget(*ANN_COOKIE)
    assert identity.resolve(*ANN_COOKIE) is None and identity.resolve(*BOB_ACCOUNT).customer_id == bob.customer_id


def _scoped_cookie_seen_again_at_home(identity, clock, batched: bool) -> list:
    """The tablet turns multi-user (Ann's cookie's links to it and to the home IP stop joining);
    then Ann's cookie is seen again with the home IP alone, in a page view."""
    return (_cookie_seen_before_the_tablet_was_shared(identity, clock, batched, count=4)
            + _ingest(identity, clock, [event("e6", ANN_COOKIE, HOME_IP, kind="page_view")], batched))


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_scoped_link_seen_again_stays_scoped(make_identity, clock, batched: bool) -> None:
    """The same two identifiers seen together again are the evidence already judged: the link
    stays scoped and the answer says so, rather than announcing a merge that no walk would see."""
    identity = make_identity(config=PAST_LINKS)
    *before, again = _scoped_cookie_seen_again_at_home(identity, clock, batched)
    alone = identity.resolve(*ANN_COOKIE)
    assert [r["reason"] for r in again.refused] == ["scoped"] and again.merged == []
    assert again.customer_id == alone.customer_id != identity.resolve(*HOME_IP).customer_id
    assert list(alone.identifiers) == ["cookie"]


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_keeps_a_scoped_link_scoped_alike(make_identity, clock, batched: bool) -> None:
    _same_as_the_reference_model(make_identity, clock, PAST_LINKS, _scoped_cookie_seen_again_at_home, batched,
                                 (BOB_ACCOUNT, ANN_ACCOUNT, TABLET, ANN_COOKIE, HOME_IP))


def _same_as_the_reference_model(make_identity, clock, config: TenantConfig, stream, batched: bool, keys) -> None:
    """``stream`` (identity, clock, batched) -> results gives the reference model's results (one by
    one) on the identity under test (``batched`` or not), and then the same answer for each of ``keys``."""
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", config=config, clock=clock)
    expected = [r.to_dict() for r in stream(reference, clock, False)]
    identity = make_identity(config=config)
    assert [r.to_dict() for r in stream(identity, clock, batched)] == expected
    for key in keys:
        found, (customer, identifiers) = identity.resolve(*key), reference.resolve(*key)
        assert (found.customer_id, sorted(found.identifiers)) == (customer, sorted(identifiers))


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_scopes_past_links_alike(make_identity, clock, batched: bool) -> None:
    _same_as_the_reference_model(make_identity, clock, PAST_LINKS, _cookie_seen_before_the_tablet_was_shared, batched,
                                 (BOB_ACCOUNT, ANN_ACCOUNT, TABLET, BOB_COOKIE, ANN_COOKIE, HOME_IP))


def _cookie_in_the_household_before_the_tablet(identity, clock, batched: bool, through_ip: bool = True) -> list:
    """Bob and Ann each sign in on the family tablet (the second refusal makes it multi-user);
    Ann's renewed cookie is first seen with the home IP only (on the household's Wi-Fi, no
    device reported), which joins it to the household's customer; then it is seen on the tablet.
    Without that first sighting the cookie is new when it meets the tablet."""
    events = [event("e1", TABLET, BOB_COOKIE, HOME_IP, BOB_ACCOUNT),
              event("e2", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e3", TABLET, ANN_COOKIE, HOME_IP, ANN_ACCOUNT),
              event("e4", ANN_NEW_COOKIE, HOME_IP, kind="page_view"),
              event("e5", ANN_NEW_COOKIE, TABLET, HOME_IP, kind="page_view")]
    return _ingest(identity, clock, events if through_ip else events[:3] + events[4:], batched)


@pytest.mark.parametrize("through_ip", [True, False], ids=["in the household first", "new on the tablet"])
@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_cookie_on_a_multi_user_tablet_is_refused_there_whatever_it_joined_before(make_identity, clock, batched: bool,
                                                                                    through_ip: bool) -> None:
    """Whether a cookie's links on a multi-user device are refused does not depend on whether the
    cookie is in the device's customer already: a link made after the device turned multi-user is
    one that past-links marking never reaches, so it would join for good."""
    identity = make_identity()
    bob, *_, on_tablet = _cookie_in_the_household_before_the_tablet(identity, clock, batched, through_ip)
    assert [r["reason"] for r in on_tablet.refused] == ["device_scope", "device_scope"]
    # no link to the tablet: the cookie reaches it, if at all, only through the home IP (its
    # sighting without the tablet keeps it in the household, which this rule does not undo)
    resolved = identity.resolve(*ANN_NEW_COOKIE)
    assert [d["hops"] for d in resolved.identifiers.get("device_id", [])] == ([2] if through_ip else [])
    assert (resolved.customer_id == bob.customer_id) == through_ip
    # replayed, nothing changes; the graph checks clean; forgetting the cookie takes nothing else
    from identity.domain.check import check_graph
    from identity.security.protect import DevelopmentProtector
    keys = (BOB_ACCOUNT, ANN_ACCOUNT, TABLET, HOME_IP)
    before = {key: identity.resolve(*key).customer_id for key in keys + (ANN_NEW_COOKIE,)}
    assert all(r.duplicate for r in _cookie_in_the_household_before_the_tablet(identity, clock, batched, through_ip))
    assert {key: identity.resolve(*key).customer_id for key in before} == before
    stored = [f"e{n}" for n in range(1, 6) if through_ip or n != 4]
    assert check_graph(identity.g, "acme", protector=DevelopmentProtector(), acknowledged=stored).findings == []
    identity.forget(*ANN_NEW_COOKIE)
    assert identity.resolve(*ANN_NEW_COOKIE) is None
    assert {key: identity.resolve(*key).customer_id for key in keys} == {key: before[key] for key in keys}


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_refuses_a_cookie_already_in_the_customer_alike(make_identity, clock,
                                                                           batched: bool) -> None:
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", clock=clock)
    on_tablet = _cookie_in_the_household_before_the_tablet(reference, clock, False)[-1]
    assert [r["reason"] for r in on_tablet.refused] == ["device_scope", "device_scope"]
    assert reference.resolve(*ANN_NEW_COOKIE)[1]["device_id"] == [(TABLET[1], 2, False)]
    _same_as_the_reference_model(make_identity, clock, TenantConfig(), _cookie_in_the_household_before_the_tablet,
                                 batched, (BOB_ACCOUNT, ANN_ACCOUNT, TABLET, ANN_NEW_COOKIE, HOME_IP))


def test_explain_names_the_scoped_links_between_two_customers(make_identity, clock) -> None:
    identity = make_identity(config=PAST_LINKS)
    _cookie_seen_before_the_tablet_was_shared(identity, clock, False, count=4)
    answer = identity.explain(ANN_COOKIE, BOB_ACCOUNT)
    scoped = [reason for reason in answer["apart"] if reason["reason"] == "scoped"]
    assert not answer["same_customer"]
    assert sorted(reason["between"][1]["type"] for reason in scoped) == ["device_id", "ip"]
    assert all(reason["between"][0]["value"] == "ck-ann-1" and reason["scoped"] for reason in scoped)


PROFILES_AT_ONCE = TenantConfig(device_profiles_at_once=True)
LAPTOP = ("device_id", "9d0e6b2a-41c7-4f3e-8a5b-2c7e1f9d3a64")
_MINUTE = 60_000


def _profiles_in_turn_events() -> list[dict]:
    return [event("e1", LAPTOP, BOB_COOKIE, HOME_IP, BOB_ACCOUNT, ts=1_714_550_400_000),
            event("e2", ANN_COOKIE, LAPTOP, HOME_IP, kind="page_view", ts=1_714_550_400_000 + _MINUTE),
            event("e3", BOB_COOKIE, LAPTOP, HOME_IP, kind="page_view", ts=1_714_550_400_000 + 2 * _MINUTE),
            event("e4", ANN_COOKIE, LAPTOP, HOME_IP, kind="page_view", ts=1_714_550_400_000 + 3 * _MINUTE)]


def _profiles_in_turn(identity, clock, batched: bool) -> list:
    """Bob signs in on the family laptop in his browser profile; Ann then browses in her own
    profile, and Bob and Ann in turn, never signing in there: no bridge is ever refused, only
    their two cookies are alive at once (Ann's first seen before Bob's last, and the other way)."""
    return _ingest(identity, clock, _profiles_in_turn_events(), batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_two_cookies_alive_at_once_on_a_device_scope_its_cookies(make_identity, clock, batched: bool) -> None:
    identity = make_identity(config=PROFILES_AT_ONCE)
    bob, ann, bob_again, ann_again = _profiles_in_turn(identity, clock, batched)
    assert ann.customer_id == bob.customer_id  # nothing says yet that the laptop is shared
    # Bob's cookie seen again after Ann's appeared counts once, Ann's seen again after it twice: the
    # laptop is multi-user, the links its cookies got on it stop joining; Bob's keeps his account
    assert identity.stats()["identifiers"] == 5
    resolved = identity.resolve(*BOB_ACCOUNT)
    assert resolved.customer_id == bob.customer_id and [c["value"] for c in resolved.identifiers["cookie"]] == ["ck-bob-1"]
    assert identity.resolve(*ANN_COOKIE).customer_id != bob.customer_id
    assert list(identity.resolve(*ANN_COOKIE).identifiers) == ["cookie"]


def test_without_profiles_at_once_cookies_in_turn_stay_with_the_devices_customer(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(device_profiles_at_once=False))
    bob, *_ = _profiles_in_turn(identity, clock, batched=False)
    assert identity.resolve(*ANN_COOKIE).customer_id == bob.customer_id


def test_a_cookie_and_its_successor_are_not_alive_at_once(make_identity, clock) -> None:
    """A phone's cookie expires and a new one follows it (and is used in turn with nothing):
    one profile after another, the phone's own user's; the new cookie joins them."""
    identity = make_identity(config=PROFILES_AT_ONCE)
    phone, old, new = ("device_id", "ann-phone"), ("cookie", "ck-phone-1"), ("cookie", "ck-phone-2")
    results = _ingest(identity, clock, [
        event("e1", phone, old, ANN, ts=1_714_550_400_000),
        event("e2", old, phone, kind="page_view", ts=1_714_550_400_000 + _MINUTE),
        event("e3", new, phone, kind="page_view", ts=1_714_550_400_000 + 2 * _MINUTE),
        event("e4", new, phone, kind="page_view", ts=1_714_550_400_000 + 3 * _MINUTE)], batched=False)
    assert all(result.refused == [] for result in results)
    assert identity.resolve(*new).customer_id == identity.resolve(*ANN).customer_id == results[0].customer_id


def test_profiles_at_once_are_conclusive_by_default() -> None:
    assert TenantConfig().device_profiles_conclusive and TenantConfig().device_profiles_at_once


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_one_event_showing_two_profiles_alive_at_once_scopes_the_devices_cookies(make_identity, clock,
                                                                                batched: bool) -> None:
    """Bob's cookie seen again after Ann's first appeared is the first overlap: with the default
    (``device_profiles_conclusive``) the laptop's count reaches the threshold at once, the links
    its cookies got there stop joining, and Ann's cookie is no longer in Bob's customer."""
    identity = make_identity(config=TenantConfig())
    bob, ann, _ = _ingest(identity, clock, _profiles_in_turn_events()[:3], batched)
    assert ann.customer_id == bob.customer_id  # nothing said yet that the laptop is shared
    assert identity.resolve(*ANN_COOKIE).customer_id != identity.resolve(*BOB_ACCOUNT).customer_id
    assert list(identity.resolve(*ANN_COOKIE).identifiers) == ["cookie"]
    assert [c["value"] for c in identity.resolve(*BOB_ACCOUNT).identifiers["cookie"]] == ["ck-bob-1"]


def test_profiles_not_conclusive_count_one_an_event(make_identity, clock) -> None:
    """The same events up to the first overlap, counted one up (as a refusal): the laptop is
    below the threshold, and Ann's cookie stays in the laptop's customer until the second."""
    identity = make_identity(config=TenantConfig(device_profiles_conclusive=False))
    bob, *_ = _ingest(identity, clock, _profiles_in_turn_events()[:3], batched=False)
    assert identity.resolve(*ANN_COOKIE).customer_id == identity.resolve(*BOB_ACCOUNT).customer_id == bob.customer_id
    _ingest(identity, clock, _profiles_in_turn_events()[3:], batched=False)
    assert identity.resolve(*ANN_COOKIE).customer_id != identity.resolve(*BOB_ACCOUNT).customer_id


KID_COOKIE = ("cookie", "ck-kid-1")
SIGN_IN = TenantConfig(device_scope_sign_in=True)


def _kid_buys_with_a_parents_email(identity, clock, batched: bool) -> list:
    """Bob, an account holder, signs in on his phone and on the family laptop, whose profiles are
    then seen alive at once (the laptop is multi-user); his child checks out in their own profile
    there with Bob's email, not signed in, and later Bob signs in in that profile."""
    start = 1_714_550_400_000
    events = [event("e0", BOB_PHONE_DEVICE, BOB_ACCOUNT, BOB, ts=start - 86_400_000),
              *_profiles_in_turn_events()[:3],
              event("e5", KID_COOKIE, LAPTOP, HOME_IP, BOB, kind="checkout", ts=start + 4 * _MINUTE),
              event("e6", KID_COOKIE, LAPTOP, HOME_IP, BOB_ACCOUNT, ts=start + 5 * _MINUTE)]
    return _ingest(identity, clock, events, batched)


def test_sign_in_scope_is_off_by_default() -> None:
    assert not TenantConfig().device_scope_sign_in


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_cookie_on_a_multi_user_device_joins_an_account_holder_only_by_their_sign_in(make_identity, clock,
                                                                                       batched: bool) -> None:
    identity = make_identity(config=SIGN_IN)
    results = _kid_buys_with_a_parents_email(identity, clock, batched)
    bob = results[0].customer_id
    checkout, sign_in = results[-2], results[-1]
    assert checkout.customer_id != bob
    cookie_to_email = {(r["reason"], r["detail"]) for r in checkout.refused
                       if {r["a"]["type"], r["b"]["type"]} == {"cookie", "email"}}
    assert cookie_to_email == {("device_scope", "a cookie on a device several people use joins an account holder "
                                                "only when they sign in")}
    assert sign_in.customer_id == bob  # Bob signing in in that profile: it is his after all
    assert identity.resolve(*KID_COOKIE).customer_id == identity.resolve(*BOB).customer_id == bob


def test_by_default_a_typed_email_joins_the_cookie_to_its_holder(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig())
    results = _kid_buys_with_a_parents_email(identity, clock, batched=False)
    assert results[-2].customer_id == results[0].customer_id


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_scopes_typed_identifiers_alike(make_identity, clock, batched: bool) -> None:
    _same_as_the_reference_model(make_identity, clock, SIGN_IN, _kid_buys_with_a_parents_email, batched,
                                 (BOB_ACCOUNT, LAPTOP, BOB_COOKIE, ANN_COOKIE, KID_COOKIE, BOB, HOME_IP))


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_counts_profiles_at_once_alike(make_identity, clock, batched: bool) -> None:
    _same_as_the_reference_model(make_identity, clock, PROFILES_AT_ONCE, _profiles_in_turn, batched,
                                 (BOB_ACCOUNT, LAPTOP, BOB_COOKIE, ANN_COOKIE, HOME_IP))


FAMILY_CARD = ("payment_fingerprint", "card_7f3a9c2e41d05b68")
ANN_PHONE_DEVICE, BOB_PHONE_DEVICE = ("device_id", "ann-phone-601"), ("device_id", "bob-phone-602")
ANN_SECOND = ("email", "ann.shop@example.com")
REUSED_CARD = TenantConfig(reused_types=frozenset({"payment_fingerprint"}))


def test_cards_are_reused_types_by_default() -> None:
    assert TenantConfig().reused_types == REUSED_CARD.reused_types


def _family_card(identity, clock, batched: bool) -> list:
    """Ann checks out on her phone with her card; Bob, her teenage son, checks out on his own phone
    with his own email and her card; Ann then checks out on her phone with a second email of hers
    and the card; then on the family tablet Bob signed in on too, with Bob's email and her card."""
    events = [event("e1", ANN, ANN_PHONE_DEVICE, FAMILY_CARD), event("e2", BOB, BOB_PHONE_DEVICE, FAMILY_CARD),
              event("e3", ANN_SECOND, ANN_PHONE_DEVICE, FAMILY_CARD), event("e4", TABLET, ANN),
              event("e5", TABLET, BOB), event("e6", BOB, TABLET, FAMILY_CARD)]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_card_two_people_pay_with_joins_a_new_email_only_on_its_holders_own_device(make_identity, clock,
                                                                                    batched: bool) -> None:
    identity = make_identity(config=REUSED_CARD)
    ann, bob, second, _, _, on_tablet = _family_card(identity, clock, batched)
    assert bob.customer_id != ann.customer_id and bob.merged == []
    assert {"a": {"index": 0, "type": "email"}, "b": {"index": 2, "type": "payment_fingerprint"},
            "reason": "shared_bridge",
            "detail": "a shared payment_fingerprint never joins two holders of different emails"} in bob.refused
    assert {r["reason"] for r in bob.refused} == {"shared_bridge"}
    # on her own phone (in her customer, nobody else known on it) the card is hers: her new email joins
    assert second.refused == [] and second.customer_id == ann.customer_id
    # the family tablet is no evidence of whose the card is
    assert "shared_bridge" in {r["reason"] for r in on_tablet.refused}
    assert identity.resolve(*BOB).customer_id == bob.customer_id
    assert set(identity.resolve(*BOB).identifiers) == {"email", "device_id"}
    assert identity.resolve(*ANN_SECOND).customer_id == identity.resolve(*FAMILY_CARD).customer_id == ann.customer_id


def test_without_reused_types_a_card_joins_whoever_pays_with_it(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(reused_types=frozenset()))
    ann, bob, *_ = _family_card(identity, clock, batched=False)
    assert bob.refused == [] and bob.customer_id == ann.customer_id


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_the_reference_model_refuses_reused_cards_alike(make_identity, clock, batched: bool) -> None:
    _same_as_the_reference_model(make_identity, clock, REUSED_CARD, _family_card, batched,
                                 (ANN, BOB, ANN_SECOND, FAMILY_CARD, ANN_PHONE_DEVICE, BOB_PHONE_DEVICE, TABLET))


def test_reused_types_are_validated() -> None:
    for invalid in ({"shoe_size"}, {"email"}, {"cookie"}, {"ip"}):  # unknown, shareable, device-scoped, weak
        with pytest.raises(ValueError):
            TenantConfig(reused_types=frozenset(invalid))
    assert TenantConfig(reused_types=frozenset({"payment_fingerprint", "phone"})).reused_types


ANN_PHONE_NUMBER, ANN_OWN_PHONE = ("phone", "+15550101234"), ("device_id", "ann-own-phone")


def _member_joined_through_the_tablet_before_it_was_shared(identity, clock, batched: bool) -> list:
    """Bob signs in on the family tablet; Ann types her phone number there (nothing says the tablet
    is shared yet: her number joins Bob's customer through it), then uses it with her email on her
    own phone (joining them too); then she signs in with her own account on the tablet, twice: the
    type limit refuses the tablet as the bridge between two account holders each time, and the
    second refusal makes the tablet multi-user."""
    events = [event("e1", TABLET, BOB_ACCOUNT, BOB),
              event("e2", TABLET, ANN_PHONE_NUMBER),
              event("e3", ANN_OWN_PHONE, ANN_PHONE_NUMBER, ANN),
              event("e4", TABLET, ANN_ACCOUNT),
              event("e5", TABLET, ANN_ACCOUNT)]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_member_joined_through_a_tablet_before_it_was_shared_leaves_when_it_is(make_identity, clock,
                                                                                 batched: bool) -> None:
    identity = make_identity()
    bob, typed, own_phone, first, second = _member_joined_through_the_tablet_before_it_was_shared(
        identity, clock, batched)
    assert typed.refused == [] and typed.customer_id == own_phone.customer_id == bob.customer_id
    assert [r["reason"] for r in first.refused] == [r["reason"] for r in second.refused] == ["type_limit"]
    # the tablet's links to Bob's account and email and to Ann's number stop joining
    # (device_past_personal_links): Ann's number, email and phone are one customer, Bob's another
    ann = identity.resolve(*ANN_PHONE_NUMBER)
    assert sorted(ann.identifiers) == ["device_id", "email", "phone"]
    assert [d["value"] for d in ann.identifiers["device_id"]] == ["ann-own-phone"]
    resolved_bob = identity.resolve(*BOB_ACCOUNT)
    assert sorted(resolved_bob.identifiers) == ["email", "partner_id"] and resolved_bob.customer_id != ann.customer_id
    # the larger part keeps the old id; seen together again, the scoped link stays scoped
    assert bob.customer_id in (ann.customer_id, resolved_bob.customer_id)
    again = _ingest(identity, clock, [event("e6", TABLET, ANN_PHONE_NUMBER)], batched)[0]
    assert [r["reason"] for r in again.refused] == ["scoped"]
    assert identity.resolve(*ANN_PHONE_NUMBER).customer_id == ann.customer_id


def test_the_reference_model_scopes_a_tablets_personal_links_as_ingest_does(make_identity, clock) -> None:
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", clock=clock)
    expected = [r.to_dict() for r in _member_joined_through_the_tablet_before_it_was_shared(reference, clock, False)]
    identity = make_identity()
    assert [r.to_dict() for r in _member_joined_through_the_tablet_before_it_was_shared(identity, clock, False)] == expected
    for key in (BOB_ACCOUNT, BOB, ANN_ACCOUNT, ANN, ANN_PHONE_NUMBER, ANN_OWN_PHONE, TABLET):
        found, (customer, identifiers) = identity.resolve(*key), reference.resolve(*key)
        assert (found.customer_id, sorted(found.identifiers)) == (customer, sorted(identifiers))


def test_without_past_personal_links_the_member_stays_in_the_tablets_customer(make_identity, clock) -> None:
    assert TenantConfig().device_past_personal_links
    identity = make_identity(config=TenantConfig(device_past_personal_links=False))
    bob, *_ = _member_joined_through_the_tablet_before_it_was_shared(identity, clock, batched=False)
    assert identity.resolve(*ANN_PHONE_NUMBER).customer_id == identity.resolve(*BOB_ACCOUNT).customer_id == bob.customer_id



FAMILY_COOKIE, CAROL_OWN_PHONE = ("cookie", "ck-family-1"), ("device_id", "carol-own-phone")
CAROL_ACCOUNT = ("partner_id", "cust-carol")
SHARED_PROFILES = TenantConfig(shared_browser_profiles=True)


def _a_third_member_signs_in_on_one_browser_profile(identity, clock, batched: bool) -> list:
    """The family tablet has one browser profile. Bob signs in there with his account; Ann, a guest,
    types her email in the same profile (Bob's customer holds no email: nothing says she is someone
    else, she joins it through the tablet and the cookie) and uses it on her own phone; Carol, known
    by her account on her own phone, signs in in that profile twice (the type limit refuses the
    tablet as the bridge between two account holders each time; the second makes it multi-user)."""
    events = [event("e1", TABLET, FAMILY_COOKIE, BOB_ACCOUNT),
              event("e2", TABLET, FAMILY_COOKIE, ANN),
              event("e3", ANN_OWN_PHONE, ANN),
              event("e4", CAROL_OWN_PHONE, CAROL_ACCOUNT),
              event("e5", TABLET, FAMILY_COOKIE, CAROL_ACCOUNT),
              event("e6", TABLET, FAMILY_COOKIE, CAROL_ACCOUNT)]
    return _ingest(identity, clock, events, batched)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "one batch"])
def test_a_browser_profile_another_known_person_signs_in_on_joins_nobody(make_identity, clock,
                                                                        batched: bool) -> None:
    identity = make_identity(config=SHARED_PROFILES)
    results = _a_third_member_signs_in_on_one_browser_profile(identity, clock, batched)
    assert results[1].refused == [] and results[1].customer_id == results[0].customer_id  # Ann joined Bob
    assert "weak_bridge" in [r["reason"] for r in results[4].refused]
    # the cookie is marked shared (shared_browser_profiles): it joins nothing, and with the tablet's
    # personal links scoped (device_past_personal_links) Ann and Bob are two customers again
    ann, bob = identity.resolve(*ANN), identity.resolve(*BOB_ACCOUNT)
    assert ann.customer_id != bob.customer_id
    assert sorted(ann.identifiers) == ["cookie", "device_id", "email"]
    assert [d["value"] for d in ann.identifiers["device_id"]] == [ANN_OWN_PHONE[1]]
    for resolved in (ann, bob):  # listed as a generic identifier is: attached, joining nothing
        assert [(c["value"], c["generic"]) for c in resolved.identifiers["cookie"]] == [(FAMILY_COOKIE[1], True)]
    assert identity.resolve(*CAROL_ACCOUNT).customer_id not in (ann.customer_id, bob.customer_id)


def test_the_reference_model_marks_a_shared_browser_profile_as_ingest_does(make_identity, clock) -> None:
    from identity.domain.reference import ReferenceIdentity
    reference = ReferenceIdentity("acme", config=SHARED_PROFILES, clock=clock)
    expected = [r.to_dict() for r in _a_third_member_signs_in_on_one_browser_profile(reference, clock, False)]
    identity = make_identity(config=SHARED_PROFILES)
    assert [r.to_dict() for r in _a_third_member_signs_in_on_one_browser_profile(identity, clock, False)] == expected
    for key in (BOB_ACCOUNT, ANN, CAROL_ACCOUNT, ANN_OWN_PHONE, CAROL_OWN_PHONE, TABLET, FAMILY_COOKIE):
        found, (customer, identifiers) = identity.resolve(*key), reference.resolve(*key)
        assert (found.customer_id, sorted(found.identifiers)) == (customer, sorted(identifiers))


def test_a_persons_new_email_in_their_own_profile_leaves_it_theirs(make_identity, clock) -> None:
    """Ann types a second, new email in her own browser profile: refused as a bridge (a new email
    is no customer with a device of its own), the cookie stays hers."""
    identity = make_identity(config=SHARED_PROFILES)
    _, second = _ingest(identity, clock, [event("e1", ANN_OWN_PHONE, ANN_COOKIE, ANN),
                                          event("e2", ANN_OWN_PHONE, ANN_COOKIE, ANN_SECOND)], batched=False)
    assert "weak_bridge" in [r["reason"] for r in second.refused]
    assert identity.resolve(*ANN_COOKIE).customer_id == identity.resolve(*ANN).customer_id


def test_without_shared_browser_profiles_the_profile_keeps_the_members_joined(make_identity, clock) -> None:
    assert not TenantConfig().shared_browser_profiles  # the default: docs/benchmarks.md, "Shared browser profiles"
    identity = make_identity()
    _a_third_member_signs_in_on_one_browser_profile(identity, clock, batched=False)
    assert identity.resolve(*ANN).customer_id == identity.resolve(*BOB_ACCOUNT).customer_id


BOB_ACCOUNT_ON_TABLET = ("partner_id", "cust-bob-7")


def _a_member_signs_in_on_a_second_device(identity, clock) -> list:
    """Ann, a guest known by her email and phone on her laptop, checks out on the family tablet
    too; then Bob signs in on the tablet with his account id, no email or phone of Ann's type
    conflicting with it."""
    results = []
    for item in (event("e1", ANN, ANN_PHONE, LAPTOP), event("e2", ANN, TABLET),
                 event("e3", BOB_ACCOUNT_ON_TABLET, TABLET)):
        results += identity.ingest([item])
        clock.tick()
    return results


def test_a_second_device_of_a_customer_does_not_join_it_to_a_new_account(make_identity, clock) -> None:
    assert TenantConfig().second_device_bridge  # the default: docs/benchmarks.md, "A guest's second device"
    identity = make_identity()
    ann, _, bob = _a_member_signs_in_on_a_second_device(identity, clock)
    assert [r["reason"] for r in bob.refused] == ["second_device_bridge"]
    assert bob.customer_id != ann.customer_id
    assert identity.resolve(*ANN).customer_id == ann.customer_id
    assert "partner_id" not in identity.resolve(*ANN).identifiers
    # the refusal counts the tablet: Bob's next sign-in there is a multi-user bridge
    again = identity.ingest([event("e4", BOB_ACCOUNT_ON_TABLET, TABLET)])[0]
    assert [r["reason"] for r in again.refused] == ["multi_user_bridge"]


def test_without_second_device_bridge_the_account_joins_the_tablets_customer(make_identity, clock) -> None:
    identity = make_identity(config=TenantConfig(second_device_bridge=False))
    ann, _, bob = _a_member_signs_in_on_a_second_device(identity, clock)
    assert bob.refused == [] and identity.resolve(*BOB_ACCOUNT_ON_TABLET).customer_id == ann.customer_id


def test_a_guest_signing_up_on_their_one_device_joins_their_account(make_identity, clock) -> None:
    identity = make_identity()
    guest = identity.ingest([event("e1", ANN, ANN_PHONE, TABLET)])[0]
    clock.tick()
    signed_up = identity.ingest([event("e2", BOB_ACCOUNT_ON_TABLET, TABLET)])[0]
    assert signed_up.refused == [] and signed_up.customer_id == guest.customer_id
