"""One tenant's slice of a graph, and the reads every operation on it shares.

A TenantGraph holds the tenant's traversal sources (kept in its partition), its settings, its
protector and its clock, and reads what resolve, explain, unlink and forget all start from: an
identifier's vertex id, the neighbourhood resolve reads (identity.domain.walk) and the customers
around identifiers as ingest sees them. The operations (identity.domain.resolve, explain,
privacy) take one; identity.domain.core.IdentityGraph, the facade, is one and calls them.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Callable

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.strategies import PartitionStrategy
from gremlin_python.process.traversal import Bytecode, P, T
from gremlin_python.statics import long

from ..base.errors import ValidationError
from ..graph.connection import submit
from ..security.protect import DevelopmentProtector, Protector
from . import customers, model
from .events import CreationClock
from .guards import TenantConfig
from .identifiers import normalize
from .walk import (Hood, anchor_of, cut_starts, hood_source, hood_traversal, link_map, parse_hoods, result_vertices,
                   several_source, several_traversal)

__all__ = ["TenantGraph", "identifier_vertex_id", "tenant_scoped", "tenant_partition", "CUSTOMER_LOOKUP_TYPE",
           "MAX_CONFLICTS"]

#: resolve("customer", "c-…") starts from a customer id: current, merged (an alias) or retired.
CUSTOMER_LOOKUP_TYPE = "customer"
#: How often in a row unlink and forget read again after a concurrent write changed what they
#: read (each time, they planned a customer split on it), before giving up.
MAX_CONFLICTS = 25


#: the start of a kept walk's bytecode before a call's start takes its place (TenantGraph._identifier_hood)
_START = "\x00start"
#: the most walk shapes a TenantGraph keeps: a client chooses max_hops and max_fanout, so the
#: shapes are many; the few in use are kept, any other is built for its call
_WALKS_KEPT = 32


def identifier_vertex_id(tenant: str, id_type: str, value: str, *, protector: Protector | None = None,
                         config: TenantConfig | None = None) -> str:
    """The vertex id an identifier has in ``tenant``'s graph (for a Gremlin console session)."""
    config = config or TenantConfig()
    normalized = normalize(id_type, value, config)
    return model.identifier_id(tenant, id_type, (protector or DevelopmentProtector()).blind_index(id_type, normalized))


def tenant_partition(tenant: str) -> PartitionStrategy:
    """The strategy that keeps a traversal in ``tenant``'s partition (the Gremlin console endpoint
    imposes it on a tenant's traversals too)."""
    return PartitionStrategy(partition_key=model.TENANT, write_partition=tenant, read_partitions=[tenant])


def tenant_scoped(g: GraphTraversalSource, tenant: str) -> GraphTraversalSource:
    """``g`` restricted to ``tenant``'s partition: every element read must carry ``tenant=<tenant>``
    and every element written gets it. The first of two walls; tenant-prefixed ids are the second."""
    return g.with_strategies(tenant_partition(tenant))


class TenantGraph:
    """``tenant``'s slice of the graph ``g`` (``reader``: a replica for reads that may lag), under
    ``config`` (or a callable giving the settings now), sealing with ``protector``."""

    def __init__(self, g: GraphTraversalSource, tenant: str, *,
                 config: TenantConfig | Callable[[], TenantConfig] | None = None,
                 protector: Protector | None = None, clock: Callable[[], float] = time.time,
                 reader: GraphTraversalSource | None = None):
        if not isinstance(tenant, str) or not tenant or ":" in tenant:
            raise ValidationError("tenant", "must be a non-empty string without ':'")
        self.g = tenant_scoped(g, tenant)
        #: resolve and stats read here (a read replica may lag the writer ``g`` slightly);
        #: ingest and unlink read their own writes on ``g``.
        self.reader = tenant_scoped(reader, tenant) if reader is not None else self.g
        self.tenant = tenant
        #: the tenant's settings, or where to read them on each call (identity.service.settings: an
        #: operator's change applies without a restart)
        self._config: Callable[[], TenantConfig] = config if callable(config) else \
            (lambda fixed=config or TenantConfig(): fixed)
        self.protector = protector or DevelopmentProtector()
        self.clock = clock
        self._creation = CreationClock(clock)
        #: resolve's walk bytecode by shape (_identifier_hood), shared with the pinned() views
        self._walks: dict[tuple, tuple[Bytecode, int]] = {}

    @property
    def config(self) -> TenantConfig:
        """The tenant's guard and normalisation settings now."""
        return self._config()

    @config.setter
    def config(self, config: TenantConfig) -> None:
        self._config = lambda: config

    def pinned(self) -> TenantGraph:
        """This tenant graph under its settings as they are now, read once: what one call works
        on, so that it reads them once (reading them costs a stat of the settings file and two
        locks: identity.service.settings) and an operator's change applies between calls, never
        half-way through one. It shares everything else with this object."""
        view = copy.copy(self)
        view.config = self.config
        return view

    def vertex_id(self, id_type: str, value: str, field: str = "") -> str:
        """The vertex id of an identifier in this tenant's graph (ValidationError if invalid)."""
        normalized = normalize(id_type, value, self.config, field=field)
        return model.identifier_id(self.tenant, id_type, self.protector.blind_index(id_type, normalized))

    def hoods(self, ids: list[str], *, max_hops: int, max_fanout: int, as_of_ms: int | None,
               edge_properties: bool = False) -> dict[str, Hood]:
        """The neighbourhood of each of ``ids`` (identifier vertex ids) that exists, as hood()
        reads it, in one round trip (plus one per start whose own walk a hop's cap would cut, or
        that the walk together's cap may have cut: walk.cut_starts)."""
        start = several_source(self.reader).V(*ids).has_label(model.IDENTIFIER)
        if as_of_ms is not None:
            start = start.has("first_seen", P.lte(long(as_of_ms)))
        expand = min(self.config.generic_threshold, max_fanout)
        cap = self.config.path_cap
        query = several_traversal(start, max_hops=max_hops, expand_limit=expand, cap=cap * len(ids),
                                  as_of_ms=as_of_ms, edge_properties=edge_properties)
        result = submit(query)[0]
        hoods = parse_hoods(result, max_hops=max_hops, expand_limit=expand)
        touched = cut_starts(result, hoods)
        for vertex, hood in hoods.items():
            per_hop = Counter(len(path) // 2 for path in hood.paths.values())
            if vertex not in touched and max(per_hop.values()) <= cap:
                hood.capped = False  # the flag is the walk together's: its own walk was not cut
                continue
            alone, _ = self._identifier_hood(vertex, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms,
                                             edge_properties=edge_properties)
            if alone is not None:
                hoods[vertex] = alone
        return hoods

    def hood(self, id_type: str, value: str, *, max_hops: int, max_fanout: int,
             as_of_ms: int | None = None, field: str = "", retired: bool = True,
             edge_properties: bool = False) -> Hood | None:
        """The neighbourhood resolve() reads (one round trip; two for a retired customer id);
        None for an unknown start. ``field`` prefixes the names of invalid inputs
        (``identifiers[2]``). Links carry their properties only with ``edge_properties`` (for
        evidence)."""
        prefix = f"{field}." if field else ""
        extra = {}
        if id_type == CUSTOMER_LOOKUP_TYPE:
            if not isinstance(value, str) or not value.startswith("c-"):
                raise ValidationError(prefix + "value", "is not a customer id")
            start = self._carrier(value)
            if retired:
                extra["heir"] = __.V(model.retired_id(self.tenant, value)).values(model.HEIR).fold()
        else:
            return self._identifier_hood(self.vertex_id(id_type, value, field=field), max_hops=max_hops,
                                         max_fanout=max_fanout, as_of_ms=as_of_ms, edge_properties=edge_properties)[0]
        hood, result = self._walk(start, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms, extra=extra,
                                  edge_properties=edge_properties)
        if hood is None and result.get("heir"):  # retired: it resolves through its heir, a live id
            return self.hood(CUSTOMER_LOOKUP_TYPE, result["heir"][0], max_hops=max_hops, max_fanout=max_fanout,
                             as_of_ms=as_of_ms, retired=False, edge_properties=edge_properties)
        return hood

    def _walk(self, start: GraphTraversal, *, max_hops: int, max_fanout: int, as_of_ms: int | None,
              extra: dict[str, GraphTraversal] | None = None, edge_properties: bool = False) -> tuple[Hood | None, dict]:
        """The neighbourhood of ``start``'s one identifier (a hood_source traversal on it), and
        the walk's whole result (with what ``extra`` asked: walk.hood_traversal)."""
        if as_of_ms is not None:
            start = start.has("first_seen", P.lte(long(as_of_ms)))
        expand = min(self.config.generic_threshold, max_fanout)
        query = hood_traversal(start, max_hops=max_hops, expand_limit=expand, path_cap=self.config.path_cap,
                               as_of_ms=as_of_ms, extra=extra, edge_properties=edge_properties)
        return self._walked(query, max_hops, expand)

    def _walked(self, query: GraphTraversal, max_hops: int, expand: int) -> tuple[Hood | None, dict]:
        result = submit(query)[0]
        hoods = parse_hoods(result, max_hops=max_hops, expand_limit=expand)
        return next(iter(hoods.values()), None), result

    def _identifier_hood(self, vertex: str, *, max_hops: int, max_fanout: int, as_of_ms: int | None,
                         edge_properties: bool) -> tuple[Hood | None, dict]:
        """_walk from the identifier ``vertex``. Without ``as_of_ms``, the walk's bytecode is built
        once per shape (its bounds, evidence or not) and sent again with another start:
        gremlinpython builds its ~80 steps (child traversals included) in about 0.14 ms of CPU,
        an eighth of a resolve's in process on a graph server (docs/benchmarks.md, "The service's
        and the server's CPU per resolve")."""
        if as_of_ms is not None:
            start = hood_source(self.reader).V(vertex).has_label(model.IDENTIFIER)
            return self._walk(start, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms,
                              edge_properties=edge_properties)
        expand = min(self.config.generic_threshold, max_fanout)
        shape = (max_hops, expand, self.config.path_cap, edge_properties)
        kept = self._walks.get(shape)
        if kept is None:
            start = hood_source(self.reader).V(_START).has_label(model.IDENTIFIER)
            built = hood_traversal(start, max_hops=max_hops, expand_limit=expand, path_cap=self.config.path_cap,
                                   edge_properties=edge_properties).bytecode
            place = next(n for n, step in enumerate(built.step_instructions) if step == ["V", _START])
            kept = (built, place)
            if len(self._walks) < _WALKS_KEPT:
                self._walks[shape] = kept
        built, place = kept
        # a copy of the top-level instruction lists with the start in its place; the child
        # traversals are shared, never changed (gremlinpython appends only to a traversal's own)
        bytecode = Bytecode(built)
        bytecode.step_instructions[place] = ["V", vertex]
        return self._walked(GraphTraversal(self.reader.graph, self.reader.traversal_strategies, bytecode),
                            max_hops, expand)

    def _carrier(self, cid: str) -> GraphTraversal:
        """A walk source on the identifier a customer id's lookup starts from: one carrying it (not
        a generic one if there is another), the least by vertex id, so that it is always the same."""
        def carriers() -> GraphTraversal:
            # the customer id is not tenant-prefixed: the explicit tenant filter backs the partition;
            # has('cid') right after V(), where the embedded graph answers it from a value index
            return __.V().has(model.CID, cid).has_label(model.IDENTIFIER).has(model.TENANT, self.tenant)
        members = carriers().has("degree", P.lte(self.config.generic_threshold)).has_not(model.SHARED)
        return hood_source(self.reader).coalesce(members.order().by(T.id).limit(1),
                                                 carriers().order().by(T.id).limit(1))
    def around(self, vertex_ids: list[str], config: TenantConfig) -> customers.Neighbourhood:
        """The customers around identifiers as ingest sees them (``config``'s bounds: the tenant's),
        read from the writer in one round trip, for unlink and forget to split them."""
        start = hood_source(self.g).V(*vertex_ids).has_label(model.IDENTIFIER)
        result = submit(hood_traversal(start, max_hops=config.max_hops, expand_limit=config.expand_limit,
                                       path_cap=config.path_cap * len(vertex_ids), edge_properties=False))[0]
        vertices = result_vertices(result)
        links: dict[str, set[str]] = {}
        crossed, _ = link_map(vertices, result["edges"])  # every link, a cut far end's too
        for edge in crossed.values():
            links.setdefault(edge["out"], set()).add(edge["in"])
            links.setdefault(edge["in"], set()).add(edge["out"])
        return customers.walk(vertex_ids, vertices.get, lambda v: links.get(v, ()), max_hops=config.max_hops,
                              expand_limit=config.expand_limit)

    def mint(self, cause: str) -> customers.Mint:
        """How a split caused by ``cause`` (an element id) mints customer ids (identity.domain.customers)."""
        now_ms = self._creation.now_ms()
        return customers.Mint(cause, lambda: self._creation.stamps(now_ms, 1))

    def customer_id(self, hood: Hood) -> str:
        """The id of the customer of the identifier ``hood`` starts from (identity.domain.customers)."""
        return anchor_of(hood, self.config.generic_threshold)[model.CID]
