"""identity: real-time customer identity resolution on a TinkerPop property graph.

What users import comes from here (see docs/data-model.md for the graph it builds)::

    from identity import IdentityGraph, TenantConfig, open_traversal

    ids = IdentityGraph(open_traversal("memory://"), "acme", config=TenantConfig())

    from identity import IdentityClient       # a client of a running service (docs/api.md)

The ``identity`` command is identity.service.cli (also ``python -m identity``).

The package is five layers, one folder each, drawn top down. A module imports modules of its
own layer and of the layers below it, never above, and nothing imports this package's face
(tests/identity/test_layering.py checks both, and that no import circle remains)::

    service/    what runs the domain for callers and operators:
                  rpc/ (JSON-RPC over HTTP; serve) and cli, on client, config, settings,
                  console_access, offboarding, reencrypt, export
       |
    domain/     the identity rules, each row built on the rows under it:
                  core          IdentityGraph, the facade: calls the operations below
                  explain, check, reference
                  ingest, privacy
                  resolve, chunk
                  tenant_graph  one tenant's slice of the graph: the reads operations share
                  batch_read
                  walk          the neighbourhood walk ingest and resolve both use
                  events
                  customers, guards
                  model, writes, identifiers
       |
    graph/      reaching the graph: regions -> connection (the only module that imports
                the engine), group_commit -> resilience
       |
    security/   auth -> tenants, keys/ (keyring -> provider) -> protect, files
       |
    base/       errors (every layer raises them), telemetry
"""

from __future__ import annotations

from .base.errors import GraphUnavailable, IdentityError, NotFound, ValidationError
from .domain.core import IdentityGraph
from .domain.events import IngestResult, RejectedEvent
from .domain.guards import TenantConfig
from .domain.resolve import Resolution
from .domain.tenant_graph import identifier_vertex_id
from .graph.connection import open_traversal
from .security.protect import DevelopmentProtector, Protector
from .service.client import AsyncIdentityClient, ClientError, IdentityClient

__all__ = [
    "IdentityGraph", "identifier_vertex_id", "TenantConfig", "IngestResult", "RejectedEvent", "Resolution",
    "Protector", "DevelopmentProtector", "IdentityError", "ValidationError", "NotFound", "GraphUnavailable",
    "open_traversal", "IdentityClient", "AsyncIdentityClient", "ClientError",
]
