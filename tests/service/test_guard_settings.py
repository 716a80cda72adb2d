"""tenant.guards.get/set: a tenant's guard settings round-trip through the config file and the API,
apply from the next call, survive a restart, and are audited without their values."""

from __future__ import annotations

import json
import logging
from typing import Any

from service_support import RealCoreTestCase

from identity.service.config import Config
from identity.service.rpc import build_service


class GuardSettingsApi(RealCoreTestCase):
    def call(self, method: str, params: dict[str, Any], key: str = "admin") -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        response = self.fetch("/rpc", method="POST", body=json.dumps(body), raise_error=False,
                              headers={"Authorization": f"Bearer {self.keys[key]}"})
        return json.loads(response.body)

    def test_settings_round_trip_through_the_api_and_apply_from_the_next_call(self) -> None:
        before = self.call("tenant.guards.get", {"tenant": "acme"})["result"]
        assert before["version"] == 0 and before["settings"]["generic_threshold"] == 50
        event = {"type": "signup", "identifiers": [{"type": "email", "value": "kiosk@example.com"}]}
        assert self.call("ingest", {"events": [event]}, "user")["result"]["results"][0]["refused"] == []
        with self.assertLogs("identity.settings", logging.INFO) as logged:
            after = self.call("tenant.guards.set", {"tenant": "acme", "version": 0, "settings": {
                "blocked_values": {"email": ["kiosk@example.com"]}, "max_hops": 2}})["result"]
        assert after["version"] == 1 and after["changed"] == ["blocked_values", "max_hops"]
        assert after["settings"]["blocked_values"] == {"email": ["kiosk@example.com"]}
        assert self.call("tenant.guards.get", {"tenant": "acme"})["result"] == after
        assert "kiosk" not in " ".join(logged.output) and "blocked_values, max_hops" in " ".join(logged.output)
        results = self.call("ingest", {"events": [{**event, "event_id": "e2"}]}, "user")["result"]["results"]
        assert [refusal["reason"] for refusal in results[0]["refused"]] == ["blocked"]

    def test_a_stale_version_an_invalid_setting_and_a_user_key_are_refused(self) -> None:
        self.call("tenant.guards.set", {"tenant": "acme", "settings": {"max_hops": 2}})
        stale = self.call("tenant.guards.set", {"tenant": "acme", "version": 0, "settings": {"max_hops": 4}})
        assert stale["error"]["code"] == -32003
        invalid = self.call("tenant.guards.set", {"tenant": "acme", "settings": {"max_hops": -1}})
        assert invalid["error"]["code"] == -32602
        unknown = self.call("tenant.guards.set", {"tenant": "acme", "settings": {"colour": "red"}})
        assert unknown["error"]["data"]["errors"] == [{"field": "settings.colour",
                                                       "reason": "is not a guard setting (see tenant.guards.get)"}]
        assert self.call("tenant.guards.get", {"tenant": "acme"}, "user")["error"]["code"] == -32005
        assert self.call("tenant.guards.get", {"tenant": "acme"})["result"]["settings"]["max_hops"] == 2

    def test_the_config_file_layer_and_a_restart(self) -> None:
        self.call("tenant.guards.set", {"tenant": "acme", "settings": {"max_hops": 2}})
        config = Config(data_dir=str(self.tmp), graph_url=self.url, rate_per_second=0,
                        tenants=(("acme", {"generic_threshold": 30, "max_hops": 5}),))
        restarted = build_service(config)  # the same data directory: the same registry file
        try:
            described = restarted.guards.describe("acme")
            assert (described["version"], described["configured"], described["changed"]) == (
                1, ["generic_threshold", "max_hops"], ["max_hops"])
            assert described["settings"]["generic_threshold"] == 30 and described["settings"]["max_hops"] == 2
            assert restarted.identity("acme").config.max_hops == 2
        finally:
            restarted.close()
