"""Offboarding a tenant: crypto-shred first, then purge the graph at leisure.

    offboard(registry, keyring, "acme")     # keys destroyed, API keys revoked: instant, final
    purge(g, "acme", keyring=keyring)       # deletes the tenant's elements in batches

Shredding makes every sealed value of the tenant undecryptable and its blind indexes
uncomputable the moment the key ring is destroyed, wherever copies of the graph live (replicas,
snapshots, backups). Purging then removes the ciphertext itself; it is resumable (each batch
deletes whatever of the tenant is left) and refuses to run before the keys are destroyed, so
a typo cannot wipe a live tenant. A batch that finds again what the previous one deleted stops
the purge with ``Stalled`` rather than looping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import T

from ..base.errors import IdentityError, check_int, check_progress
from ..domain import model
from ..graph.connection import submit
from ..security.keys import Keyring
from ..security.tenants import TenantRegistry, UnknownTenant

__all__ = ["offboard", "purge", "PurgeProgress", "DEFAULT_PURGE_BATCH"]

DEFAULT_PURGE_BATCH = 1000


def offboard(registry: TenantRegistry, keyring: Keyring, tenant: str) -> list[str]:
    """Destroy ``tenant``'s keys and revoke its API keys; the ids of the revoked API keys."""
    if registry.tenant(tenant) is None:
        raise UnknownTenant(tenant)
    keyring.destroy(tenant)
    return [registry.revoke_key(record.key_id).key_id for record in registry.keys(tenant) if record.active]


@dataclass
class PurgeProgress:
    tenant: str
    edges: int = 0
    vertices: int = 0
    batches: int = 0


def purge(g: GraphTraversalSource, tenant: str, *, keyring: Keyring, batch: int = DEFAULT_PURGE_BATCH,
          progress: Callable[[PurgeProgress], None] | None = None,
          max_batches: int | None = None) -> PurgeProgress:
    """Delete every edge, then every vertex, whose ``tenant`` property is ``tenant``, ``batch``
    at a time (stopping after ``max_batches`` if given; the next call resumes). Stalled if a
    batch finds elements the batch before it deleted (the graph is not deleting them)."""
    check_int("batch", batch, 1)
    if not keyring.destroyed(tenant):
        raise IdentityError(f"tenant '{tenant}' still has its keys: offboard it before purging")
    done = PurgeProgress(tenant)
    # edges first, so that each vertex batch drops only a few incident edges with it
    for elements, counter in ((g.E, "edges"), (g.V, "vertices")):
        dropped: frozenset = frozenset()
        while max_batches is None or done.batches < max_batches:
            # found and dropped in one traversal (aggregate() reads every id before the first
            # drop): the ids only come back for the count, they are never sent back to name
            # elements (a generated id read from TinkerGraph is a Java Long, and sent back as a
            # Python int it names nothing)
            ids = submit(elements().has(model.TENANT, tenant).limit(batch)
                         .aggregate("batch").by(T.id).drop().cap("batch"))[0]
            if not ids:
                break
            dropped = check_progress(dropped, frozenset(ids), f"purging tenant '{tenant}' ({counter})")
            setattr(done, counter, getattr(done, counter) + len(ids))
            done.batches += 1
            if progress is not None:
                progress(done)
    return done
