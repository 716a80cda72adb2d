"""Who may use the Gremlin console endpoint of ``identity serve``, and what each one sees.

A console client authenticates with SASL PLAIN, Gremlin Server's standard handshake
(``DriverRemoteConnection(url, "g", username=..., password=...)``, or
``python -m gremlin.console URL --user T``): the username is a tenant and the password one of
that tenant's API keys, checked exactly as the JSON-RPC API checks a bearer key
(identity.security.auth.authenticate: active, its tenant still registered).

- A key of the platform **operator** (``operator`` scope, granted only by
  ``identity key create TENANT --operator`` on the service host) gets the whole graph, every
  tenant's elements, reading and writing: the operator already holds every tenant's keys.
- Any other key, a tenant ``admin`` key included, gets its own tenant's partition, read-only: the
  PartitionStrategy every IdentityGraph traversal runs under (identity.domain.tenant_graph.tenant_partition)
  and ReadOnlyStrategy, imposed by the server on each of the connection's traversals, after
  whatever the client sends, so nothing it sends widens them (docs/security.md). A console
  write would bypass ingest's guards and counters, so even a tenant's admin cannot make one.

The key is looked up again before every request on the connection, so revoking it (or
offboarding the tenant) ends a console session at its next request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Callable

from gremlin_python.process.strategies import ReadOnlyStrategy
from gremlin_python.process.traversal import TraversalStrategy

from ..domain.tenant_graph import tenant_partition
from ..security.auth import AuthenticationFailed, authenticate
from ..security.tenants import TenantRegistry

__all__ = ["ConsoleGrant", "ConsoleAccess"]


@dataclass(frozen=True)
class ConsoleGrant:
    """What one console connection may do (the endpoint's Grant, without the engine's types)."""

    user: str
    #: imposed on every traversal of the connection; empty: the whole graph
    strategies: tuple[TraversalStrategy, ...]
    #: False once the key is revoked or its tenant gone
    valid: Callable[[], bool]


class ConsoleAccess:
    """Console credentials checked against the tenant registry."""

    def __init__(self, registry: TenantRegistry):
        self.registry = registry

    def grant(self, user: str, password: str) -> ConsoleGrant:
        """The grant for tenant ``user`` holding API key ``password``, or AuthenticationFailed
        (the same for an unknown tenant, a wrong or revoked key, or another tenant's key)."""
        principal = authenticate(self.registry, f"Bearer {password}")
        if not hmac.compare_digest(user.encode("utf-8"), principal.tenant.encode("utf-8")):
            raise AuthenticationFailed()
        strategies: tuple[TraversalStrategy, ...] = () if principal.is_operator else \
            (tenant_partition(principal.tenant), ReadOnlyStrategy())
        return ConsoleGrant(principal.tenant, strategies, lambda: self._still_active(principal.key_id))

    def _still_active(self, key_id: str) -> bool:
        record = self.registry.key(key_id)  # one stat(): sees a revocation made by the CLI
        return record is not None and record.active and self.registry.tenant(record.tenant) is not None
