"""The OpenRPC document matches the dispatch table; health and readiness endpoints."""

from __future__ import annotations

import json

from service_support import ServiceTestCase

from identity.service.rpc import method_table, openrpc_document
from identity.service.rpc.errors import SERVER_ERRORS


class OpenRpc(ServiceTestCase):
    def test_every_dispatchable_method_is_documented_with_its_params_and_vice_versa(self) -> None:
        document = json.loads(self.fetch("/openrpc.json").body)
        table = self._app.methods
        documented = {m["name"]: m for m in document["methods"]}
        assert set(documented) == set(table)
        for name, method in table.items():
            params = {p["name"]: p for p in documented[name]["params"]}
            assert params.keys() == method.params["properties"].keys(), name
            for pname, schema in method.params["properties"].items():
                assert params[pname]["schema"] == schema
                assert params[pname]["required"] == (pname in method.params["required"])
            assert documented[name]["x-scope"] == method.scope
        for name in documented:  # and every documented method dispatches (never -32601)
            reply = self.call(name, {}, key="operator")
            assert reply.get("error", {}).get("code") != -32601, name

    def test_server_error_codes_are_published(self) -> None:
        document = openrpc_document(method_table())
        codes = {int(code) for code in document["components"]["errors"]}
        assert codes == set(SERVER_ERRORS) and all(-32099 <= c <= -32000 for c in codes)

    def test_limits_and_costs_are_published(self) -> None:
        document = json.loads(self.fetch("/openrpc.json").body)
        limits = document["info"]["x-limits"]
        assert limits["max_request_cost"] == self.fx.service.limits.max_request_cost
        assert limits["request_timeout_s"] == self.fx.service.request_timeout and limits["max_json_depth"] == 32
        assert limits["resolve_together"] == self.fx.service.limits.resolve_together
        assert limits["ingest_together"] == self.fx.service.limits.ingest_together
        costs = {method["name"]: method["x-cost"] for method in document["methods"]}
        assert costs["resolve"] == "1 unit" and costs["stats"] == "100 units" and "pairs" in costs["ingest"]

    def test_batch_limit_is_reflected_in_the_schema(self) -> None:
        events = method_table(7)["ingest"].params["properties"]["events"]
        assert events["maxItems"] == 7


class Health(ServiceTestCase):
    def test_healthz(self) -> None:
        response = self.fetch("/healthz")
        assert response.code == 200 and json.loads(response.body) == {"status": "ok"}

    def test_readyz_when_ready(self) -> None:
        response = self.fetch("/readyz")
        assert response.code == 200
        assert json.loads(response.body)["checks"] == {"tenants": True, "graph": True, "accepting": True}

    def test_readyz_when_draining(self) -> None:
        self.fx.service.draining = True
        response = self.fetch("/readyz", raise_error=False)
        assert response.code == 503 and json.loads(response.body)["checks"]["accepting"] is False
        assert self.rpc({"jsonrpc": "2.0", "method": "stats", "id": 1}).code == 503


class HealthWithGraphDown(ServiceTestCase):
    ping_fails = True

    def test_readyz_reports_the_graph(self) -> None:
        response = self.fetch("/readyz", raise_error=False)
        assert response.code == 503
        assert json.loads(response.body) == {"status": "unavailable", "regions": {"eu-west-1": False},
                                             "checks": {"tenants": True, "graph": False, "accepting": True}}
        assert self.fetch("/healthz").code == 200
