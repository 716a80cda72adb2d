"""identity: real-time customer identity resolution on a TinkerPop property graph.

The core API (see docs/data-model.md for the graph it builds)::

    from identity import IdentityGraph, TenantConfig
    from identity.graph.connection import open_traversal

    ids = IdentityGraph(open_traversal("memory://"), "acme", config=TenantConfig())
"""

from __future__ import annotations

from .base.errors import GraphUnavailable, IdentityError, NotFound, ValidationError
from .domain.core import IdentityGraph
from .domain.events import IngestResult, RejectedEvent
from .domain.guards import TenantConfig
from .domain.resolve import Resolution
from .domain.tenant_graph import identifier_vertex_id
from .security.protect import DevelopmentProtector, Protector

__all__ = [
    "IdentityGraph", "identifier_vertex_id", "TenantConfig", "IngestResult", "RejectedEvent", "Resolution",
    "Protector", "DevelopmentProtector", "IdentityError", "ValidationError", "NotFound", "GraphUnavailable",
]
