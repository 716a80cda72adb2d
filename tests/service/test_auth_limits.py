"""Authentication (401/403) and limits (413, batch size, 429)."""

from __future__ import annotations

import json

from service_support import ServiceTestCase

from identity.security import auth
from identity.service.rpc import Limits
from identity.service.rpc.ratelimit import RateLimiter, TokenBucket

STATS = {"jsonrpc": "2.0", "method": "stats", "id": 1}


class Authentication(ServiceTestCase):
    def test_missing_key_is_401_with_challenge(self) -> None:
        response = self.rpc(STATS, key=None)
        assert response.code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(response.body)["error"]["code"] == -32004

    def test_bad_keys_are_401(self) -> None:
        forged = self.fx.user_key[:-4] + "AAAA"
        for key in ("nonsense", "idk_0000000000000000_" + "A" * 43, forged):
            assert self.rpc(STATS, key=key).code == 401, key
        response = self.fetch("/rpc", method="POST", body=json.dumps(STATS),
                              headers={"Authorization": "Basic " + self.fx.user_key}, raise_error=False)
        assert response.code == 401

    def test_admin_method_without_admin_scope_is_403(self) -> None:
        response = self.rpc({"jsonrpc": "2.0", "method": "tenant.list", "id": 1}, key="user")
        assert response.code == 403
        assert json.loads(response.body)["error"]["code"] == -32005
        batch = [STATS, {"jsonrpc": "2.0", "method": "key.create", "params": {"tenant": "acme"}, "id": 2}]
        assert self.rpc(batch, key="user").code == 403
        assert self.rpc(STATS, key="user").code == 200


class CrossTenantAdministration(ServiceTestCase):
    """A tenant's admin key manages that tenant only; the platform-wide methods and every other
    tenant need the operator scope (issue #5 item 1, issue #6 item 2)."""

    def _other_tenant(self) -> str:
        self.fx.service.registry.create_tenant("globex", "us-east-1")
        return auth.issue_key(self.fx.service.registry, "globex", admin=True).record.key_id

    def _forbidden(self, method: str, params: dict, key: str = "admin") -> None:
        response = self.rpc({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}, key=key)
        assert response.code == 403, (method, params)
        assert json.loads(response.body)["error"]["code"] == -32005

    def test_every_cross_tenant_admin_call_is_403_and_changes_nothing(self) -> None:
        globex_key_id = self._other_tenant()
        registry = self.fx.service.registry
        keys_before = {record.key_id for record in registry.keys()}
        self._forbidden("key.create", {"tenant": "globex"})
        self._forbidden("key.create", {"tenant": "globex", "admin": True})
        self._forbidden("key.revoke", {"key_id": globex_key_id})
        self._forbidden("datakey.status", {"tenant": "globex"})
        self._forbidden("datakey.rotate", {"tenant": "globex"})
        self._forbidden("tenant.create", {"tenant": "initech", "region": "us-east-1"})
        self._forbidden("tenant.list", {})
        # an unknown key id or tenant answers the same as another tenant's: nothing to learn
        self._forbidden("key.revoke", {"key_id": "0" * 16})
        self._forbidden("key.create", {"tenant": "nobody"})
        # one forbidden call forbids the whole batch: the allowed call in it does not run either
        batch = [{"jsonrpc": "2.0", "method": "key.create", "params": {"tenant": "acme"}, "id": 1},
                 {"jsonrpc": "2.0", "method": "key.revoke", "params": {"key_id": globex_key_id}, "id": 2}]
        assert self.rpc(batch).code == 403
        assert {record.key_id for record in registry.keys()} == keys_before
        assert registry.key(globex_key_id).active
        assert [tenant.id for tenant in registry.tenants()] == ["acme", "globex"]

    def test_a_key_without_a_scope_administers_nothing_not_even_its_own_tenant(self) -> None:
        self._other_tenant()
        for method, params in (("key.create", {"tenant": "acme"}), ("datakey.status", {"tenant": "acme"}),
                               ("key.revoke", {"key_id": "0" * 16}), ("tenant.list", {})):
            self._forbidden(method, params, key="user")

    def test_operator_scope_is_not_granted_over_the_api(self) -> None:
        reply = self.call("key.create", {"tenant": "acme", "operator": True}, key="operator")
        assert reply["error"]["code"] == -32602  # no such parameter: only `identity key create --operator`

    def test_the_operator_manages_every_tenant(self) -> None:
        globex_key_id = self._other_tenant()
        assert self.call("key.create", {"tenant": "globex"}, key="operator")["result"]["tenant"] == "globex"
        assert self.call("key.revoke", {"key_id": globex_key_id}, key="operator")["result"]["revoked_at"]
        assert len(self.call("tenant.list", key="operator")["result"]["tenants"]) == 2


class BodyAndBatchLimits(ServiceTestCase):
    limits = Limits(max_body_bytes=2048, max_batch=3)

    def test_body_over_the_limit_is_413(self) -> None:
        response = self.rpc(None, raw=b" " * 4096)
        assert response.code == 413
        assert json.loads(response.body)["error"]["data"] == {"max_body_bytes": 2048}

    def test_body_far_over_the_limit_is_refused(self) -> None:
        response = self.rpc(None, raw=b" " * (2048 * 4 + 1))
        assert response.code in (413, 599)  # refused before reading; the connection may be closed early

    def test_body_at_the_limit_is_accepted(self) -> None:
        body = json.dumps(STATS).encode()
        assert self.rpc(None, raw=body + b" " * (2048 - len(body))).code == 200

    def test_batch_over_the_limit(self) -> None:
        reply = json.loads(self.rpc([STATS] * 4).body)
        assert reply["error"]["code"] == -32600 and reply["error"]["data"] == {"max_batch": 3}
        assert len(json.loads(self.rpc([STATS] * 3).body)) == 3

    def test_events_per_ingest_over_the_limit(self) -> None:
        event = {"type": "t", "identifiers": [{"type": "email", "value": "a@b.c"}]}
        reply = json.loads(self.rpc({"jsonrpc": "2.0", "method": "ingest", "params": {"events": [event] * 4},
                                     "id": 1}).body)
        assert reply["error"]["data"]["errors"] == [{"field": "params.events", "reason": "must have at most 3 items"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RESOLVE = {"jsonrpc": "2.0", "method": "resolve", "params": {"type": "email", "value": "a@b.c"}, "id": 1}


class RateLimit(ServiceTestCase):
    clock = FakeClock()
    limiter = RateLimiter(rate=0.5, burst=2, clock=clock)

    def test_429_with_retry_after_once_the_bucket_is_empty(self) -> None:
        assert self.rpc(RESOLVE).code == 200
        assert self.rpc(RESOLVE).code == 200
        response = self.rpc(RESOLVE)
        assert response.code == 429
        assert response.headers["Retry-After"] == "2"
        assert json.loads(response.body)["error"]["code"] == -32006
        self.clock.now += 2
        assert self.rpc(RESOLVE).code == 200


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, tokens=3.0, updated=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.tokens == 2.0  # capped at burst


def test_keys_are_random_hashed_and_parsed() -> None:
    key, key_id = auth.generate_key()
    other, _ = auth.generate_key()
    assert key != other and key.startswith("idk_") and auth.key_id_of(key) == key_id
    assert auth.hash_key(key) != key and len(auth.hash_key(key)) == 64
    assert auth.key_id_of("idk_short") is None
