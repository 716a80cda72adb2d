"""What bulk users need from the API (issue #17): resolve_many answers each identifier as resolve
does, charged per identifier; ingest writes the valid events of a batch with an invalid one and
reports that one's error (``atomic``: all or nothing)."""

from __future__ import annotations

import json

from service_support import RealCoreTestCase, ServiceTestCase, signup_event

from identity.service.rpc import Limits
from identity.service.rpc.methods import RESOLVE_MANY_COST


ANN = ("email", "ann@example.com")
ANN_PHONE = ("phone", "+15550100200")
BOB = ("email", "bob@example.com")
BOB_DEVICE = ("device_id", "dev-bob")


class Bulk(RealCoreTestCase):
    def stats(self) -> dict:
        return self.call("stats", {})["result"]

    def test_a_batch_with_one_bad_event_writes_the_others(self) -> None:
        events = [signup_event("e1", ANN, ANN_PHONE), signup_event("e2", BOB, ("phone", "12")),
                  signup_event("e3", BOB, BOB_DEVICE),
                  {"type": "signup", "identifiers": [{"type": "email", "value": "x@example.com"}], "colour": 1}]
        reply = self.call("ingest", {"events": events, "atomic": True})
        assert reply["error"]["data"]["errors"] == [{"field": "params.events[3].colour",
                                                     "reason": "is not a known field"}]
        reply = self.call("ingest", {"events": events[:3], "atomic": True})
        assert [e["field"] for e in reply["error"]["data"]["errors"]] == ["events[1].identifiers[1].value"]
        assert self.stats()["events"] == 0  # atomic: nothing written
        results = self.call("ingest", {"events": events})["result"]["results"]
        assert [result.get("error", {}).get("code") for result in results] == [None, -32602, None, -32602]
        assert results[1]["event_id"] == "e2" and results[3]["event_id"] is None
        assert results[1]["error"]["data"]["errors"][0]["field"] == "events[1].identifiers[1].value"
        assert results[3]["error"]["data"]["errors"] == [{"field": "events[3].colour", "reason": "is not a known field"}]
        assert results[0]["customer_id"] and results[2]["customer_id"] != results[0]["customer_id"]
        assert self.stats()["events"] == 2
        assert self.call("resolve", {"type": "device_id", "value": "dev-bob"})["result"]["customer_id"] == \
            results[2]["customer_id"]

    def test_resolve_many_answers_each_identifier_as_resolve_does(self) -> None:
        self.call("ingest", {"events": [signup_event("e1", ANN, ANN_PHONE), signup_event("e2", BOB, BOB_DEVICE)]})
        customer = self.call("resolve", {"type": "email", "value": "bob@example.com"})["result"]["customer_id"]
        wanted = [{"type": "phone", "value": "+1 555 0100 200"}, {"type": "email", "value": "nobody@example.com"},
                  {"type": "customer", "value": customer}, {"type": "shoe", "value": "9"}, {"type": "email"},
                  {"type": "device_id", "value": "dev-bob"}, {"type": "phone", "value": "12"}]
        options = {"evidence": True, "max_hops": 2}
        results = self.call("resolve_many", {"identifiers": wanted, **options})["result"]["results"]
        for item, result in zip(wanted, results):
            if result is None or "error" not in result:
                assert result == self.call("resolve", {**item, **options})["result"], item
        assert results[1] is None and results[2]["customer_id"] == results[5]["customer_id"] == customer
        assert [r["error"]["data"]["errors"][0]["field"] for r in (results[3], results[4], results[6])] == [
            "identifiers[3].type", "identifiers[4].value", "identifiers[6].value"]
        assert "9" not in json.dumps(results[3]) and "12" not in json.dumps(results[6]["error"])

    def test_resolve_many_checks_its_list_and_options_for_the_whole_call(self) -> None:
        for params in ({"identifiers": []}, {"identifiers": [{"type": "email", "value": "a@b.co"}] * 1001},
                       {"identifiers": [{"type": "email", "value": "a@b.co"}], "max_hops": 11},
                       {"identifiers": "email"}):
            assert self.call("resolve_many", params)["error"]["code"] == -32602, params

    def test_the_openrpc_document_publishes_each_items_schema(self) -> None:
        document = json.loads(self.fetch("/openrpc.json").body)
        methods = {method["name"]: method for method in document["methods"]}
        identifiers = next(p for p in methods["resolve_many"]["params"] if p["name"] == "identifiers")
        assert identifiers["schema"]["items"]["required"] == ["type", "value"]
        assert methods["resolve_many"]["x-cost"] == f"{RESOLVE_MANY_COST:g} unit per identifier"
        events = next(p for p in methods["ingest"]["params"] if p["name"] == "events")
        assert "identifiers" in events["schema"]["items"]["properties"]
        assert any(p["name"] == "atomic" for p in methods["ingest"]["params"])


class ChargedPerIdentifier(ServiceTestCase):
    limits = Limits(max_request_cost=400)
    bucket = (1.0, 10.0)

    def test_resolve_many_is_charged_per_identifier(self) -> None:
        def many(count: int) -> dict:
            return {"jsonrpc": "2.0", "id": 1, "method": "resolve_many",
                    "params": {"identifiers": [{"type": "email", "value": f"u{n}@example.com"} for n in range(count)]}}

        over = json.loads(self.rpc(many(1000)).body)  # 1000 identifiers cost more than the ceiling
        assert over["error"]["code"] == -32600 and over["error"]["data"]["cost"] == 1000 * RESOLVE_MANY_COST
        assert "result" in json.loads(self.rpc(many(int(8 / RESOLVE_MANY_COST))).body)  # 8 of the 10 units
        resolve = {"jsonrpc": "2.0", "method": "resolve", "params": {"type": "email", "value": "a@b.co"}}
        replies = json.loads(self.rpc([{**resolve, "id": n} for n in range(3)]).body)
        assert [r.get("error", {}).get("code") for r in replies] == [None, None, -32006]
