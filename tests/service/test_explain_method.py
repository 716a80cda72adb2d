"""explain over JSON-RPC: the core's answer, its options and input checked as resolve's are,
its price (EXPLAIN_COST units), another tenant's identifiers not found, and the OpenRPC document."""

from __future__ import annotations

import json

from service_support import RealCoreTestCase, ServiceTestCase, signup_event

from identity.security import auth
from identity.service.rpc import Limits
from identity.service.rpc.methods import EXPLAIN_COST


def _identifier(id_type: str, value: str) -> dict:
    return {"type": id_type, "value": value}


ANN = ("email", "ann@example.com")
ANN_PHONE = ("phone", "+15550100100")
ANN_DEVICE = ("device_id", "dev-ann")
BOB = ("email", "bob@example.com")


class Explain(RealCoreTestCase):
    def test_joined_and_apart(self) -> None:
        self.call("ingest", {"events": [signup_event("e1", ANN, ANN_PHONE), signup_event("e2", ANN_PHONE, ANN_DEVICE),
                                        signup_event("e3", BOB)]})
        joined = self.call("explain", {"a": _identifier(*ANN), "b": _identifier("device_id", "DEV-ANN")})["result"]
        customer = self.call("resolve", {"type": "email", "value": "ann@example.com"})["result"]["customer_id"]
        assert joined["same_customer"] and joined["a"]["customer_id"] == joined["b"]["customer_id"] == customer
        assert [[e["event_id"] for e in step["events"]] for step in joined["paths"][0]["steps"]] == [["e1"], ["e2"]]
        apart = self.call("explain", {"a": _identifier(*ANN), "b": _identifier(*BOB), "max_hops": 2})["result"]
        assert not apart["same_customer"] and [r["reason"] for r in apart["apart"]] == ["no_path"]
        self.call("unlink", {"a": _identifier(*ANN), "b": _identifier(*ANN_PHONE)})
        unlinked = self.call("explain", {"a": _identifier(*ANN), "b": _identifier(*ANN_PHONE)})["result"]
        assert [r["reason"] for r in unlinked["apart"]] == ["do_not_link", "refused", "no_path"]
        unknown = self.call("explain", {"a": _identifier(*ANN), "b": _identifier("email", "x@example.com")})
        assert unknown["result"]["apart"][0]["reason"] == "unknown"

    def test_invalid_input_is_invalid_params_without_the_values(self) -> None:
        for params, field in (({"a": _identifier(*ANN)}, "params.b"),
                              ({"a": _identifier(*ANN), "b": _identifier(*BOB), "max_hops": 11}, "params.max_hops"),
                              ({"a": _identifier(*ANN), "b": _identifier("phone", "12")}, "b.value"),
                              ({"a": _identifier("shoe", "9"), "b": _identifier(*BOB)}, "a.type"),
                              ({"a": _identifier(*ANN), "b": _identifier("email", "ANN@example.com")}, "b")):
            reply = self.call("explain", params)
            assert reply["error"]["code"] == -32602, params
            assert [e["field"] for e in reply["error"]["data"]["errors"]] == [field]
            assert "ann@" not in json.dumps(reply).lower() and "12" not in json.dumps(reply["error"]["data"])

    def test_another_tenants_identifiers_are_not_found(self) -> None:
        self.call("ingest", {"events": [signup_event("e1", ANN, ANN_PHONE)]})
        self.registry.create_tenant("globex", "eu-west-1")
        other = auth.issue_key(self.registry, "globex").key
        answer = self.call("explain", {"a": _identifier(*ANN), "b": _identifier(*ANN_PHONE)}, key=other)["result"]
        assert [r["reason"] for r in answer["apart"]] == ["unknown", "unknown"] and not answer["same_customer"]

    def test_the_openrpc_document_publishes_it_with_its_price(self) -> None:
        document = json.loads(self.fetch("/openrpc.json").body)
        method = next(m for m in document["methods"] if m["name"] == "explain")
        assert [p["name"] for p in method["params"]] == ["a", "b", "max_hops", "max_fanout"]
        assert method["x-cost"] == f"{EXPLAIN_COST:g} units" and method["x-scope"] is None


class ChargedAsExplain(ServiceTestCase):
    limits = Limits(max_request_cost=10)

    def test_explain_costs_its_price(self) -> None:
        call = {"jsonrpc": "2.0", "method": "explain",
                "params": {"a": _identifier(*ANN), "b": _identifier(*BOB)}}
        reply = json.loads(self.rpc([{**call, "id": n} for n in range(4)]).body)
        assert reply["error"]["code"] == -32600 and reply["error"]["data"]["cost"] == 4 * EXPLAIN_COST
