"""ingest + resolve through HTTP on the real identity core, memory:// with the Neptune profile."""

from __future__ import annotations

import json
import uuid

import pytest
from tornado.testing import AsyncHTTPTestCase

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity.service.rpc import make_app  # noqa: E402
from service_support import real_service  # noqa: E402


class EndToEnd(AsyncHTTPTestCase):
    tmp: object

    def get_app(self):  # type: ignore[override]
        self.url = f"memory://e2e-{uuid.uuid4().hex}?profile=neptune"
        real = real_service(self.tmp, self.url, {"acme": "eu-west-1", "globex": "us-east-1"})
        self.service, self.keys = real.service, real.keys
        return make_app(self.service)

    def tearDown(self) -> None:
        super().tearDown()
        self.service.close()
        gremlin.forget_graph(self.url)

    def call(self, tenant: str, method: str, params: dict | None = None) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}
        response = self.fetch("/rpc", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"Bearer {self.keys[tenant]}"})
        reply = json.loads(response.body)
        assert "error" not in reply, reply
        return reply["result"]

    def test_ingest_then_resolve_links_identifiers_within_a_tenant_only(self) -> None:
        events = [
            {"event_id": "e1", "type": "signup", "timestamp": "2024-05-01T10:00:00Z",
             "identifiers": [{"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+15550100"}]},
            {"event_id": "e2", "type": "login", "timestamp": "2024-05-02T10:00:00Z",
             "identifiers": [{"type": "phone", "value": "+15550100"}, {"type": "device_id", "value": "dev-42"}]},
        ]
        results = self.call("acme", "ingest", {"events": events})["results"]
        assert results[0]["customer_id"] == results[1]["customer_id"]
        resolution = self.call("acme", "resolve", {"type": "device_id", "value": "dev-42"})
        assert resolution["customer_id"] == results[0]["customer_id"]
        assert [i["value"] for i in resolution["identifiers"]["email"]] == ["ann@example.com"]
        assert self.call("globex", "resolve", {"type": "device_id", "value": "dev-42"}) is None
        assert self.fetch("/readyz").code == 200

    def test_forget_and_export_act_on_the_callers_tenant_only(self) -> None:
        ann = {"type": "email", "value": "ann@example.com"}
        event = {"event_id": "e1", "type": "signup", "identifiers": [ann, {"type": "phone", "value": "+15550100"}],
                 "attributes": {"plan": "pro"}}
        acme = self.call("acme", "ingest", {"events": [event]})["results"][0]["customer_id"]
        self.call("globex", "ingest", {"events": [event]})
        exported = self.call("acme", "export", {"type": "customer", "value": acme})
        assert [i["value"] for i in exported["identifiers"]] == ["ann@example.com", "+15550100"]
        assert exported["events"][0]["attributes"] == {"plan": "pro"}
        assert self.call("acme", "forget", ann) == {
            "forgotten": {"identifiers": 1, "links": 1, "events": 0, "event_attributes": 1, "suppressed": 1}}
        assert self.call("acme", "resolve", ann) is None
        assert self.call("globex", "resolve", ann)["identifiers"]["email"][0]["value"] == "ann@example.com"
        refused = self.call("acme", "ingest", {"events": [{**event, "event_id": "e2"}]})["results"][0]["refused"]
        assert [r["reason"] for r in refused] == ["suppressed"]
