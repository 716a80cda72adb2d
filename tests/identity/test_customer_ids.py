"""Customer ids: one definition in every answer, kept through whatever does not split a customer
(issue #20). Each case below is the one the issue reports, as a new user met it."""

from __future__ import annotations

import csv

import pytest

from identity import TenantConfig
from identity.service.export import VERTEX_FILE, export_neptune_csv
from identity_helpers import event

PLACEHOLDER = ("email", "walkin@store.example")
EMAIL = ("email", "ann@example.com")
PHONE = ("phone", "+15550100200")
DEVICE = ("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
BOB = ("email", "bob@example.com")
BOB_PHONE = ("phone", "+15550100502")


def _purchase(identity, first=EMAIL) -> str:
    return identity.ingest([event("o-1", first, DEVICE, PHONE, kind="purchase")])[0].customer_id


def test_every_answer_names_one_customer_by_one_id(identity) -> None:
    customer = _purchase(identity)
    assert identity.resolve(*PHONE).customer_id == customer
    assert [i["customer_id"] for i in identity.export(*PHONE)["identifiers"]] == [customer]
    assert {i["customer_id"] for i in identity.export("customer", customer)["identifiers"]} == {customer}


def test_forgetting_the_identifier_that_founded_a_customer_keeps_its_id(identity, clock) -> None:
    customer = _purchase(identity)
    clock.tick()
    identity.forget(*EMAIL)
    kept = identity.resolve(*PHONE)
    assert kept.customer_id == customer and kept.aliases == []
    assert set(identity.resolve("customer", customer).identifiers) == {"phone", "device_id"}


def test_marking_the_founding_email_shared_leaves_the_id_with_the_person(identity, clock) -> None:
    """Ann's first purchase used the store's placeholder email; Bob, known by his own email and
    phone, then types it: the placeholder is marked shared (identity.domain.guards)."""
    customer = _purchase(identity, first=PLACEHOLDER)
    clock.tick()
    identity.ingest([event("b-1", BOB, BOB_PHONE)])
    clock.tick()
    typed = identity.ingest([event("b-2", BOB_PHONE, PLACEHOLDER)])[0]
    assert [r["reason"] for r in typed.refused] == ["shared_bridge"]
    assert identity.resolve(*PLACEHOLDER).identifiers["email"][0]["generic"]
    assert identity.resolve(*PHONE).customer_id == customer
    assert identity.resolve(*PLACEHOLDER).customer_id != customer
    assert identity.forget("customer", customer)["identifiers"] == 2  # Ann's phone and device
    assert identity.resolve(*PHONE) is None and identity.resolve(*DEVICE) is None
    assert identity.resolve(*PLACEHOLDER) is not None


def test_the_neptune_csv_export_holds_the_ids_customers_are_named_by(identity, g, tmp_path) -> None:
    """Every identifier's stored ``cid`` is its customer's id or one of its aliases (what
    resolve computes the id from), so a bulk load elsewhere names the same customers."""
    _purchase(identity)
    identity.ingest([event("b-1", BOB, BOB_PHONE)])
    export_neptune_csv(g, tmp_path, tenant="acme")
    with (tmp_path / VERTEX_FILE).open(encoding="utf-8") as rows:
        carried = {row["~id"]: row["cid:String"] for row in csv.DictReader(rows) if row["~label"] == "identifier"}
    for identifier in (EMAIL, PHONE, DEVICE, BOB, BOB_PHONE):
        answer = identity.resolve(*identifier)
        assert carried[identity.vertex_id(*identifier)] in [answer.customer_id, *answer.aliases]


@pytest.mark.parametrize("config", [TenantConfig(), TenantConfig(generic_threshold=2)], ids=["default", "low"])
def test_an_unlink_keeps_the_id_until_it_splits_and_then_the_larger_part_keeps_it(make_identity, clock, config) -> None:
    identity = make_identity(config=config)
    customer = _purchase(identity)  # email, device and phone, linked to one another
    clock.tick()
    identity.unlink(EMAIL, DEVICE)  # the email is still linked to the phone
    assert {identity.resolve(*i).customer_id for i in (EMAIL, DEVICE, PHONE)} == {customer}
    identity.unlink(EMAIL, PHONE)
    assert identity.resolve(*DEVICE).customer_id == customer == identity.resolve(*PHONE).customer_id
    alone = identity.resolve(*EMAIL)
    assert set(alone.identifiers) == {"email"} and alone.customer_id != customer
    assert set(identity.resolve("customer", customer).identifiers) == {"device_id", "phone"}
    assert identity.resolve("customer", alone.customer_id).customer_id == alone.customer_id


def test_an_id_no_identifier_carries_any_more_leads_to_the_customer_it_was_merged_into(identity, clock) -> None:
    """Bob's customer merges into Ann's (his id an alias), then his email, its only carrier, is
    forgotten: his id is retired into Ann's, and resolve and resolve_many follow it there."""
    customer = _purchase(identity)
    clock.tick()
    bob = identity.ingest([event("b-1", BOB)])[0].customer_id
    clock.tick()
    identity.ingest([event("b-2", BOB, PHONE)])
    assert identity.resolve(*PHONE).aliases == [bob]
    clock.tick()
    identity.forget(*BOB)
    answer = identity.resolve("customer", bob)
    assert answer.customer_id == customer and answer.aliases == [bob]
    assert identity.stats()["retired_customer_ids"] == 1
    many = identity.resolve_many([{"type": "customer", "value": bob}, {"type": PHONE[0], "value": PHONE[1]}])
    assert [a.to_dict() for a in many] == [answer.to_dict(), identity.resolve(*PHONE).to_dict()]
