"""JSON-RPC 2.0 shapes over POST /rpc, on a fake identity core."""

from __future__ import annotations

import json

import pytest
from service_support import ServiceTestCase

EVENT = {"event_id": "e1", "type": "signup", "timestamp": "2024-01-01T00:00:00Z",
         "identifiers": [{"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+15550100"}]}


class JsonRpcShapes(ServiceTestCase):
    def test_single_call_returns_result_with_the_same_id(self) -> None:
        reply = self.call("ingest", {"events": [EVENT]}, request_id="abc")
        assert reply["jsonrpc"] == "2.0" and reply["id"] == "abc"
        [result] = reply["result"]["results"]
        assert result["event_id"] == "e1" and result["customer_id"]

    def test_resolve_after_ingest(self) -> None:
        self.call("ingest", {"events": [EVENT]})
        reply = self.call("resolve", {"type": "phone", "value": "+15550100", "max_hops": 2})
        assert reply["result"]["identifiers"]["email"][0]["value"] == "ann@example.com"

    def test_resolve_unknown_identifier_is_null(self) -> None:
        assert self.call("resolve", {"type": "email", "value": "nobody@example.com"})["result"] is None

    def test_batch_answers_each_call_in_order(self) -> None:
        body = [{"jsonrpc": "2.0", "method": "ingest", "params": {"events": [EVENT]}, "id": 1},
                {"jsonrpc": "2.0", "method": "stats", "id": 2},
                {"jsonrpc": "2.0", "method": "nope", "id": 3}]
        reply = json.loads(self.rpc(body).body)
        assert [r["id"] for r in reply] == [1, 2, 3]
        assert reply[1]["result"]["customers"] == 1
        assert reply[2]["error"]["code"] == -32601

    def test_notifications_get_no_response(self) -> None:
        response = self.rpc({"jsonrpc": "2.0", "method": "ingest", "params": {"events": [EVENT]}})
        assert response.code == 204 and response.body == b""
        assert self.fx.graphs["acme"].customers  # but it ran
        batch = [{"jsonrpc": "2.0", "method": "stats"}, {"jsonrpc": "2.0", "method": "stats", "id": 7}]
        reply = json.loads(self.rpc(batch).body)
        assert [r["id"] for r in reply] == [7]

    def test_parse_error(self) -> None:
        response = self.rpc(None, raw=b'{"jsonrpc": "2.0", "method"')
        reply = json.loads(response.body)
        assert response.code == 200
        assert reply == {"jsonrpc": "2.0", "id": None, "error": reply["error"]}
        assert reply["error"]["code"] == -32700

    def test_invalid_requests(self) -> None:
        for body in ({"method": "stats", "id": 1}, {"jsonrpc": "2.0", "method": 5, "id": 1},
                     {"jsonrpc": "2.0", "method": "stats", "params": "x", "id": 1}, [], 42):
            reply = json.loads(self.rpc(body).body)
            assert reply["error"]["code"] == -32600, body
        reply = json.loads(self.rpc([1, {"jsonrpc": "2.0", "method": "stats", "id": 2}]).body)
        assert reply[0] == {"jsonrpc": "2.0", "id": None, "error": reply[0]["error"]}
        assert reply[0]["error"]["code"] == -32600 and "result" in reply[1]

    def test_invalid_request_without_id_is_still_answered(self) -> None:
        reply = json.loads(self.rpc({"jsonrpc": "1.0", "method": "stats"}).body)
        assert reply["id"] is None and reply["error"]["code"] == -32600

    def test_unknown_method(self) -> None:
        reply = self.call("frobnicate")
        assert reply["error"]["code"] == -32601 and "ingest" in reply["error"]["data"]["methods"]

    def test_invalid_params_are_field_level_and_never_echo_values(self) -> None:
        secret = "very-secret@example.com"
        bad = {"events": [{"type": "signup", "identifiers": [{"type": 5, "value": secret}], "colour": secret}]}
        reply = self.call("ingest", {**bad, "atomic": True})
        error = reply["error"]
        assert error["code"] == -32602
        fields = {e["field"]: e["reason"] for e in error["data"]["errors"]}
        assert fields == {"params.events[0].identifiers[0].type": "must be a string",
                          "params.events[0].colour": "is not a known field"}
        assert secret not in json.dumps(reply)
        reply = self.call("ingest", bad)  # partial: the same errors, for the event
        error = reply["result"]["results"][0]["error"]
        assert error["code"] == -32602
        assert {e["field"]: e["reason"] for e in error["data"]["errors"]} == {
            "events[0].identifiers[0].type": "must be a string", "events[0].colour": "is not a known field"}
        assert secret not in json.dumps(reply)

    def test_missing_and_positional_params(self) -> None:
        assert self.call("resolve", {"type": "email"})["error"]["data"]["errors"] == [
            {"field": "params.value", "reason": "is required"}]
        assert self.call("resolve", ["email", "x"])["error"]["code"] == -32602

    def test_core_validation_error_maps_to_invalid_params_without_the_value(self) -> None:
        pytest.importorskip("identity.base.errors")
        event = {"type": "signup", "identifiers": [{"type": "forbidden", "value": "pii-value-123"}]}
        reply = self.call("ingest", {"events": [event], "atomic": True})
        assert reply["error"]["code"] == -32602
        assert reply["error"]["data"]["errors"][0]["field"] == "events[0].identifiers[0].type"
        assert "pii-value-123" not in json.dumps(reply)
        good = {"type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"}]}
        # partial: the core numbers the events it got (not the one the schema refused)
        reply = self.call("ingest", {"events": [{"type": 5, "identifiers": []}, good, event]})
        results = reply["result"]["results"]
        assert results[0]["error"]["data"]["errors"][0]["field"] == "events[0].type"
        assert results[1]["customer_id"] and results[2]["error"]["data"]["errors"][0]["field"] == \
            "events[2].identifiers[0].type"
        assert "pii-value-123" not in json.dumps(reply)

    def test_core_not_found_maps_to_server_code(self) -> None:
        pytest.importorskip("identity.base.errors")
        reply = self.call("unlink", {"a": {"type": "email", "value": "x@y.z"}, "b": {"type": "email", "value": "q"}})
        assert reply["error"]["code"] == -32001

    def test_unexpected_exception_is_an_internal_error_not_a_5xx(self) -> None:
        def broken(*args, **kwargs):
            raise RuntimeError("secret internals")
        self.fx.service.identity("acme").stats = broken  # type: ignore[method-assign]
        response = self.rpc({"jsonrpc": "2.0", "method": "stats", "id": 1})
        assert response.code == 200
        error = json.loads(response.body)["error"]
        assert error == {"code": -32603, "message": "Internal error"}

    def test_tenant_comes_from_the_key_not_the_body(self) -> None:
        reply = self.call("stats", {"tenant": "other"})
        assert reply["error"]["code"] == -32602  # no such parameter
        assert self.call("stats")["result"]["tenant"] == "acme"

    def test_operator_methods(self) -> None:
        op = "operator"
        created = self.call("tenant.create", {"tenant": "globex", "region": "us-east-1"}, key=op)
        assert created["result"]["tenant"] == "globex"
        assert self.call("tenant.create", {"tenant": "globex", "region": "us-east-1"}, key=op)["error"]["code"] == -32003
        key = self.call("key.create", {"tenant": "globex"}, key=op)["result"]
        assert key["key"].startswith("idk_") and key["scopes"] == []
        reply = self.call("stats", key=key["key"])
        assert reply["result"]["tenant"] == "globex"
        tenants = [t["tenant"] for t in self.call("tenant.list", key=op)["result"]["tenants"]]
        assert tenants == ["acme", "globex"]
        revoked = self.call("key.revoke", {"key_id": key["key_id"]}, key=op)["result"]
        assert revoked["revoked_at"] is not None and "key" not in revoked
        assert self.rpc({"jsonrpc": "2.0", "method": "stats", "id": 1}, key=key["key"]).code == 401
        assert self.call("key.create", {"tenant": "nobody"}, key=op)["error"]["code"] == -32001
        assert self.call("key.revoke", {"key_id": "0" * 16}, key=op)["error"]["code"] == -32001

    def test_a_tenant_admin_manages_its_own_tenants_keys(self) -> None:
        key = self.call("key.create", {"tenant": "acme", "admin": True})["result"]
        assert key["tenant"] == "acme" and key["scopes"] == ["admin"]
        assert self.call("stats", key=key["key"])["result"]["tenant"] == "acme"
        revoked = self.call("key.revoke", {"key_id": key["key_id"]})["result"]
        assert revoked["tenant"] == "acme" and revoked["revoked_at"] is not None

    def test_get_on_rpc_is_405_in_json(self) -> None:
        response = self.fetch("/rpc", raise_error=False)
        assert response.code == 405
        assert json.loads(response.body)["error"]["code"] == -32600
